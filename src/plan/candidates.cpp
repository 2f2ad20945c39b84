// The candidates of the joint search: every choice of a task costed, or only those that can be
// part of a best plan (joint_search.h).

#include <algorithm>
#include <limits>

#include "plan/choice_costing.h"
#include "plan/joint_search.h"
#include "plan/pareto_front.h"

namespace sparseloom::plan {
namespace {

constexpr std::int64_t kUnlimited = std::numeric_limits<std::int64_t>::max();

}  // namespace

CandidateSet CostAllChoices(const PlanTask& task, const TaskSpace& space) {
  const std::size_t P = static_cast<std::size_t>(task.profile.get().num_processors());
  const std::size_t n = space.stitched.size() * space.placements.size();
  CandidateSet set;
  set.choices.reserve(n);
  set.violation.reserve(n);
  set.bytes.reserve(n);
  set.accuracy.reserve(n);
  set.loads.reserve(n * P);
  CostChoices(
      task, space, [](const StitchedFigures&) { return true; },
      [](const StitchedFigures&, double) { return true; },
      [&](const StitchedFigures& f, std::size_t pi, double latency_ms, const double* loads) {
        set.choices.push_back({f.s, static_cast<int>(pi)});
        set.violation.push_back(f.accurate && latency_ms <= task.slo.max_latency_ms ? 0 : 1);
        set.bytes.push_back(f.bytes);
        set.accuracy.push_back(f.accuracy);
        set.loads.insert(set.loads.end(), loads, loads + P);
      });
  return set;
}

Candidates PrunedCandidates(const PlanRequest& request, const std::vector<TaskSpace>& spaces) {
  const std::size_t T = request.tasks.size();
  const std::size_t P = request.processors.size();
  Candidates out;
  // One front per placement, merged at the end: a choice is almost only ever dominated by one
  // with the same placement (others load other processors), so each insertion checks a handful
  // of kept choices instead of the whole task's front.
  std::vector<std::vector<ParetoFront>> fronts(T);
  for (std::size_t t = 0; t < T; ++t)
    fronts[t].assign(spaces[t].placements.size(), ParetoFront(P));
  auto empty = [](const std::vector<ParetoFront>& per_placement) {
    return std::all_of(per_placement.begin(), per_placement.end(),
                       [](const ParetoFront& front) { return front.size() == 0; });
  };
  std::vector<std::int64_t> smallest(T, kUnlimited);  // over every choice of the task
  std::int64_t min_all = 0;
  std::int64_t min_needed = 0;
  // The SLO-meeting choices first: only accurate stitched variants need costing.
  for (std::size_t t = 0; t < T; ++t) {
    const PlanTask& task = request.tasks[t];
    out.choices_evaluated +=
        static_cast<std::int64_t>(spaces[t].stitched.size() * spaces[t].placements.size());
    CostChoices(
        task, spaces[t],
        [&](const StitchedFigures& f) {
          smallest[t] = std::min(smallest[t], f.bytes);
          return f.accurate;
        },
        [&](const StitchedFigures&, double latency_ms) {
          return latency_ms <= task.slo.max_latency_ms;
        },
        [&](const StitchedFigures& f, std::size_t pi, double, const double* loads) {
          fronts[t][pi].Insert({f.s, static_cast<int>(pi)}, 0, f.bytes, f.accuracy, loads);
        });
    std::int64_t smallest_meeting = kUnlimited;
    for (const ParetoFront& front : fronts[t])
      for (std::size_t i = 0; i < front.size(); ++i)
        smallest_meeting = std::min(smallest_meeting, front.bytes(i));
    min_all += smallest[t];
    min_needed += empty(fronts[t]) ? smallest[t] : smallest_meeting;
  }
  // The violating choices where they can be part of a best plan: for a task that cannot meet its
  // SLO, or for every task when the budget cannot hold each task's smallest meeting choice (the
  // search's pools, JointSearch::ChoosePools).
  const std::int64_t budget = request.memory_budget_bytes == 0
                                  ? kUnlimited
                                  : std::max(request.memory_budget_bytes, min_all);
  const bool budget_binds = min_needed > budget;
  for (std::size_t t = 0; t < T; ++t) {
    if (!empty(fronts[t]) && !budget_binds)
      continue;
    const PlanTask& task = request.tasks[t];
    CostChoices(
        task, spaces[t], [](const StitchedFigures&) { return true; },
        [&](const StitchedFigures& f, double latency_ms) {
          return !f.accurate || latency_ms > task.slo.max_latency_ms;
        },
        [&](const StitchedFigures& f, std::size_t pi, double, const double* loads) {
          fronts[t][pi].Insert({f.s, static_cast<int>(pi)}, 1, f.bytes, f.accuracy, loads);
        });
  }
  out.tasks.resize(T);
  for (std::size_t t = 0; t < T; ++t) {
    ParetoFront front(P);
    for (const ParetoFront& part : fronts[t])
      for (std::size_t i = 0; i < part.size(); ++i)
        front.Insert(part.choice(i), part.violation(i), part.bytes(i), part.accuracy(i),
                     part.loads(i));
    CandidateSet& set = out.tasks[t];
    set.non_dominated = true;
    for (std::size_t i = 0; i < front.size(); ++i) {
      set.choices.push_back(front.choice(i));
      set.violation.push_back(front.violation(i));
      set.bytes.push_back(front.bytes(i));
      set.accuracy.push_back(front.accuracy(i));
      set.loads.insert(set.loads.end(), front.loads(i), front.loads(i) + P);
    }
  }
  return out;
}

}  // namespace sparseloom::plan
