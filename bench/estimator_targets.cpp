// The estimator targets (docs/profiler.md, "Estimator targets") on a saved `sparseloom profile
// --exhaustive --exhaustive-latency-only` table and the zoo's accuracy ground truth (`sparseloom
// truth`), without running a model: the profiler's own sample is drawn again (same seed: the
// originals, the single substitutions, RANDOM_POINTS random points; the same chain sample), the
// estimators retrained on it, and every point they never saw compared with its ground truth:
//   - accuracy MAE over all held-out stitched variants and over those a planner can choose (true
//     accuracy at or above the lowest min_accuracy of the zoo's SLO grid), and how often the
//     truth is below the estimate less the conformal margin (coverage 0.9);
//   - latency: MAPE and the share of held-out chains within +-10% of their truth;
//   - profiling time against two exhaustive profilers: the prefix-sharing one (its accuracy pass is
//     the truth's measured wall time; its chains the table's, extrapolated to every chain) and a
//     naive one that runs every stitched variant from its first stage, priced, not measured: its
//     K * V^K stage passes at the prefix-sharing pass's measured time per stage pass. Both are
//     also priced at the sampled profile's own time per stage pass (one run, one load).
//
//   estimator_targets ZOO TABLE TRUTH [RANDOM_POINTS=10]

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>

#include "common/error.h"
#include "profile/accuracy_truth.h"
#include "profile/estimators.h"
#include "profile/performance_table.h"
#include "profile/profiler.h"
#include "profile/sample_design.h"
#include "runtime/workload.h"
#include "zoo/stitched_variant.h"
#include "zoo/zoo.h"

