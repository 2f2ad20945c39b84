#include "runtime/serving.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "common/error.h"
#include "plan/evaluation.h"
#include "runtime/phase_planning.h"
#include "runtime/processor_thread.h"

namespace sparseloom::runtime {
namespace {

double MsSince(Clock::time_point start, Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(t - start).count();
}

}  // namespace

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

std::vector<StageKey> KeysOf(const plan::Plan& plan, const std::vector<int>& task_of_plan_task,
                             const std::vector<int>& processor_of_plan_processor) {
  std::vector<StageKey> keys;
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
    const plan::TaskPlan& tp = plan.tasks[i];
    for (std::size_t k = 0; k < tp.variant_of_stage.size(); ++k) {
      keys.push_back(
          StageKey{task_of_plan_task[i], static_cast<int>(k), tp.variant_of_stage[k],
                   processor_of_plan_processor[static_cast<std::size_t>(tp.placement[k])]});
    }
  }
  return keys;
}

Server::Server(std::vector<ServedTask> tasks, std::vector<engine::ProcessorConfig> processors,
               StageCache& cache, std::function<std::int64_t(const engine::Tensor&)> argmax,
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
                                           const ServeOptions& options) const {
  std::vector<plan::Plan> plans;
  for (PhasePlan& phase :
       PlanEpisode(tasks_, static_cast<int>(processors_.size()), planner, episode, options))
    plans.push_back(std::move(phase.plan));
  return plans;
}

int Server::Warm(const plan::Planner& planner, const std::vector<Episode>& episodes,
                 const ServeOptions& options) {
  return cache_.Preload(
      KeysOfEpisodes(tasks_, static_cast<int>(processors_.size()), planner, episodes, options));
}

int Server::PlanAhead(const plan::Planner& planner, const std::vector<Episode>& episodes,
                      const ServeOptions& options) {
  const std::size_t before = plans_ahead_->size();
  for (const Episode& episode : episodes) {
    std::vector<PhasePlan> phases =
        PlanEpisode(tasks_, static_cast<int>(processors_.size()), planner, episode, options);
    std::vector<int> present;
    for (std::size_t i = 0; i < phases.size(); ++i) {
      present.push_back(episode.order[i]);
      plans_ahead_->Add(planner.Name(), present, episode.slos, options, std::move(phases[i]));
    }
  }
  return static_cast<int>(plans_ahead_->size() - before);
}

