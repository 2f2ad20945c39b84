#include "runtime/phase_planning.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "common/error.h"
#include "runtime/accuracy_verification.h"

namespace sparseloom::runtime {

std::uint64_t Mix(std::uint64_t a, std::uint64_t b) {
  // splitmix64 of the pair: independent, reproducible streams per (seed, episode, task).
  std::uint64_t z = a * 0x9E3779B97F4A7C15ULL + b + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t HashOf(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : text)
    h = (h ^ c) * 1099511628211ULL;
  return h;
}

std::vector<std::vector<double>> EntryWaits(const plan::Plan& plan,
                                            const plan::PlanRequest& request,
                                            const PlanningOptions& options, double slower) {
  const std::size_t P = request.processors.size();
  const std::size_t T = plan.tasks.size();
  // Per task and processor: utilisation and residual-work rate (sum of rate x latency^2 / 2) of
  // the stages it runs there (plan::ChainCost::StageMs: the last one carries the stitch gap).
  std::vector<double> rho(T * P, 0.0), residual(P, 0.0), total(P, 0.0);
  // Per task and processor: the seconds of its stages there that another of its stages on the
  // same processor follows, and how many times it enters the processor.
  std::vector<double> followed(T * P, 0.0);
  std::vector<int> entries(T * P, 0);
  for (std::size_t i = 0; i < T; ++i) {
    const plan::TaskPlan& tp = plan.tasks[i];
    const plan::TaskProfile& profile = request.tasks[i].profile.get();
    const double rate = request.tasks[i].rate_per_s;
    const std::size_t K = tp.variant_of_stage.size();
    const plan::ChainCost chain = plan::ChainCostOf(profile, tp.variant_of_stage, tp.placement);
    for (std::size_t k = 0; k < K; ++k) {
      const std::size_t p = static_cast<std::size_t>(tp.placement[k]);
      const double sec = slower * chain.StageMs(k) / 1000.0;
      if (k + 1 < K && static_cast<std::size_t>(tp.placement[k + 1]) == p)
        followed[i * P + p] += sec;
      if (k == 0 || static_cast<std::size_t>(tp.placement[k - 1]) != p)
        ++entries[i * P + p];
      rho[i * P + p] += rate * sec;
      total[p] += rate * sec;
      residual[p] += rate * sec * sec / 2.0;
    }
  }
  std::vector<std::vector<double>> waits(T, std::vector<double>(P, 0.0));
  for (std::size_t i = 0; i < T; ++i) {
    const double deadline = request.tasks[i].slo.max_latency_ms;
    for (std::size_t p = 0; p < P; ++p) {
      // Earliest deadline first, read as priorities by max_latency_ms: the load of tighter tasks
      // goes ahead (sigma_ahead), that of tasks with the same deadline shares the queue.
      double ahead = 0.0, level = 0.0;
      for (std::size_t j = 0; j < T; ++j) {
        const double other = request.tasks[j].slo.max_latency_ms;
        if (other < deadline)
          ahead += rho[j * P + p];
        if (other <= deadline)
          level += rho[j * P + p];
      }
      double w = level < 0.95 ? 1000.0 * residual[p] / ((1.0 - ahead) * (1.0 - level)) : 1e6;
      if (options.wait_quantile > 0.0 && level < 0.95)
        w *= total[p] > 1.0 - options.wait_quantile
                 ? std::log(total[p] / (1.0 - options.wait_quantile)) / total[p]
                 : 0.0;
      // Every stage is queued anew, even after a stage on the same processor, so the tighter
      // tasks' requests that arrive while this one runs go before its next stage there: each run of
      // stages on p is stretched by the busy period of the tighter load that arrives before its
      // last stage starts, followed x ahead / (1 - ahead) per entry.
      if (entries[i * P + p] > 0 && level < 0.95)
        w += 1000.0 * followed[i * P + p] / entries[i * P + p] * ahead / (1.0 - ahead);
      waits[i][p] = w;
    }
  }
  return waits;
}

double ShareLate(const plan::PlanTask& task, const std::vector<int>& placement,
                 const std::vector<double>& busy, double service_ms) {
  const double slack = task.slo.max_latency_ms - service_ms;
  if (slack < 0.0)
    return 1.0;
  double mean_ms = 0.0, idle = 1.0;
  for (std::size_t k = 0; k < placement.size(); ++k) {
    if (k > 0 && placement[k] == placement[k - 1])
      continue;
    const std::size_t p = static_cast<std::size_t>(placement[k]);
    mean_ms += task.entry_wait_ms.empty() ? 0.0 : task.entry_wait_ms[p];
    idle *= 1.0 - std::clamp(busy[p], 0.0, 0.99);
  }
  const double waits = 1.0 - idle;  // the chance of waiting at all
  if (waits <= 0.0 || mean_ms <= 0.0)
    return 0.0;
  return std::min(1.0, waits * std::exp(-slack * waits / mean_ms));
}

namespace {

// PlanFor without verification.
PhasePlan PlanOnce(const std::vector<ServedTask>& tasks, const std::vector<int>& present,
                   const std::vector<plan::Slo>& slos, const std::vector<bool>& alive,
                   const plan::Planner& planner, const PlanningOptions& options,
                   std::vector<plan::TaskProfile>& restricted) {
  PhasePlan out;
  const bool all_alive = std::all_of(alive.begin(), alive.end(), [](bool a) { return a; });
  restricted.clear();
  restricted.reserve(present.size());
  plan::PlanRequest request;
  request.memory_budget_bytes = options.memory_budget_bytes;
  request.placements = options.placements;
  for (std::size_t p = 0; p < alive.size(); ++p) {
    if (alive[p]) {
      out.processor_of_plan_processor.push_back(static_cast<int>(p));
      request.processors.push_back(tasks[0].profile->processors[p]);
    }
  }
  // Placement orders need a processor per stage; after a fault there may be too few left, and
  // serving on shared processors beats failing every request.
  for (int t : present) {
    if (tasks[static_cast<std::size_t>(t)].profile->num_stages >
        static_cast<int>(request.processors.size()))
      request.placements = plan::PlacementSpace::kAnyMapping;
  }
  for (int t : present) {
    const ServedTask& task = tasks[static_cast<std::size_t>(t)];
    const plan::TaskProfile* profile = task.profile;
    if (!all_alive) {
      restricted.push_back(WithProcessors(*task.profile, alive));
      profile = &restricted.back();
    }
    request.tasks.push_back(plan::PlanTask{
        task.name, std::cref(*profile), slos[static_cast<std::size_t>(t)], task.rate_per_s, {}});
    out.task_of_plan_task.push_back(t);
  }
  out.plan = planner.Solve(request);
  if (options.latency_headroom <= 1.0 && !options.queueing_aware)
    return out;
  std::vector<double> levels = {std::max(1.0, options.latency_headroom)};
  for (double level : {2.0, 1.5, 1.25, 1.1})
    if (level < levels.front())
      levels.push_back(level);
  if (levels.back() > 1.0)
    levels.push_back(1.0);
  // Judges a plan by the true SLOs: its latencies without the waits it was planned with
  // (`planned_with`'s entry waits), plus, when queueing-aware, the waits its own load causes.
  const auto judge = [&](plan::Plan& candidate, const plan::PlanRequest& planned_with) {
    const std::vector<std::vector<double>> own = options.queueing_aware
                                                     ? EntryWaits(candidate, request, options)
                                                     : std::vector<std::vector<double>>();
    const std::vector<std::vector<double>> stressed =
        options.queueing_aware ? EntryWaits(candidate, request, options, options.rank_slowdown)
                               : std::vector<std::vector<double>>();
    candidate.objective.violations = 0;
    double missing_per_s = 0.0;
    for (std::size_t i = 0; i < candidate.tasks.size(); ++i) {
      plan::TaskPlan& tp = candidate.tasks[i];
      plan::PlanTask task = request.tasks[i];
      const std::size_t K = tp.placement.size();
      tp.latency_ms -= plan::EntryWaitMs(planned_with.tasks[i], tp.placement.data(), K);
      const double service_ms = tp.latency_ms;
      if (!own.empty()) {
        task.entry_wait_ms = own[i];
        tp.latency_ms += plan::EntryWaitMs(task, tp.placement.data(), K);
      }
      if (tp.accuracy_bound < task.slo.min_accuracy) {
        missing_per_s += task.rate_per_s;
      } else if (!own.empty()) {
        // Ranked as if every stage took rank_slowdown times as long: a plan that meets its SLOs
        // only at the calibrated latencies exactly is fragile (the factors move between runs).
        task.entry_wait_ms = stressed[i];
        std::vector<double> busy = candidate.processor_load;
        for (double& u : busy)
          u *= options.rank_slowdown;
        missing_per_s += task.rate_per_s *
                         ShareLate(task, tp.placement, busy, options.rank_slowdown * service_ms);
      } else {
        missing_per_s += task.rate_per_s * (service_ms > task.slo.max_latency_ms ? 1.0 : 0.0);
      }
      tp.slo_met =
          tp.accuracy_bound >= task.slo.min_accuracy && tp.latency_ms <= task.slo.max_latency_ms;
      if (tp.slo_met)
        tp.reason.clear();
      else if (tp.accuracy_bound >= task.slo.min_accuracy)
        tp.reason = own.empty() ? "latency over max_latency_ms"
                                : "latency with the expected queueing waits over max_latency_ms";
      candidate.objective.violations += !tp.slo_met;
    }
    return missing_per_s;
  };
  // Plans are ranked by the memory budget, then the requests per second expected to miss their
  // SLO (the metric served requests are judged by; a task of high rate weighs more), then the
  // busiest processor.
  struct Ranked {
    plan::Plan plan;
    double missing_per_s = 0.0;
  };
  const auto better = [](const Ranked& a, const Ranked& b) {
    if (a.plan.objective.bytes_over_budget != b.plan.objective.bytes_over_budget)
      return a.plan.objective.bytes_over_budget < b.plan.objective.bytes_over_budget;
    if (std::abs(a.missing_per_s - b.missing_per_s) > 1e-9 * std::max(1.0, b.missing_per_s))
      return a.missing_per_s < b.missing_per_s;
    return plan::IsBetter(a.plan.objective, b.plan.objective);
  };
  // The headroom cascade: every task starts at the most headroom; a task whose tightened SLO the
  // plan misses steps down a level (each step lowers one task's level, so this ends). Queueing-
  // aware, the best-ranked of its plans and `base` (the plan of `with_waits` without headroom);
  // otherwise the first plan that meets as many true SLOs as `base`, or `base`. Plans are judged
  // as `judge` does.
  const auto cascade = [&](const plan::PlanRequest& with_waits, plan::Plan base) {
    const double base_missing = judge(base, with_waits);
    Ranked kept{std::move(base), base_missing};
    std::vector<std::size_t> level_of(with_waits.tasks.size(), 0);
    while (true) {
      plan::PlanRequest margin = with_waits;
      for (std::size_t i = 0; i < margin.tasks.size(); ++i)
        margin.tasks[i].slo.max_latency_ms /= levels[level_of[i]];
      plan::Plan with_headroom = planner.Solve(margin);
      bool stepped = false;
      for (std::size_t i = 0; i < with_headroom.tasks.size(); ++i) {
        if (!with_headroom.tasks[i].slo_met && level_of[i] + 1 < levels.size()) {
          ++level_of[i];
          stepped = true;
        }
      }
      const double missing = judge(with_headroom, with_waits);
      Ranked tried{std::move(with_headroom), missing};
      if (!options.queueing_aware) {
        // Without waits nothing ranks headroom: the first plan that meets as many true SLOs as
        // `base`, within its bytes, is kept (ties on load would go back to the plain plan).
        if (tried.plan.objective.bytes_over_budget <= kept.plan.objective.bytes_over_budget &&
            tried.plan.objective.violations <= kept.plan.objective.violations)
          return tried;
      } else if (better(tried, kept)) {
        kept = std::move(tried);
      }
      if (!stepped)
        return kept;  // every task missing its tightened SLO is at the last level
    }
  };
  Ranked best = cascade(request, out.plan);
  // Queueing-aware rounds: the waits the best plan's own load causes are charged to every choice
  // (a wait per processor a request enters, EntryWaits) and the phase is planned again; a plan
  // that is better when judged with its own waits (SLOs missed, then the busiest processor)
  // replaces the best, and the rounds stop when none is (at most 3).
  plan::PlanRequest with_waits = request;
  for (int round = 0; options.queueing_aware && round < 3; ++round) {
    const std::vector<std::vector<double>> waits = EntryWaits(best.plan, request, options);
    for (std::size_t i = 0; i < with_waits.tasks.size(); ++i)
      with_waits.tasks[i].entry_wait_ms = waits[i];
    Ranked candidate = cascade(with_waits, planner.Solve(with_waits));
    if (!better(candidate, best))
      break;
    best = std::move(candidate);
  }
  out.plan = std::move(best.plan);
  return out;
}

}  // namespace

PhasePlan PlanFor(const std::vector<ServedTask>& tasks, const std::vector<int>& present,
                  const std::vector<plan::Slo>& slos, const std::vector<bool>& alive,
                  const plan::Planner& planner, const PlanningOptions& options,
                  std::vector<plan::TaskProfile>& restricted) {
  AccuracyVerification* verification = options.verification;
  if (verification == nullptr)
    return PlanOnce(tasks, present, slos, alive, planner, options, restricted);
  // The profiles are read by the planner and written by the verification: one plan at a time.
  std::lock_guard lock(verification->mutex());
  // After a fault the plan is made at once: its variants are not measured first.
  if (!std::all_of(alive.begin(), alive.end(), [](bool a) { return a; }))
    return PlanOnce(tasks, present, slos, alive, planner, options, restricted);
  while (true) {
    PhasePlan phase = PlanOnce(tasks, present, slos, alive, planner, options, restricted);
    if (!verification->VerifyLocked(phase, slos))
      return phase;
    verification->CountReplanLocked();  // a variant measured below its SLO: plan again
  }
}

std::vector<std::optional<TaskRoute>> RoutesOf(const PhasePlan& phase,
                                               const std::vector<ServedTask>& tasks,
                                               const std::vector<plan::Slo>& slos) {
  std::vector<std::optional<TaskRoute>> routes(tasks.size());
  for (std::size_t i = 0; i < phase.plan.tasks.size(); ++i) {
    const plan::TaskPlan& tp = phase.plan.tasks[i];
    const int t = phase.task_of_plan_task[i];
    TaskRoute route;
    route.variant_of_stage = tp.variant_of_stage;
    for (int p : tp.placement)
      route.placement.push_back(phase.processor_of_plan_processor[static_cast<std::size_t>(p)]);
    route.planned_accuracy = tp.accuracy;
    const std::vector<double>* truth = tasks[static_cast<std::size_t>(t)].true_accuracy;
    route.accuracy =
        truth != nullptr ? truth->at(static_cast<std::size_t>(tp.stitched_variant)) : tp.accuracy;
    route.accuracy_measured = truth != nullptr || tp.accuracy_measured;
    route.slo = slos[static_cast<std::size_t>(t)];
    route.stitched =
        plan::StitchedVariantName(*tasks[static_cast<std::size_t>(t)].profile, tp.stitched_variant);
    routes[static_cast<std::size_t>(t)] = std::move(route);
  }
  return routes;
}

void CheckEpisode(const Episode& episode, std::size_t num_tasks) {
  if (episode.slos.size() != num_tasks)
    throw UsageError("episode '" + episode.name + "': " + std::to_string(episode.slos.size()) +
                     " SLOs for " + std::to_string(num_tasks) + " tasks");
  for (std::size_t t = 0; t < num_tasks; ++t) {
    const plan::Slo& slo = episode.slos[t];
    if (!(slo.min_accuracy >= 0.0 && slo.min_accuracy <= 1.0) ||
        !(slo.max_latency_ms > 0.0 && std::isfinite(slo.max_latency_ms)))
      throw UsageError("episode '" + episode.name + "': SLO of task " + std::to_string(t) +
                       ": expected min_accuracy in [0, 1] and a finite max_latency_ms > 0, got " +
                       std::to_string(slo.min_accuracy) + " and " +
                       std::to_string(slo.max_latency_ms));
  }
  // Every task arrives once: phase i serves order[0..i], the last phase all of them.
  if (episode.order.size() != num_tasks)
    throw UsageError("episode '" + episode.name + "': the arrival order names " +
                     std::to_string(episode.order.size()) + " tasks, the server has " +
                     std::to_string(num_tasks));
  std::vector<int> sorted = episode.order;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i] != static_cast<int>(i))
      throw UsageError("episode '" + episode.name +
                       "': the arrival order is not a permutation of the tasks 0.." +
                       std::to_string(num_tasks - 1));
  }
}

