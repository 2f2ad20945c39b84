#include "runtime/serving.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <thread>

#include "common/error.h"
#include "plan/evaluation.h"
#include "runtime/episode_driver.h"
#include "runtime/injected_fault.h"
#include "runtime/phase_planning.h"
#include "runtime/processor_thread.h"
#include "runtime/serving_clock.h"

namespace sparseloom::runtime {
std::vector<double> MeasureIdleHandoversMs(const std::vector<engine::ProcessorConfig>& processors,
                                           int rounds, double idle_ms) {
  const std::size_t P = processors.size();
  std::vector<double> out(P * P, 0.0);
  if (P < 2 || rounds < 1)
    return out;
  // One pinned thread per processor; each hands an empty job to the next one's worker after
  // that worker has slept, and the receiving side records when it woke.
  std::vector<std::unique_ptr<ProcessorThread>> threads;
  for (const engine::ProcessorConfig& p : processors)
    threads.push_back(std::make_unique<ProcessorThread>(p));
  for (std::size_t p = 0; p < P; ++p) {
    for (std::size_t q = 0; q < P; ++q) {
      if (p == q)
        continue;
      std::vector<double> samples;
      for (int r = 0; r < rounds; ++r) {
        std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(idle_ms));
        Clock::time_point sent, woke;
        threads[p]->Run([&] {
          sent = Clock::now();
          threads[q]->Run([&] { woke = Clock::now(); });
        });
        samples.push_back(std::chrono::duration<double, std::milli>(woke - sent).count());
      }
      out[p * P + q] = Median(samples);
    }
  }
  return out;
}

plan::TaskProfile WithProcessors(const plan::TaskProfile& profile, const std::vector<bool>& keep) {
  const int P = profile.num_processors();
  if (static_cast<int>(keep.size()) != P)
    throw UsageError("WithProcessors: " + std::to_string(keep.size()) + " flags for " +
                     std::to_string(P) + " processors");
  std::vector<int> kept;
  for (int p = 0; p < P; ++p) {
    if (keep[static_cast<std::size_t>(p)])
      kept.push_back(p);
  }
  plan::TaskProfile out = profile;
  const int Q = static_cast<int>(kept.size());
  const int K = profile.num_stages;
  const int V = profile.num_variants();
  out.processors.clear();
  for (int p : kept)
    out.processors.push_back(profile.processors[static_cast<std::size_t>(p)]);
  out.stage_latency_ms.assign(static_cast<std::size_t>(K * V * Q), 0.0);
  for (int kv = 0; kv < K * V; ++kv) {
    for (int q = 0; q < Q; ++q)
      out.stage_latency_ms[static_cast<std::size_t>(kv * Q + q)] =
          profile.stage_latency_ms[static_cast<std::size_t>(kv * P + kept[q])];
  }
  out.handover_ms.assign(static_cast<std::size_t>(Q * Q), 0.0);
  for (int a = 0; a < Q; ++a) {
    for (int b = 0; b < Q; ++b)
      out.handover_ms[static_cast<std::size_t>(a * Q + b)] =
          profile.handover_ms[static_cast<std::size_t>(kept[a] * P + kept[b])];
  }
  return out;
}

std::vector<preload::StageKey> KeysOf(const plan::Plan& plan,
                                      const std::vector<int>& task_of_plan_task,
                                      const std::vector<int>& processor_of_plan_processor) {
  std::vector<preload::StageKey> keys;
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
    const plan::TaskPlan& tp = plan.tasks[i];
    for (std::size_t k = 0; k < tp.variant_of_stage.size(); ++k) {
      keys.push_back(preload::StageKey{
          task_of_plan_task[i], static_cast<int>(k), tp.variant_of_stage[k],
          processor_of_plan_processor[static_cast<std::size_t>(tp.placement[k])]});
    }
  }
  return keys;
}

