#pragma once
// `sparseloom plan --tasks tasks.json`: plan the tasks of a task file from their performance
// tables with SparseLoom's optimizer or a baseline (or compare them all), print the plan as
// tables and optionally write it as JSON (docs/planner.md, "The plan command").

#include <CLI/CLI.hpp>

namespace sparseloom::cli {

void AddPlanCommand(CLI::App& app);

}  // namespace sparseloom::cli
