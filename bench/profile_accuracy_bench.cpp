// The accuracy estimator against saved ground truth, without re-running any model: loads a zoo's
// manifest and a performance table made with `sparseloom profile --exhaustive`, draws the
// profiler's sample from it (originals, single substitutions into the reference, N random points),
// and prints each candidate model's mean absolute error on the stitched variants it never saw.
//
//   profile_accuracy_bench ZOO TABLE [RANDOM_POINTS=20] [SEEDS=5] [BLOCKS=0]
//
// BLOCKS > 0 draws that many prefix blocks (sample_design.h BlockStitched) instead of random
// points.

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>

#include "common/error.h"
#include "profile/estimators.h"
#include "profile/performance_table.h"
#include "profile/sample_design.h"
#include "zoo/stitched_variant.h"
#include "zoo/zoo.h"

using namespace sparseloom;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: profile_accuracy_bench ZOO TABLE [RANDOM_POINTS=20] [SEEDS=5]\n";
    return 2;
  }
  try {
    const zoo::Zoo z = zoo::LoadZoo(argv[1]);
    const profile::PerformanceTable table = profile::LoadPerformanceTable(argv[2]);
    const std::int64_t random_points = argc > 3 ? std::atoll(argv[3]) : 20;
    const int seeds = argc > 4 ? std::atoi(argv[4]) : 5;
    const std::int64_t blocks = argc > 5 ? std::atoll(argv[5]) : 0;
    if (table.num_stitched() != z.StitchedCount())
      throw UsageError("table and zoo disagree on the number of stitched variants");
    for (auto m : table.accuracy_measured) {
      if (!m)
        throw UsageError(std::string(argv[2]) + ": not every accuracy is measured (--exhaustive)");
    }
    std::vector<std::vector<profile::AccuracyModel>> runs;
    for (const auto& m : profile::AccuracyModels())
      runs.push_back({m});
    runs.push_back({});  // chosen by cross-validation
    std::map<std::string, double> total;
    const profile::BoostingOptions boosting{.rounds = 300, .max_depth = 3, .learning_rate = 0.05};
    for (int seed = 0; seed < seeds; ++seed) {
      profile::AccuracyTraining training;
      training.reference = profile::ReferenceVariant(z);
      const auto structured = profile::StructuredAccuracySample(z, training.reference);
      training.representative =
          blocks > 0
              ? profile::BlockStitched(z, blocks, structured, static_cast<std::uint64_t>(seed) + 1)
              : profile::RandomStitched(z, random_points, structured,
                                        static_cast<std::uint64_t>(seed) + 1);
      for (auto s : structured)
        training.measured[s] = table.accuracy[static_cast<std::size_t>(s)];
      for (auto s : training.representative)
        training.measured[s] = table.accuracy[static_cast<std::size_t>(s)];
      std::vector<std::int64_t> held_out;
      for (std::int64_t s = 0; s < z.StitchedCount(); ++s) {
        if (!training.measured.contains(s))
          held_out.push_back(s);
      }
      for (const auto& only : runs) {
        const profile::Estimate e =
            profile::EstimateAccuracy(z, training, held_out, boosting, only);
        double mae = 0.0, baseline = 0.0;
        for (std::size_t i = 0; i < held_out.size(); ++i) {
          const double truth = table.accuracy[static_cast<std::size_t>(held_out[i])];
          mae += std::abs(e.value[i] - truth);
          baseline += std::abs(e.baseline[i] - truth);
        }
        mae /= static_cast<double>(held_out.size());
        baseline /= static_cast<double>(held_out.size());
        const std::string name = only.empty() ? "chosen(" + e.error.model + ")" : e.error.model;
        std::printf("seed %d  %-32s held-out MAE %.2f pp  (cv %.2f pp; sum of drops %.2f pp)\n",
                    seed, name.c_str(), 100 * mae, 100 * e.error.value, 100 * baseline);
        total[only.empty() ? "chosen" : e.error.model] += mae / seeds;
      }
    }
    for (const auto& [name, mae] : total)
      std::printf("mean over seeds  %-24s %.2f pp\n", name.c_str(), 100 * mae);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
