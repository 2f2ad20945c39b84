#pragma once
// A planner that keeps its answers: plans are a pure function of the request (the planners keep
// no state), and the bench asks the same questions many times: every budget of the memory sweep,
// every planner's warm-up and run, and every arrival order that reaches the same set of tasks in
// the same order. Answers are kept per request; a request whose profiles the bench does not own
// (none today) is not cached.

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "plan/planner.h"

namespace sparseloom::eval {

class MemoizedPlanner final : public plan::Planner {
 public:
  // `owned`: the profiles whose requests may be kept; `enabled` false: never keep any.
  MemoizedPlanner(std::unique_ptr<plan::Planner> inner, std::set<const plan::TaskProfile*> owned,
                  bool enabled);

  std::string Name() const override { return inner_->Name(); }
  plan::Plan Solve(const plan::PlanRequest& request) const override;

 private:
  bool KeyOf(const plan::PlanRequest& request, std::string& key) const;

  std::unique_ptr<plan::Planner> inner_;
  std::set<const plan::TaskProfile*> owned_;
  bool enabled_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, plan::Plan> plans_;
};

}  // namespace sparseloom::eval
