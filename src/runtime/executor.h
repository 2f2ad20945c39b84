#pragma once
// The serving core's executor seam (DESIGN.md "runtime" and "sim"): what runs the requests the one
// serving driver submits. Both executors drive the same request flow (runtime/request_flow.h:
// admission, queues, hand-overs, faults) and stage cache (preload/stage_cache.h); they differ in
// what a stage is: the pipeline (runtime/pipeline.h) runs it through the engine on a pinned worker
// thread, the virtual executor (runtime/virtual_executor.h) charges its modelled time on a
// virtual clock.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "preload/stage_cache.h"
#include "runtime/request_flow.h"

namespace sparseloom::runtime {

// One request's data: batch-1 input and side inputs in the zoo's order, and its label when known.
struct RequestInput {
  engine::Tensor input;
  std::vector<engine::Tensor> side;
  std::int64_t label = -1;
};

// The stages `routes` run (task, stage, variant, processor): what the stage cache keeps ahead of
// its hotness order while the routes are in place (preload::StageCache::SetRouted).
inline std::set<preload::StageKey> StagesOfRoutes(
    const std::vector<std::optional<TaskRoute>>& routes) {
  std::set<preload::StageKey> keys;
  for (std::size_t t = 0; t < routes.size(); ++t) {
    if (!routes[t])
      continue;
    // Sizes are checked where the routes are set; a malformed route adds nothing here.
    const std::size_t K = std::min(routes[t]->variant_of_stage.size(), routes[t]->placement.size());
    for (std::size_t k = 0; k < K; ++k)
      keys.insert({static_cast<int>(t), static_cast<int>(k), routes[t]->variant_of_stage[k],
                   routes[t]->placement[k]});
  }
  return keys;
}

class Executor {
 public:
  virtual ~Executor() = default;
  Executor() = default;
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Routes per task (nullopt: not served), for requests admitted afterwards; requests in flight
  // finish on theirs, parked ones restart on the new route. UsageError on a route it cannot run.
  virtual void SetRoutes(std::vector<std::optional<TaskRoute>> routes) = 0;
  // Never blocks. False, after recording a dropped request, when admission is full, the task has
  // no route, the deadline cannot be met or the executor is stopping. `arrival_ms` is on the
  // executor's clock.
  virtual bool Submit(int task, std::int64_t sample, RequestInput input, double arrival_ms,
                      const AdmitOptions& admit = {}) = 0;
  // Called without the executor's locks after each request's record is final (see Pipeline).
  virtual void OnDone(std::function<void(const RequestRecord&)> callback) = 0;
  // Called once per processor fault, after it is taken out (see Pipeline).
  virtual void OnProcessorFailed(std::function<void(int, const std::string&)> callback) = 0;
  // Until nothing is in flight (a virtual executor runs its clock until then).
  virtual void WaitIdle() = 0;
  virtual std::vector<RequestRecord> TakeRecords() = 0;
  virtual PipelineCounters Counters() const = 0;
  virtual std::vector<bool> Alive() const = 0;
  virtual int realtime_workers() const { return 0; }
};

}  // namespace sparseloom::runtime
