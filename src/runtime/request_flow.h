#pragma once
// The request flow (DESIGN.md "runtime" and "sim"): what happens to a request between admission
// and its record, with no threads, no locks and no clock of its own. The real pipeline
// (runtime/pipeline.h) drives it from worker threads under one mutex with the steady clock; the
// simulator (sim/simulator.h) drives it from an event loop with a virtual clock. Both therefore
// share one admission bound, one queue discipline (earliest deadline first), one hand-over rule
// and one fault policy (take the processor out, park what needed it, restart parked requests from
// stage 0 on the next routes, fail after max_attempts).
//
// Requests live in slots (0..max_in_flight-1): a slot is owned by exactly one place at a time —
// a processor's queue, the processor running it (between Next and Completed/Failed), or the
// parked list — and is freed when its record is final.

#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"
#include "plan/problem.h"

namespace sparseloom::runtime {

// How the current plan runs one task.
struct TaskRoute {
  std::vector<int> variant_of_stage;  // v_k
  std::vector<int> placement;         // processor index of each stage
  plan::Slo slo;
  // The stitched variant's accuracy the SLO is judged against: measured on the task's whole
  // validation set (its accuracy ground truth, or the profile's measured value) when
  // accuracy_measured, else the planner's estimate.
  double accuracy = 0.0;
  bool accuracy_measured = true;
  double planned_accuracy = 0.0;  // the plan's (the profile's, measured or estimated)
  std::string stitched;           // "dense,us50,int8", for reports
  // The plan's expected latency of the route (stages, hand-overs, stitch gap and queueing); a
  // request whose own deadline is nearer is refused at admission. 0: not known (never refused).
  double expected_latency_ms = 0.0;
};

// Per request, beside its task's SLO.
struct AdmitOptions {
  // Absolute time (the flow's clock) by which the request must be done; the earlier of this and
  // arrival + max_latency_ms orders the queues. Infinity: the SLO's alone.
  double deadline_ms = std::numeric_limits<double>::infinity();
  // Queued requests of a higher priority run first; within one, earliest deadline (or oldest).
  int priority = 0;
  // The request's own accuracy bound beside its task's SLO: refused at admission when the current
  // route's accuracy is below it. 0: the SLO's alone.
  double min_accuracy = 0.0;
};

enum class Outcome { kCompleted, kDropped, kFailed };
std::string ToString(Outcome outcome);

struct StageSpan {
  int stage = 0;
  int variant = 0;
  int processor = 0;
  double queued_ms = 0.0;  // when it entered the processor's queue (ms since the start)
  double start_ms = 0.0;   // when the processor took it (a cold stage's load starts here)
  double end_ms = 0.0;
  double load_ms = 0.0;  // on-demand load of a cold stage, 0 when resident
};

struct RequestRecord {
  std::int64_t id = 0;
  int task = 0;
  std::int64_t sample = 0;  // index into the task's input set
  double arrival_ms = 0.0;  // ms since the start
  double end_ms = 0.0;      // completion, drop or failure
  Outcome outcome = Outcome::kCompleted;
  std::string reason;  // why dropped or failed
  int attempts = 1;    // > 1 when re-run after a processor fault
  int route_epoch = 0;
  std::vector<StageSpan> stages;  // of the attempt that ended it (when spans are kept)
  std::int64_t prediction = -1;   // argmax of the output when completed
  std::int64_t label = -1;
  double accuracy = 0.0;          // the route's accuracy (the one the SLO is judged against)
  bool accuracy_measured = true;  // ... measured, not the planner's estimate
  double planned_accuracy = 0.0;  // the route's planned accuracy
  plan::Slo slo;  // the route's; an episode sets the one asked when it arrived (SloAskedAt)
  double deadline_ms = std::numeric_limits<double>::infinity();  // the request's own (AdmitOptions)
  int priority = 0;
  engine::Tensor output;  // the last stage's output, when the executor keeps outputs

