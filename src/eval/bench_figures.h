#pragma once
// What `sparseloom bench` measures per platform (docs/results.md): violation, throughput,
// profiling-time, placement and memory figures, and the lookups the report and the command's
// summary make in them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "preload/stage_cache.h"
#include "sim/profiling_model.h"

namespace sparseloom::eval {

// SLO accounting of one planner over a set of episodes (runtime::Summarize, summed over tasks).
struct ViolationFigures {
  std::string planner;
  std::int64_t requests = 0;
  std::int64_t violations = 0;  // late, below min_accuracy, dropped or failed
  std::int64_t dropped = 0;     // dropped or failed
  std::int64_t inaccurate = 0;  // completed on a variant below min_accuracy
  std::int64_t late = 0;        // completed past max_latency_ms (accuracy met)
  // Completed requests whose accuracy SLO was judged against the planner's estimate, not a
  // measured accuracy (no ground truth, nothing verified).
  std::int64_t judged_on_estimate = 0;
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
  std::string policy = "hotness";  // preload::CachePolicy's name
  double fraction = 0.0;           // of the full zoo set
  std::int64_t budget_bytes = 0;
  ViolationFigures figures;
  preload::StageCacheStats cache;  // load_ms: the modelled time of the on-demand loads
};

// (f) One planner's episodes with SLO changes: the changed tasks' requests around each change,
// judged against the SLO asked when they arrived, and the whole episodes' violations.
struct SloChangeBenchFigures {
  std::string planner;
  std::size_t changes = 0;
  std::int64_t before_requests = 0, before_violations = 0;
  std::int64_t after_requests = 0, after_violations = 0;
  std::size_t plans_met = 0;  // changes whose new plan meets the new SLO
  ViolationFigures figures;
};

// What a platform's accuracy SLOs were planned on and judged against.
struct AccuracyFigures {
  std::vector<std::string> tasks;
  std::vector<double> margin;  // per task: the conformal margin planned with
  std::vector<bool> truth;     // per task: judged against its zoo's ground truth
  bool verified = false;       // verification on selection was on
  int verified_variants = 0;   // chosen estimated variants measured (looked up)
  int below_slo = 0;           // ... below the SLO they were chosen for
  int replans = 0;             // plans made again because of them
  int unavailable = 0;         // chosen estimated variants with no truth to verify them by
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
  std::vector<MemoryFigures> memory;  // hotness: ascending fraction; the last is 100%
  // The other cache policies at the same budgets: lru, lfu, none, each ascending.
  std::vector<MemoryFigures> memory_policies;
  // AV-P with every stage its plans use preloaded, no budget: the paper's reference for (e).
  std::optional<ViolationFigures> memory_av_all;
  int change_episodes = 0;
  std::vector<SloChangeBenchFigures> slo_changes;  // SparseLoom first, then the baselines
  AccuracyFigures accuracy;
  double wall_s = 0.0;
};

// The violations of `planner` (nullptr: none), and of the baseline with the highest violation
// rate per request (the first of them on a tie; nullptr: no baseline). SparseLoom is first.
const ViolationFigures* FindViolations(const PlatformResults& p, const std::string& planner);
const ViolationFigures* WorstBaseline(const PlatformResults& p);
// Closed loop: the planner's measured throughput and its bound (0 when it has none).
double ThroughputOf(const PlatformResults& p, const std::string& planner);
double BoundOf(const PlatformResults& p, const std::string& planner);
// 1 - ours / theirs; 0 when theirs is not positive.
double Reduction(double ours, double theirs);

// The profiling-time model summed over a platform's tasks.
struct ProfilingTotals {
  double sampled_s = 0.0, exhaustive_s = 0.0, measured_s = 0.0, modelled_measured_s = 0.0;
  double accuracy_s = 0.0, chains_s = 0.0, stages_s = 0.0, loads_s = 0.0, estimators_s = 0.0;
  double exhaustive_accuracy_s = 0.0, exhaustive_chains_s = 0.0;
  bool has_measured = false;
};
ProfilingTotals ProfilingTotalsOf(const PlatformResults& p);

// The smallest budget whose violation rate is within `tolerance_pp` percentage points of the
// 100% budget's, as must every larger budget be; nullptr when there is no 100% point.
const MemoryFigures* SmallestEquivalentBudget(const PlatformResults& platform, double tolerance_pp);
// The same over one policy's `sweep` (ascending), against `reference_rate` (a violation rate);
// nullptr when not even the largest budget is within the tolerance.
const MemoryFigures* SmallestBudgetWithin(const std::vector<MemoryFigures>& sweep,
                                          double reference_rate, double tolerance_pp);
// One policy's figures in `p.memory_policies` (or p.memory for "hotness"), ascending.
std::vector<MemoryFigures> MemorySweepOf(const PlatformResults& p, const std::string& policy);

// One platform's line of the command's summary.
struct PlatformHeadline {
  const ViolationFigures* sparseloom = nullptr;
  const ViolationFigures* worst = nullptr;     // the worst baseline; nullptr: none
  const ViolationFigures* avp = nullptr;       // nullptr: AV-P did not run
  std::optional<double> throughput_ratio;      // SparseLoom / SV-AO-NP, closed loop
  std::optional<double> memory_saving;         // 1 - the smallest equivalent budget
  double sampled_s = 0.0, exhaustive_s = 0.0;  // profiling-time model, all tasks
};
PlatformHeadline HeadlineOf(const PlatformResults& p, double memory_tolerance_pp);

}  // namespace sparseloom::eval
