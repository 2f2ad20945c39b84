#pragma once
// What `sparseloom bench` measured, per platform, and how it is written: CSV files (one per
// comparison, every platform in each) and docs/results.md, which puts every figure beside the
// paper's number and says whether each target is met and, when not, what the run shows about why.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "preload/stage_cache.h"
#include "sim/profiling_model.h"

namespace sparseloom::cli {

// SLO accounting of one planner over a set of episodes (runtime::Summarize, summed over tasks).
struct ViolationFigures {
  std::string planner;
  std::int64_t requests = 0;
  std::int64_t violations = 0;  // late, below min_accuracy, dropped or failed
  std::int64_t dropped = 0;     // dropped or failed
  std::int64_t inaccurate = 0;  // completed on a variant below min_accuracy
  std::int64_t late = 0;        // completed past max_latency_ms (accuracy met)
  // Violations of requests whose phase plan already missed their SLO in the planner's own model
  // (its latency above max_latency_ms or accuracy below min_accuracy).
  std::int64_t planned_miss = 0;
  std::int64_t task_episodes = 0;
  std::int64_t episodes_violated = 0;
  double completed_rps = 0.0;  // summed over tasks, while present

  double RequestRate() const { return requests ? double(violations) / double(requests) : 0.0; }
  double EpisodeRate() const {
    return task_episodes ? double(episodes_violated) / double(task_episodes) : 0.0;
  }
};

struct ThroughputFigures {
  std::string planner;
  double measured_rps = 0.0;  // completed per second with every task present, closed loop
  double bound_rps = 0.0;     // the planner's bound for the mix it completed
};

struct ProfilingFigures {
  std::string task;
  std::string accuracy_processor;
  sim::ProfilingTimeModel sampled;     // with estimators: the profiler's sample design
  sim::ProfilingTimeModel exhaustive;  // everything measured
  // Host only: the table's measured wall time, and the model of the sample that table measured.
  double measured_s = -1.0;
  double modelled_measured_s = -1.0;
};

struct PlacementFigures {
  std::string placement;  // "npu-gpu-cpu", or "free choice"
  bool free = false;
  ViolationFigures figures;
};

struct MemoryFigures {
  double fraction = 0.0;  // of the full zoo set
  std::int64_t budget_bytes = 0;
  ViolationFigures figures;
  preload::StageCacheStats cache;
};

struct PlatformResults {
  std::string name;
  std::string description;
  std::string source;  // the device profile file, or the task file for the host
  bool host = false;
  std::vector<std::string> processors;
  std::vector<std::string> notes;  // unsupported stages, skipped comparisons
  double rate_scale = 1.0;
  double offered_load = 0.0;  // DESIGN-style load of the most accurate originals at these rates
  int slo_configs = 0;
  int orders = 0;
  std::vector<ViolationFigures> violations;  // SparseLoom first, then the baselines
  // (a) again at the load the task file's rates put on the host (empty: not run).
  double host_load = 0.0;
  std::vector<ViolationFigures> violations_at_host_load;
  int closed_episodes = 0;
  std::vector<ThroughputFigures> throughput;
  std::vector<ProfilingFigures> profiling;
  int placement_episodes = 0;
  std::vector<PlacementFigures> placement;
  int memory_episodes = 0;
  std::int64_t full_set_bytes = 0;
  std::vector<MemoryFigures> memory;  // ascending fraction; the last is 100%
  double wall_s = 0.0;
};

struct BenchReport {
  std::string command;     // the sparseloom bench command line that produced it
  std::string regenerate;  // what to run to regenerate it (e.g. `make results`)
  std::string task_file;
  std::string settings;  // workload settings, one paragraph
  double memory_tolerance_pp = 1.0;
  std::string generated_at;  // UTC time of the run
  std::vector<PlatformResults> platforms;
};

// violations.csv, throughput.csv, profiling.csv, placement.csv, memory.csv in `dir`, each written
// atomically. Returns the files written.
std::vector<std::filesystem::path> WriteBenchCsvs(const BenchReport& report,
                                                  const std::filesystem::path& dir);

// docs/results.md's text. `plots_dir` is where the PNGs are, relative to the document's folder
// (empty: no plots were made).
std::string BenchMarkdown(const BenchReport& report, const std::string& plots_dir);

// The smallest budget whose violation rate is within `tolerance_pp` percentage points of the
// 100% budget's, as must every larger budget be; nullptr when there is no 100% point.
const MemoryFigures* SmallestEquivalentBudget(const PlatformResults& platform, double tolerance_pp);

}  // namespace sparseloom::cli