  double latency_ms() const { return end_ms - arrival_ms; }
  // Completed within max_latency_ms on a route whose accuracy meets min_accuracy.
  bool SloMet() const;
};

struct PipelineCounters {
  std::int64_t submitted = 0;
  std::int64_t completed = 0;
  std::int64_t dropped = 0;
  std::int64_t failed = 0;
  std::int64_t rerun = 0;  // attempts restarted after a processor fault
  std::int64_t in_flight = 0;
};

struct FlowOptions {
  int max_in_flight = 64;  // admission bound over all tasks
  int max_attempts = 3;    // a request hit by processor faults this often fails
  // Which queued request a processor runs next: the earliest deadline (arrival + the task's
  // max_latency_ms; a tight SLO overtakes a loose one queued before it) or first in, first out.
  bool earliest_deadline_first = true;
  bool keep_stage_spans = true;  // record every stage's span in the request's record
};

// What one call produced, for the caller to act on once it may (the pipeline: after unlocking).
struct FlowEvents {
  std::vector<RequestRecord> done;                  // final records, in the order they ended
  std::vector<std::pair<int, std::string>> failed;  // processors taken out, with the error
  std::vector<int> woken;                           // processors whose queue was given a request
  std::vector<int> freed;                           // slots whose request ended
  bool empty() const { return done.empty() && failed.empty() && woken.empty() && freed.empty(); }
  void clear();
};

// The stage a processor is to run for a request it took (Next).
struct StageWork {
  int slot = -1;
  int task = 0;
  int stage = 0;  // 0-based; 0 means the request's input (a restart begins there again)
  int variant = 0;
  bool last = false;
  int from_processor = -1;  // where the previous stage ran (-1 for stage 1): a hand-over when != p
  double queued_ms = 0.0;
  double deadline_ms = 0.0;
  const TaskRoute* route = nullptr;  // the request's route, valid while the slot is owned
};

class RequestFlow {
 public:
  // One processor per name (names are for messages). UsageError on no processor,
  // max_in_flight < 1 or max_attempts < 1.
  RequestFlow(std::vector<std::string> processor_names, FlowOptions options);

  // Checks `routes` (UsageError naming the task and stage, and nothing changes) and installs them
  // for requests admitted afterwards; requests in flight keep their route, parked ones restart
  // from stage 0 on the new route (or fail when their task has none).
  void SetRoutes(std::vector<std::optional<TaskRoute>> routes, double now_ms, FlowEvents& events);
  int route_epoch() const { return epoch_; }
  // The current route of `task`, or null when it has none.
  const TaskRoute* route(int task) const;

  // Admits a request (returns its slot) or records it dropped (returns -1): admission full, no
  // route for the task, `stopping`, or a deadline nearer than the route's expected latency. A
  // request admitted when no processor is alive fails at once (returns -1 too).
  int Admit(int task, std::int64_t sample, std::int64_t label, double arrival_ms, double now_ms,
            bool stopping, FlowEvents& events, const AdmitOptions& admit = {});

  // The request processor p runs next (highest priority, then earliest deadline or oldest), taken
  // off its queue, or
  // nothing when the queue is empty.
  std::optional<StageWork> Next(int processor);
  std::size_t queued(int processor) const { return processors_[processor].queue.size(); }

  // The stage `work` ran on `processor` from start_ms to end_ms (load_ms of it loading): hands the
  // request to its next stage's processor, or completes it with `prediction` after the last.
  void Completed(const StageWork& work, int processor, double start_ms, double end_ms,
                 double load_ms, std::int64_t prediction, FlowEvents& events);
  // The request's own failure (e.g. its output could not be read): it fails, the processor stays.
  void Abort(const StageWork& work, std::string reason, double now_ms, FlowEvents& events);
  // The stage failed on `processor`: the processor is taken out (its queue parked with the
  // request), and when none is left every parked request fails.
  void ProcessorFailed(const StageWork& work, int processor, std::string error, double now_ms,
                       FlowEvents& events);
  // Fails every parked request with `reason` (the pipeline is stopping).
  void FailParked(const std::string& reason, double now_ms, FlowEvents& events);

  const PipelineCounters& counters() const { return counters_; }
  std::size_t parked() const { return parked_.size(); }
  bool alive(int processor) const { return processors_[processor].alive; }
  std::vector<bool> Alive() const;
  int num_processors() const { return static_cast<int>(processors_.size()); }
  const FlowOptions& options() const { return options_; }

 private:
  struct Slot {
    RequestRecord record;
    std::shared_ptr<const TaskRoute> route;  // fixed at admission (or at a restart)
    std::size_t next_stage = 0;
    double queued_ms = 0.0;
    double deadline_ms = 0.0;  // the earlier of the SLO's and the request's own
  };
  struct Processor {
    std::string name;
    std::vector<int> queue;  // slots; at most max_in_flight, so a vector beats a deque
    bool alive = true;
  };
  void Dispatch(int slot, double now_ms, FlowEvents& events);
  void Park(int slot, double now_ms, FlowEvents& events);
  void Restart(int slot, double now_ms, FlowEvents& events);  // on the current route
  void TakeOut(int processor, const std::string& error, double now_ms, FlowEvents& events);
  void Finish(int slot, Outcome outcome, std::string reason, double now_ms, FlowEvents& events);
  bool RouteAlive(const TaskRoute& route) const;
  bool AnyAlive() const;

  FlowOptions options_;
  std::vector<Processor> processors_;
  std::vector<Slot> slots_;
  std::vector<int> free_slots_;
  std::vector<std::shared_ptr<const TaskRoute>> routes_;
  std::deque<int> parked_;  // hit a dead processor, waiting for SetRoutes
  int epoch_ = 0;
  std::int64_t next_id_ = 0;
  PipelineCounters counters_;
};

}  // namespace sparseloom::runtime
