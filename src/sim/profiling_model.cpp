#include "sim/profiling_model.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "common/error.h"
#include "plan/evaluation.h"
#include "sim/device_task_profile.h"

namespace sparseloom::sim {
namespace {

std::int64_t Power(std::int64_t base, int exponent) {
  std::int64_t out = 1;
  for (int i = 0; i < exponent; ++i)
    out *= base;
  return out;
}

bool Supported(double ms) {
  return ms < kUnsupportedStageMs;
}

void CheckSizes(const plan::TaskProfile& profile, const ProfilingWork& work) {
  const std::size_t K = static_cast<std::size_t>(profile.num_stages);
  const std::size_t V = static_cast<std::size_t>(profile.num_variants());
  const std::size_t P = static_cast<std::size_t>(profile.num_processors());
  auto check = [&](const char* field, std::size_t got, std::size_t expected) {
    if (got != expected)
      throw UsageError("profiling model of task '" + profile.task + "': " + field + ": expected " +
                       std::to_string(expected) + " entries, got " + std::to_string(got));
  };
  check("stage_latency_ms", profile.stage_latency_ms.size(), K * V * P);
  check("handover_ms", profile.handover_ms.size(), P * P);
  check("accuracy_batch_ms", work.accuracy_batch_ms.size(), K * V);
  check("load_ms", work.load_ms.size(), K * V * P);
  if (work.validation_samples < 0)
    throw UsageError("profiling model of task '" + profile.task +
                     "': validation_samples: expected >= 0");
}

// Σ over every supported (stitched variant, placement) pair of its latency (plan::ChainCostOf:
// stages, hand-overs and stitch gap), and how many pairs there are. Every pair is costed, V^K x P^K
// of them: the planner's own space, which it refuses beyond 20 million.
struct ChainSums {
  double latency_ms = 0.0;
  double pairs = 0.0;
};

ChainSums AllChains(const plan::TaskProfile& profile) {
  const int K = profile.num_stages;
  const std::vector<plan::Placement> placements =
      plan::PlacementsOf(plan::PlacementSpace::kAnyMapping, K, profile.num_processors());
  std::vector<int> digits(static_cast<std::size_t>(K));
  plan::ChainCost chain;
  ChainSums out;
  for (std::int64_t s = 0; s < plan::StitchedCount(profile); ++s) {
    plan::DigitsOf(profile, s, digits);
    for (const plan::Placement& placement : placements) {
      plan::ChainCostOf(profile, digits, placement, chain);
      if (std::all_of(chain.compute_ms.begin(), chain.compute_ms.end(), Supported)) {
        out.pairs += 1.0;
        out.latency_ms += chain.total_ms;
      }
    }
  }
  return out;
}

}  // namespace

std::int64_t DistinctPrefixes(const plan::TaskProfile& profile,
                              const std::vector<std::int64_t>& points) {
  const int K = profile.num_stages;
  const std::int64_t V = profile.num_variants();
  std::int64_t total = 0;
  for (int k = 1; k <= K; ++k) {
    const std::int64_t divisor = Power(V, K - k);  // drops stages k+1..K
    std::set<std::int64_t> prefixes;
    for (std::int64_t s : points)
      prefixes.insert(s / divisor);
    total += static_cast<std::int64_t>(prefixes.size());
  }
  return total;
}

ProfilingTimeModel ModelProfilingTime(const plan::TaskProfile& profile, const ProfilingWork& work,
                                      const ProfilerDesign& design) {
  CheckSizes(profile, work);
  const int K = profile.num_stages;
  const int V = profile.num_variants();
  const int P = profile.num_processors();
  const std::int64_t stitched = Power(V, K);
  ProfilingTimeModel m;

  for (std::size_t i = 0; i < profile.stage_latency_ms.size(); ++i) {
    const double ms = profile.stage_latency_ms[i];
    if (!Supported(ms))
      continue;
    m.loads_s += work.load_ms[i] / 1000.0;
    m.stage_runs += design.RunsPerStage();
    m.stages_s += design.RunsPerStage() * ms / 1000.0;
  }

  const ChainSums all = AllChains(profile);
  const double mean_chain_ms = all.pairs > 0.0 ? all.latency_ms / all.pairs : 0.0;
  if (work.exhaustive) {
    m.chains = static_cast<std::int64_t>(std::llround(all.pairs));
    m.chains_s = design.RunsPerChain() * all.latency_ms / 1000.0;
  } else {
    const std::int64_t per_placement =
        std::max<std::int64_t>(design.min_chains_per_placement,
                               static_cast<std::int64_t>(std::ceil(design.chain_fraction *
                                                                   static_cast<double>(stitched))));
    m.chains = std::min(Power(P, K) * per_placement, static_cast<std::int64_t>(all.pairs));
    m.chains_s = static_cast<double>(m.chains) * design.RunsPerChain() * mean_chain_ms / 1000.0;
  }

  // Accuracy: each distinct prefix runs its last stage over the whole validation set.
  const std::int64_t batches =
      design.accuracy_batch > 0
          ? (work.validation_samples + design.accuracy_batch - 1) / design.accuracy_batch
          : 0;
  auto prefix_time_ms = [&](int k, std::int64_t v) {
    return static_cast<double>(batches) *
           work.accuracy_batch_ms[static_cast<std::size_t>(k * V + v)];
  };
  if (work.exhaustive) {
    m.accuracy_points = stitched;
    // V^(k-1) prefixes end in each variant at stage k.
    for (int k = 0; k < K; ++k) {
      for (int v = 0; v < V; ++v) {
        m.accuracy_prefixes += Power(V, k);
        m.accuracy_s += static_cast<double>(Power(V, k)) * prefix_time_ms(k, v) / 1000.0;
      }
    }
  } else {
    m.accuracy_points = static_cast<std::int64_t>(work.accuracy_points.size());
    for (int k = 1; k <= K; ++k) {
      const std::int64_t divisor = Power(V, K - k);
      std::set<std::int64_t> prefixes;
      for (std::int64_t s : work.accuracy_points)
        prefixes.insert(s / divisor);
      for (std::int64_t prefix : prefixes) {
        m.accuracy_prefixes += 1;
        m.accuracy_s += prefix_time_ms(k - 1, prefix % V) / 1000.0;
      }
    }
    m.estimators_s = work.estimators_s;
  }
  return m;
}

}  // namespace sparseloom::sim
