// The reference planner: every joint assignment of a policy, compared with CompareObjectives.
// Exponential in the number of tasks; for tests and for measuring the joint search's gap.

#include <algorithm>
#include <limits>
#include <utility>

#include "common/error.h"
#include "plan/evaluation.h"
#include "plan/joint_search.h"
#include "plan/planner.h"

namespace sparseloom::plan {
namespace {

class ExhaustivePlanner : public Planner {
 public:
  ExhaustivePlanner(Policy policy, std::int64_t max_assignments)
      : policy_(policy), max_assignments_(max_assignments) {}

  std::string Name() const override { return "exhaustive"; }

  Plan Solve(const PlanRequest& request) const override {
    ValidateRequest(request);
    std::vector<TaskSpace> spaces;
    std::vector<CandidateSet> sets;
    double assignments = 1.0;
    for (const PlanTask& task : request.tasks) {
      spaces.push_back(SpaceOf(task, request, policy_));
      assignments *= static_cast<double>(spaces.back().stitched.size()) *
                     static_cast<double>(spaces.back().placements.size());
      if (assignments > static_cast<double>(max_assignments_))
        throw UsageError("exhaustive planner: expected at most " +
                         std::to_string(max_assignments_) + " joint assignments, the request has " +
                         "more (" + std::to_string(request.tasks.size()) + " tasks)");
      sets.push_back(CostAllChoices(task, spaces.back()));
    }
    const std::size_t T = sets.size();
    const std::size_t P = request.processors.size();
    std::vector<std::size_t> index(T, 0);
    std::vector<std::size_t> best_index(T, 0);
    Objective best{std::numeric_limits<std::int64_t>::max(), 0, 0.0, 0};
    std::vector<double> load(P);
    SearchStats stats;
    for (const CandidateSet& set : sets)
      stats.choices_evaluated += static_cast<std::int64_t>(set.size());
    while (T > 0) {
      ++stats.nodes;
      Objective o;
      std::fill(load.begin(), load.end(), 0.0);
      for (std::size_t t = 0; t < T; ++t) {
        const std::size_t c = index[t];
        o.violations += sets[t].violation[c];
        o.resident_bytes += sets[t].bytes[c];
        for (std::size_t p = 0; p < P; ++p)
          load[p] += sets[t].loads[c * P + p];
      }
      o.max_load = *std::max_element(load.begin(), load.end());
      if (request.memory_budget_bytes > 0)
        o.bytes_over_budget =
            std::max<std::int64_t>(0, o.resident_bytes - request.memory_budget_bytes);
      if (IsBetter(o, best)) {
        best = o;
        best_index = index;
      }
      std::size_t t = T;
      while (t > 0 && ++index[t - 1] == sets[t - 1].size())
        index[--t] = 0;
      if (t == 0)
        break;
    }
    stats.candidates_kept = stats.choices_evaluated;
    std::vector<Choice> choices;
    for (std::size_t t = 0; t < T; ++t)
      choices.push_back(sets[t].choices[best_index[t]]);
    return EvaluatePlan(request, spaces, choices, Name(), stats);
  }

 private:
  Policy policy_;
  std::int64_t max_assignments_;
};

}  // namespace

std::unique_ptr<Planner> MakeExhaustivePlanner(Policy policy, std::int64_t max_assignments) {
  return std::make_unique<ExhaustivePlanner>(policy, max_assignments);
}

}  // namespace sparseloom::plan
