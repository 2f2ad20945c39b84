#pragma once
// A model of how long the performance profiler (docs/profiler.md) takes for one task on one
// platform, with its estimators (a sample measured, the rest estimated) and without (everything
// measured). It counts the runs the profiler's design makes and prices each with the platform's
// latencies; it does not run anything, and it is a model, not a measurement:
//
//   loads      = Σ_{k,v,p} load(k, v, p)                    (every stage on every processor)
//   stages     = Σ_{k,v,p} runs_per_stage × ℓ(k, v, p)      (load warm-ups, warm-ups, timed runs)
//   chains     = n_chains × runs_per_chain × mean chain latency
//                (sampled: P^K × max(4, ⌈1% V^K⌉); exhaustive: every supported (s, π) pair, each
//                 at its own latency)
//   accuracy   = Σ_{distinct prefixes (v_1..v_k) of the evaluated stitched variants}
//                ⌈N / batch⌉ × batch_time(k, v_k)        (prefix sharing, as the profiler does)
//   estimators = the host's measured training time (sampled only; device-independent CPU work)
//
// ℓ and the chain latencies are the platform's batch-1 figures (a simulated device's cost model,
// or the host's measured table); batch_time is one validation batch of the stage on the processor
// the accuracy runs on. Stages a processor cannot run (latency >= kUnsupportedStageMs) are neither
// timed nor part of any chain.

#include <cstdint>
#include <vector>

#include "plan/problem.h"

namespace sparseloom::sim {

// The profiler's defaults (profile::ProfileOptions), restated so that the model reads as the
// design: keep them in step with src/profile/profiler.h.
struct ProfilerDesign {
  int load_warmup_runs = 3;  // the engine's runs at load time
  int stage_warmup = 5;      // first round
  int latency_rounds = 5;    // one more warm-up run in each later round
  int stage_runs = 30;
  double chain_fraction = 0.01;  // chains per placement, as a fraction of V^K
  int min_chains_per_placement = 4;
  int chain_warmup = 2;
  int chain_runs = 9;
  std::int64_t accuracy_batch = 250;

  int RunsPerStage() const {
    return load_warmup_runs + stage_warmup + (latency_rounds - 1) + stage_runs;
  }
  int RunsPerChain() const { return chain_warmup + chain_runs; }
};

struct ProfilingWork {
  // [k * V + v]: one batch of `accuracy_batch` validation samples through the stage, ms.
  std::vector<double> accuracy_batch_ms;
  // [(k * V + v) * P + p]: loading the stage for processor p, ms.
  std::vector<double> load_ms;
  std::int64_t validation_samples = 0;
  // Stitched variants whose accuracy is measured; ignored when `exhaustive` (all V^K).
  std::vector<std::int64_t> accuracy_points;
  bool exhaustive = false;
  double estimators_s = 0.0;  // ignored when `exhaustive`
};

struct ProfilingTimeModel {
  std::int64_t stage_runs = 0;
  std::int64_t chains = 0;
  std::int64_t accuracy_points = 0;
  std::int64_t accuracy_prefixes = 0;  // stage evaluations over the whole validation set
  double loads_s = 0.0;
  double stages_s = 0.0;
  double chains_s = 0.0;
  double accuracy_s = 0.0;
  double estimators_s = 0.0;
  double total_s() const { return loads_s + stages_s + chains_s + accuracy_s + estimators_s; }
};

// UsageError when the vectors do not match the profile's K, V and P.
ProfilingTimeModel ModelProfilingTime(const plan::TaskProfile& profile, const ProfilingWork& work,
                                      const ProfilerDesign& design = {});

// Distinct prefixes (v_1..v_k), k = 1..K, of `points` (stitched indices): the stage evaluations
// prefix sharing needs. V + V^2 + ... + V^K for all of them.
std::int64_t DistinctPrefixes(const plan::TaskProfile& profile,
                              const std::vector<std::int64_t>& points);

}  // namespace sparseloom::sim
