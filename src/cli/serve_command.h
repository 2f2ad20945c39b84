#pragma once
// `sparseloom serve --tasks tasks.json`: the Open Inference Protocol (KServe v2) over HTTP for the
// task file's models, until SIGTERM (docs/serving.md).

#include <CLI/CLI.hpp>

namespace sparseloom::cli {

void AddServeCommand(CLI::App& app);

}  // namespace sparseloom::cli
