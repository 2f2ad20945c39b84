#include "runtime/request_flow.h"

#include <algorithm>

#include "common/error.h"

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

void FlowEvents::clear() {
  done.clear();
  failed.clear();
  woken.clear();
  freed.clear();
}

RequestFlow::RequestFlow(std::vector<std::string> processor_names, FlowOptions options)
    : options_(options) {
  if (processor_names.empty())
    throw UsageError("pipeline: expected at least one processor, got none");
  if (options_.max_in_flight < 1) {
    throw UsageError("pipeline: max_in_flight must be at least 1, got " +
                     std::to_string(options_.max_in_flight));
  }
  if (options_.max_attempts < 1) {
    throw UsageError("pipeline: max_attempts must be at least 1, got " +
                     std::to_string(options_.max_attempts));
  }
  processors_.resize(processor_names.size());
  for (std::size_t p = 0; p < processors_.size(); ++p)
    processors_[p].name = std::move(processor_names[p]);
  slots_.resize(static_cast<std::size_t>(options_.max_in_flight));
  free_slots_.reserve(slots_.size());
  for (int s = options_.max_in_flight - 1; s >= 0; --s)
    free_slots_.push_back(s);
}

void RequestFlow::SetRoutes(std::vector<std::optional<TaskRoute>> routes, double now_ms,
                            FlowEvents& events) {
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
      if (!processors_[static_cast<std::size_t>(p)].alive) {
        throw UsageError(where + ": stage " + std::to_string(k + 1) + " names processor '" +
                         processors_[static_cast<std::size_t>(p)].name +
                         "', which was taken out after a fault");
      }
      if (route.variant_of_stage[k] < 0) {
        throw UsageError(where + ": stage " + std::to_string(k + 1) + " names variant " +
                         std::to_string(route.variant_of_stage[k]) + ", expected >= 0");
      }
    }
  }
  routes_.assign(routes.size(), nullptr);
  for (std::size_t t = 0; t < routes.size(); ++t) {
    if (routes[t])
      routes_[t] = std::make_shared<const TaskRoute>(std::move(*routes[t]));
  }
  ++epoch_;

  std::deque<int> parked = std::move(parked_);
  parked_.clear();
  for (int slot : parked) {
    const int task = slots_[static_cast<std::size_t>(slot)].record.task;
    if (route(task) == nullptr) {
      Finish(slot, Outcome::kFailed,
             "parked after a processor fault; the new plan has no route for task " +
                 std::to_string(task),
             now_ms, events);
      continue;
    }
    Restart(slot, now_ms, events);
  }
}

const TaskRoute* RequestFlow::route(int task) const {
  if (task < 0 || task >= static_cast<int>(routes_.size()))
    return nullptr;
  return routes_[static_cast<std::size_t>(task)].get();
}

