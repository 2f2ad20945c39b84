#pragma once
// What `GET /metrics` reports, in the Prometheus text format (docs/serving.md): Triton's request
// counters and durations per model, counted by the server for every inference it answers, beside
// SparseLoom's SLO violations by cause, re-plans, the stitched variant in use, resident stage
// bytes and each processor's busy share from the application API.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sparseloom/runtime.h"

namespace sparseloom::serve {

// One model's counters since the server started (cumulative, as Prometheus counters are).
struct ModelCounters {
  std::int64_t success = 0;
  std::int64_t rejected = 0;  // refused at once (admission full, no route, deadline): 503
  std::int64_t failed = 0;    // a stage failed: 500
  std::int64_t invalid = 0;   // a malformed request: 400
  std::int64_t pending = 0;   // submitted, not yet answered
  std::int64_t late = 0, below_accuracy = 0;                  // completed outside the SLO, by cause
  double request_us = 0.0, queue_us = 0.0, compute_us = 0.0;  // completed requests, summed
};

// The counters of every model, safe to update from the server's handler threads.
class ServerCounters {
 public:
  void Pending(const std::string& model, int delta);
  void Answered(const std::string& model, const Result& result);  // a request's one result
  void Invalid(const std::string& model);
  std::map<std::string, ModelCounters> Snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, ModelCounters> models_;
};

// The exposition text of `counters`, the runtime's `stats` and the models it `serves`.
std::string PrometheusText(const std::map<std::string, ModelCounters>& counters, const Stats& stats,
                           const std::vector<TaskInfo>& serves);

}  // namespace sparseloom::serve
