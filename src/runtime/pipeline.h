#pragma once
// The pipelined executor (DESIGN.md "runtime"): one worker per processor, pinned to its cores,
// each with its own queue; a request of task t runs stage k of its stitched variant on the
// processor its route names and is handed to stage k+1's processor. What happens to a request
// (admission, queues, hand-overs, faults) is runtime/request_flow.h, which the simulator drives
// too; this class adds the threads, the clock and the stages' real execution. Every request ends as
// exactly one record: completed, dropped (admission full, no route) or failed (no processor left,
// retries used up). Nothing blocks a producer: admission is bounded by max_in_flight and every
// queue can hold all in-flight requests, so hand-overs never wait and never deadlock.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "plan/problem.h"
#include "preload/stage_cache.h"
#include "runtime/executor.h"
#include "runtime/request_flow.h"
#include "runtime/stage_runner.h"

namespace sparseloom::runtime {

using Clock = std::chrono::steady_clock;

struct PipelineOptions {
  int max_in_flight = 64;  // admission bound over all tasks
  int max_attempts = 3;    // a request hit by processor faults this often fails
  // Which queued request a worker runs next: the earliest deadline (arrival + the task's
  // max_latency_ms; a tight SLO overtakes a loose one queued before it) or first in, first out.
  bool earliest_deadline_first = true;
  // A worker that finds its queue empty polls it this long before sleeping, so that a hand-over
  // from another processor is taken at once instead of after a wake-up (which a busy shared host
  // can delay by milliseconds). 0: sleep at once.
  double spin_us = 200.0;
  // > 0: workers run at this SCHED_FIFO priority (1-99) where the process may (root or
  // CAP_SYS_NICE), so that background work on their cores cannot delay a stage by a time slice.
  // Where it may not, workers keep the normal policy and realtime_workers() says so. 0: normal.
  int realtime_priority = 0;
  // Keep each completed request's final output in its record (RequestRecord::output), for callers
  // that want the logits rather than the prediction.
  bool keep_outputs = false;
  // Keep every final record for TakeRecords (episodes); a long-running server that takes each
  // record from OnDone turns this off so that memory stays bounded.
  bool keep_records = true;
};

class Pipeline final : public Executor {
 public:
  // Starts one worker per processor (pinned as runtime/processor_thread.h does). `argmax` turns a
  // final output into a prediction (engine::Engine::ArgmaxLastDim on batch 1).
  // `run` runs each stage (runtime/stage_runner.h; fault injection wraps it).
  Pipeline(std::vector<engine::ProcessorConfig> processors, preload::StageCache& cache,
           std::function<std::int64_t(const engine::Tensor&)> argmax, PipelineOptions options = {},
           StageRunner run = RunAsIs());
  // Waits for in-flight requests (new ones are dropped meanwhile), fails the parked ones no
  // SetRoutes re-routed, then stops the workers.
  ~Pipeline() override;

  // Routes per task (nullopt: the task is not served). Requests admitted afterwards use them;
  // requests in flight finish on the route they started with, except those parked by a fault,
  // which restart from stage 0 on the new route. Throws UsageError on a route that names a
  // processor out of range or taken out.
  void SetRoutes(std::vector<std::optional<TaskRoute>> routes) override;
  int route_epoch() const;

  // Never blocks. Returns false, after recording a dropped request, when max_in_flight requests
  // are in flight, the task has no route or the pipeline is being destroyed.
  bool Submit(int task, std::int64_t sample, RequestInput input, Clock::time_point arrival);
  // The same with the arrival in ms since start().
  bool Submit(int task, std::int64_t sample, RequestInput input, double arrival_ms,
              const AdmitOptions& admit = {}) override;

  // Called without locks held after each request's record is final: on a worker thread for
  // completions and faults; on the caller's thread for a drop (or a failure when no processor is
  // left) inside Submit, a failure inside SetRoutes, and a parked request failed by the
  // destructor. A closed-loop driver may Submit the next request from here (one that resubmits on
  // every drop would recurse while admission stays full). Must not call WaitIdle.
  void OnDone(std::function<void(const RequestRecord&)> callback) override;
  // Called once per fault, on the failing worker's thread without locks held, after the processor
  // is taken out. Requests that needed it are parked (still in flight) until the next SetRoutes
  // restarts them from stage 0 on the new route (one that meets the dead processor later, still
  // on its old route, restarts on the current route at once); when no processor is left, or a
  // request has used its max_attempts, they fail.
  void OnProcessorFailed(
      std::function<void(int processor, const std::string& error)> callback) override;

  // Until no request is in flight and no callback is running. A request parked by a fault keeps
  // this waiting until a SetRoutes re-routes it.
  void WaitIdle() override;
  std::vector<RequestRecord> TakeRecords() override;
  PipelineCounters Counters() const override;
  std::vector<bool> Alive() const override;  // per processor
  // How many workers run at realtime_priority (0 when not asked for or not permitted).
  int realtime_workers() const override { return realtime_workers_.load(); }
  const std::vector<engine::ProcessorConfig>& processors() const { return processors_; }
  Clock::time_point start() const { return start_; }

 private:
  struct Worker;
  // A request's data, by flow slot: owned by whoever owns the slot (see request_flow.h).
  struct Payload {
    RequestInput input;
    engine::Tensor x;  // the next stage's input once stage 1 has run
  };
  void WorkerLoop(int processor);
  void RunStage(int processor, const StageWork& work, std::unique_lock<std::mutex>& lock);
  double NowMs() const;
  // With mutex_ held: keeps the records, frees the payloads of ended requests and wakes the
  // workers given a request.
  void Apply(FlowEvents& events);
  // Delivers `events` without the lock (callbacks may Submit or SetRoutes); relocks.
  void Deliver(FlowEvents& events, std::unique_lock<std::mutex>& lock);

  std::vector<engine::ProcessorConfig> processors_;
  preload::StageCache& cache_;
  std::function<std::int64_t(const engine::Tensor&)> argmax_;
  PipelineOptions options_;
  StageRunner run_;
  Clock::time_point start_;
  // Everything below is guarded by mutex_.
  mutable std::mutex mutex_;
  std::condition_variable idle_;  // in_flight or callbacks_running_ dropped
  RequestFlow flow_;
  std::vector<Payload> payloads_;  // by slot
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<RequestRecord> records_;
  int callbacks_running_ = 0;  // deliveries in progress: WaitIdle waits for them too
  bool stopping_ = false;      // the destructor has begun: new requests are dropped
  std::atomic<int> realtime_workers_{0};
  std::function<void(const RequestRecord&)> on_done_;
  std::function<void(int, const std::string&)> on_failed_;
};

}  // namespace sparseloom::runtime
