#pragma once
// Planning a serving phase (DESIGN.md "plan", docs/runtime.md "Planning a phase"): the tasks
// present, on the processors alive, with each task's latency headroom and expected queueing wait
// taken off its budget, and the routes the request flow runs the plan by. Shared by the real
// server (runtime/serving.h) and the simulator (sim/simulator.h), so both serve the same plans.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "plan/planner.h"
#include "preload/hotness.h"
#include "runtime/planning_options.h"
#include "runtime/request_flow.h"
#include "runtime/serving.h"
#include "runtime/slo_changes.h"
#include "runtime/workload.h"

namespace sparseloom::runtime {

// A plan of the tasks present on the processors alive, with the index maps back to the server's.
struct PhasePlan {
  plan::Plan plan;
  std::vector<int> task_of_plan_task;
  std::vector<int> processor_of_plan_processor;
};

// Plans the tasks `present` (server task indices) under `slos` on the processors whose `alive`
// flag is set, each weighed by its rate, with the options' headroom cascade and queueing-aware
// budgets (PlanningOptions). `restricted` holds the profiles cut down to the processors alive (it
// must outlive the plan). With options.verification and every processor alive, the chosen
// estimated variants are measured and the phase planned again while one measures below its SLO.
PhasePlan PlanFor(const std::vector<ServedTask>& tasks, const std::vector<int>& present,
                  const std::vector<plan::Slo>& slos, const std::vector<bool>& alive,
                  const plan::Planner& planner, const PlanningOptions& options,
                  std::vector<plan::TaskProfile>& restricted);

// Plans made ahead (Server::PlanAhead; docs/runtime.md, "Plans made ahead"), each kept by its
// planner's name, the tasks present in arrival order, their SLOs and rates, and the planning
// options PlanFor reads, all processors alive. A phase that differs in any of these finds none.
class PlanBook {
 public:
  void Add(const std::string& planner, const std::vector<ServedTask>& tasks,
           const std::vector<int>& present, const std::vector<plan::Slo>& slos,
           const PlanningOptions& options, PhasePlan phase);
  // The plan kept for these, or nullptr.
  const PhasePlan* Find(const std::string& planner, const std::vector<ServedTask>& tasks,
                        const std::vector<int>& present, const std::vector<plan::Slo>& slos,
                        const PlanningOptions& options) const;
  std::size_t size() const { return plans_.size(); }

