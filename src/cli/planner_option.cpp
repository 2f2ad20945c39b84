#include "cli/planner_option.h"

#include <sstream>

#include "common/error.h"

namespace sparseloom::cli {

std::vector<std::unique_ptr<plan::Planner>> PlannersNamed(const std::string& name) {
  if (name == "all")
    return plan::MakeAllPlanners();
  std::vector<std::unique_ptr<plan::Planner>> out;
  std::stringstream list(name);
  std::string one;
  while (std::getline(list, one, ',')) {
    if (one == "sparseloom") {
      out.push_back(plan::MakeSparseLoomPlanner());
      continue;
    }
    const std::size_t before = out.size();
    for (plan::Baseline b :
         {plan::Baseline::kSvAoNp, plan::Baseline::kSvAoP, plan::Baseline::kSvLoNp,
          plan::Baseline::kSvLoP, plan::Baseline::kAvNp, plan::Baseline::kAvP}) {
      if (plan::NameOf(b) == one)
        out.push_back(plan::MakeBaselinePlanner(b));
    }
    if (out.size() == before)
      throw UsageError("--planner: unknown planner '" + one +
                       "' (expected sparseloom, SV-AO-NP, SV-AO-P, SV-LO-NP, SV-LO-P, AV-NP, "
                       "AV-P, all, or a comma-separated list of them)");
  }
  if (out.empty())
    throw UsageError("--planner: no planner named");
  return out;
}

}  // namespace sparseloom::cli
