// The planner's decision time and optimality gap (docs/planner.md; issue 5's acceptance).
//
//   plan_bench [--configs N] [--gap-instances M] [--seed S]
//
// Decision time: one Solve (validation, costing every choice, pruning, joint search, evaluation)
// for 4 and 8 synthetic tasks x 1,000 stitched variants (V = 10, K = 3) under N random SLO
// configurations, with all 27 mappings and with the 6 placement orders on P = 3, and with all 8
// mappings on P = 2; also the SLO violations of every planner on the same configurations. Gap:
// SparseLoom against exhaustive search on M instances small enough to enumerate (3 tasks, K = 3,
// any mapping: V = 3 on P = 2, V = 2 on P = 3).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "plan/planner.h"
#include "plan/synthetic_profiles.h"

namespace {

using namespace sparseloom::plan;
using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const std::size_t i = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(i, values.size() - 1)];
}

void DecisionTime(const char* title, int tasks, testing::Shape shape, PlacementSpace placements,
                  int configs, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto planners = MakeAllPlanners();
  std::vector<double> ms;
  std::vector<double> nodes;
  std::vector<double> kept;
  std::vector<int> violations(planners.size(), 0);
  int incomplete = 0;
  int tasks_total = 0;
  std::vector<TaskProfile> profiles;
  for (int i = 0; i < configs; ++i) {
    if (i % 50 == 0)  // fresh profiles every 50 SLO configurations
      profiles = testing::MakeProfiles(rng, tasks, shape);
    const PlanRequest request = testing::MakeRequest(rng, profiles, placements);
    const auto start = Clock::now();
    const Plan plan = planners[0]->Solve(request);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    nodes.push_back(static_cast<double>(plan.search.nodes));
    kept.push_back(static_cast<double>(plan.search.candidates_kept));
    incomplete += plan.search.complete ? 0 : 1;
    tasks_total += static_cast<int>(request.tasks.size());
    for (std::size_t p = 0; p < planners.size(); ++p)
      violations[p] +=
          p == 0 ? plan.objective.violations : planners[p]->Solve(request).objective.violations;
  }
  std::printf("%s: %d SLO configurations\n", title, configs);
  std::printf("  decision time ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", Percentile(ms, 0.5),
              Percentile(ms, 0.9), Percentile(ms, 0.99), Percentile(ms, 1.0));
  std::printf("  candidates left after pruning (all tasks): p50 %.0f  p99 %.0f\n",
              Percentile(kept, 0.5), Percentile(kept, 0.99));
  std::printf("  branch-and-bound nodes: p50 %.0f  p99 %.0f  max %.0f; cut short: %d\n",
              Percentile(nodes, 0.5), Percentile(nodes, 0.99), Percentile(nodes, 1.0), incomplete);
  std::printf("  SLO violation rate per task over the same configurations:\n");
  for (std::size_t p = 0; p < planners.size(); ++p)
    std::printf("    %-10s %5.1f%%\n", planners[p]->Name().c_str(),
                100.0 * violations[p] / tasks_total);
}

