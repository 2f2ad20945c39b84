#include "runtime/serving_core.h"

#include <algorithm>
#include <utility>

#include "common/error.h"

namespace sparseloom::runtime {
namespace {

// A change whose plan was already in place when the change returned.
class DoneWork final : public BackgroundWork {
 public:
  bool WaitUntil(double) override { return true; }
  void Wait() override {}
};

bool AllAlive(const std::vector<bool>& alive) {
  return std::all_of(alive.begin(), alive.end(), [](bool a) { return a; });
}

}  // namespace

std::vector<std::optional<TaskRoute>> RoutesWithLatency(const PhasePlan& phase,
                                                        const std::vector<ServedTask>& tasks,
                                                        const std::vector<plan::Slo>& slos) {
  std::vector<std::optional<TaskRoute>> routes = RoutesOf(phase, tasks, slos);
  for (std::size_t i = 0; i < phase.plan.tasks.size(); ++i) {
    std::optional<TaskRoute>& route = routes[static_cast<std::size_t>(phase.task_of_plan_task[i])];
    route->expected_latency_ms = phase.plan.tasks[i].latency_ms;
  }
  return routes;
}

ServingCore::ServingCore(std::vector<ServedTask> tasks, Executor& executor, ServingClock& clock,
                         const plan::Planner& planner, PlanningOptions options, PlanBook* ahead)
    : executor_(executor),
      clock_(clock),
      planner_(planner),
      options_(std::move(options)),
      ahead_(ahead),
      tasks_(std::move(tasks)),
      slos_(tasks_.size()) {
  CheckPlanningOptions(options_);
  executor_.OnProcessorFailed([this](int, const std::string&) {
    // On a worker thread (or the virtual clock's event): an exception must not escape. The core
    // then routes nothing (requests are dropped, parked ones fail) and fault_error() has it.
    std::lock_guard lock(mutex_);
    try {
      ReplanLocked(true, clock_.NowMs());
    } catch (...) {
      if (!fault_error_)
        fault_error_ = std::current_exception();
      executor_.SetRoutes(std::vector<std::optional<TaskRoute>>(tasks_.size()));
    }
  });
}

ServingCore::~ServingCore() {
  executor_.OnProcessorFailed(nullptr);
}

int ServingCore::AddToCatalog(ServedTask task) {
  std::lock_guard lock(mutex_);
  tasks_.push_back(std::move(task));
  slos_.emplace_back();
  return static_cast<int>(tasks_.size()) - 1;
}

void ServingCore::CheckTask(int task) const {
  if (task < 0 || static_cast<std::size_t>(task) >= tasks_.size())
    throw UsageError("serving: no task " + std::to_string(task) + " (" +
                     std::to_string(tasks_.size()) + " known)");
}

std::unique_ptr<BackgroundWork> ServingCore::Join(int task, plan::Slo slo) {
  const double since = clock_.NowMs();
  {
    std::lock_guard lock(mutex_);
    CheckTask(task);
    if (std::find(present_.begin(), present_.end(), task) != present_.end())
      throw UsageError("serving: task '" + tasks_[static_cast<std::size_t>(task)].name +
                       "' is already served");
    present_.push_back(task);
    slos_[static_cast<std::size_t>(task)] = slo;
  }
  return Replan(since);
}

std::unique_ptr<BackgroundWork> ServingCore::Leave(int task) {
  const double since = clock_.NowMs();
  {
    std::lock_guard lock(mutex_);
    CheckTask(task);
    const auto it = std::find(present_.begin(), present_.end(), task);
    if (it == present_.end())
      throw UsageError("serving: task '" + tasks_[static_cast<std::size_t>(task)].name +
                       "' is not served");
    present_.erase(it);
    if (present_.empty()) {
      // Nothing to plan: no task has a route (requests in flight finish on theirs).
      executor_.SetRoutes(std::vector<std::optional<TaskRoute>>(tasks_.size()));
      plan_.reset();
      return std::make_unique<DoneWork>();
    }
  }
  return Replan(since);
}

std::unique_ptr<BackgroundWork> ServingCore::ChangeSlo(int task, plan::Slo slo) {
  const double since = clock_.NowMs();
  {
    std::lock_guard lock(mutex_);
    CheckTask(task);
    if (std::find(present_.begin(), present_.end(), task) == present_.end())
      throw UsageError("serving: task '" + tasks_[static_cast<std::size_t>(task)].name +
                       "' is not served");
    slos_[static_cast<std::size_t>(task)] = slo;
  }
  return Replan(since);
}

int ServingCore::PlanAhead(const std::vector<std::vector<plan::Slo>>& configurations) {
  if (ahead_ == nullptr)
    throw UsageError("serving: plans made ahead need a plan book");
  std::vector<ServedTask> tasks;
  std::vector<int> present;
  {
    std::lock_guard lock(mutex_);
    tasks = tasks_;
    present = present_;
  }
  int added = 0;
  for (const std::vector<plan::Slo>& slos : configurations) {
    if (slos.size() != tasks.size())
      throw UsageError("serving: " + std::to_string(slos.size()) + " SLOs for " +
                       std::to_string(tasks.size()) + " tasks");
    std::vector<plan::TaskProfile> restricted;
    PhasePlan phase =
        PlanFor(tasks, present, slos, std::vector<bool>(executor_.Alive().size(), true), planner_,
                options_, restricted);
    std::lock_guard lock(mutex_);
    const std::size_t before = ahead_->size();
    ahead_->Add(planner_.Name(), tasks, present, slos, options_, std::move(phase));
    added += static_cast<int>(ahead_->size() - before);
  }
  return added;
}

void ServingCore::OnPlanInstalled(std::function<void(const InstalledPlan&)> callback) {
  std::lock_guard lock(mutex_);
  on_plan_ = std::move(callback);
}

std::unique_ptr<BackgroundWork> ServingCore::Replan(double since_ms) {
  {
    std::lock_guard lock(mutex_);
    const PhasePlan* ahead = PlannedAhead(present_);
    if (ahead != nullptr) {
      try {
        Install(*ahead, slos_, since_ms, true, false);
      } catch (const UsageError&) {
        ReplanLocked(false, since_ms);  // a processor failed meanwhile
      }
      return std::make_unique<DoneWork>();
    }
  }
  // As a device goes on taking inputs while it plans: the tasks present keep their routes until
  // the new plan is in place.
  return clock_.RunInBackground([this, since_ms] { PlanAndInstall(since_ms); });
}

const PhasePlan* ServingCore::PlannedAhead(const std::vector<int>& present) const {
  if (ahead_ == nullptr || !AllAlive(executor_.Alive()))
    return nullptr;
  return ahead_->Find(planner_.Name(), tasks_, present, slos_, options_);
}

void ServingCore::PlanAndInstall(double since_ms) {
  std::lock_guard one_at_a_time(planning_);
  std::vector<ServedTask> tasks;
  std::vector<int> present;
  std::vector<plan::Slo> slos;
  {
    std::lock_guard lock(mutex_);
    tasks = tasks_;
    present = present_;
    slos = slos_;
  }
  if (present.empty())
    return;
  const PhasePlan* ahead = nullptr;
  {
    std::lock_guard lock(mutex_);
    ahead = PlannedAhead(present);
  }
  std::vector<plan::TaskProfile> restricted;
  const PhasePlan phase = ahead != nullptr ? *ahead
                                           : PlanFor(tasks, present, slos, executor_.Alive(),
                                                     planner_, options_, restricted);
  std::lock_guard lock(mutex_);
  try {
    Install(phase, slos, since_ms, ahead != nullptr, false);
  } catch (const UsageError&) {
    ReplanLocked(false, since_ms);  // a processor failed while planning
  }
}

void ServingCore::ReplanLocked(bool after_fault, double since_ms) {
  std::vector<bool> alive = executor_.Alive();
  while (true) {
    if (std::none_of(alive.begin(), alive.end(), [](bool a) { return a; }))
      return;  // the executor fails what is parked; nothing left to plan on
    if (present_.empty())
      return;
    const PhasePlan phase =
        PlanFor(tasks_, present_, slos_, alive, planner_, options_, restricted_);
    try {
      Install(phase, slos_, since_ms, false, after_fault);
      return;
    } catch (const UsageError&) {
      // A processor failed while planning: plan again without it (its own fault callback,
      // waiting for the lock, re-plans once more).
      std::vector<bool> now = executor_.Alive();
      if (now == alive)
        throw;
      alive = std::move(now);
    }
  }
}

void ServingCore::Install(const PhasePlan& phase, const std::vector<plan::Slo>& planned_for,
                          double since_ms, bool ahead, bool after_fault) {
  executor_.SetRoutes(RoutesWithLatency(phase, tasks_, slos_));
  plan_ = phase;
  if (on_plan_)
    on_plan_(InstalledPlan{*plan_, planned_for, clock_.NowMs() - since_ms, ahead, after_fault});
}

std::vector<int> ServingCore::Present() const {
  std::lock_guard lock(mutex_);
  return present_;
}

std::optional<plan::Slo> ServingCore::SloOf(int task) const {
  std::lock_guard lock(mutex_);
  if (std::find(present_.begin(), present_.end(), task) == present_.end())
    return std::nullopt;
  return slos_[static_cast<std::size_t>(task)];
}

std::optional<plan::TaskPlan> ServingCore::PlanOf(int task) const {
  std::lock_guard lock(mutex_);
  if (!plan_)
    return std::nullopt;
  for (std::size_t i = 0; i < plan_->task_of_plan_task.size(); ++i) {
    if (plan_->task_of_plan_task[i] == task)
      return plan_->plan.tasks[i];
  }
  return std::nullopt;
}

std::vector<std::string> ServingCore::ProcessorsOfPlan() const {
  std::lock_guard lock(mutex_);
  return plan_ ? plan_->plan.processors : std::vector<std::string>{};
}

std::vector<ServedTask> ServingCore::Tasks() const {
  std::lock_guard lock(mutex_);
  return tasks_;
}

std::exception_ptr ServingCore::fault_error() const {
  std::lock_guard lock(mutex_);
  return fault_error_;
}

}  // namespace sparseloom::runtime