void CheckWorkloadOptions(const WorkloadOptions& options) {
  if (!(options.phase_s > 0.0))
    throw UsageError("phase_s must be > 0");
  if (options.arrivals == ArrivalKind::kClosedLoop && options.closed_loop_window < 1)
    throw UsageError("closed_loop_window must be >= 1");
}

void CheckPlanningOptions(const PlanningOptions& options) {
  if (!(options.wait_quantile >= 0.0 && options.wait_quantile < 1.0))
    throw UsageError("wait_quantile must be in [0, 1)");
}

void CheckEpisodeOptions(const Episode& episode, const ServeOptions& options,
                         std::size_t num_tasks) {
  CheckEpisode(episode, num_tasks);
  const WorkloadOptions& workload = options.workload;
  CheckWorkloadOptions(workload);
  CheckSloChanges(episode, 1000.0 * workload.phase_s);
  CheckPlanningOptions(options.planning);
  // A closed loop keeps every window full; one that does not fit the admission bound would have
  // the tasks arriving last dropped, and (a drop shrinking the window) never served at all.
  if (workload.arrivals == ArrivalKind::kClosedLoop &&
      static_cast<std::int64_t>(workload.closed_loop_window) *
              static_cast<std::int64_t>(episode.order.size()) >
          options.pipeline.max_in_flight)
    throw UsageError("closed loop: " + std::to_string(episode.order.size()) + " tasks x window " +
                     std::to_string(workload.closed_loop_window) +
                     " requests exceed max_in_flight " +
                     std::to_string(options.pipeline.max_in_flight) +
                     "; the tasks arriving last would never be admitted");
}

