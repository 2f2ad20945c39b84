#pragma once
// The virtual executor (DESIGN.md "sim"): the request flow and stage cache of the real pipeline,
// with processors that are busy for a stage's modelled time on a virtual clock instead of running
// it. What a stage costs is the caller's model (the simulator's: the profile's latency, hand-over,
// stitch gap and the storage read of a cold stage). Single-threaded: it runs on the clock's events.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "preload/stage_cache.h"
#include "runtime/executor.h"
#include "runtime/serving_clock.h"

namespace sparseloom::runtime {

struct StageCostModel {
  // Time processor p takes for `work` started at `now_ms` (hand-over from work.from_processor and
  // the stitch gap included), without loading. Throws to fail the processor (fault injection,
  // runtime/injected_fault.h).
  std::function<double(const StageWork& work, int processor, double now_ms)> stage_ms;
  // Time to load a stage that was not resident.
  std::function<double(const preload::StageKey& key)> load_ms;
};

struct VirtualExecutorOptions {
  FlowOptions flow;
};

class VirtualExecutor final : public Executor {
 public:
  // UsageError on no processor or no cost model.
  VirtualExecutor(std::vector<std::string> processors, preload::StageCache& cache,
                  VirtualServingClock& clock, StageCostModel cost, VirtualExecutorOptions options);

  void SetRoutes(std::vector<std::optional<TaskRoute>> routes) override;
  bool Submit(int task, std::int64_t sample, RequestInput input, double arrival_ms,
              const AdmitOptions& admit = {}) override;
  void OnDone(std::function<void(const RequestRecord&)> callback) override;
  void OnProcessorFailed(std::function<void(int, const std::string&)> callback) override;
  // Runs the clock until nothing is in flight; requests parked by a fault and never re-routed fail.
  void WaitIdle() override;
  std::vector<RequestRecord> TakeRecords() override;
  PipelineCounters Counters() const override { return flow_.counters(); }
  std::vector<bool> Alive() const override { return flow_.Alive(); }

 private:
  struct Processor {
    bool busy = false;
    StageWork work;
    double start_ms = 0.0;
    double load_ms = 0.0;
  };
  void TryStart(int p);
  // The stage processor p was given fails at `now` with `error`, as an event of its own.
  void FailLater(int p, std::string error);
  void StageEnd(int p);
  // Acts on what the flow produced until nothing is left: fault notices first, then records,
  // then idle processors given work start it. Re-entrant calls (a callback that submits or sets
  // routes) add to the loop already running.
  void Settle();

  std::vector<std::string> processor_names_;
  preload::StageCache& cache_;
  VirtualServingClock& clock_;
  StageCostModel cost_;
  VirtualExecutorOptions options_;
  RequestFlow flow_;
  std::vector<Processor> processors_;
  FlowEvents events_;
  bool settling_ = false;
  std::vector<RequestRecord> records_;
  std::function<void(const RequestRecord&)> on_done_;
  std::function<void(int, const std::string&)> on_failed_;
  // Buffers reused from one event to the next.
  std::vector<std::pair<int, std::string>> failed_;
  std::vector<RequestRecord> done_;
  std::vector<int> woken_;
};

}  // namespace sparseloom::runtime
