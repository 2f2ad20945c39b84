#pragma once
// `sparseloom truth ZOO...`: measure (or reuse) each zoo's accuracy ground truth, every stitched
// variant on the whole validation set, next to its performance table (docs/profiler.md, "Accuracy
// ground truth"). `run` and `bench` judge accuracy SLOs against it where it exists.

#include <CLI/CLI.hpp>

namespace sparseloom::cli {

void AddTruthCommand(CLI::App& app);

}  // namespace sparseloom::cli