using namespace sparseloom;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: estimator_targets ZOO TABLE TRUTH [RANDOM_POINTS=10]\n";
    return 2;
  }
  try {
    const zoo::Zoo z = zoo::LoadZoo(argv[1]);
    profile::PerformanceTable table = profile::LoadPerformanceTable(argv[2]);
    const profile::AccuracyTruth ground = profile::LoadAccuracyTruth(argv[3]);
    const std::int64_t random_points = argc > 4 ? std::atoll(argv[4]) : 10;
    if (table.num_stitched() != z.StitchedCount())
      throw UsageError(std::string(argv[2]) +
                       ": table and zoo disagree on the number of stitched variants");
    if (ground.key != profile::AccuracyTruthKey(z))
      throw UsageError(std::string(argv[3]) + ": made for another zoo than " + argv[1]);
    if (ground.wall_s <= 0.0)
      throw UsageError(std::string(argv[3]) + ": taken from a table, so it has no measured time");
    table.accuracy = ground.Accuracies();
    const double exhaustive_accuracy_s = ground.wall_s;
    const std::int64_t S = table.num_stitched();

    // Accuracy: the profiler's sample (seed 0), its estimator, the held-out points.
    profile::AccuracyTraining training;
    training.reference = profile::ReferenceVariant(z);
    const auto structured = profile::StructuredAccuracySample(z, training.reference);
    training.representative = profile::RandomStitched(z, random_points, structured, 1);
    std::vector<std::int64_t> measured;
    for (auto s : structured)
      measured.push_back(s);
    for (auto s : training.representative)
      measured.push_back(s);
    for (auto s : measured)
      training.measured[s] = table.accuracy[static_cast<std::size_t>(s)];
    std::vector<std::int64_t> held_out;
    for (std::int64_t s = 0; s < S; ++s)
      if (!training.measured.contains(s))
        held_out.push_back(s);
    const profile::BoostingOptions accuracy_boosting{
        .rounds = 300, .max_depth = 3, .learning_rate = 0.05};
    const profile::Estimate acc =
        profile::EstimateAccuracy(z, training, held_out, accuracy_boosting);
    const double lowest_min = runtime::SloAt(profile::ToTaskProfile(table),
                                             runtime::Tightness::kLoose, runtime::Tightness::kLoose)
                                  .min_accuracy;
    const double margin = profile::ConformalMargin(acc.error.residuals, 0.9);
    double mae = 0.0, mae_choosable = 0.0, baseline = 0.0;
    int choosable = 0, uncovered = 0, uncovered_choosable = 0;
    for (std::size_t i = 0; i < held_out.size(); ++i) {
      const double truth = table.accuracy[static_cast<std::size_t>(held_out[i])];
      const double e = std::abs(acc.value[i] - truth);
      mae += e;
      baseline += std::abs(acc.baseline[i] - truth);
      const bool below = truth < acc.value[i] - margin;
      uncovered += below;
      if (truth >= lowest_min) {
        mae_choosable += e;
        ++choosable;
        uncovered_choosable += below;
      }
    }
    const auto n = static_cast<double>(held_out.size());
    std::printf("%s: accuracy (%s, %zu measured, %zu random; %zu held out)\n", z.task.c_str(),
                acc.error.model.c_str(), measured.size(), training.representative.size(),
                held_out.size());
    std::printf("  MAE all held out         %.2f pp  (sum of drops %.2f pp)\n", 100 * mae / n,
                100 * baseline / n);
    std::printf(
        "  MAE choosable            %.2f pp  over %d variants with true accuracy >= %.4f "
        "(the grid's lowest min_accuracy)\n",
        choosable ? 100 * mae_choosable / choosable : 0.0, choosable, lowest_min);
    std::printf(
        "  conformal margin (0.9)   %.2f pp from %zu residuals; truth below estimate - "
        "margin: %.1f%% of all, %.1f%% of choosable\n",
        100 * margin, acc.error.residuals.size(), 100.0 * uncovered / n,
        choosable ? 100.0 * uncovered_choosable / choosable : 0.0);

    if (table.time.exhaustive_s <= 0.0) {
      std::printf("%s: latency and profiling time need an --exhaustive-latency-only table\n",
                  z.task.c_str());
      return 0;
    }
    // Latency: the profiler's chain sample (seed 0) trains; the other measured chains are truth.
    const std::int64_t placements = table.num_placements();
    const auto per_placement = std::max<std::int64_t>(
        4, static_cast<std::int64_t>(std::ceil(0.01 * static_cast<double>(S))));
    const auto sample = profile::ChainSample(z, placements, per_placement, 0);
    const std::set<profile::ChainPoint> in_sample(sample.begin(), sample.end());
    profile::LatencyTraining latency_training;
    for (const auto& point : sample)
      latency_training.measured[point] =
          table.latency_ms[static_cast<std::size_t>(point.first * placements + point.second)];
    std::vector<profile::ChainPoint> truth_points;
    for (std::int64_t s = 0; s < S; ++s)
      for (std::int64_t q = 0; q < placements; ++q)
        if (table.latency_measured[static_cast<std::size_t>(s * placements + q)] &&
            !in_sample.contains({s, q}))
          truth_points.emplace_back(s, q);
    const profile::BoostingOptions latency_boosting{
        .rounds = 200, .max_depth = 3, .learning_rate = 0.05};
    const profile::Estimate lat =
        profile::EstimateLatency(z, table, latency_training, truth_points, latency_boosting);
    double mape = 0.0, additive = 0.0;
    int within = 0;
    for (std::size_t i = 0; i < truth_points.size(); ++i) {
      const auto& [s, q] = truth_points[i];
      const double truth = table.latency_ms[static_cast<std::size_t>(s * placements + q)];
      const double rel = std::abs(lat.value[i] - truth) / truth;
      mape += rel;
      additive += std::abs(lat.baseline[i] - truth) / truth;
      within += rel <= 0.10;
    }
    const auto m = static_cast<double>(truth_points.size());
    std::printf("%s: latency (%s, %zu sampled chains; %zu held out)\n", z.task.c_str(),
                lat.error.model.c_str(), sample.size(), truth_points.size());
    std::printf("  MAPE %.2f%% (sum of stages %.2f%%); within +-10%%: %.1f%%\n", 100 * mape / m,
                100 * additive / m, 100.0 * within / m);

    // Profiling time.
    const std::int64_t sample_passes = profile::StagePasses(z, measured);
    std::vector<std::int64_t> all(static_cast<std::size_t>(S));
    for (std::int64_t s = 0; s < S; ++s)
      all[static_cast<std::size_t>(s)] = s;
    const std::int64_t prefix_passes = profile::StagePasses(z, all);
    const std::int64_t naive_passes = profile::StagePasses(z, all, false);
    const double per_pass_s = exhaustive_accuracy_s / static_cast<double>(prefix_passes);
    // A latency-only table's exhaustive time is its chains alone.
    const double chains_s = table.time.exhaustive_s;
    const double sampled_s = table.time.Estimated();
    const double prefix_s = exhaustive_accuracy_s + chains_s;
    const double naive_s = static_cast<double>(naive_passes) * per_pass_s + chains_s;
    // The same two at the sampled profile's own time per stage pass (same run, same load).
    const double own_pass_s = table.time.accuracy_s / static_cast<double>(sample_passes);
    const double prefix_own_s = static_cast<double>(prefix_passes) * own_pass_s + chains_s;
    const double naive_own_s = static_cast<double>(naive_passes) * own_pass_s + chains_s;
    std::printf("%s: profiling time\n", z.task.c_str());
    std::printf("  sampled profile %.1f s (accuracy sample %.1f s, %lld stage passes)\n", sampled_s,
                table.time.accuracy_s, static_cast<long long>(sample_passes));
    std::printf(
        "  exhaustive, prefix-sharing (measured): %.1f s = accuracy %.1f s (%lld stage "
        "passes) + chains %.1f s; ratio %.2f%%\n",
        prefix_s, exhaustive_accuracy_s, static_cast<long long>(prefix_passes), chains_s,
        100 * sampled_s / prefix_s);
    std::printf(
        "  exhaustive, naive (priced: %lld stage passes at %.3f s each, + the same chains): "
        "%.1f s; ratio %.2f%%\n",
        static_cast<long long>(naive_passes), per_pass_s, naive_s, 100 * sampled_s / naive_s);
    std::printf(
        "  priced at the sample's own %.3f s per stage pass: prefix-sharing %.1f s (ratio %.2f%%), "
        "naive %.1f s (ratio %.2f%%)\n",
        own_pass_s, prefix_own_s, 100 * sampled_s / prefix_own_s, naive_own_s,
        100 * sampled_s / naive_own_s);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
