#pragma once
// Weight vectors on the simplex for the joint search's lower bound on the busiest processor.

#include <cstddef>
#include <vector>

namespace sparseloom::plan {

// Weight vectors w on the simplex (w_p >= 0, sum 1), a grid of at most kMaxWeights, as
// [j * P + p]. For any such w, max_p U_p >= sum_p w_p U_p, and the rest's part of the latter
// is at least the sum of each task's least w-weighted load: a lower bound on the busiest
// processor that sees how tasks trade one processor against another, which the per-processor
// minima do not (the LP relaxation's bound, when the grid holds its best w). `count` is set to
// the number of vectors.
inline constexpr std::size_t kMaxWeights = 64;
std::vector<double> SimplexGrid(std::size_t P, std::size_t& count);

// w . load over P processors.
inline double Dot(const double* w, const double* load, std::size_t P) {
  double x = 0.0;
  for (std::size_t p = 0; p < P; ++p)
    x += w[p] * load[p];
  return x;
}

}  // namespace sparseloom::plan