int RequestFlow::Admit(int task, std::int64_t sample, std::int64_t label, double arrival_ms,
                       double now_ms, bool stopping, FlowEvents& events,
                       const AdmitOptions& admit) {
  ++counters_.submitted;
  std::string drop;
  const TaskRoute* current = route(task);
  if (stopping) {
    drop = "the pipeline is shutting down";
  } else if (current == nullptr) {
    drop = "task " + std::to_string(task) + " has no route";
  } else if (now_ms + current->expected_latency_ms > admit.deadline_ms) {
    drop = "deadline cannot be met: " + std::to_string(admit.deadline_ms - now_ms) +
           " ms left, the current plan's expected latency is " +
           std::to_string(current->expected_latency_ms) + " ms";
  } else if (current->accuracy < admit.min_accuracy) {
    drop = "accuracy cannot be met: the current plan's stitched variant " + current->stitched +
           " has accuracy " + std::to_string(current->accuracy) + ", below the " +
           std::to_string(admit.min_accuracy) + " asked for";
  } else if (counters_.in_flight >= options_.max_in_flight) {
    drop = "admission full: " + std::to_string(counters_.in_flight) +
           " requests in flight (max_in_flight " + std::to_string(options_.max_in_flight) + ")";
  }
  if (!drop.empty()) {
    RequestRecord record;
    record.id = next_id_++;
    record.task = task;
    record.sample = sample;
    record.arrival_ms = arrival_ms;
    record.label = label;
    record.route_epoch = epoch_;
    record.deadline_ms = admit.deadline_ms;
    record.priority = admit.priority;
    if (current != nullptr)
      record.slo = current->slo;
    record.outcome = Outcome::kDropped;
    record.reason = std::move(drop);
    record.end_ms = now_ms;
    ++counters_.dropped;
    events.done.push_back(std::move(record));
    return -1;
  }

  const int slot = free_slots_.back();
  free_slots_.pop_back();
  Slot& s = slots_[static_cast<std::size_t>(slot)];
  s.route = routes_[static_cast<std::size_t>(task)];
  s.next_stage = 0;
  RequestRecord& record = s.record;
  record = RequestRecord{};
  record.id = next_id_++;
  record.task = task;
  record.sample = sample;
  record.arrival_ms = arrival_ms;
  record.label = label;
  record.route_epoch = epoch_;
  record.accuracy = s.route->accuracy;
  record.accuracy_measured = s.route->accuracy_measured;
  record.planned_accuracy = s.route->planned_accuracy;
  record.slo = s.route->slo;
  record.deadline_ms = admit.deadline_ms;
  record.priority = admit.priority;
  if (options_.keep_stage_spans)
    record.stages.reserve(s.route->placement.size());
  s.deadline_ms = std::min(arrival_ms + record.slo.max_latency_ms, admit.deadline_ms);
  ++counters_.in_flight;
  if (!AnyAlive()) {
    Finish(slot, Outcome::kFailed, "no processor is alive", now_ms, events);
    return -1;
  }
  Dispatch(slot, now_ms, events);
  return slot;
}

std::optional<StageWork> RequestFlow::Next(int processor) {
  std::vector<int>& queue = processors_[static_cast<std::size_t>(processor)].queue;
  if (queue.empty())
    return std::nullopt;
  auto next = queue.begin();
  // Linear: a queue holds at most max_in_flight requests.
  for (auto it = queue.begin(); it != queue.end(); ++it) {
    const Slot& a = slots_[static_cast<std::size_t>(*it)];
    const Slot& b = slots_[static_cast<std::size_t>(*next)];
    if (a.record.priority != b.record.priority) {
      if (a.record.priority > b.record.priority)
        next = it;
    } else if (options_.earliest_deadline_first && a.deadline_ms < b.deadline_ms) {
      next = it;
    }
  }
  const int slot = *next;
  queue.erase(next);
  const Slot& s = slots_[static_cast<std::size_t>(slot)];
  StageWork work;
  work.slot = slot;
  work.task = s.record.task;
  work.stage = static_cast<int>(s.next_stage);
  work.variant = s.route->variant_of_stage[s.next_stage];
  work.last = s.next_stage + 1 == s.route->placement.size();
  work.from_processor = s.next_stage > 0 ? s.route->placement[s.next_stage - 1] : -1;
  work.queued_ms = s.queued_ms;
  work.deadline_ms = s.deadline_ms;
  work.route = s.route.get();
  return work;
}

void RequestFlow::Completed(const StageWork& work, int processor, double start_ms, double end_ms,
                            double load_ms, std::int64_t prediction, FlowEvents& events) {
  Slot& s = slots_[static_cast<std::size_t>(work.slot)];
  if (options_.keep_stage_spans) {
    StageSpan span;
    span.stage = work.stage;
    span.variant = work.variant;
    span.processor = processor;
    span.queued_ms = work.queued_ms;
    span.start_ms = start_ms;
    span.end_ms = end_ms;
    span.load_ms = load_ms;
    s.record.stages.push_back(span);
  }
  if (work.last) {
    s.record.prediction = prediction;
    Finish(work.slot, Outcome::kCompleted, "", end_ms, events);
    return;
  }
  ++s.next_stage;
  Dispatch(work.slot, end_ms, events);
}

void RequestFlow::Abort(const StageWork& work, std::string reason, double now_ms,
                        FlowEvents& events) {
  Finish(work.slot, Outcome::kFailed, std::move(reason), now_ms, events);
}

void RequestFlow::ProcessorFailed(const StageWork& work, int processor, std::string error,
                                  double now_ms, FlowEvents& events) {
  TakeOut(processor, error, now_ms, events);
  Park(work.slot, now_ms, events);
  if (!AnyAlive())
    FailParked("no processor is alive", now_ms, events);
}