void Gap(int instances, std::uint64_t seed, testing::Shape shape, const char* mappings,
         const char* assignments) {
  std::mt19937_64 rng(seed);
  const auto sparseloom = MakeSparseLoomPlanner();
  const auto exhaustive = MakeExhaustivePlanner(Policy{});
  int same_violations = 0;
  int exact = 0;
  double worst_load_gap = 0.0;
  double sum_load_gap = 0.0;
  double worst_bytes_gap = 0.0;
  double ours_ms = 0.0;
  double exhaustive_ms = 0.0;
  for (int i = 0; i < instances; ++i) {
    const std::vector<TaskProfile> profiles = testing::MakeProfiles(rng, 3, shape);
    const PlanRequest request = testing::MakeRequest(rng, profiles, PlacementSpace::kAnyMapping);
    auto start = Clock::now();
    const Plan ours = sparseloom->Solve(request);
    ours_ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    start = Clock::now();
    const Plan best = exhaustive->Solve(request);
    exhaustive_ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    same_violations += ours.objective.violations == best.objective.violations ? 1 : 0;
    exact += CompareObjectives(ours.objective, best.objective) == 0 ? 1 : 0;
    const double load_gap = ours.objective.max_load / best.objective.max_load - 1.0;
    worst_load_gap = std::max(worst_load_gap, load_gap);
    sum_load_gap += load_gap;
    worst_bytes_gap =
        std::max(worst_bytes_gap, static_cast<double>(ours.objective.resident_bytes) /
                                          static_cast<double>(best.objective.resident_bytes) -
                                      1.0);
  }
  std::printf(
      "optimality gap: %d instances of 3 tasks, V=%d, K=%d, P=%d (%s, any): %s joint "
      "assignments each\n",
      instances, shape.variants, shape.stages, shape.processors, mappings, assignments);
  std::printf("  same violations as exhaustive: %d/%d; same objective: %d/%d\n", same_violations,
              instances, exact, instances);
  std::printf("  max-load gap: mean %.4f%%  worst %.4f%%; bytes gap worst %.4f%%\n",
              100.0 * sum_load_gap / instances, 100.0 * worst_load_gap, 100.0 * worst_bytes_gap);
  std::printf("  mean time: SparseLoom %.3f ms, exhaustive %.1f ms\n", ours_ms / instances,
              exhaustive_ms / instances);
}

int Run(int argc, char** argv) {
  int configs = 250;
  int gap_instances = 30;
  std::uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc)
      throw sparseloom::UsageError("plan_bench: " + arg + ": expected a value after it");
    if (arg == "--configs")
      configs = std::stoi(argv[++i]);
    else if (arg == "--gap-instances")
      gap_instances = std::stoi(argv[++i]);
    else if (arg == "--seed")
      seed = std::stoull(argv[++i]);
    else
      throw sparseloom::UsageError(
          "plan_bench: expected --configs, --gap-instances or --seed, "
          "got " +
          arg);
  }
  std::printf("plan_bench --configs %d --gap-instances %d --seed %llu\n", configs, gap_instances,
              static_cast<unsigned long long>(seed));
  // The four cases of issue #21 (4 and 8 tasks, 27 mappings and 6 orders on P = 3), then 8
  // mappings on P = 2.
  DecisionTime("4 tasks x 1,000 stitched variants (V=10, K=3) x 27 mappings (P=3, any)", 4,
               testing::Shape{3, 10, 3}, PlacementSpace::kAnyMapping, configs, seed + 2);
  DecisionTime("8 tasks x 1,000 stitched variants (V=10, K=3) x 27 mappings (P=3, any)", 8,
               testing::Shape{3, 10, 3}, PlacementSpace::kAnyMapping, configs, seed + 5);
  DecisionTime("4 tasks x 1,000 stitched variants (V=10, K=3) x 6 orders (P=3)", 4,
               testing::Shape{3, 10, 3}, PlacementSpace::kOrders, configs, seed);
  DecisionTime("8 tasks x 1,000 stitched variants (V=10, K=3) x 6 orders (P=3)", 8,
               testing::Shape{3, 10, 3}, PlacementSpace::kOrders, configs, seed + 4);
  DecisionTime("4 tasks x 1,000 stitched variants (V=10, K=3) x 8 mappings (P=2)", 4,
               testing::Shape{3, 10, 2}, PlacementSpace::kAnyMapping, configs, seed + 1);
  if (gap_instances > 0) {
    Gap(gap_instances, seed + 3, testing::Shape{3, 3, 2}, "8 mappings", "216^3 = 10,077,696");
    Gap(gap_instances, seed + 6, testing::Shape{3, 2, 3}, "27 mappings", "216^3 = 10,077,696");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "plan_bench: %s\n", e.what());
    return 2;
  }
}
