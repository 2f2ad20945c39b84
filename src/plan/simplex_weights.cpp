#include "plan/simplex_weights.h"

namespace sparseloom::plan {

std::vector<double> SimplexGrid(std::size_t P, std::size_t& count) {
  // The finest resolution m whose grid, C(m + P - 1, P - 1) points, fits.
  auto points = [P](std::size_t m) {
    double c = 1.0;
    for (std::size_t i = 1; i < P; ++i)
      c = c * static_cast<double>(m + i) / static_cast<double>(i);
    return c;
  };
  // One processor has one weight vector (every m gives the single point 1).
  std::size_t m = 1;
  while (P > 1 && points(m + 1) <= static_cast<double>(kMaxWeights))
    ++m;
  std::vector<std::vector<std::size_t>> grid;
  std::vector<std::size_t> parts(P, 0);
  // Every composition of m into P parts.
  auto fill = [&](auto&& self, std::size_t p, std::size_t left) -> void {
    if (p + 1 == P) {
      parts[p] = left;
      grid.push_back(parts);
      return;
    }
    for (std::size_t x = 0; x <= left; ++x) {
      parts[p] = x;
      self(self, p + 1, left - x);
    }
  };
  fill(fill, 0, m);
  count = grid.size();
  std::vector<double> weights(P * count);
  for (std::size_t j = 0; j < count; ++j)
    for (std::size_t p = 0; p < P; ++p)
      weights[j * P + p] = static_cast<double>(grid[j][p]) / static_cast<double>(m);
  return weights;
}

}  // namespace sparseloom::plan
