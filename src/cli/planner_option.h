#pragma once
// The planners `--planner` names, for `sparseloom plan` and `sparseloom run`.

#include <memory>
#include <string>
#include <vector>

#include "plan/planner.h"

namespace sparseloom::cli {

// "sparseloom", "all" (SparseLoom, then the six baselines), a baseline's name ("AV-P", ...), or a
// comma-separated list of these names ("sparseloom,AV-P"), in its order.
std::vector<std::unique_ptr<plan::Planner>> PlannersNamed(const std::string& name);

}  // namespace sparseloom::cli
