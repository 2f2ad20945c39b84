#pragma once
// How `sparseloom bench`'s figures are written: CSV files (one per comparison, every platform in
// each) and docs/results.md, which puts every figure beside the paper's number and says whether
// each target is met and, when not, what the run shows about why.

#include <filesystem>
#include <string>
#include <vector>

#include "eval/bench_figures.h"
#include "eval/bench_settings.h"
#include "eval/platforms.h"

namespace sparseloom::eval {

struct BenchReport {
  std::string command;     // the sparseloom bench command line that produced it
  std::string regenerate;  // what to run to regenerate it (e.g. `make results`)
  std::string task_file;
  std::string settings;  // workload settings, one paragraph
  double memory_tolerance_pp = 1.0;
  std::string generated_at;  // UTC time of the run
  std::vector<PlatformResults> platforms;
};

// The workload paragraph: the tasks and their rates, the episodes, phases, admission bound, the
// load the rates were scaled to (`target_load`), the placement space and the seed.
std::string WorkloadSettings(const std::vector<BenchTask>& tasks, const BenchSettings& settings,
                             double target_load);

// The current time, "2026-11-27 11:36 UTC".
std::string UtcNow();

// violations.csv, violations_at_host_load.csv, throughput.csv, profiling.csv, placement.csv and
// memory.csv in `dir`, each written atomically. Returns the files written.
std::vector<std::filesystem::path> WriteBenchCsvs(const BenchReport& report,
                                                  const std::filesystem::path& dir);

// docs/results.md's text. `plots_dir` is where the PNGs are, relative to the document's folder
// (empty: no plots were made).
std::string BenchMarkdown(const BenchReport& report, const std::string& plots_dir);

}  // namespace sparseloom::eval
