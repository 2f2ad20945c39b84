#pragma once
// What `sparseloom run` was asked, and the serving options, cache budget and arrivals it means.

#include <cstdint>
#include <string>

#include "eval/task_inputs.h"
#include "runtime/serving.h"
#include "runtime/workload.h"

namespace sparseloom::cli {

struct RunOptions {
  std::string tasks;
  std::string planner = "sparseloom";
  std::string arrivals = "poisson";
  double phase_s = 2.0;
  int slo_configs = 0;  // 0: the task file's SLOs
  int orders = 1;
  double slo_changes = 0.0;  // per phase, on average
  double rate_scale = 1.0;
  int window = 4;
  std::string cache_budget;
  std::string cache_policy = "hotness";
  std::string memory_trace;  // CSV file; empty: none
  int max_in_flight = 64;
  std::string fail_processor;
  double fail_after_s = -1.0;
  double latency_headroom = 2.0;
  bool calibrate_handovers = true;
  bool calibrate_latencies = true;
  std::string latency_scale;  // "" (measure), one factor, or one per task
  double calibration_s = 1.0;
  double stitch_margin = -1.0;     // < 0: each table's latency estimator error
  double accuracy_coverage = 0.9;  // plan on the estimate less its conformal margin; 0: none
  bool verify = true;              // measure chosen estimated variants before serving them
  bool queueing_aware = true;
  bool plan_ahead = true;
  double wait_quantile = 0.0;
  int realtime_priority = 10;
  std::uint64_t seed = 0;
  std::string json;
  std::string trace;
  bool simulate = false;
  std::string storage = "devices/host.json";
};

// "" (the task file's memory_budget_bytes), "55%" of the full zoo set, or a byte count.
std::int64_t ParseCacheBudget(const std::string& text, std::int64_t from_file,
                              std::int64_t full_set_bytes);

// --arrivals: "poisson" or "closed".
runtime::ArrivalKind ArrivalsNamed(const std::string& name);

// The serving options of the run; UsageError for a --fail-processor the setup does not have.
runtime::ServeOptions ServeOptionsOf(const RunOptions& o, const eval::Inputs& in,
                                     runtime::ArrivalKind arrivals);

}  // namespace sparseloom::cli
