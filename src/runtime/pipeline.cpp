#include "runtime/pipeline.h"

#include <algorithm>
#include <atomic>

#include <cstring>
#include <future>
#include <utility>

#include "common/error.h"
#include "runtime/processor_thread.h"

namespace sparseloom::runtime {

namespace {

std::vector<std::string> NamesOf(const std::vector<engine::ProcessorConfig>& processors) {
  std::vector<std::string> names;
  for (const auto& p : processors)
    names.push_back(p.name);
  return names;
}

FlowOptions FlowOptionsOf(const PipelineOptions& options) {
  FlowOptions flow;
  flow.max_in_flight = options.max_in_flight;
  flow.max_attempts = options.max_attempts;
  flow.earliest_deadline_first = options.earliest_deadline_first;
  flow.keep_stage_spans = true;
  return flow;
}

}  // namespace

struct Pipeline::Worker {
  std::atomic<std::size_t> queued{0};  // the flow's queue length, readable without the mutex
  std::condition_variable wake;
  bool stop = false;
  std::thread thread;
};

Pipeline::Pipeline(std::vector<engine::ProcessorConfig> processors, preload::StageCache& cache,
                   std::function<std::int64_t(const engine::Tensor&)> argmax,
                   PipelineOptions options, StageRunner run)
    : processors_(std::move(processors)),
      cache_(cache),
      argmax_(std::move(argmax)),
      options_(options),
      run_(std::move(run)),
      start_(Clock::now()),
      flow_(NamesOf(processors_), FlowOptionsOf(options_)),
      payloads_(static_cast<std::size_t>(options_.max_in_flight)) {
  if (!argmax_)
    throw UsageError("pipeline: expected an argmax function, got none");
  if (!run_)
    throw UsageError("pipeline: expected a stage runner, got none");
  for (const auto& p : processors_)
    CheckProcessor(p);

  for (std::size_t p = 0; p < processors_.size(); ++p)
    workers_.push_back(std::make_unique<Worker>());
  std::vector<std::promise<int>> pinned(processors_.size());
  for (std::size_t p = 0; p < processors_.size(); ++p) {
    workers_[p]->thread = std::thread([this, p, &pinned] {
      const int rc = PinCallingThread(processors_[p].cores);
      const ScopedRealtimePriority realtime(rc == 0 ? options_.realtime_priority : 0);
      if (realtime.active())
        ++realtime_workers_;
      pinned[p].set_value(rc);
      if (rc == 0)
        WorkerLoop(static_cast<int>(p));
    });
  }
  std::string error;
  for (std::size_t p = 0; p < processors_.size(); ++p) {
    const int rc = pinned[p].get_future().get();
    if (rc != 0 && error.empty()) {
      error = "processor '" + processors_[p].name +
              "': pthread_setaffinity_np failed: " + std::strerror(rc);
    }
  }
  if (!error.empty()) {
    {
      std::lock_guard lock(mutex_);
      for (auto& w : workers_) {
        w->stop = true;
        w->wake.notify_all();
      }
    }
    for (auto& w : workers_)
      w->thread.join();
    throw EngineError(error);
  }
}

Pipeline::~Pipeline() {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  while (true) {
    // Everything left in flight is parked, and no callback is about to re-route it.
    idle_.wait(lock, [this] {
      return flow_.counters().in_flight == static_cast<std::int64_t>(flow_.parked()) &&
             callbacks_running_ == 0;
    });
    if (flow_.parked() == 0)
      break;
    FlowEvents events;
    flow_.FailParked(
        "parked after a processor fault and never re-routed before the pipeline stopped", NowMs(),
        events);
    Apply(events);
    Deliver(events, lock);
  }
  for (auto& w : workers_) {
    w->stop = true;
    w->wake.notify_all();
  }
  lock.unlock();
  for (auto& w : workers_)
    w->thread.join();
}

void Pipeline::SetRoutes(std::vector<std::optional<TaskRoute>> routes) {
  cache_.SetRouted(
      StagesOfRoutes(routes));  // before the pipeline's lock: the cache's is taken alone
  std::unique_lock lock(mutex_);
  FlowEvents events;
  flow_.SetRoutes(std::move(routes), NowMs(), events);
  Apply(events);
  Deliver(events, lock);
}

int Pipeline::route_epoch() const {
  std::lock_guard lock(mutex_);
  return flow_.route_epoch();
}

bool Pipeline::Submit(int task, std::int64_t sample, RequestInput input,
                      Clock::time_point arrival) {
  return Submit(task, sample, std::move(input),
                std::chrono::duration<double, std::milli>(arrival - start_).count());
}

bool Pipeline::Submit(int task, std::int64_t sample, RequestInput input, double arrival_ms,
                      const AdmitOptions& admit) {
  std::unique_lock lock(mutex_);
  FlowEvents events;
  const std::int64_t dropped = flow_.counters().dropped;
  const int slot =
      flow_.Admit(task, sample, input.label, arrival_ms, NowMs(), stopping_, events, admit);
  if (slot >= 0) {
    // Under the lock, so no worker takes the request before its data is there.
    Payload& payload = payloads_[static_cast<std::size_t>(slot)];
    payload.input = std::move(input);
    payload.x = engine::Tensor{};
  }
  const bool admitted = flow_.counters().dropped == dropped;
  Apply(events);
  Deliver(events, lock);
  return admitted;
}

void Pipeline::OnDone(std::function<void(const RequestRecord&)> callback) {
  std::lock_guard lock(mutex_);
  on_done_ = std::move(callback);
}

void Pipeline::OnProcessorFailed(std::function<void(int, const std::string&)> callback) {
  std::lock_guard lock(mutex_);
  on_failed_ = std::move(callback);
}

void Pipeline::WaitIdle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return flow_.counters().in_flight == 0 && callbacks_running_ == 0; });
}

