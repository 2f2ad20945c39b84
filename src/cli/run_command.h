#pragma once
// `sparseloom run --tasks tasks.json`: serve the task file's tasks for real on this host's
// processors under SparseLoom's planner or the baselines, with the hot-stage preloader, and print
// per task requests, throughput, latency percentiles, SLO violations, the chosen variant and
// placement, and memory (docs/runtime.md).

#include <CLI/CLI.hpp>

namespace sparseloom::cli {

void AddRunCommand(CLI::App& app);

}  // namespace sparseloom::cli
