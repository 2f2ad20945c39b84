#pragma once
// The planner (shared/DESIGN.md, "Formal problem" and "Baselines"): given the running tasks, their
// SLOs, rates and profiles, choose for every task a stitched variant and a placement of its stages
// on processors. SparseLoom's joint optimizer and the six baselines share this interface, the
// request validation and the plan evaluation, so any two plans differ only in the policy.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "plan/problem.h"

namespace sparseloom::plan {

// Which mappings of the K stages to the P processors a staged ("P") policy may use.
enum class PlacementSpace {
  kAnyMapping,  // all P^K mappings, K and P independent (stages may share a processor)
  kOrders,      // every stage on its own processor (K <= P): the paper's placement orders, the K!
                // permutations when K = P
};

struct PlanTask {
  std::string name;
  std::reference_wrapper<const TaskProfile> profile;  // not owned; outlives the request
  Slo slo;
  double rate_per_s = 0.0;  // lambda: requests per second, the weight of the task's load
  // Expected queueing wait (ms) of a request of this task each time it enters processor p's queue
  // (its first stage there, and each stage that follows one on another processor), one entry
  // per processor or empty (none). Added to every choice's latency, so a placement that hops
  // between processors pays a wait per hop. runtime/phase_planning.h fills it from a plan's loads.
  std::vector<double> entry_wait_ms;
};

// The expected queueing waits `task` meets along `placement`: entry_wait_ms of the first stage's
// processor and of every stage whose processor differs from the stage before (0 when empty).
inline double EntryWaitMs(const PlanTask& task, const int* placement, std::size_t num_stages) {
  if (task.entry_wait_ms.empty())
    return 0.0;
  double ms = 0.0;
  for (std::size_t k = 0; k < num_stages; ++k)
    if (k == 0 || placement[k] != placement[k - 1])
      ms += task.entry_wait_ms[static_cast<std::size_t>(placement[k])];
  return ms;
}

struct PlanRequest {
  std::vector<PlanTask> tasks;
  std::vector<std::string> processors;   // every profile lists these, in this order
  std::int64_t memory_budget_bytes = 0;  // resident stage bytes; 0 = unlimited
  PlacementSpace placements = PlacementSpace::kAnyMapping;
};

using Placement = std::vector<int>;  // processor index of each stage

// What plans are ranked by, lexicographically: bytes over the memory budget (0 whenever some plan
// fits it, so the budget acts as a hard constraint when it can), SLO violations, the busiest
// processor's load, resident bytes.
struct Objective {
  std::int64_t bytes_over_budget = 0;
  int violations = 0;
  double max_load = 0.0;
  std::int64_t resident_bytes = 0;
};

// Negative when `a` is better than `b`, 0 when equal, positive when worse. Loads within a relative
// 1e-9 count as equal (sums taken in different orders), so resident bytes break such ties.
// Inline: the joint search calls it for every node.
inline int CompareObjectives(const Objective& a, const Objective& b) {
  if (a.bytes_over_budget != b.bytes_over_budget)
    return a.bytes_over_budget < b.bytes_over_budget ? -1 : 1;
  if (a.violations != b.violations)
    return a.violations < b.violations ? -1 : 1;
  const double larger = std::max({1.0, std::abs(a.max_load), std::abs(b.max_load)});
  if (std::abs(a.max_load - b.max_load) > 1e-9 * larger)
    return a.max_load < b.max_load ? -1 : 1;
  if (a.resident_bytes != b.resident_bytes)
    return a.resident_bytes < b.resident_bytes ? -1 : 1;
  return 0;
}
inline bool IsBetter(const Objective& a, const Objective& b) {
  return CompareObjectives(a, b) < 0;
}

struct TaskPlan {
  std::string task;
  std::int64_t stitched_variant = 0;  // s, mixed radix over stages (TaskProfile)
  std::vector<int> variant_of_stage;  // v_k for each stage
  Placement placement;                // pi(k) for each stage
  double latency_ms = 0.0;            // L(t, s, pi), hand-overs and stitch gap included
  double accuracy = 0.0;              // A(t, s), measured or estimated
  bool accuracy_measured = true;      // A(t, s) was measured on the validation set
  // What min_accuracy was held against: A(t, s), less the profile's margin when estimated.
  double accuracy_bound = 0.0;
  bool slo_met = false;
  std::string reason;               // why the SLO is not met; empty when it is
  std::int64_t resident_bytes = 0;  // bytes of the K stages this task keeps resident
};

struct SearchStats {
  std::int64_t choices_evaluated = 0;  // (stitched variant, placement) pairs costed
  std::int64_t candidates_kept = 0;    // left for the joint search after pruning
  std::int64_t nodes = 0;              // joint-search nodes visited
  bool complete = true;                // false when a search limit cut the search short
};

struct Plan {
  std::string planner;
  std::vector<std::string> processors;
  std::vector<TaskPlan> tasks;         // in request order
  std::vector<double> processor_load;  // U_p, busy seconds per second
  std::int64_t memory_budget_bytes = 0;
  Objective objective;
  SearchStats search;

  bool Sustainable() const;  // every U_p <= 1
};

class Planner {
 public:
  virtual ~Planner() = default;
  virtual std::string Name() const = 0;
  // Throws UsageError when the request is malformed (sizes, NaN, negative values, names).
  virtual Plan Solve(const PlanRequest& request) const = 0;
};

// A policy: which variants a task may use and where its stages may run (DESIGN.md, "Baselines").
enum class VariantPolicy {
  kStitched,              // any of the V^K stitched variants (SparseLoom)
  kOriginal,              // any of the V original variants (AV)
  kMostAccurateOriginal,  // the original variant of highest accuracy (SV-AO)
  kFastestOriginal,       // the original variant fastest on its best single processor (SV-LO)
};
enum class PlacementPolicy {
  kRequested,        // the request's placement space ("P")
  kSingleProcessor,  // the whole model on one processor, chosen jointly ("NP")
};
struct Policy {
  VariantPolicy variants = VariantPolicy::kStitched;
  PlacementPolicy placements = PlacementPolicy::kRequested;
};

enum class Baseline { kSvAoNp, kSvAoP, kSvLoNp, kSvLoP, kAvNp, kAvP };

struct SearchLimits {
  std::int64_t max_nodes = 5'000'000;  // joint-search nodes before settling for the incumbent
};

std::unique_ptr<Planner> MakeSparseLoomPlanner(SearchLimits limits = {});
std::unique_ptr<Planner> MakeBaselinePlanner(Baseline baseline, SearchLimits limits = {});
// SparseLoom first, then the six baselines in DESIGN.md's order.
std::vector<std::unique_ptr<Planner>> MakeAllPlanners(SearchLimits limits = {});
// Enumerates every joint assignment of `policy`; the reference for small instances. Throws
// UsageError when there are more than `max_assignments`.
std::unique_ptr<Planner> MakeExhaustivePlanner(Policy policy,
                                               std::int64_t max_assignments = 50'000'000);

Policy PolicyOf(Baseline baseline);
std::string NameOf(Baseline baseline);  // "SV-AO-NP", ...

// "dense,us90,struct50": one variant id per stage, as zoo::ParseStitch reads it.
std::string StitchedVariantName(const TaskProfile& profile, std::int64_t stitched_variant);

}  // namespace sparseloom::plan
