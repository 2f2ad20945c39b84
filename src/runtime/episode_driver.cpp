#include "runtime/episode_driver.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>

#include "runtime/processor_thread.h"
#include "runtime/serving_core.h"
#include "runtime/slo_changes.h"
#include "runtime/workload.h"

namespace sparseloom::runtime {

EpisodeReport DriveEpisode(const std::vector<ServedTask>& tasks, const EpisodeSeams& seams,
                           const plan::Planner& planner, const Episode& episode,
                           const WorkloadOptions& workload, const PlanningOptions& planning) {
  CheckEpisode(episode, tasks.size());
  CheckWorkloadOptions(workload);
  const double phase_ms = 1000.0 * workload.phase_s;
  CheckSloChanges(episode, phase_ms);
  Executor& executor = seams.executor;
  ServingClock& clock = seams.clock;

  EpisodeReport report;
  report.planner = planner.Name();
  report.episode = episode;

  // State shared with the executor's callbacks (closed-loop resubmission) and the core's plan
  // observer. Lock order: the core's lock, then `mutex` (never the core while holding `mutex`).
  std::mutex mutex;
  bool admitting = true;
  std::vector<PlanInstall> installs;
  bool joined_phase = false;  // the current phase's join has its plan in place
  const std::uint64_t episode_seed = Mix(workload.seed, HashOf(episode.name));
  std::vector<SampleSequence> samples;
  for (std::size_t t = 0; t < tasks.size(); ++t)
    samples.emplace_back(seams.set_sizes.at(t), Mix(episode_seed, 2 * t));

  ServingCore core(tasks, executor, clock, planner, planning, seams.ahead);
  core.OnPlanInstalled([&](const InstalledPlan& installed) {
    std::lock_guard lock(mutex);
    PhaseReport& current = report.phases.back();
    current.plan_ms += installed.plan_ms;
    RecordPlan(installed.phase, tasks.size(), installed.after_fault, current);
    if (!installed.after_fault && !joined_phase) {  // the join's plan, not a change's
      current.planned_ahead = installed.planned_ahead;
      joined_phase = true;
    }
    installs.push_back({clock.NowMs(), installed.slos, installed.phase.task_of_plan_task,
                        installed.phase.plan.tasks, installed.planned_ahead});
  });
  // SLO changes are re-planned in the background; all are waited for before the episode ends.
  std::vector<std::unique_ptr<BackgroundWork>> changing;
  std::size_t next_change = 0;
  const auto change_at = [&](std::size_t phase) {
    if (next_change >= episode.changes.size() ||
        episode.changes[next_change].phase != static_cast<int>(phase))
      return std::numeric_limits<double>::infinity();
    return static_cast<double>(phase) * phase_ms + episode.changes[next_change].after_ms;
  };
  const auto change_now = [&] {
    const SloChange& c = episode.changes[next_change++];
    changing.push_back(core.ChangeSlo(c.task, c.slo));
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
    executor.Submit(t, sample, seams.make_input(t, sample), clock.NowMs());
  };
  if (workload.arrivals == ArrivalKind::kClosedLoop) {
    executor.OnDone([&](const RequestRecord& record) {
      // Keep the window full; a drop or failure shrinks it (no tight resubmission loop).
      if (record.outcome == Outcome::kCompleted)
        submit_now(record.task);
    });
  }
  // Whichever way the episode ends, nothing may call back into the state above once it is gone.
  struct StopCallbacksFirst {
    std::mutex& mutex;
    bool& admitting;
    Executor& executor;
    ~StopCallbacksFirst() {
      {
        std::lock_guard lock(mutex);
        admitting = false;
      }
      executor.WaitIdle();
      executor.OnDone(nullptr);
    }
  } stop_first{mutex, admitting, executor};

  const auto rethrow_fault = [&] {
    if (const std::exception_ptr error = core.fault_error())
      std::rethrow_exception(error);
  };
  std::vector<std::optional<PoissonArrivals>> arrivals(tasks.size());
  std::vector<double> next_arrival(tasks.size(), std::numeric_limits<double>::infinity());

  for (std::size_t i = 0; i < episode.order.size(); ++i) {
    const int joining = episode.order[i];
    // Phases follow a fixed schedule from the start, not from when the driver gets there:
    // planning time and late wake-ups then change neither the arrivals nor their count, and every
    // planner is given the same requests (a late driver submits them late, with their scheduled
    // arrival times).
    const double phase_start = static_cast<double>(i) * phase_ms;
    const double phase_end = phase_start + phase_ms;
    clock.SleepUntil(phase_start);
    {
      PhaseReport phase;
      phase.phase = static_cast<int>(i);
      // Asked before taking `mutex`: the core calls the plan observer, which takes `mutex`, under
      // its own lock, so the two are only ever taken in that order.
      phase.tasks = core.Present();
      phase.tasks.push_back(joining);
      std::lock_guard lock(mutex);
      phase.start_ms = phase_start;
      report.phases.push_back(std::move(phase));
      joined_phase = false;
    }
    const std::size_t j = static_cast<std::size_t>(joining);
    if (workload.arrivals == ArrivalKind::kClosedLoop) {
      // The tasks present keep their windows full while the joining one is planned.
      core.Join(joining, episode.slos[j])->Wait();
      for (int w = 0; w < workload.closed_loop_window; ++w)
        submit_now(joining);
      for (double at = change_at(i); at < phase_end; at = change_at(i)) {
        clock.SleepUntil(at);
        change_now();
      }
      clock.SleepUntil(phase_end);
    } else {
      if (tasks[j].rate_per_s > 0.0) {
        arrivals[j].emplace(tasks[j].rate_per_s, Mix(episode_seed, 2 * j + 1));
        next_arrival[j] = phase_start + 1000.0 * arrivals[j]->NextGapS();
      }  // a task with rate 0 sends no requests
      // Planned in the background unless a plan was made ahead: the tasks already present keep
      // their routes until the new plan is in place, and the joining task's requests wait for it
      // (submitted then, with their arrival times). Started before the driver raises its
      // priority, so the planner runs at the normal policy.
      std::unique_ptr<BackgroundWork> join = core.Join(joining, episode.slos[j]);
      bool planned = join->WaitUntil(clock.NowMs());
      // The driver stands for the device's inputs (EpisodeSeams::driver_priority).
      const int priority = clock.IsVirtual() ? 0 : seams.driver_priority;
      std::optional<ScopedRealtimePriority> driver_priority(std::in_place, priority);
      report.realtime_driver = report.realtime_driver || driver_priority->active();
      const std::vector<int> present = core.Present();
      while (true) {
        std::size_t t = tasks.size();
        for (int p : present) {
          const std::size_t q = static_cast<std::size_t>(p);
          if (!planned && q == j)
            continue;  // no route yet
          if (t == tasks.size() || next_arrival[q] < next_arrival[t])
            t = q;
        }
        const double change = change_at(i);
        if (change < phase_end && (t == tasks.size() || change <= next_arrival[t])) {
          if (!planned && join->WaitUntil(change)) {
            planned = true;
            continue;
          }
          clock.SleepUntil(change);
          // The re-plan's thread is started at the normal policy, as a join's is.
          driver_priority.reset();
          change_now();
          driver_priority.emplace(priority);
          continue;
        }
        if (t == tasks.size() || next_arrival[t] >= phase_end) {
          if (planned)
            break;
          join->Wait();  // nothing else to submit before the plan is in place
          planned = true;
          continue;
        }
        if (!planned) {
          if (join->WaitUntil(next_arrival[t])) {
            planned = true;  // then the joining task's requests that are due go first
            continue;
          }
        } else {
          clock.SleepUntil(next_arrival[t]);
        }
        std::int64_t sample = 0;
        {
          std::lock_guard lock(mutex);
          sample = samples[t].Next();
        }
        // The arrival is the scheduled time: a late driver does not hide queueing.
        executor.Submit(static_cast<int>(t), sample, seams.make_input(static_cast<int>(t), sample),
                        next_arrival[t]);
        next_arrival[t] += 1000.0 * arrivals[t]->NextGapS();
      }
      clock.SleepUntil(phase_end);
    }
    {
      std::lock_guard lock(mutex);
      report.phases.back().end_ms = phase_end;
    }
    rethrow_fault();
  }
  for (const std::unique_ptr<BackgroundWork>& work : changing)
    work->Wait();
  {
    std::lock_guard lock(mutex);
    admitting = false;
  }
  executor.WaitIdle();
  rethrow_fault();  // no callback runs any more
  report.duration_ms = clock.NowMs();
  report.records = executor.TakeRecords();
  report.counters = executor.Counters();
  report.realtime_workers = executor.realtime_workers();
  std::sort(report.records.begin(), report.records.end(),
            [](const RequestRecord& a, const RequestRecord& b) { return a.id < b.id; });
  report.phase_of_record = PhaseOfRecords(report.records, report.phases);
  // Judged against what the application asked when the request arrived: requests that arrive while
  // a change is re-planned run on the routes planned before it, for the SLO asked before.
  for (RequestRecord& record : report.records)
    record.slo = SloAskedAt(episode, phase_ms, record.task, record.arrival_ms);
  {
    std::lock_guard lock(mutex);
    report.slo_changes =
        SloChangeReports(episode, phase_ms, installs, report.records, report.duration_ms);
  }
  return report;
}

}  // namespace sparseloom::runtime
