#pragma once
// `sparseloom loadgen`: the evaluation workload sent to a server, reporting what a client sees
// (docs/serving.md): per model the answers by HTTP status, latency quantiles measured by the
// client from each request's scheduled arrival, SLO violations judged on the client's latency, the
// accuracy of the predictions against the validation labels, and throughput. The same workload
// runs against an in-process sparseloom::Runtime (the target "in-process"), so that what HTTP
// costs is measured by one program.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "plan/task_file.h"
#include "runtime/workload.h"
#include "sparseloom/runtime.h"

namespace sparseloom::engine {
class Engine;
}

namespace sparseloom::serve {

struct LoadOptions {
  runtime::ArrivalKind arrivals = runtime::ArrivalKind::kPoisson;
  double seconds = 10.0;    // how long requests are sent
  double rate_scale = 1.0;  // multiplies every task's rate_per_s (Poisson)
  int window = 4;           // requests each model keeps in flight (closed loop)
  int connections = 8;      // HTTP connections (Poisson); closed loop: one per window slot
  std::uint64_t seed = 0;   // arrivals and samples, as `sparseloom run`'s episode "slo0-order0"
};

// One model's sample inputs (the validation set) and labels, at batch 1.
struct ModelInputs {
  std::string name;
  Slo slo;
  double rate_per_s = 0.0;
  std::vector<std::string> input_names;  // the input, then side inputs
  std::vector<std::vector<Tensor>> samples;
  std::vector<std::int64_t> labels;
};

// Reads each task's validation set through `engine`.
std::vector<ModelInputs> LoadModelInputs(const plan::TaskFile& tasks, engine::Engine& engine);

// What one request got back.
struct Answer {
  int status = 0;        // HTTP status; 0: no answer (the connection failed)
  std::string slo_miss;  // the server's, when answered 200
  std::int64_t prediction = -1;
  std::string error;
};

// Where requests go: an HTTP server, or a runtime in this process. Send blocks; it is called
// from several threads at once.
class LoadTarget {
 public:
  virtual ~LoadTarget() = default;
  virtual Answer Send(const ModelInputs& model, std::size_t sample) = 0;
};

std::unique_ptr<LoadTarget> HttpTarget(const std::string& url);
// Loads the task file's tasks into `runtime` (which must outlive the target).
std::unique_ptr<LoadTarget> InProcessTarget(Runtime& runtime, const plan::TaskFile& tasks);

struct ModelLoad {
  std::string name;
  std::int64_t sent = 0;
  std::map<int, std::int64_t> by_status;  // 0: no answer; -1: not sent (the client's queue full)
  std::int64_t late = 0;                  // answered 200 after max_latency_ms (client's clock)
  std::int64_t below_accuracy = 0;        // answered 200 on a route below min_accuracy
  std::int64_t correct = 0;               // predictions equal to the label
  std::int64_t violations = 0;            // late, below accuracy, or not answered 200
  std::map<std::string, std::int64_t> errors;       // why not answered 200 (the first 8 reasons)
  double p50_ms = 0.0, p95_ms = 0.0, p99_ms = 0.0;  // answered 200
  double throughput_per_s = 0.0;                    // answered 200 per second sent
  double violation_rate() const { return sent ? double(violations) / double(sent) : 0.0; }
};

struct LoadReport {
  std::string target;
  LoadOptions options;
  double wall_s = 0.0;
  std::vector<ModelLoad> models;
};

// Sends the workload to `target` and waits for every answer. `progress` gets a line a second.
LoadReport RunLoad(LoadTarget& target, const std::vector<ModelInputs>& models,
                   const LoadOptions& options, std::ostream& progress);

void PrintLoadReport(const LoadReport& report, std::ostream& out);
std::string LoadReportJson(const LoadReport& report);

}  // namespace sparseloom::serve
