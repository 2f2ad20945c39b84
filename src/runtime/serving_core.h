#pragma once
// The serving core (DESIGN.md "runtime"; docs/runtime.md "The serving core"): the tasks being
// served, their SLOs, and the plan that routes their requests, over the two seams of
// runtime/executor.h and runtime/serving_clock.h. A task joining, leaving or changing its SLO is
// re-planned off the caller's path (one plan at a time, each from the state when it starts) while
// the other tasks' requests keep flowing on their routes; a plan made ahead for the same tasks and
// SLOs is installed at once instead; a processor fault is re-planned at once on the processors
// left. The episode driver (runtime/episode_driver.h) and the application runtime
// (include/sparseloom/runtime.h) are both built on it, on the real or the virtual executor.

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "plan/planner.h"
#include "runtime/executor.h"
#include "runtime/phase_planning.h"
#include "runtime/planning_options.h"
#include "runtime/serving.h"
#include "runtime/serving_clock.h"

namespace sparseloom::runtime {

// A plan put in place, as the core's observer sees it (under the core's lock).
struct InstalledPlan {
  const PhasePlan& phase;
  const std::vector<plan::Slo>& slos;  // per task: those the plan was made for
  double plan_ms = 0.0;                // clock time from the change to the plan in place
  bool planned_ahead = false;          // a plan made ahead, installed without planning
  bool after_fault = false;            // a re-plan after a processor fault
};

class ServingCore {
 public:
  // `ahead` (may be null) holds plans made ahead; it must outlive the core, as must the executor,
  // the clock and the planner. Sets the executor's fault callback. Each task is weighed by its
  // rate_per_s. UsageError on planning options out of range (CheckPlanningOptions).
  ServingCore(std::vector<ServedTask> tasks, Executor& executor, ServingClock& clock,
              const plan::Planner& planner, PlanningOptions options, PlanBook* ahead);
  ~ServingCore();
  ServingCore(const ServingCore&) = delete;
  ServingCore& operator=(const ServingCore&) = delete;

  // A task the core may serve from now on (not yet present); returns its index.
  int AddToCatalog(ServedTask task);

  // The task joins (at the end of the arrival order), leaves, or gets a new SLO; each returns the
  // re-plan, done once a plan that includes the change is in place (at once for a plan made ahead).
  // Requests in flight finish on the route they were admitted on. UsageError on an unknown task,
  // one already present (Join) or absent (Leave, ChangeSlo).
  std::unique_ptr<BackgroundWork> Join(int task, plan::Slo slo);
  std::unique_ptr<BackgroundWork> Leave(int task);
  std::unique_ptr<BackgroundWork> ChangeSlo(int task, plan::Slo slo);

  // Plans the tasks present under each of `configurations` (an SLO per task) and keeps the plans
  // in the core's book of plans made ahead (UsageError when it was given none), so that a change
  // to one of them is installed at once. Returns the number of plans added.
  int PlanAhead(const std::vector<std::vector<plan::Slo>>& configurations);

  // Called under the core's lock each time a plan is put in place.
  void OnPlanInstalled(std::function<void(const InstalledPlan&)> callback);

  std::vector<int> Present() const;
  std::optional<plan::Slo> SloOf(int task) const;
  // The plan in place for `task` (nullopt when it has none): stitched variant, placement, ...
  std::optional<plan::TaskPlan> PlanOf(int task) const;
  std::vector<std::string> ProcessorsOfPlan() const;  // names, in the plan's processor order
  std::vector<ServedTask> Tasks() const;
  // A re-plan after a fault that threw (the core then routes nothing): rethrown by the caller.
  std::exception_ptr fault_error() const;
  Executor& executor() { return executor_; }
  ServingClock& clock() { return clock_; }

 private:
  std::unique_ptr<BackgroundWork> Replan(double since_ms);
  void PlanAndInstall(double since_ms);
  // The plans below expect mutex_ held.
  void ReplanLocked(bool after_fault, double since_ms);
  void Install(const PhasePlan& phase, const std::vector<plan::Slo>& planned_for, double since_ms,
               bool ahead, bool after_fault);
  const PhasePlan* PlannedAhead(const std::vector<int>& present) const;
  void CheckTask(int task) const;

  Executor& executor_;
  ServingClock& clock_;
  const plan::Planner& planner_;
  const PlanningOptions options_;
  PlanBook* ahead_;      // read and added to under mutex_
  std::mutex planning_;  // one background plan at a time
  mutable std::mutex mutex_;
  // Everything below is guarded by mutex_.
  std::vector<ServedTask> tasks_;
  std::vector<int> present_;       // in arrival order
  std::vector<plan::Slo> slos_;    // per task
  std::optional<PhasePlan> plan_;  // in place
  std::vector<plan::TaskProfile> restricted_;
  std::exception_ptr fault_error_;
  std::function<void(const InstalledPlan&)> on_plan_;
};

// The request flow's routes for a phase plan with each route's expected latency (the plan's).
std::vector<std::optional<TaskRoute>> RoutesWithLatency(const PhasePlan& phase,
                                                        const std::vector<ServedTask>& tasks,
                                                        const std::vector<plan::Slo>& slos);

}  // namespace sparseloom::runtime
