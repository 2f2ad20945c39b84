#pragma once
// What `sparseloom run` reports of each planner's run of the episodes: totals over tasks, the
// planning and closed-loop figures, and the JSON results file (format "sparseloom-run", version 1;
// docs/runtime.md).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "preload/stage_cache.h"
#include "profile/processor_setup.h"
#include "runtime/accuracy_verification.h"
#include "runtime/serving.h"
#include "runtime/workload.h"

namespace sparseloom::eval {

// One planner's run of every episode.
struct PlannerRun {
  std::string planner;
  std::vector<runtime::EpisodeReport> episodes;
  std::vector<runtime::TaskSummary> summaries;
  std::vector<runtime::ThroughputCheck> throughput;  // closed loop: the last phase of each episode
  int warmed = 0;
  double wall_s = 0.0;  // serving its episodes (warming excluded)
};

// A run's task summaries added up.
struct Totals {
  std::int64_t requests = 0, violations = 0, completed = 0, dropped = 0, failed = 0;
  std::int64_t task_episodes = 0, episodes_violated = 0;
  double throughput = 0.0;
  double worst_p99 = 0.0;
};
Totals TotalsOf(const PlannerRun& run);

// a / b; 0 when b is 0.
double Ratio(std::int64_t a, std::int64_t b);

// How long planning took over a run's phases.
struct PlanningTimes {
  double total_ms = 0.0, worst_ms = 0.0;
  std::size_t phases = 0;
  std::size_t planned_ahead = 0;  // phases whose plan was made before serving
};
PlanningTimes PlanningTimesOf(const PlannerRun& run);

// Closed loop: the mean over episodes of the throughput measured with every task present and of
// the planner's bound, and the measured share of the bound.
struct ClosedLoopFigures {
  double measured_rps = 0.0, bound_rps = 0.0, share_of_bound = 0.0;
};
ClosedLoopFigures ClosedLoopOf(const PlannerRun& run);  // run.throughput must not be empty

// The SLO changes of a run's episodes (runtime::SloChangeReport) added up: the re-plans and the
// changed tasks' requests before, during and after them.
struct SloChangeFigures {
  std::size_t changes = 0;
  std::size_t replanned = 0;      // with a plan for the new SLO in place before the episode ended
  std::size_t planned_ahead = 0;  // ... installed at once from the plans made ahead
  std::size_t plans_met = 0;      // ... whose plan meets the new SLO
  double replan_mean_ms = 0.0, replan_max_ms = 0.0;  // over the replanned
  runtime::RequestWindow before, during, after;      // requests and violations summed
};
SloChangeFigures SloChangeFiguresOf(const PlannerRun& run);

// One run's entry of the results file.
nlohmann::ordered_json RunJson(const PlannerRun& run,
                               const std::vector<runtime::ServedTask>& tasks);

// What the results file says about the whole command.
struct RunDescription {
  bool simulated = false;
  std::string task_file;
  profile::ProcessorSetup processors;
  runtime::ArrivalKind arrivals = runtime::ArrivalKind::kPoisson;
  double phase_s = 0.0;
  double rate_scale = 1.0;
  std::uint64_t seed = 0;
  bool plans_made_ahead = false;
  std::vector<double> latency_scale;    // per task
  std::vector<double> stitch_margin;    // per task
  double accuracy_coverage = 0.0;       // of the lower bound planned on (0: none)
  std::vector<double> accuracy_margin;  // per task: the conformal margin at that coverage
  std::vector<bool> accuracy_truth;     // per task: its zoo has an accuracy ground truth
  // Verify on selection, when on: what it measured and changed.
  std::optional<runtime::AccuracyVerification::Counts> verification;
  double verification_measure_s = 0.0;
  std::int64_t cache_budget_bytes = 0;
  std::string cache_policy = "hotness";
  std::int64_t full_zoo_set_bytes = 0;
  preload::StageCacheStats cache;
  std::int64_t rss_bytes = 0;
  std::int64_t rss_start_bytes = 0;
};

// The results file: the description, then every run.
nlohmann::ordered_json RunFileJson(const RunDescription& description,
                                   const std::vector<PlannerRun>& runs,
                                   const std::vector<runtime::ServedTask>& tasks);

}  // namespace sparseloom::eval