Server::Server(std::vector<ServedTask> tasks, std::vector<engine::ProcessorConfig> processors,
               preload::StageCache& cache,
               std::function<std::int64_t(const engine::Tensor&)> argmax,
               std::function<engine::Tensor(const engine::Tensor&, std::int64_t)> sample)
    : tasks_(std::move(tasks)),
      processors_(std::move(processors)),
      cache_(cache),
      plans_ahead_(std::make_unique<PlanBook>()),
      argmax_(std::move(argmax)),
      sample_(std::move(sample)) {
  if (tasks_.empty())
    throw UsageError("a server needs at least one task");
  for (const ServedTask& t : tasks_) {
    if (t.profile == nullptr || t.inputs == nullptr || t.inputs->size <= 0)
      throw UsageError("task '" + t.name + "': no profile or no request inputs");
    if (t.profile->num_processors() != static_cast<int>(processors_.size()))
      throw UsageError("task '" + t.name + "': its profile has " +
                       std::to_string(t.profile->num_processors()) + " processors, the server " +
                       std::to_string(processors_.size()));
    for (std::size_t p = 0; p < processors_.size(); ++p) {
      if (t.profile->processors[p] != processors_[p].name)
        throw UsageError("task '" + t.name + "': its profile's processor " + std::to_string(p) +
                         " is '" + t.profile->processors[p] + "', the server's '" +
                         processors_[p].name + "'");
    }
    if (!(t.rate_per_s >= 0.0) || !std::isfinite(t.rate_per_s))
      throw UsageError("task '" + t.name + "': rate_per_s must be finite and >= 0");
  }
}

Server::~Server() = default;

std::vector<plan::Plan> Server::PlanPhases(const plan::Planner& planner, const Episode& episode,
                                           const PlanningOptions& options) const {
  std::vector<plan::Plan> plans;
  for (PlannedState& planned :
       PlanEpisode(tasks_, static_cast<int>(processors_.size()), planner, episode, options)) {
    if (planned.state.change < 0)  // a phase's join
      plans.push_back(std::move(planned.plan.plan));
  }
  return plans;
}

int Server::Warm(const plan::Planner& planner, const std::vector<Episode>& episodes,
                 const PlanningOptions& options) {
  return cache_.Preload(
      KeysOfEpisodes(tasks_, static_cast<int>(processors_.size()), planner, episodes, options));
}

int PlanAheadInto(PlanBook& book, const std::vector<ServedTask>& tasks, int num_processors,
                  const plan::Planner& planner, const std::vector<Episode>& episodes,
                  const PlanningOptions& options) {
  const std::size_t before = book.size();
  for (const Episode& episode : episodes) {
    for (PlannedState& planned : PlanEpisode(tasks, num_processors, planner, episode, options))
      book.Add(planner.Name(), tasks, planned.state.present, planned.state.slos, options,
               std::move(planned.plan));
  }
  return static_cast<int>(book.size() - before);
}

int Server::PlanAhead(const plan::Planner& planner, const std::vector<Episode>& episodes,
                      const PlanningOptions& options) {
  return PlanAheadInto(*plans_ahead_, tasks_, static_cast<int>(processors_.size()), planner,
                       episodes, options);
}

EpisodeReport Server::RunEpisode(const plan::Planner& planner, const Episode& episode,
                                 const ServeOptions& options) {
  CheckEpisodeOptions(episode, options, tasks_.size());
  CheckFault(options.fault, processors_.size());
  Pipeline pipeline(processors_, cache_, argmax_, options.pipeline,
                    options.fault.active() ? FailingStages(RunAsIs(), options.fault) : RunAsIs());
  SteadyServingClock clock(pipeline.start());
  std::vector<std::int64_t> set_sizes;
  for (const ServedTask& t : tasks_)
    set_sizes.push_back(t.inputs->size);
  const auto make_input = [this](int t, std::int64_t sample) {
    const LabelledSet& set = *tasks_[static_cast<std::size_t>(t)].inputs;
    RequestInput input;
    input.input = sample_(set.input, sample);
    for (const engine::Tensor& side : set.side)
      input.side.push_back(sample_(side, sample));
    if (!set.labels.empty())
      input.label = set.labels[static_cast<std::size_t>(sample)];
    return input;
  };
  // The driver stands for the device's inputs: above the workers' real-time priority, if any.
  const int priority = options.pipeline.realtime_priority;
  const EpisodeSeams seams{
      pipeline, clock, make_input, set_sizes, plans_ahead_.get(), priority > 0 ? priority + 1 : 0};
  return DriveEpisode(tasks_, seams, planner, episode, options.workload, options.planning);
}

