#include "runtime/pipeline.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>

#include <cstring>
#include <future>
#include <utility>

#include "common/error.h"
#include "runtime/processor_thread.h"

namespace sparseloom::runtime {

std::string ToString(Outcome outcome) {
  switch (outcome) {
    case Outcome::kCompleted:
      return "completed";
    case Outcome::kDropped:
      return "dropped";
    case Outcome::kFailed:
      return "failed";
  }
  throw UsageError("unknown request outcome " + std::to_string(static_cast<int>(outcome)));
}

bool RequestRecord::SloMet() const {
  return outcome == Outcome::kCompleted && latency_ms() <= slo.max_latency_ms &&
         accuracy >= slo.min_accuracy;
}

// A request between admission and its record; owned by exactly one place at a time: a worker's
// queue, the worker running it, or the parked list.
struct Pipeline::InFlight {
  RequestRecord record;
  RequestInput input;
  TaskRoute route;  // fixed at admission (or at the restart after a fault)
  std::size_t next_stage = 0;
  engine::Tensor x;  // next stage's input
  double queued_ms = 0.0;
};

struct Pipeline::Worker {
  std::deque<std::unique_ptr<InFlight>> queue;
  std::atomic<std::size_t> queued{0};  // queue.size(), readable without the mutex (spinning)
  std::condition_variable wake;
  bool alive = true;
  bool stop = false;
  std::thread thread;
};

Pipeline::Pipeline(std::vector<engine::ProcessorConfig> processors, StageCache& cache,
                   std::function<std::int64_t(const engine::Tensor&)> argmax,
                   PipelineOptions options)
    : processors_(std::move(processors)),
      cache_(cache),
      argmax_(std::move(argmax)),
      options_(options),
      start_(Clock::now()) {
  if (processors_.empty())
    throw UsageError("pipeline: expected at least one processor, got none");
  if (!argmax_)
    throw UsageError("pipeline: expected an argmax function, got none");
  if (options_.max_in_flight < 1) {
    throw UsageError("pipeline: max_in_flight must be at least 1, got " +
                     std::to_string(options_.max_in_flight));
  }
  if (options_.max_attempts < 1) {
    throw UsageError("pipeline: max_attempts must be at least 1, got " +
                     std::to_string(options_.max_attempts));
  }
  if (options_.fault_processor >= static_cast<int>(processors_.size())) {
    throw UsageError("pipeline: fault_processor " + std::to_string(options_.fault_processor) +
                     " is out of range (" + std::to_string(processors_.size()) + " processors)");
  }
  for (const auto& p : processors_)
    CheckProcessor(p);

  for (std::size_t p = 0; p < processors_.size(); ++p)
    workers_.push_back(std::make_unique<Worker>());
  std::vector<std::promise<int>> pinned(processors_.size());
  for (std::size_t p = 0; p < processors_.size(); ++p) {
    workers_[p]->thread = std::thread([this, p, &pinned] {
      const int rc = PinCallingThread(processors_[p].cores);
      if (rc == 0 && options_.realtime_priority > 0) {
        sched_param param{};
        param.sched_priority = std::min(options_.realtime_priority, 99);
        if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0)
          ++realtime_workers_;
      }
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
      return counters_.in_flight == static_cast<std::int64_t>(parked_.size()) &&
             callbacks_running_ == 0;
    });
    if (parked_.empty())
      break;
    Pending pending;
    std::deque<std::unique_ptr<InFlight>> parked = std::move(parked_);
    parked_.clear();
    for (auto& request : parked) {
      Finish(std::move(request), Outcome::kFailed,
             "parked after a processor fault and never re-routed before the pipeline stopped",
             pending);
    }
    Deliver(pending, lock);
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
  std::unique_lock lock(mutex_);
  const int num_processors = static_cast<int>(processors_.size());
  for (std::size_t t = 0; t < routes.size(); ++t) {
    if (!routes[t])
      continue;
    const TaskRoute& route = *routes[t];
    const std::string where = "route of task " + std::to_string(t);
    if (route.placement.empty() || route.placement.size() != route.variant_of_stage.size()) {
      throw UsageError(where + ": expected one variant and one processor per stage, got " +
                       std::to_string(route.variant_of_stage.size()) + " variants and " +
                       std::to_string(route.placement.size()) + " processors");
    }
    for (std::size_t k = 0; k < route.placement.size(); ++k) {
      const int p = route.placement[k];
      if (p < 0 || p >= num_processors) {
        throw UsageError(where + ": stage " + std::to_string(k + 1) + " names processor " +
                         std::to_string(p) + ", expected 0.." + std::to_string(num_processors - 1));
      }
      if (!workers_[p]->alive) {
        throw UsageError(where + ": stage " + std::to_string(k + 1) + " names processor '" +
                         processors_[p].name + "', which was taken out after a fault");
      }
      if (route.variant_of_stage[k] < 0) {
        throw UsageError(where + ": stage " + std::to_string(k + 1) + " names variant " +
                         std::to_string(route.variant_of_stage[k]) + ", expected >= 0");
      }
    }
  }
  routes_ = std::move(routes);
  ++epoch_;

  Pending pending;
  std::deque<std::unique_ptr<InFlight>> parked = std::move(parked_);
  parked_.clear();
  for (auto& request : parked) {
    const int task = request->record.task;
    if (task >= static_cast<int>(routes_.size()) || !routes_[task]) {
      Finish(std::move(request), Outcome::kFailed,
             "parked after a processor fault; the new plan has no route for task " +
                 std::to_string(task),
             pending);
      continue;
    }
    Restart(std::move(request), pending);
  }
  Deliver(pending, lock);
}

int Pipeline::route_epoch() const {
  std::lock_guard lock(mutex_);
  return epoch_;
}

bool Pipeline::Submit(int task, std::int64_t sample, RequestInput input,
                      Clock::time_point arrival) {
  const double arrival_ms = std::chrono::duration<double, std::milli>(arrival - start_).count();
  std::unique_lock lock(mutex_);
  Pending pending;
  ++counters_.submitted;
  RequestRecord record;
  record.id = next_id_++;
  record.task = task;
  record.sample = sample;
  record.arrival_ms = arrival_ms;
  record.label = input.label;
  record.route_epoch = epoch_;

  std::string drop;
  if (stopping_) {
    drop = "the pipeline is shutting down";
  } else if (task < 0 || task >= static_cast<int>(routes_.size()) || !routes_[task]) {
    drop = "task " + std::to_string(task) + " has no route";
  } else if (counters_.in_flight >= options_.max_in_flight) {
    drop = "admission full: " + std::to_string(counters_.in_flight) +
           " requests in flight (max_in_flight " + std::to_string(options_.max_in_flight) + ")";
  }
  if (!drop.empty()) {
    record.outcome = Outcome::kDropped;
    record.reason = std::move(drop);
    record.end_ms = NowMs();
    ++counters_.dropped;
    Record(std::move(record), pending);
    Deliver(pending, lock);
    return false;
  }

  auto request = std::make_unique<InFlight>();
  request->route = *routes_[task];
  record.accuracy = request->route.accuracy;
  record.slo = request->route.slo;
  request->record = std::move(record);
  request->input = std::move(input);
  request->x = request->input.input;
  ++counters_.in_flight;
  if (!AnyAlive())
    Finish(std::move(request), Outcome::kFailed, "no processor is alive", pending);
  else
    Dispatch(std::move(request), pending);
  Deliver(pending, lock);
  return true;
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
  idle_.wait(lock, [this] { return counters_.in_flight == 0 && callbacks_running_ == 0; });
}

std::vector<RequestRecord> Pipeline::TakeRecords() {
  std::lock_guard lock(mutex_);
  std::vector<RequestRecord> records = std::move(records_);
  records_.clear();
  return records;
}

PipelineCounters Pipeline::Counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

std::vector<bool> Pipeline::Alive() const {
  std::lock_guard lock(mutex_);
  std::vector<bool> alive;
  for (const auto& w : workers_)
    alive.push_back(w->alive);
  return alive;
}

void Pipeline::WorkerLoop(int processor) {
  Worker& worker = *workers_[processor];
  std::unique_lock lock(mutex_);
  while (true) {
    if (worker.queue.empty() && !worker.stop && options_.spin_us > 0.0) {
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
    worker.wake.wait(lock, [&worker] { return worker.stop || !worker.queue.empty(); });
    if (worker.stop)
      return;  // only once nothing is in flight
    auto next = worker.queue.begin();
    if (options_.earliest_deadline_first) {
      // Linear: a queue holds at most max_in_flight requests.
      auto deadline = [](const std::unique_ptr<InFlight>& r) {
        return r->record.arrival_ms + r->route.slo.max_latency_ms;
      };
      for (auto it = worker.queue.begin(); it != worker.queue.end(); ++it) {
        if (deadline(*it) < deadline(*next))
          next = it;
      }
    }
    std::unique_ptr<InFlight> request = std::move(*next);
    worker.queue.erase(next);
    worker.queued.store(worker.queue.size(), std::memory_order_release);
    RunStage(processor, std::move(request), lock);
  }
}

void Pipeline::RunStage(int processor, std::unique_ptr<InFlight> request,
                        std::unique_lock<std::mutex>& lock) {
  Pending pending;
  if (!workers_[processor]->alive) {  // not reached: a dead processor's queue is emptied
    Park(std::move(request), pending);
    Deliver(pending, lock);
    return;
  }
  const std::size_t k = request->next_stage;
  StageSpan span;
  span.stage = static_cast<int>(k);
  span.variant = request->route.variant_of_stage[k];
  span.processor = processor;
  span.queued_ms = request->queued_ms;
  span.start_ms = NowMs();
  const bool injected = options_.fault_processor == processor && options_.fault_after_ms >= 0 &&
                        span.start_ms >= options_.fault_after_ms;
  const StageKey key{request->record.task, span.stage, span.variant, processor};
  const bool last = k + 1 == request->route.placement.size();
  lock.unlock();

  // The request belongs to this worker now: its tensors are used without the lock.
  std::string error;
  engine::Tensor output;
  try {
    if (injected)
      throw EngineError("injected fault");
    StageCache::Lease lease = cache_.Acquire(key);
    span.load_ms = lease.load_ms();
    output = lease.stage().Run(request->x, request->input.side);
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown exception";
  }
  std::string argmax_error;
  if (error.empty() && last) {
    try {
      request->record.prediction = argmax_(output);
    } catch (const std::exception& e) {
      argmax_error = e.what();
    }
  }
  span.end_ms = NowMs();

  if (!error.empty()) {
    error = "task " + std::to_string(key.task) + " stage " + std::to_string(key.stage + 1) +
            " variant " + std::to_string(key.variant) + " on processor '" +
            processors_[processor].name + "': " + error;
    // Its stages are no use to anyone now; free their memory before the re-plan loads others.
    cache_.EvictUnused([processor](const StageKey& s) { return s.processor == processor; });
  }
  lock.lock();
  if (!error.empty()) {
    TakeOut(processor, error, pending);
    Park(std::move(request), pending);
    if (!AnyAlive()) {
      while (!parked_.empty()) {
        std::unique_ptr<InFlight> parked = std::move(parked_.front());
        parked_.pop_front();
        Finish(std::move(parked), Outcome::kFailed, "no processor is alive", pending);
      }
    }
  } else {
    request->record.stages.push_back(span);
    if (!argmax_error.empty()) {
      Finish(std::move(request), Outcome::kFailed, "argmax of the output: " + argmax_error,
             pending);
    } else if (last) {
      Finish(std::move(request), Outcome::kCompleted, "", pending);
    } else {
      request->x = std::move(output);
      ++request->next_stage;
      Dispatch(std::move(request), pending);
    }
  }
  Deliver(pending, lock);
}

double Pipeline::NowMs() const {
  return std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
}

void Pipeline::Dispatch(std::unique_ptr<InFlight> request, Pending& pending) {
  Worker& worker = *workers_[request->route.placement[request->next_stage]];
  if (!worker.alive) {
    Park(std::move(request), pending);
    return;
  }
  request->queued_ms = NowMs();
  worker.queue.push_back(std::move(request));  // never full: at most max_in_flight requests
  worker.queued.store(worker.queue.size(), std::memory_order_release);
  worker.wake.notify_one();
}

void Pipeline::Park(std::unique_ptr<InFlight> request, Pending& pending) {
  if (!AnyAlive()) {
    Finish(std::move(request), Outcome::kFailed, "no processor is alive", pending);
    return;
  }
  if (request->record.attempts >= options_.max_attempts) {
    Finish(std::move(request), Outcome::kFailed,
           "cut by processor faults in all " + std::to_string(options_.max_attempts) +
               " attempts (max_attempts)",
           pending);
    return;
  }
  // A request still on a route older than the re-plan that followed the fault restarts at once.
  const int task = request->record.task;
  if (task < static_cast<int>(routes_.size()) && routes_[task] && RouteAlive(*routes_[task])) {
    Restart(std::move(request), pending);
    return;
  }
  parked_.push_back(std::move(request));
  idle_.notify_all();  // the destructor waits for everything left to be parked
}

void Pipeline::Restart(std::unique_ptr<InFlight> request, Pending& pending) {
  // From stage 0: the cut attempt's stage outputs belong to the old route.
  request->route = *routes_[request->record.task];
  request->record.route_epoch = epoch_;
  request->record.accuracy = request->route.accuracy;
  request->record.slo = request->route.slo;
  request->record.stages.clear();
  request->record.attempts += 1;
  request->next_stage = 0;
  request->x = request->input.input;
  ++counters_.rerun;
  Dispatch(std::move(request), pending);
}

bool Pipeline::RouteAlive(const TaskRoute& route) const {
  for (int p : route.placement) {
    if (!workers_[p]->alive)
      return false;
  }
  return true;
}

void Pipeline::TakeOut(int processor, const std::string& error, Pending& pending) {
  Worker& worker = *workers_[processor];
  worker.alive = false;
  pending.failed.emplace_back(processor, error);
  std::deque<std::unique_ptr<InFlight>> queued = std::move(worker.queue);
  worker.queue.clear();
  worker.queued.store(0, std::memory_order_release);
  for (auto& request : queued)
    Park(std::move(request), pending);
}

void Pipeline::Finish(std::unique_ptr<InFlight> request, Outcome outcome, std::string reason,
                      Pending& pending) {
  RequestRecord& record = request->record;
  record.outcome = outcome;
  record.reason = std::move(reason);
  record.end_ms = NowMs();
  --counters_.in_flight;
  if (outcome == Outcome::kCompleted)
    ++counters_.completed;
  else
    ++counters_.failed;
  Record(std::move(record), pending);
  idle_.notify_all();
}

void Pipeline::Record(RequestRecord record, Pending& pending) {
  records_.push_back(record);
  pending.done.push_back(std::move(record));
}

bool Pipeline::AnyAlive() const {
  for (const auto& w : workers_) {
    if (w->alive)
      return true;
  }
  return false;
}

void Pipeline::Deliver(Pending& pending, std::unique_lock<std::mutex>& lock) {
  if (pending.done.empty() && pending.failed.empty())
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
  for (const auto& [processor, error] : pending.failed) {
    if (on_failed)
      on_failed(processor, error);
  }
  for (const RequestRecord& record : pending.done) {
    if (on_done)
      on_done(record);
  }
}

}  // namespace sparseloom::runtime
