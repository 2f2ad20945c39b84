#pragma once
// `sparseloom zoo ...`: inspect, verify and evaluate a sparse model zoo.

#include <CLI/CLI.hpp>

namespace sparseloom::cli {

void AddZooCommands(CLI::App& app);

}  // namespace sparseloom::cli
