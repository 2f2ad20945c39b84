#pragma once
// Serving episodes (DESIGN.md "Evaluation protocol"; docs/runtime.md): the tasks of an episode
// arrive one after another in a given order, each with its SLO; at every arrival the planner
// plans the tasks present (in the background: the tasks already present keep their routes and
// only the joining task's requests wait for the plan) and the pipeline switches to the new
// routes; requests arrive (Poisson or closed loop) for a fixed time per phase. When a processor
// fails, the tasks present are re-planned on the processors left. Every request ends as one record,
// attributed to its phase.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "plan/planner.h"
#include "preload/stage_cache.h"
#include "runtime/evaluation.h"
#include "runtime/pipeline.h"
#include "runtime/planning_options.h"
#include "runtime/workload.h"

namespace sparseloom::runtime {

class PlanBook;  // runtime/phase_planning.h

struct ServedTask {
  std::string name;
  const plan::TaskProfile* profile = nullptr;  // its processors are the server's, in order
  const LabelledSet* inputs = nullptr;         // request inputs and labels (validation set)
  double rate_per_s = 1.0;                     // Poisson arrivals; the planner's load weight
  // [s]: every stitched variant's accuracy measured on the whole validation set (the zoo's
  // accuracy ground truth, profile/accuracy_truth.h), or none. Requests' accuracy SLOs are judged
  // against it; the planner never sees it.
  const std::vector<double>* true_accuracy = nullptr;
};

// A task's SLO moving while it is served (runtime/slo_changes.h draws them): from `at_ms` on, the
// application asks `slo` of the task's requests, and the serving core re-plans for it.
struct SloChange {
  int phase = 0;          // the phase it happens in; the task is present in it
  double after_ms = 0.0;  // since that phase's start
  int task = 0;
  plan::Slo slo;
  std::string name;  // the grid point, "tight-acc/loose-lat", or "" when given
};

struct Episode {
  std::string name;
  std::vector<plan::Slo> slos;     // per task: its SLO when it joins
  std::vector<int> order;          // task arrival order: phase i serves order[0..i]
  std::vector<SloChange> changes;  // in time order (CheckSloChanges)
};

// Everything an episode is served under, by concern: each part takes only its own (the episode
// driver the workload, phase planning and the serving core the planning options, the executor its
// pipeline options).
struct ServeOptions {
  WorkloadOptions workload;  // how requests arrive (runtime/workload.h)
  PlanningOptions planning;  // how each phase is planned (runtime/planning_options.h)
  // The executor's: the real pipeline's, of which the virtual executor takes the admission bound,
  // attempts and queue order.
  PipelineOptions pipeline;
  // Test and demo hook, not a serving option: a processor that fails every stage it starts from a
  // time on (ms since the episode's start), injected as a failing-stage wrapper around the
  // executor's stages (runtime/injected_fault.h).
  InjectedFault fault;
};

struct PhaseReport {
  int phase = 0;
  std::vector<int> tasks;  // present, in arrival order
  double start_ms = 0.0;   // since the pipeline's start
  double end_ms = 0.0;
  plan::Plan plan;  // the last plan of the phase (after any re-plan)
  int replans = 0;  // re-plans after processor faults
  // Wall time of the phase's planning (its first plan and any re-plans). The phase is planned on
  // its own thread from the phase's start: the tasks already present keep their routes meanwhile,
  // and the joining task's requests that arrive are submitted when the plan is in place (their
  // latency still counts from their arrival).
  double plan_ms = 0.0;
  // The phase's first plan was one made ahead (Server::PlanAhead): installed when the phase
  // started, nobody waited for it.
  bool planned_ahead = false;
  std::vector<int> plan_task_of;  // plan.tasks index of each task, -1 when absent
};

// Requests of the changed task around one SLO change, each judged against the SLO asked when it
// arrived (RequestRecord::slo).
struct RequestWindow {
  std::int64_t requests = 0;
  std::int64_t violations = 0;
  double start_ms = 0.0, end_ms = 0.0;  // arrivals in [start_ms, end_ms)
};

struct SloChangeReport {
  SloChange change;
  plan::Slo from;  // the SLO asked before
  // Clock time from the change to a plan made for it in place; < 0 when none was by the episode's
  // end. Requests in between run on the routes planned for the SLO before.
  double replan_ms = -1.0;
  bool planned_ahead = false;   // that plan was made ahead, installed at once
  bool plan_meets_slo = false;  // the task's plan there meets the new SLO (TaskPlan::slo_met)
  // From the later of the task's join and its previous change; during the re-plan; from the plan in
  // place to the task's next change or the episode's end.
  RequestWindow before, during, after;
};

struct EpisodeReport {
  std::string planner;
  Episode episode;
  std::vector<PhaseReport> phases;
  std::vector<SloChangeReport> slo_changes;  // one per episode.changes, in order
  // Every request of the episode, in id (submission) order. The joining task's requests that
  // arrive while its phase is planned are submitted after it: sort by arrival_ms for arrival order.
  std::vector<RequestRecord> records;
  std::vector<int> phase_of_record;  // by arrival time
  PipelineCounters counters;
  double duration_ms = 0.0;
  int realtime_workers = 0;      // workers that ran at the asked SCHED_FIFO priority
  bool realtime_driver = false;  // Poisson arrivals submitted at that priority + 1
};

class Server {
 public:
  // `argmax` and `slice` come from the engine (ArgmaxLastDim on batch 1, SliceBatch).
  Server(std::vector<ServedTask> tasks, std::vector<engine::ProcessorConfig> processors,
         preload::StageCache& cache, std::function<std::int64_t(const engine::Tensor&)> argmax,
         std::function<engine::Tensor(const engine::Tensor&, std::int64_t)> sample);
  ~Server();

