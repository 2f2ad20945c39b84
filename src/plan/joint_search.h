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
  // True when no choice is no worse than another on every term (PrunedCandidates' sets): the
  // search's own Pareto pruning would keep them all, so it is skipped.
  bool non_dominated = false;
  std::size_t size() const { return choices.size(); }
};

// Every choice `space` allows the task, with CostOf's figures.
CandidateSet CostAllChoices(const PlanTask& task, const TaskSpace& space);

// Every task's candidates as the search would narrow them (its pools, then Pareto pruning), without
// storing the choices pruning drops: SLO-meeting choices only where that cannot cost the plan an
// SLO, and per task only the non-dominated ones.
struct Candidates {
  std::vector<CandidateSet> tasks;     // request order
  std::int64_t choices_evaluated = 0;  // every choice of every space, costed or ruled out
};
Candidates PrunedCandidates(const PlanRequest& request, const std::vector<TaskSpace>& spaces);

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