std::vector<TaskSummary> Summarize(const std::vector<EpisodeReport>& episodes,
                                   const std::vector<ServedTask>& tasks) {
  std::vector<TaskSummary> out(tasks.size());
  std::vector<std::vector<double>> latencies(tasks.size());
  for (std::size_t t = 0; t < tasks.size(); ++t)
    out[t].task = tasks[t].name;
  for (const EpisodeReport& episode : episodes) {
    std::vector<std::int64_t> requests(tasks.size(), 0), violations(tasks.size(), 0);
    for (const RequestRecord& r : episode.records) {
      const std::size_t t = static_cast<std::size_t>(r.task);
      TaskSummary& s = out[t];
      ++s.requests;
      ++requests[t];
      s.completed += r.outcome == Outcome::kCompleted;
      s.dropped += r.outcome == Outcome::kDropped;
      s.failed += r.outcome == Outcome::kFailed;
      if (!r.SloMet()) {
        ++s.violations;
        ++violations[t];
      }
      if (r.outcome == Outcome::kCompleted) {
        latencies[t].push_back(r.latency_ms());
        s.correct += r.label >= 0 && r.prediction == r.label;
        s.planned_accuracy += r.planned_accuracy;
        s.judged_accuracy += r.accuracy;
        if (s.accuracy_source != "estimated")
          s.accuracy_source = r.accuracy_measured ? "measured" : "estimated";
      }
    }
    for (const PhaseReport& phase : episode.phases) {
      for (int t : phase.tasks)
        out[static_cast<std::size_t>(t)].served_s += (phase.end_ms - phase.start_ms) / 1000.0;
    }
    for (std::size_t t = 0; t < tasks.size(); ++t) {
      if (requests[t] == 0)
        continue;
      ++out[t].task_episodes;
      out[t].episodes_violated +=
          static_cast<double>(violations[t]) > kEpisodeViolationShare * double(requests[t]);
    }
    if (!episode.phases.empty()) {
      const PhaseReport& last = episode.phases.back();
      for (std::size_t t = 0; t < tasks.size() && t < last.plan_task_of.size(); ++t) {
        if (last.plan_task_of[t] < 0)
          continue;
        const plan::TaskPlan& tp = last.plan.tasks[static_cast<std::size_t>(last.plan_task_of[t])];
        out[t].stitched = plan::StitchedVariantName(*tasks[t].profile, tp.stitched_variant);
        std::string placement;
        for (int p : tp.placement)
          placement +=
              (placement.empty() ? "" : ",") + last.plan.processors[static_cast<std::size_t>(p)];
        out[t].placement = placement;
      }
    }
  }
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    TaskSummary& s = out[t];
    s.throughput_rps = s.served_s > 0 ? double(s.completed) / s.served_s : 0.0;
    if (s.completed > 0) {
      s.planned_accuracy /= static_cast<double>(s.completed);
      s.judged_accuracy /= static_cast<double>(s.completed);
    }
    if (!latencies[t].empty()) {
      s.p50_ms = Percentile(latencies[t], 0.50);
      s.p95_ms = Percentile(latencies[t], 0.95);
      s.p99_ms = Percentile(latencies[t], 0.99);
    }
  }
  return out;
}

ThroughputCheck CheckThroughput(const EpisodeReport& episode, const std::vector<ServedTask>& tasks,
                                int phase) {
  const PhaseReport& ph = episode.phases.at(static_cast<std::size_t>(phase));
  std::vector<double> completed(tasks.size(), 0.0);
  for (std::size_t i = 0; i < episode.records.size(); ++i) {
    const RequestRecord& r = episode.records[i];
    if (episode.phase_of_record[i] == phase && r.outcome == Outcome::kCompleted)
      completed[static_cast<std::size_t>(r.task)] += 1.0;
  }
  const std::size_t P = tasks[0].profile->processors.size();
  std::vector<double> busy_s(P, 0.0);
  double total = 0.0;
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    if (t >= ph.plan_task_of.size() || ph.plan_task_of[t] < 0 || completed[t] == 0.0)
      continue;
    const plan::TaskProfile& profile = *tasks[t].profile;
    const plan::TaskPlan& tp = ph.plan.tasks[static_cast<std::size_t>(ph.plan_task_of[t])];
    for (std::size_t k = 0; k < tp.variant_of_stage.size(); ++k) {
      // The plan's processor, by name, in the full setup (a re-plan may have dropped some).
      const std::string& name = ph.plan.processors[static_cast<std::size_t>(tp.placement[k])];
      const std::size_t p = static_cast<std::size_t>(
          std::find(profile.processors.begin(), profile.processors.end(), name) -
          profile.processors.begin());
      busy_s[p] +=
          completed[t] *
          profile.StageLatencyMs(static_cast<int>(k), tp.variant_of_stage[k], static_cast<int>(p)) /
          1000.0;
    }
    total += completed[t];
  }
  ThroughputCheck check;
  const double duration_s = (ph.end_ms - ph.start_ms) / 1000.0;
  check.measured_rps = duration_s > 0 ? total / duration_s : 0.0;
  const double busiest = *std::max_element(busy_s.begin(), busy_s.end());
  check.bound_rps = busiest > 0 ? total / busiest : 0.0;
  return check;
}

}  // namespace sparseloom::runtime