  // The plan of every phase of `episode` under `planner` when its task joins, on all processors
  // (no requests run).
  std::vector<plan::Plan> PlanPhases(const plan::Planner& planner, const Episode& episode,
                                     const PlanningOptions& options) const;
  // Loads every stage those plans use (under the cache's budget, hottest plans first).
  int Warm(const plan::Planner& planner, const std::vector<Episode>& episodes,
           const PlanningOptions& options);
  // Makes `planner`'s plan of every state of `episodes` (each phase's join and each SLO change:
  // the SLO configurations the device expects) before serving and keeps it (docs/runtime.md,
  // "Plans made ahead"): RunEpisode under the same planner and planning options then installs the
  // kept plan when a join or a change whose tasks and SLOs match one comes, instead of planning
  // while the joining task's requests wait. Any other state, and every re-plan after a fault, is
  // planned when it comes. Returns the number of
  // distinct plans kept. Not to be called while an episode runs.
  int PlanAhead(const plan::Planner& planner, const std::vector<Episode>& episodes,
                const PlanningOptions& options);

  EpisodeReport RunEpisode(const plan::Planner& planner, const Episode& episode,
                           const ServeOptions& options);

  const std::vector<ServedTask>& tasks() const { return tasks_; }
  const std::vector<engine::ProcessorConfig>& processors() const { return processors_; }

 private:
  std::vector<ServedTask> tasks_;
  std::vector<engine::ProcessorConfig> processors_;
  preload::StageCache& cache_;
  std::unique_ptr<PlanBook> plans_ahead_;
  std::function<std::int64_t(const engine::Tensor&)> argmax_;
  std::function<engine::Tensor(const engine::Tensor&, std::int64_t)> sample_;
};

// Makes `planner`'s plan of every state of `episodes` and keeps it in `book` (Server::PlanAhead).
// Returns the number of distinct plans added.
int PlanAheadInto(PlanBook& book, const std::vector<ServedTask>& tasks, int num_processors,
                  const plan::Planner& planner, const std::vector<Episode>& episodes,
                  const PlanningOptions& options);

// The cost of handing a request to processor q's worker when that worker is idle, as the runtime
// pays it: the wake-up of a sleeping thread (on a virtual machine, of an idle virtual CPU), which
// the profiler's back-to-back measurement does not see. [p * P + q], 0 on the diagonal; each entry
// the median over `rounds` hand-overs made after the worker has slept for `idle_ms`.
std::vector<double> MeasureIdleHandoversMs(const std::vector<engine::ProcessorConfig>& processors,
                                           int rounds = 40, double idle_ms = 3.0);

// The profile restricted to the processors whose `keep` is true (a fault took the others out).
plan::TaskProfile WithProcessors(const plan::TaskProfile& profile, const std::vector<bool>& keep);

// The stage keys a plan runs (processor indices of the full setup).
std::vector<preload::StageKey> KeysOf(const plan::Plan& plan,
                                      const std::vector<int>& task_of_plan_task,
                                      const std::vector<int>& processor_of_plan_processor);

// Per task figures over a set of episodes.
struct TaskSummary {
  std::string task;
  std::int64_t requests = 0;
  std::int64_t completed = 0;
  std::int64_t dropped = 0;
  std::int64_t failed = 0;
  std::int64_t violations = 0;  // requests whose SLO was not met (drops and failures too)
  std::int64_t correct = 0;     // completed with prediction == label
  double served_s = 0.0;        // time the task was present
  double throughput_rps = 0.0;  // completed / served_s
  double p50_ms = 0.0, p95_ms = 0.0, p99_ms = 0.0;  // completed requests
  std::int64_t task_episodes = 0;                   // (episode, task) pairs
  std::int64_t episodes_violated = 0;  // ... with more than 5% of their requests violated
  std::string stitched;                // the variant of the last plan
  std::string placement;               // "cpu0,cpu1,cpu1"
  // Over the completed requests: the mean of the accuracy their routes were planned with, and of
  // the accuracy their SLOs were judged against (RequestRecord::accuracy).
  double planned_accuracy = 0.0;
  double judged_accuracy = 0.0;
  // "measured" when every completed request was judged against a measured accuracy, "estimated"
  // when one was judged against the planner's estimate, "none" without completed requests.
  std::string accuracy_source = "none";
  double violation_rate() const { return requests ? double(violations) / double(requests) : 0.0; }
};
inline constexpr double kEpisodeViolationShare = 0.05;

std::vector<TaskSummary> Summarize(const std::vector<EpisodeReport>& episodes,
                                   const std::vector<ServedTask>& tasks);

// Closed loop: the planner's bound on completions per second for the mix actually completed in
// a phase (the busiest processor's predicted busy time per completed request set), and the
// measured rate. measured / bound = the busiest processor's predicted utilisation.
struct ThroughputCheck {
  double measured_rps = 0.0;
  double bound_rps = 0.0;
};
ThroughputCheck CheckThroughput(const EpisodeReport& episode, const std::vector<ServedTask>& tasks,
                                int phase);

}  // namespace sparseloom::runtime
