#pragma once
// What every planner shares, so that plans differ only in their policy: request validation, the
// choices a policy allows one task, the cost of one choice, and the plan built from the choices.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "plan/planner.h"

namespace sparseloom::plan {

// Throws UsageError naming the task and the field when the request is malformed.
void ValidateRequest(const PlanRequest& request);

std::int64_t StitchedCount(const TaskProfile& profile);  // V^K
// Stage variants of stitched variant s (stage 0 the most significant digit).
void DigitsOf(const TaskProfile& profile, std::int64_t s, std::span<int> digits);
std::int64_t OriginalStitched(const TaskProfile& profile, int variant);  // (v, v, ..., v)

std::vector<Placement> PlacementsOf(PlacementSpace space, int num_stages, int num_processors);
std::vector<Placement> SingleProcessorPlacements(int num_stages, int num_processors);

// The choices one task may make under a policy.
struct TaskSpace {
  std::vector<std::int64_t> stitched;
  std::vector<Placement> placements;
  std::string variant_noun;  // how reasons name what the policy allows: "stitched variant", ...
};
TaskSpace SpaceOf(const PlanTask& task, const PlanRequest& request, Policy policy);

// One task's choice: a stitched variant and an index into its TaskSpace::placements.
struct Choice {
  std::int64_t stitched_variant = 0;
  int placement = 0;
  bool operator==(const Choice&) const = default;
};

struct ChoiceCost {
  double latency_ms = 0.0;
  double accuracy = 0.0;
  double accuracy_bound = 0.0;  // TaskProfile::AccuracyBound, which slo_met holds
  std::int64_t bytes = 0;
  bool slo_met = false;
};

// The cost of running stitched variant `s` (whose stage variants are `digits`) with `placement`;
// `loads` (P entries) receives the task's rate-weighted busy time on each processor. Every planner
// costs choices through this one function.
ChoiceCost CostOf(const PlanTask& task, std::int64_t s, std::span<const int> digits,
                  std::span<const int> placement, std::span<double> loads);

// Costs the chosen (s, placement) of every task (request order) and explains each unmet SLO.
Plan EvaluatePlan(const PlanRequest& request, const std::vector<TaskSpace>& spaces,
                  const std::vector<Choice>& choices, std::string planner, SearchStats stats);

}  // namespace sparseloom::plan