void RequestFlow::FailParked(const std::string& reason, double now_ms, FlowEvents& events) {
  while (!parked_.empty()) {
    const int slot = parked_.front();
    parked_.pop_front();
    Finish(slot, Outcome::kFailed, reason, now_ms, events);
  }
}

std::vector<bool> RequestFlow::Alive() const {
  std::vector<bool> alive;
  alive.reserve(processors_.size());
  for (const Processor& p : processors_)
    alive.push_back(p.alive);
  return alive;
}

void RequestFlow::Dispatch(int slot, double now_ms, FlowEvents& events) {
  Slot& s = slots_[static_cast<std::size_t>(slot)];
  const int p = s.route->placement[s.next_stage];
  Processor& processor = processors_[static_cast<std::size_t>(p)];
  if (!processor.alive) {
    Park(slot, now_ms, events);
    return;
  }
  s.queued_ms = now_ms;
  processor.queue.push_back(slot);  // never full: at most max_in_flight requests
  events.woken.push_back(p);
}

void RequestFlow::Park(int slot, double now_ms, FlowEvents& events) {
  Slot& s = slots_[static_cast<std::size_t>(slot)];
  if (!AnyAlive()) {
    Finish(slot, Outcome::kFailed, "no processor is alive", now_ms, events);
    return;
  }
  if (s.record.attempts >= options_.max_attempts) {
    Finish(slot, Outcome::kFailed,
           "cut by processor faults in all " + std::to_string(options_.max_attempts) +
               " attempts (max_attempts)",
           now_ms, events);
    return;
  }
  // A request still on a route older than the re-plan that followed the fault restarts at once.
  const TaskRoute* current = route(s.record.task);
  if (current != nullptr && RouteAlive(*current)) {
    Restart(slot, now_ms, events);
    return;
  }
  parked_.push_back(slot);
}

void RequestFlow::Restart(int slot, double now_ms, FlowEvents& events) {
  // From stage 0: the cut attempt's stage outputs belong to the old route.
  Slot& s = slots_[static_cast<std::size_t>(slot)];
  s.route = routes_[static_cast<std::size_t>(s.record.task)];
  s.record.route_epoch = epoch_;
  s.record.accuracy = s.route->accuracy;
  s.record.accuracy_measured = s.route->accuracy_measured;
  s.record.planned_accuracy = s.route->planned_accuracy;
  s.record.slo = s.route->slo;
  s.record.stages.clear();
  s.record.attempts += 1;
  s.next_stage = 0;
  s.deadline_ms = std::min(s.record.arrival_ms + s.record.slo.max_latency_ms, s.record.deadline_ms);
  ++counters_.rerun;
  Dispatch(slot, now_ms, events);
}

bool RequestFlow::RouteAlive(const TaskRoute& route) const {
  for (int p : route.placement) {
    if (!processors_[static_cast<std::size_t>(p)].alive)
      return false;
  }
  return true;
}

void RequestFlow::TakeOut(int processor, const std::string& error, double now_ms,
                          FlowEvents& events) {
  Processor& p = processors_[static_cast<std::size_t>(processor)];
  p.alive = false;
  events.failed.emplace_back(processor, error);
  std::vector<int> queued = std::move(p.queue);
  p.queue.clear();
  for (int slot : queued)
    Park(slot, now_ms, events);
}

void RequestFlow::Finish(int slot, Outcome outcome, std::string reason, double now_ms,
                         FlowEvents& events) {
  Slot& s = slots_[static_cast<std::size_t>(slot)];
  s.record.outcome = outcome;
  s.record.reason = std::move(reason);
  s.record.end_ms = now_ms;
  --counters_.in_flight;
  if (outcome == Outcome::kCompleted)
    ++counters_.completed;
  else
    ++counters_.failed;
  events.done.push_back(std::move(s.record));
  s.route.reset();
  free_slots_.push_back(slot);
  events.freed.push_back(slot);
}

bool RequestFlow::AnyAlive() const {
  for (const Processor& p : processors_) {
    if (p.alive)
      return true;
  }
  return false;
}

}  // namespace sparseloom::runtime