std::vector<PlannedState> PlanEpisode(const std::vector<ServedTask>& tasks, int num_processors,
                                      const plan::Planner& planner, const Episode& episode,
                                      const PlanningOptions& options) {
  CheckEpisode(episode, tasks.size());
  std::vector<PlannedState> plans;
  const std::vector<bool> alive(static_cast<std::size_t>(num_processors), true);
  std::vector<plan::TaskProfile> restricted;
  for (ServingState& state : StatesOf(episode)) {
    PhasePlan phase =
        PlanFor(tasks, state.present, state.slos, alive, planner, options, restricted);
    plans.push_back({std::move(state), std::move(phase)});
  }
  return plans;
}

PlanBook::Key PlanBook::KeyOf(const std::string& planner, const std::vector<ServedTask>& tasks,
                              const std::vector<int>& present, const std::vector<plan::Slo>& slos,
                              const PlanningOptions& options) {
  std::vector<std::tuple<double, double, double>> present_tasks;
  for (int t : present) {
    const plan::Slo& slo = slos.at(static_cast<std::size_t>(t));
    present_tasks.emplace_back(slo.min_accuracy, slo.max_latency_ms,
                               tasks.at(static_cast<std::size_t>(t)).rate_per_s);
  }
  return {planner,
          present,
          std::move(present_tasks),
          options.memory_budget_bytes,
          static_cast<int>(options.placements),
          options.latency_headroom,
          options.queueing_aware,
          options.wait_quantile,
          options.rank_slowdown};
}

