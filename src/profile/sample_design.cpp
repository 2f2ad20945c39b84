#include "profile/sample_design.h"

#include <algorithm>
#include <random>
#include <set>

#include "zoo/stitched_variant.h"

namespace sparseloom::profile {

std::size_t ReferenceVariant(const zoo::Zoo& zoo) {
  std::size_t best = 0;
  for (std::size_t v = 0; v < zoo.variants.size(); ++v) {
    if (zoo.variants[v].id == "dense")
      return v;
    if (zoo.variants[v].accuracy > zoo.variants[best].accuracy)
      best = v;
  }
  return best;
}

std::vector<std::int64_t> StructuredAccuracySample(const zoo::Zoo& zoo, std::size_t reference) {
  std::vector<std::int64_t> out;
  std::set<std::int64_t> seen;
  auto add = [&](const zoo::StitchedVariant& s) {
    const std::int64_t i = zoo::IndexOf(zoo, s);
    if (seen.insert(i).second)
      out.push_back(i);
  };
  const auto k = static_cast<std::size_t>(zoo.num_stages);
  for (std::size_t v = 0; v < zoo.variants.size(); ++v)
    add(zoo::Original(zoo, v));
  for (std::size_t stage = 0; stage < k; ++stage) {
    for (std::size_t v = 0; v < zoo.variants.size(); ++v) {
      zoo::StitchedVariant s{std::vector<std::size_t>(k, reference)};
      s.variant_of_stage[stage] = v;
      add(s);
    }
  }
  return out;
}

std::vector<std::int64_t> RandomStitched(const zoo::Zoo& zoo, std::int64_t count,
                                         const std::vector<std::int64_t>& exclude,
                                         std::uint64_t seed) {
  const std::set<std::int64_t> excluded(exclude.begin(), exclude.end());
  std::vector<std::int64_t> pool;
  for (std::int64_t i = 0; i < zoo.StitchedCount(); ++i) {
    if (!excluded.contains(i))
      pool.push_back(i);
  }
  std::mt19937_64 rng(seed);
  std::shuffle(pool.begin(), pool.end(), rng);
  pool.resize(
      static_cast<std::size_t>(std::clamp<std::int64_t>(count, 0, std::int64_t(pool.size()))));
  return pool;
}

std::vector<std::int64_t> BlockStitched(const zoo::Zoo& zoo, std::int64_t blocks,
                                        const std::vector<std::int64_t>& exclude,
                                        std::uint64_t seed) {
  const std::set<std::int64_t> excluded(exclude.begin(), exclude.end());
  const auto v = static_cast<std::int64_t>(zoo.variants.size());
  std::vector<std::int64_t> prefixes(static_cast<std::size_t>(zoo.StitchedCount() / v));
  for (std::size_t i = 0; i < prefixes.size(); ++i)
    prefixes[i] = static_cast<std::int64_t>(i);
  std::mt19937_64 rng(seed);
  std::shuffle(prefixes.begin(), prefixes.end(), rng);
  prefixes.resize(static_cast<std::size_t>(
      std::clamp<std::int64_t>(blocks, 0, static_cast<std::int64_t>(prefixes.size()))));
  std::vector<std::int64_t> out;
  for (std::int64_t prefix : prefixes) {
    for (std::int64_t last = 0; last < v; ++last) {
      if (!excluded.contains(prefix * v + last))  // stage 1 most significant: last stage last
        out.push_back(prefix * v + last);
    }
  }
  return out;
}

std::vector<ChainPoint> ChainSample(const zoo::Zoo& zoo, std::int64_t placements,
                                    std::int64_t per_placement, std::uint64_t seed) {
  std::vector<ChainPoint> out;
  for (std::int64_t q = 0; q < placements; ++q) {
    for (std::int64_t s :
         RandomStitched(zoo, per_placement, {}, seed * 1000003ULL + static_cast<std::uint64_t>(q)))
      out.emplace_back(s, q);
  }
  return out;
}

}  // namespace sparseloom::profile
