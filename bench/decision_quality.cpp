// Decision quality of planning on estimated accuracies (docs/profiler.md, "Decision quality"):
// over SLO configurations drawn from every task's tight/medium/loose grid (all tasks present, the
// task file's rates), the phase planner of `sparseloom run` plans every configuration from each
// zoo's estimated performance table, as it is, on a lower bound, with verification on selection,
// and from the zoo's accuracy ground truth. It prints per task the share of plans whose true
// accuracy is below min_accuracy, and the throughput of each way's plans against the ground
// truth's (1 / the busiest processor's load, per configuration). No model runs: the tables and
// the ground truths (`sparseloom truth`) of the task file's zoos are read.
//
//   decision_quality TASKS [CONFIGS=200] [COVERAGE=0.9] [SEED=0]

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "eval/task_inputs.h"
#include "runtime/accuracy_verification.h"
#include "runtime/phase_planning.h"
#include "runtime/workload.h"

using namespace sparseloom;

namespace {

struct Way {
  std::string name;
  bool margin = false;
  bool verify = false;
  bool truth = false;
};

struct Tally {
  std::vector<int> plans, below, infeasible;  // per task
  double throughput_ratio = 0.0;              // summed over configurations compared
  double worst_ratio = 1e9;
  int compared = 0;
  int verified = 0, replans = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: decision_quality TASKS [CONFIGS=200] [COVERAGE=0.9] [SEED=0]\n";
    return 2;
  }
  try {
    eval::Inputs in = eval::LoadInputs(argv[1]);
    const int configs = argc > 2 ? std::atoi(argv[2]) : 200;
    const double coverage = argc > 3 ? std::atof(argv[3]) : 0.9;
    const std::uint64_t seed = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 0;
    const std::size_t T = in.file.tasks.size();
    for (std::size_t t = 0; t < T; ++t) {
      if (eval::TrueAccuracyOf(in, t) == nullptr)
        throw UsageError("task '" + in.file.tasks[t].name +
                         "': no accuracy ground truth next to its table (`sparseloom truth`)");
    }
    const std::vector<double> margins = eval::ApplyAccuracyMargins(in, coverage);
    std::vector<const plan::TaskProfile*> grid_profiles;
    for (std::size_t t = 0; t < T; ++t)
      grid_profiles.push_back(&in.profiles[in.table_of_task[t]]);
    const auto configurations = runtime::SloConfigurations(grid_profiles, configs, seed);
    const auto planner = plan::MakeSparseLoomPlanner();
    const std::vector<Way> ways = {{"estimates as they are", false, false, false},
                                   {"lower bound", true, false, false},
                                   {"verification", false, true, false},
                                   {"lower bound + verification", true, true, false},
                                   {"ground truth", false, false, true}};
    std::vector<Tally> tallies(ways.size());
    for (Tally& tally : tallies)
      tally.plans = tally.below = tally.infeasible = std::vector<int>(T, 0);
    std::vector<int> present;
    for (std::size_t t = 0; t < T; ++t)
      present.push_back(static_cast<int>(t));
    const std::vector<bool> alive(in.setup.size(), true);
    for (const runtime::SloConfiguration& c : configurations) {
      std::vector<double> max_load(ways.size(), 0.0);
      std::vector<bool> truth_meets(T, true);
      for (std::size_t w = ways.size(); w-- > 0;) {  // the ground truth first
        const Way& way = ways[w];
        // Every configuration from the profiler's tables: nothing verified before it.
        std::deque<plan::TaskProfile> profiles;
        std::vector<plan::TaskProfile*> pointers;
        std::vector<runtime::ServedTask> tasks;
        for (std::size_t t = 0; t < T; ++t) {
          plan::TaskProfile p = in.profiles[in.table_of_task[t]];
          if (!way.margin)
            p.accuracy_margin = 0.0;
          if (way.truth) {
            p.accuracy = *eval::TrueAccuracyOf(in, t);
            p.accuracy_measured.clear();
          }
          profiles.push_back(std::move(p));
        }
        for (std::size_t t = 0; t < T; ++t) {
          pointers.push_back(&profiles[t]);
          tasks.push_back({in.file.tasks[t].name, &profiles[t], nullptr,
                           in.file.tasks[t].rate_per_s, eval::TrueAccuracyOf(in, t)});
        }
        runtime::AccuracyVerification verification(
            pointers, [&](int task, std::int64_t s) -> std::optional<double> {
              return eval::TrueAccuracyOf(in, static_cast<std::size_t>(task))
                  ->at(static_cast<std::size_t>(s));
            });
        runtime::PlanningOptions options;
        options.memory_budget_bytes = in.file.memory_budget_bytes;
        options.placements = in.file.placements;
        options.verification = way.verify ? &verification : nullptr;
        std::vector<plan::TaskProfile> restricted;
        const runtime::PhasePlan phase =
            runtime::PlanFor(tasks, present, c.slos, alive, *planner, options, restricted);
        Tally& tally = tallies[w];
        for (std::size_t i = 0; i < phase.plan.tasks.size(); ++i) {
          const auto t = static_cast<std::size_t>(phase.task_of_plan_task[i]);
          const double truth = eval::TrueAccuracyOf(in, t)->at(
              static_cast<std::size_t>(phase.plan.tasks[i].stitched_variant));
          const bool below = truth < c.slos[t].min_accuracy;
          if (way.truth)
            truth_meets[t] = !below;
          if (!truth_meets[t]) {
            ++tally.infeasible[t];  // not even the ground truth meets it: no decision to judge
            continue;
          }
          ++tally.plans[t];
          tally.below[t] += below;
        }
        max_load[w] = phase.plan.objective.max_load;
        const runtime::AccuracyVerification::Counts counts = verification.counts();
        tally.verified += counts.verified;
        tally.replans += counts.replans;
      }
      const double truth_load = max_load.back();
      for (std::size_t w = 0; w + 1 < ways.size(); ++w) {
        if (max_load[w] <= 0.0 || truth_load <= 0.0)
          continue;
        const double ratio = truth_load / max_load[w];  // throughput ways / truth
        tallies[w].throughput_ratio += ratio;
        tallies[w].worst_ratio = std::min(tallies[w].worst_ratio, ratio);
        ++tallies[w].compared;
      }
    }
    std::printf("%zu SLO configurations (seed %llu), coverage %.3f; margins:",
                configurations.size(), static_cast<unsigned long long>(seed), coverage);
    for (std::size_t t = 0; t < T; ++t)
      std::printf(" %s %.2f pp", in.file.tasks[t].name.c_str(),
                  100.0 * margins[in.table_of_task[t]]);
    std::printf("\n\n%-28s", "plans below min_accuracy");
    for (std::size_t t = 0; t < T; ++t)
      std::printf(" | %-18s", in.file.tasks[t].name.c_str());
    std::printf(" | %-12s | throughput vs truth (mean, worst) | verified (replans)\n", "all");
    for (std::size_t w = 0; w < ways.size(); ++w) {
      const Tally& tally = tallies[w];
      std::printf("%-28s", ways[w].name.c_str());
      int plans = 0, below = 0;
      for (std::size_t t = 0; t < T; ++t) {
        char cell[64];
        std::snprintf(cell, sizeof cell, "%d/%d (%.1f%%)", tally.below[t], tally.plans[t],
                      tally.plans[t] ? 100.0 * tally.below[t] / tally.plans[t] : 0.0);
        std::printf(" | %-18s", cell);
        plans += tally.plans[t];
        below += tally.below[t];
      }
      char all[64];
      std::snprintf(all, sizeof all, "%d/%d (%.2f%%)", below, plans,
                    plans ? 100.0 * below / plans : 0.0);
      std::printf(" | %-12s", all);
      if (tally.compared > 0)
        std::printf(" | %.4f, %.4f", tally.throughput_ratio / tally.compared, tally.worst_ratio);
      else
        std::printf(" | -");
      std::printf(" | %d (%d)\n", tally.verified, tally.replans);
    }
    std::printf(
        "\n(task-plans where even the ground truth's plan misses min_accuracy are left out:");
    for (std::size_t t = 0; t < T; ++t)
      std::printf(" %s %d", in.file.tasks[t].name.c_str(), tallies.back().infeasible[t]);
    std::printf(")\n");
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
