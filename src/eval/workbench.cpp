#include "eval/workbench.h"

#include <algorithm>
#include <utility>

namespace sparseloom::eval {

ViolationCounter::ViolationCounter(std::string planner,
                                   const std::vector<runtime::ServedTask>& served)
    : served_(served), completed_(served.size(), 0), served_s_(served.size(), 0.0) {
  f_.planner = std::move(planner);
}

void ViolationCounter::Add(const runtime::EpisodeReport& e) {
  const std::vector<runtime::TaskSummary> summaries = runtime::Summarize({e}, served_);
  for (std::size_t t = 0; t < summaries.size(); ++t) {
    const runtime::TaskSummary& s = summaries[t];
    f_.requests += s.requests;
    f_.violations += s.violations;
    f_.dropped += s.dropped + s.failed;
    f_.task_episodes += s.task_episodes;
    f_.episodes_violated += s.episodes_violated;
    completed_[t] += s.completed;
    served_s_[t] += s.served_s;
  }
  for (std::size_t i = 0; i < e.records.size(); ++i) {
    const runtime::RequestRecord& r = e.records[i];
    f_.judged_on_estimate += r.outcome == runtime::Outcome::kCompleted && !r.accuracy_measured;
    if (r.SloMet())
      continue;
    // The episode's SLO, not the record's: a dropped request never had a route to copy it from.
    const plan::Slo& slo = e.episode.slos[static_cast<std::size_t>(r.task)];
    if (r.outcome == runtime::Outcome::kCompleted)
      ++(r.accuracy < slo.min_accuracy ? f_.inaccurate : f_.late);
    if (PlanMissed(e, i, slo))
      ++f_.planned_miss;
  }
}

ViolationFigures ViolationCounter::Figures() const {
  ViolationFigures out = f_;
  for (std::size_t t = 0; t < completed_.size(); ++t)
    if (served_s_[t] > 0.0)
      out.completed_rps += static_cast<double>(completed_[t]) / served_s_[t];
  return out;
}

bool ViolationCounter::PlanMissed(const runtime::EpisodeReport& e, std::size_t i,
                                  const plan::Slo& slo) {
  const runtime::RequestRecord& r = e.records[i];
  if (i >= e.phase_of_record.size())
    return false;
  const int phase = e.phase_of_record[i];
  if (phase < 0 || phase >= static_cast<int>(e.phases.size()))
    return false;
  const runtime::PhaseReport& ph = e.phases[static_cast<std::size_t>(phase)];
  if (r.task < 0 || r.task >= static_cast<int>(ph.plan_task_of.size()))
    return false;
  const int at = ph.plan_task_of[static_cast<std::size_t>(r.task)];
  if (at < 0 || at >= static_cast<int>(ph.plan.tasks.size()))
    return false;
  const plan::TaskPlan& tp = ph.plan.tasks[static_cast<std::size_t>(at)];
  return tp.latency_ms > slo.max_latency_ms || tp.accuracy_bound < slo.min_accuracy;
}

Workbench MakeWorkbench(const Platform& platform, const std::deque<plan::TaskProfile>& profiles,
                        const std::vector<BenchTask>& data, const runtime::ServeOptions& serve) {
  Workbench w{platform, {}, {}, {}};
  for (std::size_t t = 0; t < data.size(); ++t) {
    sim::SimTask task;
    task.name = data[t].name;
    task.profile = &profiles[t];
    task.rate_per_s = data[t].rate_per_s * platform.rate_scale;
    task.num_samples = std::max<std::int64_t>(1, data[t].zoo.validation_samples);
    task.true_accuracy = data[t].true_accuracy;
    w.tasks.push_back(task);
    w.served.push_back(
        runtime::ServedTask{task.name, task.profile, nullptr, task.rate_per_s, task.true_accuracy});
  }
  w.options.serve = serve;
  w.options.storage = platform.storage;
  return w;
}

void RunEpisodes(const Workbench& w, const plan::Planner& planner,
                 const std::vector<runtime::Episode>& episodes, std::int64_t budget_bytes,
                 const std::function<void(std::size_t, const runtime::EpisodeReport&)>& each,
                 preload::StageCacheStats* stats, preload::CachePolicy policy) {
  sim::Simulator simulator(w.tasks, w.platform.processors, budget_bytes, policy);
  if (budget_bytes > 0)
    simulator.PreloadHottest(episodes, w.options.serve.planning);
  else
    simulator.Warm(planner, episodes, w.options.serve.planning);
  for (std::size_t i = 0; i < episodes.size(); ++i)
    each(i, simulator.RunEpisode(planner, episodes[i], w.options));
  if (stats != nullptr)
    *stats = simulator.CacheStats();
}

ViolationFigures CountViolations(const Workbench& w, const plan::Planner& planner,
                                 const std::vector<runtime::Episode>& episodes,
                                 std::int64_t budget_bytes, preload::StageCacheStats* stats,
                                 preload::CachePolicy policy) {
  ViolationCounter counter(planner.Name(), w.served);
  RunEpisodes(
      w, planner, episodes, budget_bytes,
      [&](std::size_t, const runtime::EpisodeReport& e) { counter.Add(e); }, stats, policy);
  return counter.Figures();
}

}  // namespace sparseloom::eval