 private:
  // planner, present, (min_accuracy, max_latency_ms, rate_per_s) of each present task, then
  // PlanningOptions' memory_budget_bytes, placements, latency_headroom, queueing_aware,
  // wait_quantile and rank_slowdown.
  using Key =
      std::tuple<std::string, std::vector<int>, std::vector<std::tuple<double, double, double>>,
                 std::int64_t, int, double, bool, double, double>;
  static Key KeyOf(const std::string& planner, const std::vector<ServedTask>& tasks,
                   const std::vector<int>& present, const std::vector<plan::Slo>& slos,
                   const PlanningOptions& options);
  std::map<Key, PhasePlan> plans_;
};

// The expected queueing wait (ms) of a request of each task of `plan` (request order) entering
// each processor's queue, under the plan's own load: non-preemptive priority queues (Cobham's
// M/G/1 formula) with the tasks ranked by max_latency_ms as the workers' earliest-deadline-first
// order ranks them, W = R_p / ((1 - sigma_ahead)(1 - sigma_level)), R_p the mean residual work
// (sum of rate x latency^2 / 2 over the stages p runs), sigma_ahead the load of tighter tasks on
// p and sigma_level that of tasks as tight or tighter. 1e6 ms where that load reaches 0.95.
// options.wait_quantile > 0 scales each by ln(rho_p / (1 - q)) / rho_p (rho_p: p's whole load).
// `slower` multiplies every stage latency (the ranking's stress test,
// PlanningOptions::rank_slowdown).
std::vector<std::vector<double>> EntryWaits(const plan::Plan& plan,
                                            const plan::PlanRequest& request,
                                            const PlanningOptions& options, double slower = 1.0);

// The share of a task's requests expected to miss max_latency_ms along `placement` when its
// stages, hand-overs and stitch gap take `service_ms`: 1 when that alone is over; otherwise the
// total wait at the processors it enters (task.entry_wait_ms, busy[p] the processors' loads) as
// exponential beyond the chance of waiting at all, P(wait > slack) = b exp(-slack b / mean), with
// b = 1 - prod(1 - busy) over the processors entered and mean the sum of their entry waits.
double ShareLate(const plan::PlanTask& task, const std::vector<int>& placement,
                 const std::vector<double>& busy, double service_ms);

// A state an episode is served in (StatesOf: a phase's join or an SLO change) and its plan.
struct PlannedState {
  ServingState state;
  PhasePlan plan;
};
// The plan of every state of `episode` (phase i serves order[0..i], then each SLO change in it) on
// all `num_processors`, in time order.
std::vector<PlannedState> PlanEpisode(const std::vector<ServedTask>& tasks, int num_processors,
                                      const plan::Planner& planner, const Episode& episode,
                                      const PlanningOptions& options);

// The distinct stages `planner`'s plans of every state of `episodes` run, in order of first use.
std::vector<preload::StageKey> KeysOfEpisodes(const std::vector<ServedTask>& tasks,
                                              int num_processors, const plan::Planner& planner,
                                              const std::vector<Episode>& episodes,
                                              const PlanningOptions& options);

// The preloader's scores (preload/hotness.h, preload::HotnessOfPlans) from the plans SparseLoom
// makes for every phase of every episode: what a run with a memory budget preloads and evicts by.
std::vector<preload::StageHotness> HotnessOfEpisodes(const std::vector<ServedTask>& tasks,
                                                     int num_processors,
                                                     const std::vector<Episode>& episodes,
                                                     const PlanningOptions& options);

// The request flow's routes for a phase plan, indexed by server task (nullopt: not present).
std::vector<std::optional<TaskRoute>> RoutesOf(const PhasePlan& phase,
                                               const std::vector<ServedTask>& tasks,
                                               const std::vector<plan::Slo>& slos);

// Puts `phase` into `report` as the phase's current plan: plan, plan_task_of (over `num_tasks`
// server tasks) and, when `count_as_replan`, one more re-plan.
void RecordPlan(const PhasePlan& phase, std::size_t num_tasks, bool count_as_replan,
                PhaseReport& report);

// UsageError unless the episode has one valid SLO per task and its order is a permutation.
void CheckEpisode(const Episode& episode, std::size_t num_tasks);
// UsageError unless phase_s > 0 and, closed loop, closed_loop_window >= 1.
void CheckWorkloadOptions(const WorkloadOptions& options);
// CheckEpisode, plus the serving options an episode runs under: the workload's and planning's
// checks, and a closed loop whose windows fit the pipeline's max_in_flight. The server and the
// simulator both call it.
void CheckEpisodeOptions(const Episode& episode, const ServeOptions& options,
                         std::size_t num_tasks);

// Seeds: splitmix64 of a pair and FNV-1a of a name, so that every planner, and the simulator,
// draws the same arrivals and samples for an episode: the episode's seed is
// Mix(WorkloadOptions::seed, HashOf(episode.name)); task t's samples use Mix(episode seed, 2t) and
// its Poisson arrivals Mix(episode seed, 2t + 1).
std::uint64_t Mix(std::uint64_t a, std::uint64_t b);
std::uint64_t HashOf(const std::string& text);

// The phase of every record, by arrival time against the phases' start times.
std::vector<int> PhaseOfRecords(const std::vector<RequestRecord>& records,
                                const std::vector<PhaseReport>& phases);

}  // namespace sparseloom::runtime