void PlanBook::Add(const std::string& planner, const std::vector<ServedTask>& tasks,
                   const std::vector<int>& present, const std::vector<plan::Slo>& slos,
                   const PlanningOptions& options, PhasePlan phase) {
  plans_.insert_or_assign(KeyOf(planner, tasks, present, slos, options), std::move(phase));
}

const PhasePlan* PlanBook::Find(const std::string& planner, const std::vector<ServedTask>& tasks,
                                const std::vector<int>& present, const std::vector<plan::Slo>& slos,
                                const PlanningOptions& options) const {
  const auto it = plans_.find(KeyOf(planner, tasks, present, slos, options));
  return it == plans_.end() ? nullptr : &it->second;
}

std::vector<preload::StageKey> KeysOfEpisodes(const std::vector<ServedTask>& tasks,
                                              int num_processors, const plan::Planner& planner,
                                              const std::vector<Episode>& episodes,
                                              const PlanningOptions& options) {
  std::vector<preload::StageKey> keys;
  std::set<preload::StageKey> seen;
  for (const Episode& episode : episodes) {
    for (const PlannedState& planned :
         PlanEpisode(tasks, num_processors, planner, episode, options)) {
      const PhasePlan& phase = planned.plan;
      for (const preload::StageKey& key :
           KeysOf(phase.plan, phase.task_of_plan_task, phase.processor_of_plan_processor)) {
        if (seen.insert(key).second)
          keys.push_back(key);
      }
    }
  }
  return keys;
}

