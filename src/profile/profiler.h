#pragma once
// The performance profiler (DESIGN.md "profile"; docs/profiler.md): measures every stage's
// latency on every processor, hand-over costs, a sample of whole stitched chains and a sample of
// stitched-variant accuracies, trains the two estimators and fills a PerformanceTable for every
// stitched variant and placement. `exhaustive` also measures every stitched variant and placement
// (the ground truth) and checks the estimators on the points they never saw.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "profile/gradient_boosting.h"
#include "profile/performance_table.h"
#include "profile/processor_setup.h"
#include "zoo/zoo.h"

namespace sparseloom::profile {

struct ProfileOptions {
  ProcessorSetup processors;
  bool exhaustive = false;
  // Wall-time budget for the sampled profile; random accuracy points are added while it lasts.
  double budget_minutes = 5.0;
  // Most random stitched variants measured for accuracy, as a fraction of V^K.
  double max_random_fraction = 0.01;
  // Chains measured per placement, as a fraction of V^K (at least 4 per placement).
  double chain_fraction = 0.01;
  int stage_runs = 30;  // timed batch-1 runs per (stage, variant, processor)
  int stage_warmup = 5;
  int chain_runs = 9;  // timed runs per whole chain
  int chain_warmup = 2;
  // Interleaved rounds the timed runs are spread over (stages and sampled chains share them).
  int latency_rounds = 5;
  // `exhaustive` only: how many (stitched variant, placement) chains the latency ground truth
  // measures; -1: all of them. Fewer: a uniform random subset, and the exhaustive time is
  // extrapolated to all chains from it (accuracy ground truth is always complete).
  std::int64_t exhaustive_chains = -1;
  // `exhaustive` only: false measures the latency ground truth alone (no exhaustive accuracy run;
  // the accuracy estimator is not checked).
  bool exhaustive_accuracy = true;
  int latency_inputs = 16;  // validation samples cycled through (never one repeated input)
  std::int64_t accuracy_batch = 250;
  std::uint64_t seed = 0;
  BoostingOptions accuracy_model{.rounds = 300, .max_depth = 3, .learning_rate = 0.05};
  BoostingOptions latency_model{.rounds = 200, .max_depth = 3, .learning_rate = 0.05};
  // Called as work is done: phase name, units done, units in the phase.
  std::function<void(const std::string&, std::int64_t, std::int64_t)> progress;
};

PerformanceTable ProfileZoo(const zoo::Zoo& zoo, engine::Engine& engine,
                            const ProfileOptions& options);

// The profiler's accuracy pass alone: the correct predictions of each stitched variant of
// `points` (indices in zoo::StitchedAt order) on the whole validation set, prefix-shared, on every
// processor of options.processors at once (options.accuracy_batch, options.progress).
struct AccuracyPass {
  std::vector<std::int64_t> points;   // sorted
  std::vector<std::int64_t> correct;  // per point
  std::int64_t samples = 0;           // validation samples
  std::int64_t stage_passes = 0;      // stage runs over the whole validation set (StagePasses)
  double wall_s = 0.0;
};
AccuracyPass MeasureStitchedAccuracy(const zoo::Zoo& zoo, engine::Engine& engine,
                                     const ProfileOptions& options,
                                     std::vector<std::int64_t> points);

// Stage runs over the validation set an accuracy pass over `points` makes: each distinct prefix
// (v_1..v_k), k = 1..K, runs once when prefixes are shared; K per point when every stitched
// variant runs from its first stage.
std::int64_t StagePasses(const zoo::Zoo& zoo, std::vector<std::int64_t> points,
                         bool share_prefixes = true);

}  // namespace sparseloom::profile
