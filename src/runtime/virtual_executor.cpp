#include "runtime/virtual_executor.h"

#include <algorithm>
#include <exception>

#include "common/error.h"

namespace sparseloom::runtime {

VirtualExecutor::VirtualExecutor(std::vector<std::string> processors, preload::StageCache& cache,
                                 VirtualServingClock& clock, StageCostModel cost,
                                 VirtualExecutorOptions options)
    : processor_names_(processors),
      cache_(cache),
      clock_(clock),
      cost_(std::move(cost)),
      options_(options),
      flow_(std::move(processors), options.flow),
      processors_(processor_names_.size()) {
  if (!cost_.stage_ms || !cost_.load_ms)
    throw UsageError("virtual executor: expected a stage and a load time model, got none");
}

void VirtualExecutor::SetRoutes(std::vector<std::optional<TaskRoute>> routes) {
  cache_.SetRouted(StagesOfRoutes(routes));
  flow_.SetRoutes(std::move(routes), clock_.NowMs(), events_);
  Settle();
}

bool VirtualExecutor::Submit(int task, std::int64_t sample, RequestInput input, double arrival_ms,
                             const AdmitOptions& admit) {
  const std::int64_t dropped = flow_.counters().dropped;
  flow_.Admit(task, sample, input.label, arrival_ms, clock_.NowMs(), false, events_, admit);
  const bool admitted = flow_.counters().dropped == dropped;
  Settle();
  return admitted;
}

void VirtualExecutor::OnDone(std::function<void(const RequestRecord&)> callback) {
  on_done_ = std::move(callback);
}

void VirtualExecutor::OnProcessorFailed(std::function<void(int, const std::string&)> callback) {
  on_failed_ = std::move(callback);
}

void VirtualExecutor::WaitIdle() {
  clock_.RunWhile([this] { return flow_.counters().in_flight > 0; });
  if (flow_.parked() > 0) {
    flow_.FailParked(
        "parked after a processor fault and never re-routed before the pipeline stopped",
        clock_.NowMs(), events_);
    Settle();
  }
}

std::vector<RequestRecord> VirtualExecutor::TakeRecords() {
  return std::exchange(records_, {});
}

void VirtualExecutor::TryStart(int p) {
  Processor& proc = processors_[static_cast<std::size_t>(p)];
  if (proc.busy || !flow_.alive(p))
    return;
  std::optional<StageWork> work = flow_.Next(p);
  if (!work)
    return;
  const double now = clock_.NowMs();
  proc.busy = true;
  proc.work = *work;
  proc.start_ms = now;
  const preload::StageKey key{work->task, work->stage, work->variant, p};
  double ms = 0.0;
  try {
    ms = cost_.stage_ms(*work, p, now);
  } catch (const std::exception& e) {
    FailLater(p, e.what());
    return;
  }
  // Resident for an instant only: a lease held for the stage's virtual duration could leave the
  // single-threaded loop waiting for room forever under a budget smaller than P stages.
  proc.load_ms = cache_.Touch(key) ? cost_.load_ms(key) : 0.0;
  clock_.Schedule(now + proc.load_ms + ms, [this, p] { StageEnd(p); });
}

void VirtualExecutor::FailLater(int p, std::string error) {
  // An event of its own, as a worker's fault is reported from its own thread: the caller that gave
  // the processor work (a driver holding its lock) is not re-entered.
  clock_.Schedule(clock_.NowMs(), [this, p, error = std::move(error)] {
    Processor& failing = processors_[static_cast<std::size_t>(p)];
    failing.busy = false;
    // Its stages are no use to anyone now; free their memory before the re-plan loads others.
    cache_.EvictUnused([p](const preload::StageKey& s) { return s.processor == p; });
    const StageWork& w = failing.work;
    flow_.ProcessorFailed(w, p,
                          "task " + std::to_string(w.task) + " stage " +
                              std::to_string(w.stage + 1) + " variant " +
                              std::to_string(w.variant) + " on processor '" +
                              processor_names_[static_cast<std::size_t>(p)] + "': " + error,
                          clock_.NowMs(), events_);
    Settle();
  });
}

void VirtualExecutor::StageEnd(int p) {
  Processor& proc = processors_[static_cast<std::size_t>(p)];
  proc.busy = false;
  flow_.Completed(proc.work, p, proc.start_ms, clock_.NowMs(), proc.load_ms, -1, events_);
  woken_.push_back(p);  // it may start its next stage
  Settle();
}

void VirtualExecutor::Settle() {
  if (settling_)
    return;  // the loop below picks up what the re-entrant call added
  settling_ = true;
  std::vector<int> to_start;
  while (!events_.empty() || !woken_.empty()) {
    // Swapped, not moved: the buffers keep their capacity from one event to the next.
    failed_.swap(events_.failed);
    done_.swap(events_.done);
    for (int p : events_.woken)
      woken_.push_back(p);
    events_.clear();
    to_start.swap(woken_);
    for (const auto& [p, error] : failed_) {
      if (on_failed_)
        on_failed_(p, error);
    }
    for (RequestRecord& record : done_) {
      if (on_done_)
        on_done_(record);
      records_.push_back(std::move(record));
    }
    for (int p : to_start)
      TryStart(p);
    failed_.clear();
    done_.clear();
    to_start.clear();
  }
  settling_ = false;
}

}  // namespace sparseloom::runtime