std::vector<preload::StageHotness> HotnessOfEpisodes(const std::vector<ServedTask>& tasks,
                                                     int num_processors,
                                                     const std::vector<Episode>& episodes,
                                                     const PlanningOptions& options) {
  const auto sparseloom = plan::MakeSparseLoomPlanner();
  std::vector<std::vector<preload::StageKey>> plan_keys;
  for (const Episode& episode : episodes) {
    for (const PlannedState& planned :
         PlanEpisode(tasks, num_processors, *sparseloom, episode, options))
      plan_keys.push_back(KeysOf(planned.plan.plan, planned.plan.task_of_plan_task,
                                 planned.plan.processor_of_plan_processor));
  }
  std::vector<const plan::TaskProfile*> profiles;
  for (const ServedTask& t : tasks)
    profiles.push_back(t.profile);
  return preload::HotnessOfPlans(profiles, num_processors, plan_keys);
}

void RecordPlan(const PhasePlan& phase, std::size_t num_tasks, bool count_as_replan,
                PhaseReport& report) {
  report.plan = phase.plan;
  report.plan_task_of.assign(num_tasks, -1);
  for (std::size_t i = 0; i < phase.task_of_plan_task.size(); ++i)
    report.plan_task_of[static_cast<std::size_t>(phase.task_of_plan_task[i])] = static_cast<int>(i);
  if (count_as_replan)
    ++report.replans;
}

std::vector<int> PhaseOfRecords(const std::vector<RequestRecord>& records,
                                const std::vector<PhaseReport>& phases) {
  std::vector<int> out;
  out.reserve(records.size());
  for (const RequestRecord& r : records) {
    int phase = 0;
    while (phase + 1 < static_cast<int>(phases.size()) &&
           r.arrival_ms >= phases[static_cast<std::size_t>(phase + 1)].start_ms)
      ++phase;
    out.push_back(phase);
  }
  return out;
}

}  // namespace sparseloom::runtime
