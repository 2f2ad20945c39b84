// SparseLoom's planner and the six baselines: one joint search, different policies (DESIGN.md,
// "Baselines"), so a comparison between them differs only in what each may choose.

#include <utility>

#include "common/error.h"
#include "plan/evaluation.h"
#include "plan/joint_search.h"
#include "plan/planner.h"

namespace sparseloom::plan {
namespace {

class JointPlanner : public Planner {
 public:
  JointPlanner(std::string name, Policy policy, SearchLimits limits)
      : name_(std::move(name)), policy_(policy), limits_(limits) {}

  std::string Name() const override { return name_; }

  Plan Solve(const PlanRequest& request) const override {
    ValidateRequest(request);
    std::vector<TaskSpace> spaces;
    for (const PlanTask& task : request.tasks)
      spaces.push_back(SpaceOf(task, request, policy_));
    const Candidates candidates = PrunedCandidates(request, spaces);
    JointResult result = SearchJoint(candidates.tasks, static_cast<int>(request.processors.size()),
                                     request.memory_budget_bytes, limits_);
    result.stats.choices_evaluated = candidates.choices_evaluated;
    return EvaluatePlan(request, spaces, result.choices, name_, result.stats);
  }

 private:
  std::string name_;
  Policy policy_;
  SearchLimits limits_;
};

}  // namespace

Policy PolicyOf(Baseline baseline) {
  switch (baseline) {
    case Baseline::kSvAoNp:
      return {VariantPolicy::kMostAccurateOriginal, PlacementPolicy::kSingleProcessor};
    case Baseline::kSvAoP:
      return {VariantPolicy::kMostAccurateOriginal, PlacementPolicy::kRequested};
    case Baseline::kSvLoNp:
      return {VariantPolicy::kFastestOriginal, PlacementPolicy::kSingleProcessor};
    case Baseline::kSvLoP:
      return {VariantPolicy::kFastestOriginal, PlacementPolicy::kRequested};
    case Baseline::kAvNp:
      return {VariantPolicy::kOriginal, PlacementPolicy::kSingleProcessor};
    case Baseline::kAvP:
      return {VariantPolicy::kOriginal, PlacementPolicy::kRequested};
  }
  throw UsageError("plan: unknown baseline");
}

std::string NameOf(Baseline baseline) {
  switch (baseline) {
    case Baseline::kSvAoNp:
      return "SV-AO-NP";
    case Baseline::kSvAoP:
      return "SV-AO-P";
    case Baseline::kSvLoNp:
      return "SV-LO-NP";
    case Baseline::kSvLoP:
      return "SV-LO-P";
    case Baseline::kAvNp:
      return "AV-NP";
    case Baseline::kAvP:
      return "AV-P";
  }
  throw UsageError("plan: unknown baseline");
}

std::unique_ptr<Planner> MakeSparseLoomPlanner(SearchLimits limits) {
  return std::make_unique<JointPlanner>("SparseLoom", Policy{}, limits);
}

std::unique_ptr<Planner> MakeBaselinePlanner(Baseline baseline, SearchLimits limits) {
  return std::make_unique<JointPlanner>(NameOf(baseline), PolicyOf(baseline), limits);
}

std::vector<std::unique_ptr<Planner>> MakeAllPlanners(SearchLimits limits) {
  std::vector<std::unique_ptr<Planner>> planners;
  planners.push_back(MakeSparseLoomPlanner(limits));
  for (const Baseline b : {Baseline::kSvAoNp, Baseline::kSvAoP, Baseline::kSvLoNp, Baseline::kSvLoP,
                           Baseline::kAvNp, Baseline::kAvP})
    planners.push_back(MakeBaselinePlanner(b, limits));
  return planners;
}

}  // namespace sparseloom::plan
