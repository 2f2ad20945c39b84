#include "runtime/phase_planning.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "common/error.h"

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

PhasePlan PlanFor(const std::vector<ServedTask>& tasks, const std::vector<int>& present,
                  const std::vector<plan::Slo>& slos, const std::vector<bool>& alive,
                  const plan::Planner& planner, const ServeOptions& options,
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
    request.tasks.push_back(plan::PlanTask{task.name, std::cref(*profile),
                                           slos[static_cast<std::size_t>(t)],
                                           task.rate_per_s * options.rate_scale});
    out.task_of_plan_task.push_back(t);
  }
  out.plan = planner.Solve(request);
  if (options.latency_headroom <= 1.0 && !options.queueing_aware)
    return out;
  // The plan the cascade below keeps is judged by the true SLOs against this one's violations.
  const int base_violations = out.plan.objective.violations;
  const std::int64_t base_over = out.plan.objective.bytes_over_budget;
  std::vector<double> levels = {std::max(1.0, options.latency_headroom)};
  for (double level : {2.0, 1.5, 1.25, 1.1})
    if (level < levels.front())
      levels.push_back(level);
  if (levels.back() > 1.0)
    levels.push_back(1.0);
  // Per task: the expected queueing wait of the last plan (ms), subtracted from its latency budget.
  std::vector<double> wait_ms(request.tasks.size(), 0.0);
  for (int round = 0; round < (options.queueing_aware ? 3 : 1); ++round) {
    // Per task, the largest headroom that costs no SLO: every task starts at the most headroom;
    // a task whose tightened SLO the plan misses steps down a level, until the plan meets as many
    // true SLOs as the plan without headroom (each step lowers one task's level, so this ends).
    std::vector<std::size_t> level_of(request.tasks.size(), 0);
    std::optional<plan::Plan> kept;
    while (true) {
      plan::PlanRequest margin = request;
      for (std::size_t i = 0; i < margin.tasks.size(); ++i) {
        double& budget = margin.tasks[i].slo.max_latency_ms;
        budget = std::max(0.25 * budget, budget - wait_ms[i]) / levels[level_of[i]];
      }
      plan::Plan with_headroom = planner.Solve(margin);
      // Judge it by the true SLOs: it meets at least the tightened ones it met.
      int violations = 0;
      bool stepped = false;
      for (std::size_t i = 0; i < with_headroom.tasks.size(); ++i) {
        plan::TaskPlan& tp = with_headroom.tasks[i];
        if (!tp.slo_met && level_of[i] + 1 < levels.size()) {
          ++level_of[i];
          stepped = true;
        }
        const plan::Slo& slo = request.tasks[i].slo;
        tp.slo_met = tp.accuracy >= slo.min_accuracy && tp.latency_ms <= slo.max_latency_ms;
        if (tp.slo_met)
          tp.reason.clear();
        violations += !tp.slo_met;
      }
      with_headroom.objective.violations = violations;
      if (with_headroom.objective.bytes_over_budget <= base_over && violations <= base_violations) {
        kept = std::move(with_headroom);
        break;
      }
      if (!stepped)
        break;  // every task missing its tightened SLO is at the last level: keep the last plan
    }
    if (!kept)
      break;
    out.plan = std::move(*kept);
    if (!options.queueing_aware)
      break;
    // M/G/1 waits of this plan (Pollaczek-Khinchine): on processor p, W_p = R_p / (1 - rho_p),
    // R_p = sum over the stages it runs of rate x latency^2 / 2; a request waits W_p at each
    // stage it runs on p (a worker re-queues a request between its stages).
    const std::size_t P = request.processors.size();
    std::vector<double> rho(P, 0.0), residual(P, 0.0);
    for (std::size_t i = 0; i < out.plan.tasks.size(); ++i) {
      const plan::TaskPlan& tp = out.plan.tasks[i];
      const plan::TaskProfile& profile = request.tasks[i].profile.get();
      const double rate = request.tasks[i].rate_per_s;
      const std::size_t V = static_cast<std::size_t>(profile.num_variants());
      const std::size_t K = tp.variant_of_stage.size();
      for (std::size_t k = 0; k < K; ++k) {
        const std::size_t p = static_cast<std::size_t>(tp.placement[k]);
        double ms =
            profile
                .stage_latency_ms[(k * V + static_cast<std::size_t>(tp.variant_of_stage[k])) * P +
                                  p];
        if (k + 1 == K && !profile.stitch_gap_ms.empty())  // the last stage carries the gap
          ms = std::max(0.0,
                        ms + profile.stitch_gap_ms[static_cast<std::size_t>(tp.stitched_variant)]);
        const double s = ms / 1000.0;
        rho[p] += rate * s;
        residual[p] += rate * s * s / 2.0;
      }
    }
    double change = 0.0;
    for (std::size_t i = 0; i < out.plan.tasks.size(); ++i) {
      double w = 0.0;
      for (int p : out.plan.tasks[i].placement) {
        const std::size_t q = static_cast<std::size_t>(p);
        double mean = rho[q] < 0.95 ? 1000.0 * residual[q] / (1.0 - rho[q]) : 1e9;
        if (options.wait_quantile > 0.0 && rho[q] < 0.95)
          mean *= rho[q] > 1.0 - options.wait_quantile
                      ? std::log(rho[q] / (1.0 - options.wait_quantile)) / rho[q]
                      : 0.0;
        w += mean;
      }
      change = std::max(change, std::abs(w - wait_ms[i]));
      wait_ms[i] = w;
    }
    if (change < 0.01)
      break;
  }
  return out;
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
    route.accuracy = tp.accuracy;
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

