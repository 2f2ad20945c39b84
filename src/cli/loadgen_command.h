#pragma once
// `sparseloom loadgen --url URL --tasks tasks.json`: the evaluation workload sent to a server,
// with what a client sees (docs/serving.md).

#include <CLI/CLI.hpp>

namespace sparseloom::cli {

void AddLoadgenCommand(CLI::App& app);

}  // namespace sparseloom::cli
