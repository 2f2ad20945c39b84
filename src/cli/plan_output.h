#pragma once
// What `sparseloom plan` prints and writes: one plan's tables, the comparison of planners, and
// the plans as JSON (format "sparseloom-plan", version 1; docs/planner.md).

#include <string>
#include <vector>

#include "eval/task_inputs.h"
#include "plan/planner.h"

namespace sparseloom::cli {

struct SolvedPlan {
  plan::Plan plan;
  double decision_ms = 0.0;

  bool FallsShort() const {
    return plan.objective.violations > 0 || plan.objective.bytes_over_budget > 0 ||
           !plan.Sustainable();
  }
};

void PrintPlan(const eval::Inputs& in, const SolvedPlan& solved);
void PrintComparison(const std::vector<SolvedPlan>& solved);
void WriteJson(const eval::Inputs& in, const std::vector<SolvedPlan>& solved,
               const std::string& file);

}  // namespace sparseloom::cli