EpisodeReport Server::RunEpisode(const plan::Planner& planner, const Episode& episode,
                                 const ServeOptions& options) {
  CheckEpisodeOptions(episode, options, tasks_.size());

  EpisodeReport report;
  report.planner = planner.Name();
  report.episode = episode;

  // Owned here so that it stops before the state its callbacks use goes (see stop_first).
  auto pipeline_owner = std::make_unique<Pipeline>(processors_, cache_, argmax_, options.pipeline);
  Pipeline& pipeline = *pipeline_owner;
  const Clock::time_point start = pipeline.start();

  // State shared with the pipeline's callbacks (closed-loop resubmission, fault re-plans).
  std::mutex mutex;
  std::vector<int> present;
  bool admitting = true;
  std::exception_ptr fault_replan_error;  // a re-plan after a fault that threw
  std::vector<plan::TaskProfile> restricted;
  const std::uint64_t episode_seed = Mix(options.seed, HashOf(episode.name));
  std::vector<SampleSequence> samples;
  for (std::size_t t = 0; t < tasks_.size(); ++t)
    samples.emplace_back(tasks_[t].inputs->size, Mix(episode_seed, 2 * t));

  auto make_input = [&](int t, std::int64_t sample) {
    const LabelledSet& set = *tasks_[static_cast<std::size_t>(t)].inputs;
    RequestInput input;
    input.input = sample_(set.input, sample);
    for (const engine::Tensor& side : set.side)
      input.side.push_back(sample_(side, sample));
    if (!set.labels.empty())
      input.label = set.labels[static_cast<std::size_t>(sample)];
    return input;
  };
  // Submits one request of task t now; the sample is drawn under `mutex`.
  auto submit_now = [&](int t) {
    std::int64_t sample = 0;
    {
      std::lock_guard lock(mutex);
      if (!admitting)
        return;
      sample = samples[static_cast<std::size_t>(t)].Next();
    }
    pipeline.Submit(t, sample, make_input(t, sample), Clock::now());
  };

  // Records the phase's plan and its planning time; called with `mutex` held.
  auto record_plan = [&](const PhasePlan& phase, Clock::time_point planning, bool count_as_replan) {
    PhaseReport& current = report.phases.back();
    current.plan_ms += MsSince(planning, Clock::now());
    RecordPlan(phase, tasks_.size(), count_as_replan, current);
  };

  auto replan = [&](bool count_as_replan) {
    // Called with `mutex` held.
    const Clock::time_point planning = Clock::now();
    std::vector<bool> alive = pipeline.Alive();
    PhasePlan phase;
    while (true) {
      if (std::none_of(alive.begin(), alive.end(), [](bool a) { return a; }))
        return;  // the pipeline fails what is parked; nothing left to plan on
      phase = PlanFor(tasks_, present, episode.slos, alive, planner, options, restricted);
      try {
        pipeline.SetRoutes(RoutesOf(phase, tasks_, episode.slos));
        break;
      } catch (const UsageError&) {
        // A processor failed while planning: plan again without it (its own fault callback,
        // waiting for `mutex`, re-plans once more).
        std::vector<bool> now = pipeline.Alive();
        if (now == alive)
          throw;
        alive = std::move(now);
      }
    }
    record_plan(phase, planning, count_as_replan);
  };

  // The plan made ahead for the tasks present, when every processor is alive and one was made.
  auto planned_ahead = [&](const std::vector<int>& tasks_present) -> const PhasePlan* {
    const std::vector<bool> alive = pipeline.Alive();
    if (!std::all_of(alive.begin(), alive.end(), [](bool a) { return a; }))
      return nullptr;
    return plans_ahead_->Find(planner.Name(), tasks_present, episode.slos, options);
  };

  // A new phase's plan, the one made ahead or one made now without holding `mutex` (requests of
  // the tasks already present keep flowing on their routes meanwhile), then installed under it;
  // when a processor failed while planning, planned again under the lock.
  auto plan_phase = [&] {
    const Clock::time_point planning = Clock::now();
    std::vector<int> now_present;
    {
      std::lock_guard lock(mutex);
      now_present = present;
    }
    const PhasePlan* ahead = planned_ahead(now_present);
    std::vector<plan::TaskProfile> own_restricted;
    const PhasePlan phase = ahead != nullptr
                                ? *ahead
                                : PlanFor(tasks_, now_present, episode.slos, pipeline.Alive(),
                                          planner, options, own_restricted);
    std::lock_guard lock(mutex);
    try {
      pipeline.SetRoutes(RoutesOf(phase, tasks_, episode.slos));
      record_plan(phase, planning, false);
      report.phases.back().planned_ahead = ahead != nullptr;
    } catch (const UsageError&) {
      replan(false);
    }
  };

  pipeline.OnProcessorFailed([&](int, const std::string&) {
    // On a worker thread: an exception must not escape. The episode ends (its parked requests
    // fail, new ones are dropped) and RunEpisode rethrows.
    std::lock_guard lock(mutex);
    try {
      replan(true);
    } catch (...) {
      if (!fault_replan_error)
        fault_replan_error = std::current_exception();
      admitting = false;
      pipeline.SetRoutes(std::vector<std::optional<TaskRoute>>(tasks_.size()));
    }
  });
  if (options.arrivals == ArrivalKind::kClosedLoop) {
    pipeline.OnDone([&](const RequestRecord& record) {
      // Keep the window full; a drop or failure shrinks it (no tight resubmission loop).
      if (record.outcome == Outcome::kCompleted)
        submit_now(record.task);
    });
  }

  // The callbacks above use the state declared before this point: whichever way RunEpisode
  // ends, stop admitting and stop the pipeline (it waits for what is in flight) before that
  // state is destroyed.
  struct StopPipelineFirst {
    std::mutex& mutex;
    bool& admitting;
    std::unique_ptr<Pipeline>& pipeline;
    ~StopPipelineFirst() {
      {
        std::lock_guard lock(mutex);
        admitting = false;
      }
      pipeline.reset();
    }
  } stop_first{mutex, admitting, pipeline_owner};

  std::vector<std::optional<PoissonArrivals>> arrivals(tasks_.size());
  std::vector<Clock::time_point> next_arrival(tasks_.size());
  const auto phase_length =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.phase_s));

  for (std::size_t i = 0; i < episode.order.size(); ++i) {
    const int joining = episode.order[i];
    // Phases follow a fixed schedule from the pipeline's start, not from when the driver gets
    // there: planning time and late wake-ups then change neither the arrivals nor their count,
    // and every planner is given the same requests (a late driver submits them late, with their
    // scheduled arrival times).
    const Clock::time_point phase_start = start + static_cast<Clock::rep>(i) * phase_length;
    const Clock::time_point phase_end = phase_start + phase_length;
    {
      std::lock_guard lock(mutex);
      present.push_back(joining);
      PhaseReport phase;
      phase.phase = static_cast<int>(i);
      phase.tasks = present;
      phase.start_ms = MsSince(start, phase_start);
      report.phases.push_back(std::move(phase));
    }
    if (options.arrivals == ArrivalKind::kClosedLoop) {
      plan_phase();  // the tasks present keep their windows full meanwhile
      for (int w = 0; w < options.closed_loop_window; ++w)
        submit_now(joining);
      std::this_thread::sleep_until(phase_end);
    } else {
      const std::size_t j = static_cast<std::size_t>(joining);
      if (tasks_[j].rate_per_s > 0.0) {
        arrivals[j].emplace(tasks_[j].rate_per_s * options.rate_scale,
                            Mix(episode_seed, 2 * j + 1));
        next_arrival[j] = phase_start + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(arrivals[j]->NextGapS()));
      } else {
        next_arrival[j] = Clock::time_point::max();  // a task with rate 0 sends no requests
      }
      // A plan made ahead is installed now. Otherwise the phase is planned on its own thread, as a
      // device goes on taking inputs while it plans: the tasks already present keep their routes
      // until the new plan is in place, and the joining task's requests wait for it (submitted
      // then, with their arrival times). Started before the driver raises its priority, so the
      // planner runs at the normal policy.
      std::future<void> planning;
      bool planned = false;
      if (planned_ahead(present) != nullptr) {  // only this thread changes `present`
        plan_phase();
        planned = true;
      } else {
        planning = std::async(std::launch::async, plan_phase);
      }
      const auto finish_planning = [&] {
        planning.get();  // rethrows what planning threw
        planned = true;
      };
      // The driver stands for the device's inputs: it runs above the workers' real-time priority
      // (where they have one), so that a request is submitted when it arrives instead of when a
      // busy or spinning worker leaves a core free.
      const ScopedRealtimePriority driver_priority(
          options.pipeline.realtime_priority > 0 ? options.pipeline.realtime_priority + 1 : 0);
      report.realtime_driver = report.realtime_driver || driver_priority.active();
      while (true) {
        std::size_t t = tasks_.size();
        for (int p : present) {
          const std::size_t q = static_cast<std::size_t>(p);
          if (!planned && q == j)
            continue;  // no route yet
          if (t == tasks_.size() || next_arrival[q] < next_arrival[t])
            t = q;
        }
        if (t == tasks_.size() || next_arrival[t] >= phase_end) {
          if (planned)
            break;
          finish_planning();  // nothing else to submit before the plan is in place
          continue;
        }
        if (!planned) {
          if (planning.wait_until(next_arrival[t]) == std::future_status::ready) {
            finish_planning();  // then the joining task's requests that are due go first
            continue;
          }
        } else {
          std::this_thread::sleep_until(next_arrival[t]);
        }
        std::int64_t sample = 0;
        {
          std::lock_guard lock(mutex);
          sample = samples[t].Next();
        }
        // The arrival is the scheduled time: a late driver does not hide queueing.
        pipeline.Submit(static_cast<int>(t), sample, make_input(static_cast<int>(t), sample),
                        next_arrival[t]);
        next_arrival[t] += std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(arrivals[t]->NextGapS()));
      }
      std::this_thread::sleep_until(phase_end);
    }
    std::lock_guard lock(mutex);
    report.phases.back().end_ms = MsSince(start, phase_end);
    if (fault_replan_error)
      std::rethrow_exception(fault_replan_error);
  }
  {
    std::lock_guard lock(mutex);
    admitting = false;
  }
  pipeline.WaitIdle();
  if (fault_replan_error)  // no callback runs any more
    std::rethrow_exception(fault_replan_error);
  report.duration_ms = MsSince(start, Clock::now());
  report.records = pipeline.TakeRecords();
  report.counters = pipeline.Counters();
  report.realtime_workers = pipeline.realtime_workers();
  std::sort(report.records.begin(), report.records.end(),
            [](const RequestRecord& a, const RequestRecord& b) { return a.id < b.id; });
  report.phase_of_record = PhaseOfRecords(report.records, report.phases);
  return report;
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
        out[t].planned_accuracy = tp.accuracy;
      }
    }
  }
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    TaskSummary& s = out[t];
    s.throughput_rps = s.served_s > 0 ? double(s.completed) / s.served_s : 0.0;
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
    const std::size_t V = static_cast<std::size_t>(profile.num_variants());
    for (std::size_t k = 0; k < tp.variant_of_stage.size(); ++k) {
      // The plan's processor, by name, in the full setup (a re-plan may have dropped some).
      const std::string& name = ph.plan.processors[static_cast<std::size_t>(tp.placement[k])];
      const std::size_t p = static_cast<std::size_t>(
          std::find(profile.processors.begin(), profile.processors.end(), name) -
          profile.processors.begin());
      const std::size_t v = static_cast<std::size_t>(tp.variant_of_stage[k]);
      busy_s[p] += completed[t] * profile.stage_latency_ms[(k * V + v) * P + p] / 1000.0;
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