std::vector<RequestRecord> Pipeline::TakeRecords() {
  std::lock_guard lock(mutex_);
  std::vector<RequestRecord> records = std::move(records_);
  records_.clear();
  return records;
}

PipelineCounters Pipeline::Counters() const {
  std::lock_guard lock(mutex_);
  return flow_.counters();
}

std::vector<bool> Pipeline::Alive() const {
  std::lock_guard lock(mutex_);
  return flow_.Alive();
}

void Pipeline::WorkerLoop(int processor) {
  Worker& worker = *workers_[static_cast<std::size_t>(processor)];
  std::unique_lock lock(mutex_);
  while (true) {
    if (flow_.queued(processor) == 0 && !worker.stop && options_.spin_us > 0.0) {
      lock.unlock();
      const auto until =
          Clock::now() + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double, std::micro>(options_.spin_us));
      while (worker.queued.load(std::memory_order_acquire) == 0 && Clock::now() < until) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      lock.lock();
    }
    worker.wake.wait(lock, [&] { return worker.stop || flow_.queued(processor) > 0; });
    if (worker.stop)
      return;  // only once nothing is in flight
    const std::optional<StageWork> work = flow_.Next(processor);
    worker.queued.store(flow_.queued(processor), std::memory_order_release);
    RunStage(processor, *work, lock);
  }
}

void Pipeline::RunStage(int processor, const StageWork& work, std::unique_lock<std::mutex>& lock) {
  const double start_ms = NowMs();
  const preload::StageKey key{work.task, work.stage, work.variant, processor};
  // The slot belongs to this worker now: its tensors are used without the lock.
  Payload& payload = payloads_[static_cast<std::size_t>(work.slot)];
  lock.unlock();

  std::string error, rejected;
  engine::Tensor output;
  double load_ms = 0.0;
  try {
    preload::StageCache::Lease lease = cache_.Acquire(key);
    load_ms = lease.load_ms();
    // Stage 1 reads the request's input (again after a restart), later stages the previous output.
    output = run_(lease.stage(), work, processor, start_ms,
                  work.stage == 0 ? payload.input.input : payload.x, payload.input.side);
  } catch (const engine::RequestRejected& e) {
    rejected = e.what();  // the request's own failure: the processor stays in service
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown exception";
  }
  std::int64_t prediction = -1;
  std::string argmax_error;
  if (error.empty() && rejected.empty() && work.last) {
    try {
      prediction = argmax_(output);
    } catch (const std::exception& e) {
      argmax_error = e.what();
    }
  }
  const double end_ms = NowMs();

  if (!error.empty()) {
    error = "task " + std::to_string(key.task) + " stage " + std::to_string(key.stage + 1) +
            " variant " + std::to_string(key.variant) + " on processor '" +
            processors_[static_cast<std::size_t>(processor)].name + "': " + error;
    // Its stages are no use to anyone now; free their memory before the re-plan loads others.
    cache_.EvictUnused(
        [processor](const preload::StageKey& s) { return s.processor == processor; });
  }
  lock.lock();
  FlowEvents events;
  if (!error.empty()) {
    flow_.ProcessorFailed(work, processor, error, NowMs(), events);
  } else if (!rejected.empty()) {
    flow_.Abort(work,
                "stage " + std::to_string(key.stage + 1) + " refused the request: " + rejected,
                end_ms, events);
  } else if (!argmax_error.empty()) {
    flow_.Abort(work, "argmax of the output: " + argmax_error, end_ms, events);
  } else {
    if (!work.last)
      payload.x = std::move(output);
    flow_.Completed(work, processor, start_ms, end_ms, load_ms, prediction, events);
    // The last stage's Completed ends the request: its record is the one just made.
    if (work.last && options_.keep_outputs && !events.done.empty())
      events.done.back().output = std::move(output);
  }
  Apply(events);
  Deliver(events, lock);
}

double Pipeline::NowMs() const {
  return std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
}

void Pipeline::Apply(FlowEvents& events) {
  for (int slot : events.freed)
    payloads_[static_cast<std::size_t>(slot)] = Payload{};
  for (std::size_t p = 0; p < workers_.size(); ++p)
    workers_[p]->queued.store(flow_.queued(static_cast<int>(p)), std::memory_order_release);
  for (int p : events.woken)
    workers_[static_cast<std::size_t>(p)]->wake.notify_one();
  if (options_.keep_records) {
    for (const RequestRecord& record : events.done)
      records_.push_back(record);
  }
  // Something ended or was parked: WaitIdle and the destructor re-check.
  idle_.notify_all();
}

void Pipeline::Deliver(FlowEvents& events, std::unique_lock<std::mutex>& lock) {
  if (events.done.empty() && events.failed.empty())
    return;
  ++callbacks_running_;
  const auto on_failed = on_failed_;
  const auto on_done = on_done_;
  lock.unlock();
  // Relocks and counts the delivery as over even when a callback throws.
  struct Relock {
    Pipeline& pipeline;
    std::unique_lock<std::mutex>& lock;
    ~Relock() {
      lock.lock();
      --pipeline.callbacks_running_;
      pipeline.idle_.notify_all();
    }
  } relock{*this, lock};
  // Fault notices first: the callback re-plans before the failed requests are reported.
  for (const auto& [processor, error] : events.failed) {
    if (on_failed)
      on_failed(processor, error);
  }
  for (const RequestRecord& record : events.done) {
    if (on_done)
      on_done(record);
  }
}

}  // namespace sparseloom::runtime
