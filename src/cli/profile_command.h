#pragma once
// `sparseloom profile ZOO...`: build (or reuse) each zoo's performance table on this host's
// processors, with a progress bar on stderr and a summary on stdout (docs/profiler.md).

#include <CLI/CLI.hpp>

namespace sparseloom::cli {

void AddProfileCommand(CLI::App& app);

}  // namespace sparseloom::cli