void CheckEpisodeOptions(const Episode& episode, const ServeOptions& options,
                         std::size_t num_tasks) {
  CheckEpisode(episode, num_tasks);
  if (!(options.phase_s > 0.0))
    throw UsageError("phase_s must be > 0");
  if (options.arrivals == ArrivalKind::kClosedLoop && options.closed_loop_window < 1)
    throw UsageError("closed_loop_window must be >= 1");
  if (!(options.rate_scale > 0.0))
    throw UsageError("rate_scale must be > 0");
  if (!(options.wait_quantile >= 0.0 && options.wait_quantile < 1.0))
    throw UsageError("wait_quantile must be in [0, 1)");
  // A closed loop keeps every window full; one that does not fit the admission bound would have
  // the tasks arriving last dropped, and (a drop shrinking the window) never served at all.
  if (options.arrivals == ArrivalKind::kClosedLoop &&
      static_cast<std::int64_t>(options.closed_loop_window) *
              static_cast<std::int64_t>(episode.order.size()) >
          options.pipeline.max_in_flight)
    throw UsageError("closed loop: " + std::to_string(episode.order.size()) + " tasks x window " +
                     std::to_string(options.closed_loop_window) +
                     " requests exceed max_in_flight " +
                     std::to_string(options.pipeline.max_in_flight) +
                     "; the tasks arriving last would never be admitted");
}

std::vector<PhasePlan> PlanEpisode(const std::vector<ServedTask>& tasks, int num_processors,
                                   const plan::Planner& planner, const Episode& episode,
                                   const ServeOptions& options) {
  CheckEpisode(episode, tasks.size());
  std::vector<PhasePlan> plans;
  const std::vector<bool> alive(static_cast<std::size_t>(num_processors), true);
  std::vector<plan::TaskProfile> restricted;
  std::vector<int> present;
  for (int t : episode.order) {
    present.push_back(t);
    plans.push_back(PlanFor(tasks, present, episode.slos, alive, planner, options, restricted));
  }
  return plans;
}

std::vector<StageKey> KeysOfEpisodes(const std::vector<ServedTask>& tasks, int num_processors,
                                     const plan::Planner& planner,
                                     const std::vector<Episode>& episodes,
                                     const ServeOptions& options) {
  std::vector<StageKey> keys;
  std::set<StageKey> seen;
  for (const Episode& episode : episodes) {
    for (const PhasePlan& phase : PlanEpisode(tasks, num_processors, planner, episode, options)) {
      for (const StageKey& key :
           KeysOf(phase.plan, phase.task_of_plan_task, phase.processor_of_plan_processor)) {
        if (seen.insert(key).second)
          keys.push_back(key);
      }
    }
  }
  return keys;
}

std::vector<StageHotness> HotnessOfEpisodes(const std::vector<ServedTask>& tasks,
                                            int num_processors,
                                            const std::vector<Episode>& episodes,
                                            const ServeOptions& options) {
  const auto sparseloom = plan::MakeSparseLoomPlanner();
  std::vector<std::vector<StageKey>> plan_keys;
  for (const Episode& episode : episodes) {
    for (const PhasePlan& phase : PlanEpisode(tasks, num_processors, *sparseloom, episode, options))
      plan_keys.push_back(
          KeysOf(phase.plan, phase.task_of_plan_task, phase.processor_of_plan_processor));
  }
  std::vector<const plan::TaskProfile*> profiles;
  for (const ServedTask& t : tasks)
    profiles.push_back(t.profile);
  return HotnessOfPlans(profiles, num_processors, plan_keys);
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
