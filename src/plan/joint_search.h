#pragma once
// SparseLoom's joint search (docs/planner.md): cost every allowed choice of every task, drop the
// choices that cannot be part of a best plan (a bound from a greedy incumbent, then Pareto
// dominance on SLO, per-processor load and bytes), then branch and bound over the tasks.

#include <cstdint>
#include <vector>

#include "plan/evaluation.h"

namespace sparseloom::plan {

// One task's choices with what the joint objective needs of each.
struct CandidateSet {
  std::vector<Choice> choices;
  std::vector<int> violation;       // 1 when the choice misses the task's SLO
  std::vector<std::int64_t> bytes;  // resident bytes of its stages
  std::vector<double> loads;        // [c * P + p]: rate-weighted busy time on processor p
  std::vector<double> accuracy;     // only breaks exact ties in pruning
  std::size_t size() const { return choices.size(); }
};

// Every choice `space` allows the task, costed with CostOf.
CandidateSet CostAllChoices(const PlanTask& task, const TaskSpace& space);

struct JointResult {
  std::vector<Choice> choices;  // one per task, in the order of the candidate sets
  SearchStats stats;
};

// Picks one candidate per task minimising (violations, max_p U_p, bytes) subject to total bytes
// <= memory_budget_bytes (0 = unlimited; a budget below the smallest possible plan is raised to
// it, so the plan exceeds the budget as little as possible).
JointResult SearchJoint(const std::vector<CandidateSet>& tasks, int num_processors,
                        std::int64_t memory_budget_bytes, SearchLimits limits);

}  // namespace sparseloom::plan
