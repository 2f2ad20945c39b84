// Serving episodes on timed fake stages and hand-made profiles: one phase per arriving task, every
// request accounted for under overload, re-plans after a processor fault, a stage cache smaller
// than the plans, the same workload for every planner, and the figures Summarize and
// CheckThroughput derive. Assertions are on counts and values, never on timings; each test that
// serves runs under a deadline so that a deadlock fails instead of hanging.

#include "runtime/serving.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "common/error.h"
#include "support/timed_fake_engine.h"
#include "support/wall_clock.h"

namespace sparseloom::runtime {
namespace {

using namespace std::chrono_literals;
using testing::MakeFake;
using testing::RouteValue;
using testing::TimedFakeStages;
using testing::ValueOf;

constexpr int kStages = 2;
constexpr int kVariants = 2;
constexpr std::int64_t kSetSize = 97;

// Runs `body` and aborts the test binary if it does not return in time (a deadlock).
template <typename Body>
void WithinSeconds(int seconds, Body body) {
  auto done = std::async(std::launch::async, body);
  if (done.wait_for(std::chrono::seconds(seconds)) == std::future_status::timeout) {
    std::fprintf(stderr, "test did not finish within %d s: deadlock?\n", seconds);
    std::abort();
  }
  done.get();
}

double Latency(int k, int v, int p) {
  // p0 is ten times faster than p1, so every plan keeps p0 busy; variant 1 is faster and less
  // accurate; stages differ so that a hand-computed bound tells them apart.
  return (p == 0 ? 1.0 : 10.0) * (v == 0 ? 2.0 : 1.0) * (k + 1);
}

// K = 2 stages, V = 2 variants, processors p0 and p1.
plan::TaskProfile Profile(const std::string& task) {
  plan::TaskProfile profile;
  profile.task = task;
  profile.num_stages = kStages;
  profile.variant_ids = {"dense", "pruned"};
  profile.processors = {"p0", "p1"};
  for (int k = 0; k < kStages; ++k)
    for (int v = 0; v < kVariants; ++v)
      for (int p = 0; p < 2; ++p)
        profile.stage_latency_ms.push_back(Latency(k, v, p));
  profile.stage_bytes.assign(kStages * kVariants, 1000);
  profile.accuracy = {0.9, 0.85, 0.84, 0.8};  // [v0 * 2 + v1]
  profile.handover_ms = {0.0, 0.1, 0.1, 0.0};
  return profile;
}

std::vector<engine::ProcessorConfig> Processors() {
  engine::ProcessorConfig p0;
  p0.name = "p0";
  engine::ProcessorConfig p1;
  p1.name = "p1";
  return {p0, p1};
}

// Labels 1000 + i, so a record's label proves which sample it was given.
LabelledSet Inputs() {
  LabelledSet set;
  set.input = MakeFake({kSetSize, 4}, 0.0);
  set.size = kSetSize;
  for (std::int64_t i = 0; i < kSetSize; ++i)
    set.labels.push_back(1000 + i);
  return set;
}

std::int64_t Argmax(const engine::Tensor& t) {
  return std::llround(ValueOf(t));
}

engine::Tensor Sample(const engine::Tensor& set, std::int64_t) {
  auto shape = set.Shape();
  shape[0] = 1;
  return MakeFake(shape, ValueOf(set));
}

// A server of `num_tasks` tasks ("t0", "t1", ...) on fake stages, each task at `rate_per_s`.
class Served {
 public:
  explicit Served(int num_tasks, double rate_per_s = 100.0, std::int64_t cache_budget = 0,
                  std::chrono::microseconds run_time = 50us,
                  std::chrono::microseconds load_time = 0us)
      : profiles_(MakeProfiles(num_tasks)),
        inputs_(static_cast<std::size_t>(num_tasks), Inputs()),
        stages(kStages, run_time, load_time),
        cache(stages.Source(), cache_budget),
        server(Tasks(rate_per_s), Processors(), cache, Argmax, Sample) {}

  std::vector<plan::Slo> Slos() const {
    return std::vector<plan::Slo>(profiles_.size(), plan::Slo{0.5, 10'000.0});
  }
  int num_tasks() const { return static_cast<int>(profiles_.size()); }

 private:
  static std::vector<plan::TaskProfile> MakeProfiles(int num_tasks) {
    std::vector<plan::TaskProfile> profiles;
    for (int t = 0; t < num_tasks; ++t)
      profiles.push_back(Profile(std::to_string(t).insert(0, 1, 't')));
    return profiles;
  }
  std::vector<ServedTask> Tasks(double rate_per_s) const {
    std::vector<ServedTask> tasks;
    for (std::size_t t = 0; t < profiles_.size(); ++t)
      tasks.push_back({profiles_[t].task, &profiles_[t], &inputs_[t], rate_per_s});
    return tasks;
  }

  const std::vector<plan::TaskProfile> profiles_;
  const std::vector<LabelledSet> inputs_;

 public:
  TimedFakeStages stages;
  preload::StageCache cache;
  Server server;
};

Episode InOrder(const Served& served, std::vector<int> order, std::string name = "episode") {
  return Episode{std::move(name), served.Slos(), std::move(order), {}};
}

// The processor index (full setup) of each stage of task t's plan in `phase`.
std::vector<int> PlacementOf(const PhaseReport& phase, int t) {
  const plan::TaskPlan& tp = phase.plan.tasks.at(
      static_cast<std::size_t>(phase.plan_task_of.at(static_cast<std::size_t>(t))));
  std::vector<int> placement;
  for (int p : tp.placement)
    placement.push_back(phase.plan.processors.at(static_cast<std::size_t>(p)) == "p0" ? 0 : 1);
  return placement;
}

// Every request of the episode ends as exactly one record, and the counters agree with them.
void ExpectAccounted(const EpisodeReport& report) {
  const PipelineCounters& c = report.counters;
  EXPECT_EQ(c.in_flight, 0);
  EXPECT_EQ(c.submitted, c.completed + c.dropped + c.failed);
  ASSERT_EQ(static_cast<std::int64_t>(report.records.size()), c.submitted);
  ASSERT_EQ(report.phase_of_record.size(), report.records.size());
  std::set<std::int64_t> ids;
  std::int64_t completed = 0, dropped = 0, failed = 0;
  for (std::size_t i = 0; i < report.records.size(); ++i) {
    const RequestRecord& r = report.records[i];
    EXPECT_TRUE(ids.insert(r.id).second) << "request " << r.id << " has two records";
    EXPECT_EQ(r.id, static_cast<std::int64_t>(i)) << "records are sorted by id, ids dense";
    EXPECT_EQ(r.label, 1000 + r.sample);
    completed += r.outcome == Outcome::kCompleted;
    dropped += r.outcome == Outcome::kDropped;
    failed += r.outcome == Outcome::kFailed;
    // Every record belongs to a phase in which its task was present.
    const int phase = report.phase_of_record[i];
    ASSERT_GE(phase, 0);
    ASSERT_LT(phase, static_cast<int>(report.phases.size()));
    const std::vector<int>& present = report.phases[static_cast<std::size_t>(phase)].tasks;
    EXPECT_NE(std::find(present.begin(), present.end(), r.task), present.end())
        << "request " << r.id << " of task " << r.task << " in phase " << phase;
  }
  EXPECT_EQ(completed, c.completed);
  EXPECT_EQ(dropped, c.dropped);
  EXPECT_EQ(failed, c.failed);
}

// Summarize's per-task figures add up to the episodes' counters.
void ExpectSummariesAddUp(const std::vector<EpisodeReport>& reports,
                          const std::vector<ServedTask>& tasks) {
  const std::vector<TaskSummary> summaries = Summarize(reports, tasks);
  ASSERT_EQ(summaries.size(), tasks.size());
  std::int64_t submitted = 0, completed = 0, dropped = 0, failed = 0;
  for (const EpisodeReport& r : reports) {
    submitted += r.counters.submitted;
    completed += r.counters.completed;
    dropped += r.counters.dropped;
    failed += r.counters.failed;
  }
  std::int64_t requests = 0, done = 0, drops = 0, failures = 0;
  for (const TaskSummary& s : summaries) {
    EXPECT_EQ(s.requests, s.completed + s.dropped + s.failed) << s.task;
    EXPECT_GE(s.violations, s.dropped + s.failed) << s.task;
    EXPECT_LE(s.violations, s.requests) << s.task;
    requests += s.requests;
    done += s.completed;
    drops += s.dropped;
    failures += s.failed;
  }
  EXPECT_EQ(requests, submitted);
  EXPECT_EQ(done, completed);
  EXPECT_EQ(drops, dropped);
  EXPECT_EQ(failures, failed);
}

TEST(ServingTest, EachArrivalStartsAPhasePlannedForTheTasksPresent) {
  Served served(3, 300.0);
  const auto planner = plan::MakeSparseLoomPlanner();
  const Episode episode = InOrder(served, {2, 0, 1});
  ServeOptions options;
  options.workload.phase_s = 0.15;
  options.workload.seed = 7;
  options.pipeline.max_in_flight = 100'000;  // no drops: every request runs its phase's route
  EpisodeReport report;
  WithinSeconds(30, [&] { report = served.server.RunEpisode(*planner, episode, options); });

  EXPECT_EQ(report.planner, planner->Name());
  ASSERT_EQ(report.phases.size(), 3u);
  const std::vector<std::vector<int>> present = {{2}, {2, 0}, {2, 0, 1}};
  for (std::size_t i = 0; i < 3; ++i) {
    const PhaseReport& phase = report.phases[i];
    EXPECT_EQ(phase.phase, static_cast<int>(i));
    EXPECT_EQ(phase.tasks, present[i]);
    EXPECT_EQ(phase.replans, 0);
    EXPECT_LT(phase.start_ms, phase.end_ms);
    if (i > 0) {
      EXPECT_LE(report.phases[i - 1].end_ms, phase.start_ms);
    }
    // The plan covers exactly the tasks present, in arrival order, on every processor.
    EXPECT_EQ(phase.plan.processors, (std::vector<std::string>{"p0", "p1"}));
    ASSERT_EQ(phase.plan.tasks.size(), present[i].size());
    ASSERT_EQ(phase.plan_task_of.size(), 3u);
    for (int t = 0; t < 3; ++t) {
      const auto at = std::find(present[i].begin(), present[i].end(), t);
      if (at == present[i].end()) {
        EXPECT_EQ(phase.plan_task_of[static_cast<std::size_t>(t)], -1);
        continue;
      }
      const int index = static_cast<int>(at - present[i].begin());
      EXPECT_EQ(phase.plan_task_of[static_cast<std::size_t>(t)], index);
      EXPECT_EQ(phase.plan.tasks[static_cast<std::size_t>(index)].task,
                served.server.tasks()[static_cast<std::size_t>(t)].name);
    }
  }
  ExpectAccounted(report);
  EXPECT_EQ(report.counters.dropped, 0);
  EXPECT_EQ(report.counters.failed, 0);
  // Every task sent requests, and each ran the route its phase's plan gave it (the fake stages
  // encode the variants and processors in the prediction).
  std::set<int> tasks_seen;
  for (std::size_t i = 0; i < report.records.size(); ++i) {
    const RequestRecord& r = report.records[i];
    tasks_seen.insert(r.task);
    const PhaseReport& phase = report.phases[static_cast<std::size_t>(report.phase_of_record[i])];
    const plan::TaskPlan& tp =
        phase.plan
            .tasks[static_cast<std::size_t>(phase.plan_task_of[static_cast<std::size_t>(r.task)])];
    ASSERT_EQ(r.outcome, Outcome::kCompleted) << r.reason;
    EXPECT_EQ(r.prediction, RouteValue(tp.variant_of_stage, PlacementOf(phase, r.task)))
        << "request " << r.id << " in phase " << report.phase_of_record[i];
    EXPECT_EQ(r.attempts, 1);
  }
  EXPECT_EQ(tasks_seen, (std::set<int>{0, 1, 2}));

  // PlanPhases gives the same plans without serving.
  const std::vector<plan::Plan> plans =
      served.server.PlanPhases(*planner, episode, options.planning);
  ASSERT_EQ(plans.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(plans[i].tasks.size(), i + 1);
    for (std::size_t j = 0; j < plans[i].tasks.size(); ++j) {
      EXPECT_EQ(plans[i].tasks[j].task, report.phases[i].plan.tasks[j].task);
      EXPECT_EQ(plans[i].tasks[j].variant_of_stage,
                report.phases[i].plan.tasks[j].variant_of_stage);
      EXPECT_EQ(plans[i].tasks[j].placement, report.phases[i].plan.tasks[j].placement);
    }
  }
}

TEST(ServingStress, PoissonAtHighRatesAccountsForEveryRequest) {
  // About 3000 requests over the three phases; the default admission bound drops some.
  Served served(3, 1500.0, 0, 0us);
  const auto planner = plan::MakeSparseLoomPlanner();
  ServeOptions options;
  options.workload.phase_s = 0.35;
  options.workload.seed = 11;
  std::vector<EpisodeReport> reports;
  WithinSeconds(60, [&] {
    for (const std::vector<int>& order : {std::vector<int>{0, 1, 2}, std::vector<int>{1, 2, 0}})
      reports.push_back(served.server.RunEpisode(*planner, InOrder(served, order), options));
  });
  for (const EpisodeReport& report : reports) {
    ExpectAccounted(report);
    EXPECT_GT(report.counters.submitted, 1000);
    EXPECT_EQ(report.counters.failed, 0);
  }
  ExpectSummariesAddUp(reports, served.server.tasks());
}

TEST(ServingStress, ClosedLoopAccountsForEveryRequest) {
  Served served(3, 1.0, 0, 20us);
  const auto planner = plan::MakeSparseLoomPlanner();
  ServeOptions options;
  options.workload.arrivals = ArrivalKind::kClosedLoop;
  options.workload.closed_loop_window = 8;
  options.workload.phase_s = 0.25;
  options.pipeline.max_in_flight = 16;
  std::vector<EpisodeReport> reports;
  WithinSeconds(60, [&] {
    // Three windows of 8 do not fit 16 in flight: the last task would never be admitted.
    EXPECT_THROW(served.server.RunEpisode(*planner, InOrder(served, {0, 1, 2}), options),
                 UsageError);
    options.pipeline.max_in_flight = 24;
    for (int e = 0; e < 2; ++e)
      reports.push_back(served.server.RunEpisode(*planner, InOrder(served, {0, 1, 2}), options));
  });
  for (const EpisodeReport& report : reports) {
    ExpectAccounted(report);
    EXPECT_EQ(report.counters.failed, 0);
    EXPECT_EQ(report.counters.dropped, 0) << "the windows fit the admission bound";
    // Each task present kept its window going: more completions than the windows alone.
    std::vector<std::int64_t> completed(3, 0);
    for (const RequestRecord& r : report.records)
      completed[static_cast<std::size_t>(r.task)] += r.outcome == Outcome::kCompleted;
    for (std::int64_t c : completed)
      EXPECT_GT(c, options.workload.closed_loop_window);
    std::printf("closed loop: %lld requests\n", static_cast<long long>(report.counters.submitted));
  }
  ExpectSummariesAddUp(reports, served.server.tasks());
}

TEST(ServingStress, FaultsAtPhaseBoundariesNeverLoseARequest) {
  // The fault lands when a phase starts, so the phase's re-plan and the fault's re-plan race.
  Served served(3, 2000.0, 0, 0us);
  const auto planner = plan::MakeSparseLoomPlanner();
  ServeOptions options;
  options.workload.phase_s = 0.03;
  options.pipeline.max_in_flight = 100'000;
  options.fault.processor = 0;
  std::vector<EpisodeReport> reports;
  WithinSeconds(120, [&] {
    for (int e = 0; e < 24; ++e) {
      options.fault.after_ms = 30.0 * (1 + e % 2) + 0.05 * (e / 2);
      options.workload.seed = static_cast<std::uint64_t>(e);
      reports.push_back(served.server.RunEpisode(*planner, InOrder(served, {0, 1, 2}), options));
    }
  });
  for (const EpisodeReport& report : reports) {
    ExpectAccounted(report);
    EXPECT_EQ(report.counters.failed, 0);
    EXPECT_EQ(report.counters.dropped, 0);
    int replans = 0;
    for (const PhaseReport& phase : report.phases)
      replans += phase.replans;
    EXPECT_GE(replans, 1);
    EXPECT_EQ(report.phases.back().plan.processors, (std::vector<std::string>{"p1"}));
  }
}

TEST(ServingTest, FaultReplansOntoTheSurvivingProcessor) {
  Served served(3, 400.0);
  const auto planner = plan::MakeSparseLoomPlanner();
  ServeOptions options;
  options.workload.phase_s = 0.2;
  options.workload.seed = 3;
  options.pipeline.max_in_flight = 100'000;
  options.fault.processor = 0;
  options.fault.after_ms = 60.0;  // in the first phase, whose plan runs on p0
  EpisodeReport report;
  WithinSeconds(30, [&] {
    report = served.server.RunEpisode(*planner, InOrder(served, {0, 1, 2}), options);
  });

  ExpectAccounted(report);
  EXPECT_EQ(report.counters.failed, 0) << "a fault loses no request";
  EXPECT_EQ(report.counters.dropped, 0);
  EXPECT_GE(report.counters.rerun, 1);
  ASSERT_EQ(report.phases.size(), 3u);
  // Before the fault the plan used p0 (the faster); from the re-plan on, only p1. The re-plan is
  // counted in phase 0, or in phase 1 when a slow run (sanitizers, load) surfaced the fault only
  // as phase 0 ended.
  std::size_t replanned = report.phases.size();
  for (std::size_t p = 0; p < report.phases.size() && replanned == report.phases.size(); ++p)
    if (report.phases[p].replans >= 1)
      replanned = p;
  ASSERT_LE(replanned, 1u) << "the fault at 60 ms was re-planned in phase 0 or 1";
  for (std::size_t p = replanned; p < report.phases.size(); ++p)
    EXPECT_EQ(report.phases[p].plan.processors, (std::vector<std::string>{"p1"})) << "phase " << p;
  for (std::size_t i = 0; i < report.records.size(); ++i) {
    const RequestRecord& r = report.records[i];
    ASSERT_EQ(r.outcome, Outcome::kCompleted) << r.reason;
    for (const StageSpan& s : r.stages) {
      EXPECT_FALSE(s.processor == 0 && s.start_ms >= options.fault.after_ms)
          << "request " << r.id << " ran on p0 after its fault";
    }
    if (report.phase_of_record[i] > 0 || r.attempts > 1) {
      for (const StageSpan& s : r.stages)
        EXPECT_EQ(s.processor, 1) << "request " << r.id;
      const PhaseReport& phase = report.phases[static_cast<std::size_t>(report.phase_of_record[i])];
      if (report.phase_of_record[i] > 0) {
        const plan::TaskPlan& tp = phase.plan.tasks[static_cast<std::size_t>(
            phase.plan_task_of[static_cast<std::size_t>(r.task)])];
        EXPECT_EQ(r.prediction, RouteValue(tp.variant_of_stage, {1, 1}));
      }
    }
  }
  // The fault cut a request that had started on p0.
  bool cut = false;
  for (const RequestRecord& r : report.records)
    cut = cut || r.attempts > 1;
  EXPECT_TRUE(cut);
}

// SparseLoom's planner, taking `delay` for every plan: a fault can land while a phase is planned.
class SlowPlanner final : public plan::Planner {
 public:
  explicit SlowPlanner(std::chrono::milliseconds delay)
      : inner_(plan::MakeSparseLoomPlanner()), delay_(delay) {}
  std::string Name() const override { return "slow " + inner_->Name(); }
  plan::Plan Solve(const plan::PlanRequest& request) const override {
    std::this_thread::sleep_for(delay_);
    return inner_->Solve(request);
  }

 private:
  std::unique_ptr<plan::Planner> inner_;
  std::chrono::milliseconds delay_;
};

TEST(ServingTest, FaultWhileAPhaseIsPlannedIsReplannedAgain) {
  // p0 runs every stage and is overloaded (5 ms stages), so it keeps starting stages while the
  // second phase is planned (100 to 130 ms); the fault lands in between.
  Served served(2, 150.0, 0, 5ms);
  const SlowPlanner planner(30ms);
  ServeOptions options;
  options.workload.phase_s = 0.1;
  options.pipeline.max_in_flight = 100'000;
  options.fault.processor = 0;
  options.fault.after_ms = 115.0;
  EpisodeReport report;
  WithinSeconds(60, [&] {
    report = served.server.RunEpisode(planner, InOrder(served, {0, 1}), options);
  });
  ExpectAccounted(report);
  EXPECT_EQ(report.counters.failed, 0);
  ASSERT_EQ(report.phases.size(), 2u);
  EXPECT_GE(report.phases[0].replans + report.phases[1].replans, 1);
  EXPECT_EQ(report.phases[1].plan.processors, (std::vector<std::string>{"p1"}));
  EXPECT_EQ(report.phases[1].plan.tasks.size(), 2u);
}

TEST(ServingTest, TasksPresentKeepFlowingWhileTheNextPhaseIsPlanned) {
  // Each plan takes 80 ms (one Solve: no headroom cascade, no queueing rounds). While phase 1 is
  // planned, t0's requests run on phase 0's route; t1's wait for the plan and are then submitted
  // with their arrival times, none dropped for want of a route.
  Served served(2, 200.0);
  const SlowPlanner planner(80ms);
  ServeOptions options;
  options.workload.phase_s = 0.2;
  options.planning.latency_headroom = 1.0;
  options.planning.queueing_aware = false;
  options.pipeline.max_in_flight = 100'000;
  EpisodeReport report;
  WithinSeconds(60, [&] {
    report = served.server.RunEpisode(planner, InOrder(served, {0, 1}), options);
  });
  ExpectAccounted(report);
  EXPECT_EQ(report.counters.dropped, 0);
  ASSERT_EQ(report.phases.size(), 2u);
  const PhaseReport& second = report.phases[1];
  EXPECT_GE(second.plan_ms, 80.0);
  // The plan is in place no sooner than plan_ms (at least 80) after the phase's start (planning
  // starts when the driver gets there: on a loaded machine a little late).
  const double planned_at = second.start_ms + second.plan_ms;
  bool t0_served_meanwhile = false;
  int t1_requests = 0;
  for (const RequestRecord& r : report.records) {
    ASSERT_FALSE(r.stages.empty());
    if (r.task == 1) {
      ++t1_requests;
      EXPECT_GE(r.stages.front().queued_ms, planned_at - 1.0) << "request " << r.id;
    } else {
      // A t0 request ran while the plan was made (whenever it arrived: under sanitizers and load
      // a request can wait longer than the window).
      const double start = r.stages.front().start_ms;
      t0_served_meanwhile = t0_served_meanwhile || (start >= second.start_ms && start < planned_at);
    }
  }
  EXPECT_GT(t1_requests, 0);
  if (testing::kWallClockTimingChecked) {
    EXPECT_TRUE(t0_served_meanwhile);
  }
}

// SparseLoom's planner, counting its Solve calls.
class CountingPlanner final : public plan::Planner {
 public:
  CountingPlanner() : inner_(plan::MakeSparseLoomPlanner()) {}
  std::string Name() const override { return "counted " + inner_->Name(); }
  plan::Plan Solve(const plan::PlanRequest& request) const override {
    ++solves;
    return inner_->Solve(request);
  }
  mutable std::atomic<int> solves{0};

 private:
  std::unique_ptr<plan::Planner> inner_;
};

TEST(ServingTest, PhasesPlannedAheadStartOnTheKeptPlanAndOthersArePlannedWhenTheyCome) {
  Served served(2, 200.0);
  const CountingPlanner planner;
  ServeOptions options;
  options.workload.phase_s = 0.1;
  options.planning.latency_headroom = 1.0;  // one Solve a plan
  options.planning.queueing_aware = false;
  options.pipeline.max_in_flight = 100'000;
  const Episode expected = InOrder(served, {0, 1}, "expected");
  Episode unexpected = InOrder(served, {0, 1}, "unexpected");
  unexpected.slos[1].max_latency_ms = 5'000.0;  // phase 0 as expected, phase 1 not

  EXPECT_EQ(served.server.PlanAhead(planner, {expected}, options.planning), 2);
  EXPECT_EQ(served.server.PlanAhead(planner, {expected}, options.planning), 0);  // kept already
  const std::vector<plan::Plan> planned =
      served.server.PlanPhases(planner, expected, options.planning);
  planner.solves = 0;
  EpisodeReport ahead, other, faster;
  ServeOptions faster_options = options;
  faster_options.planning.rank_slowdown = 1.5;  // plans for other options are not the kept ones
  WithinSeconds(60, [&] {
    ahead = served.server.RunEpisode(planner, expected, options);
    EXPECT_EQ(planner.solves, 0);
    other = served.server.RunEpisode(planner, unexpected, options);
    EXPECT_EQ(planner.solves, 1);
    faster = served.server.RunEpisode(planner, expected, faster_options);
    EXPECT_EQ(planner.solves, 3);
  });
  for (const EpisodeReport* report : {&ahead, &other, &faster}) {
    ExpectAccounted(*report);
    EXPECT_EQ(report->counters.dropped, 0);
    ASSERT_EQ(report->phases.size(), 2u);
  }
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(ahead.phases[i].planned_ahead) << "phase " << i;
    ASSERT_EQ(ahead.phases[i].plan.tasks.size(), planned[i].tasks.size());
    for (std::size_t t = 0; t < planned[i].tasks.size(); ++t) {
      EXPECT_EQ(ahead.phases[i].plan.tasks[t].variant_of_stage,
                planned[i].tasks[t].variant_of_stage);
      EXPECT_EQ(ahead.phases[i].plan.tasks[t].placement, planned[i].tasks[t].placement);
    }
    EXPECT_FALSE(faster.phases[i].planned_ahead) << "phase " << i;
  }
  EXPECT_TRUE(other.phases[0].planned_ahead);
  EXPECT_FALSE(other.phases[1].planned_ahead);
}

TEST(ServingTest, AFaultReplansOnlineEvenWithPlansMadeAhead) {
  Served served(2, 400.0);
  const CountingPlanner planner;
  ServeOptions options;
  options.workload.phase_s = 0.1;
  options.planning.latency_headroom = 1.0;
  options.planning.queueing_aware = false;
  options.pipeline.max_in_flight = 100'000;
  options.fault.processor = 0;
  options.fault.after_ms = 50.0;  // in phase 0, whose plan runs on p0 (the faster)
  const Episode episode = InOrder(served, {0, 1});
  ASSERT_EQ(served.server.PlanAhead(planner, {episode}, options.planning), 2);
  planner.solves = 0;
  EpisodeReport report;
  WithinSeconds(60, [&] { report = served.server.RunEpisode(planner, episode, options); });
  ExpectAccounted(report);
  ASSERT_EQ(report.phases.size(), 2u);
  EXPECT_TRUE(report.phases[0].planned_ahead);  // the fault comes later
  EXPECT_EQ(report.phases[1].plan.processors, (std::vector<std::string>{"p1"}));
  if (testing::kWallClockTimingChecked) {
    EXPECT_GE(report.phases[0].replans, 1);
    // Phase 1 starts with p0 gone: its kept plan (on both processors) is not used.
    EXPECT_FALSE(report.phases[1].planned_ahead);
    EXPECT_GE(planner.solves, 2);
  } else {
    EXPECT_GE(report.phases[0].replans + report.phases[1].replans, 1);
    EXPECT_GE(planner.solves, 1);
  }
}

TEST(ServingTest, PlacementOrdersFallBackToAnyMappingWhenTooFewProcessorsAreLeft) {
  // K = P = 2: "orders" puts each stage on its own processor; after p0's fault only p1 is left.
  Served served(2, 300.0);
  const auto planner = plan::MakeSparseLoomPlanner();
  ServeOptions options;
  options.workload.phase_s = 0.1;
  options.planning.placements = plan::PlacementSpace::kOrders;
  options.pipeline.max_in_flight = 100'000;
  options.fault.processor = 0;
  options.fault.after_ms = 30.0;
  EpisodeReport report;
  WithinSeconds(30, [&] {
    report = served.server.RunEpisode(*planner, InOrder(served, {0, 1}), options);
  });
  ExpectAccounted(report);
  EXPECT_EQ(report.counters.failed, 0);
  // The fault lands in phase 0 unless phase 0's planning or the workers' start ran late (as
  // under a sanitizer on a loaded machine); from the phase that re-planned on, every plan has
  // only p1 left and puts both stages there.
  const auto replanned = std::find_if(report.phases.begin(), report.phases.end(),
                                      [](const PhaseReport& phase) { return phase.replans >= 1; });
  ASSERT_NE(replanned, report.phases.end());
  for (auto phase = replanned; phase != report.phases.end(); ++phase) {
    EXPECT_EQ(phase->plan.processors, (std::vector<std::string>{"p1"}));
    for (const plan::TaskPlan& tp : phase->plan.tasks)
      EXPECT_EQ(tp.placement, (std::vector<int>{0, 0}));
  }
}

// A planner that cannot plan on fewer than two processors.
class TwoProcessorPlanner final : public plan::Planner {
 public:
  std::string Name() const override { return "two processors"; }
  plan::Plan Solve(const plan::PlanRequest& request) const override {
    if (request.processors.size() < 2)
      throw UsageError("two processors: expected 2 processors, got 1");
    return plan::MakeSparseLoomPlanner()->Solve(request);
  }
};

TEST(ServingTest, ReplanThatFailsAfterAFaultEndsTheEpisodeWithItsError) {
  // The re-plan runs on the failing worker's thread; its error must reach the caller.
  Served served(2, 300.0);
  const TwoProcessorPlanner planner;
  ServeOptions options;
  options.workload.phase_s = 0.1;
  options.fault.processor = 0;
  options.fault.after_ms = 30.0;
  WithinSeconds(30, [&] {
    try {
      served.server.RunEpisode(planner, InOrder(served, {0, 1}), options);
      ADD_FAILURE() << "expected the re-plan's error";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("expected 2 processors"), std::string::npos) << e.what();
    }
  });
}

TEST(ServingTest, CacheSmallerThanThePlansStaysWithinItsBudget) {
  // Every fake stage holds 100 bytes; the plans of three tasks use at least six stages.
  constexpr std::int64_t kBudget = 300;
  Served served(3, 300.0, kBudget, 50us, 200us);
  const auto planner = plan::MakeSparseLoomPlanner();
  const Episode episode = InOrder(served, {0, 1, 2});
  ServeOptions options;
  options.workload.phase_s = 0.15;
  options.pipeline.max_in_flight = 100'000;
  std::set<preload::StageKey> planned;
  for (const plan::Plan& p : served.server.PlanPhases(*planner, episode, options.planning)) {
    std::vector<int> task_of(p.tasks.size());
    for (std::size_t i = 0; i < p.tasks.size(); ++i)
      task_of[i] = static_cast<int>(i);  // order 0, 1, 2: plan task i is task i
    for (const preload::StageKey& key : KeysOf(p, task_of, {0, 1}))
      planned.insert(key);
  }
  ASSERT_GE(static_cast<std::int64_t>(planned.size()) * 100, 2 * kBudget);

  int warmed = 0;
  EpisodeReport report;
  WithinSeconds(60, [&] {
    warmed = served.server.Warm(*planner, {episode}, options.planning);
    report = served.server.RunEpisode(*planner, episode, options);
  });
  EXPECT_EQ(warmed, 3) << "preloads what fits without evicting";
  ExpectAccounted(report);
  EXPECT_EQ(report.counters.failed, 0);
  EXPECT_EQ(report.counters.dropped, 0);
  const preload::StageCacheStats stats = served.cache.Stats();
  EXPECT_LE(stats.peak_resident_bytes, kBudget);
  EXPECT_LE(served.cache.ResidentBytes(), kBudget);
  EXPECT_EQ(stats.preloaded, 3);
  EXPECT_GT(stats.misses, 0) << "cold stages are loaded on demand";
  EXPECT_GT(stats.evictions, 0);
  EXPECT_GT(stats.load_ms, 0.0);
  EXPECT_EQ(served.stages.loads.load(), stats.preloaded + stats.misses);
  // On-demand loads show in the records of the requests that waited for them.
  int spans_with_load = 0;
  for (const RequestRecord& r : report.records)
    for (const StageSpan& s : r.stages)
      spans_with_load += s.load_ms > 0.0;
  EXPECT_GT(spans_with_load, 0);
}

// (arrival ms, task, sample) of every request in arrival order. Not id order: ids are given at
// submission, and the joining task's requests are submitted when its phase's plan is in place, so
// how they interleave with the other tasks' ids depends on how long the planner took.
std::vector<std::tuple<double, int, std::int64_t>> Workload(const EpisodeReport& report) {
  std::vector<std::tuple<double, int, std::int64_t>> workload;
  for (const RequestRecord& r : report.records)
    workload.emplace_back(r.arrival_ms, r.task, r.sample);
  std::sort(workload.begin(), workload.end());
  return workload;
}

TEST(ServingTest, SameSeedGivesEveryPlannerTheSameRequests) {
  Served served(3, 600.0);
  const auto sparseloom = plan::MakeSparseLoomPlanner();
  const auto baseline = plan::MakeBaselinePlanner(plan::Baseline::kSvAoNp);
  const Episode episode = InOrder(served, {1, 2, 0}, "same-workload");
  ServeOptions options;
  options.workload.phase_s = 0.2;
  options.workload.seed = 42;
  options.pipeline.max_in_flight = 100'000;
  EpisodeReport a, b, c;
  WithinSeconds(60, [&] {
    a = served.server.RunEpisode(*sparseloom, episode, options);
    b = served.server.RunEpisode(*baseline, episode, options);
    options.workload.seed = 43;
    c = served.server.RunEpisode(*sparseloom, episode, options);
  });
  ExpectAccounted(a);
  ExpectAccounted(b);
  EXPECT_NE(a.planner, b.planner);
  ASSERT_GT(a.records.size(), 300u);
  EXPECT_EQ(a.counters.submitted, b.counters.submitted);
  // Arrivals follow the schedule from the pipeline's start, so they are equal to the nanosecond.
  EXPECT_EQ(Workload(a), Workload(b));
  const auto phase_counts = [](const EpisodeReport& report) {
    std::map<int, int> counts;
    for (int phase : report.phase_of_record)
      ++counts[phase];
    return counts;
  };
  EXPECT_EQ(phase_counts(a), phase_counts(b));
  EXPECT_NE(Workload(a), Workload(c)) << "another seed, other requests";
}

// A report of one phase with task 0 and task 1 on `plan`, and the given records (ids in order).
EpisodeReport Report(const plan::Plan& plan, std::vector<RequestRecord> records) {
  EpisodeReport report;
  report.planner = plan.planner;
  PhaseReport phase;
  phase.tasks = {0, 1};
  phase.start_ms = 1000.0;
  phase.end_ms = 3000.0;
  phase.plan = plan;
  phase.plan_task_of = {0, 1};
  report.phases.push_back(phase);
  for (std::size_t i = 0; i < records.size(); ++i) {
    records[i].id = static_cast<std::int64_t>(i);
    report.phase_of_record.push_back(0);
  }
  report.records = std::move(records);
  return report;
}

RequestRecord Record(int task, Outcome outcome, double latency_ms, double accuracy = 0.9) {
  RequestRecord r;
  r.task = task;
  r.outcome = outcome;
  r.arrival_ms = 1500.0;
  r.end_ms = 1500.0 + latency_ms;
  r.accuracy = accuracy;
  r.planned_accuracy = accuracy;
  r.slo = {0.8, 20.0};
  r.prediction = 1;
  r.label = 1;
  return r;
}

plan::Plan TwoTaskPlan(std::vector<std::string> processors, std::vector<int> placement0,
                       std::vector<int> placement1) {
  plan::Plan plan;
  plan.planner = "hand-made";
  plan.processors = std::move(processors);
  plan::TaskPlan a;
  a.task = "t0";
  a.variant_of_stage = {0, 1};
  a.stitched_variant = 1;
  a.placement = std::move(placement0);
  a.accuracy = 0.85;
  plan::TaskPlan b;
  b.task = "t1";
  b.variant_of_stage = {1, 1};
  b.stitched_variant = 3;
  b.placement = std::move(placement1);
  b.accuracy = 0.8;
  plan.tasks = {a, b};
  return plan;
}

TEST(ServingSummary, ViolationRateCountsDropsAndFailures) {
  Served served(2);
  const plan::Plan plan = TwoTaskPlan({"p0", "p1"}, {0, 1}, {1, 1});
  std::vector<RequestRecord> records = {
      Record(0, Outcome::kCompleted, 10.0),       // met
      Record(0, Outcome::kCompleted, 30.0),       // late
      Record(0, Outcome::kCompleted, 10.0, 0.7),  // on a variant below min_accuracy
      Record(0, Outcome::kDropped, 0.0),         Record(0, Outcome::kFailed, 5.0),
      Record(1, Outcome::kCompleted, 5.0),  // met
      Record(1, Outcome::kCompleted, 15.0),
  };
  records[1].prediction = 0;           // wrong
  records[0].planned_accuracy = 0.95;  // an estimate above what it was judged against
  records[0].accuracy_measured = false;
  const std::vector<TaskSummary> s = Summarize({Report(plan, records)}, served.server.tasks());
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].task, "t0");
  EXPECT_EQ(s[0].requests, 5);
  EXPECT_EQ(s[0].completed, 3);
  EXPECT_EQ(s[0].dropped, 1);
  EXPECT_EQ(s[0].failed, 1);
  EXPECT_EQ(s[0].violations, 4);
  EXPECT_DOUBLE_EQ(s[0].violation_rate(), 0.8);
  EXPECT_EQ(s[0].correct, 2);
  EXPECT_EQ(s[0].task_episodes, 1);
  EXPECT_EQ(s[0].episodes_violated, 1);
  EXPECT_DOUBLE_EQ(s[0].served_s, 2.0);
  EXPECT_DOUBLE_EQ(s[0].throughput_rps, 1.5);
  EXPECT_EQ(s[0].stitched, "dense,pruned");
  EXPECT_EQ(s[0].placement, "p0,p1");
  // Over the completed requests: planned (0.95, 0.9, 0.7) and judged (0.9, 0.9, 0.7).
  EXPECT_DOUBLE_EQ(s[0].planned_accuracy, (0.95 + 0.9 + 0.7) / 3.0);
  EXPECT_DOUBLE_EQ(s[0].judged_accuracy, (0.9 + 0.9 + 0.7) / 3.0);
  EXPECT_EQ(s[0].accuracy_source, "estimated");  // one request was judged on an estimate
  EXPECT_EQ(s[1].accuracy_source, "measured");
  EXPECT_EQ(s[1].requests, 2);
  EXPECT_EQ(s[1].violations, 0);
  EXPECT_DOUBLE_EQ(s[1].violation_rate(), 0.0);
  EXPECT_EQ(s[1].episodes_violated, 0);
  EXPECT_EQ(s[1].stitched, "pruned,pruned");
  EXPECT_EQ(s[1].placement, "p1,p1");
  EXPECT_DOUBLE_EQ(s[1].p50_ms, 5.0);
  EXPECT_DOUBLE_EQ(s[1].p99_ms, 15.0);
}

TEST(ServingSummary, ThroughputBoundIsTheBusiestProcessorsPredictedRate) {
  Served served(2);
  // Task 0: stage 0 variant 0 on p0, stage 1 variant 1 on p1; task 1: variant 1 on p1 twice.
  const plan::Plan plan = TwoTaskPlan({"p0", "p1"}, {0, 1}, {1, 1});
  std::vector<RequestRecord> records;
  for (int i = 0; i < 10; ++i)
    records.push_back(Record(0, Outcome::kCompleted, 5.0));
  for (int i = 0; i < 5; ++i)
    records.push_back(Record(1, Outcome::kCompleted, 5.0));
  records.push_back(Record(0, Outcome::kDropped, 0.0));  // not completed: not counted
  records.push_back(Record(1, Outcome::kFailed, 1.0));
  const EpisodeReport report = Report(plan, records);

  // p0: 10 x L(0,0,p0) = 10 x 2 ms; p1: 10 x L(1,1,p1) + 5 x (L(0,1,p1) + L(1,1,p1))
  //   = 10 x 20 + 5 x (10 + 20) = 350 ms, the busiest: 15 requests per 0.35 s.
  const double p0_s = 10 * Latency(0, 0, 0) / 1000.0;
  const double p1_s = (10 * Latency(1, 1, 1) + 5 * (Latency(0, 1, 1) + Latency(1, 1, 1))) / 1000.0;
  ASSERT_DOUBLE_EQ(p0_s, 0.02);
  ASSERT_DOUBLE_EQ(p1_s, 0.35);
  const ThroughputCheck check = CheckThroughput(report, served.server.tasks(), 0);
  EXPECT_DOUBLE_EQ(check.bound_rps, 15.0 / 0.35);
  EXPECT_DOUBLE_EQ(check.measured_rps, 15.0 / 2.0);

  // After a fault the plan names only p1 (index 0 of its processors): latencies are p1's.
  const plan::Plan replanned = TwoTaskPlan({"p1"}, {0, 0}, {0, 0});
  const double p1_only_s =
      (10 * (Latency(0, 0, 1) + Latency(1, 1, 1)) + 5 * (Latency(0, 1, 1) + Latency(1, 1, 1))) /
      1000.0;
  const ThroughputCheck after =
      CheckThroughput(Report(replanned, records), served.server.tasks(), 0);
  EXPECT_DOUBLE_EQ(after.bound_rps, 15.0 / p1_only_s);
  EXPECT_THROW(CheckThroughput(report, served.server.tasks(), 1), std::out_of_range);
}

TEST(ServingTest, WithProcessorsKeepsTheChosenProcessorsColumns) {
  plan::TaskProfile profile;
  profile.task = "three";
  profile.num_stages = 2;
  profile.variant_ids = {"a", "b"};
  profile.processors = {"cpu", "gpu", "npu"};
  for (int kv = 0; kv < 4; ++kv)
    for (int p = 0; p < 3; ++p)
      profile.stage_latency_ms.push_back(10.0 * kv + p);
  profile.stage_bytes = {1, 2, 3, 4};
  profile.accuracy = {0.9, 0.8, 0.7, 0.6};
  for (int p = 0; p < 3; ++p)
    for (int q = 0; q < 3; ++q)
      profile.handover_ms.push_back(p == q ? 0.0 : 10.0 * p + q);
  profile.stitch_gap_ms = {0.0, 0.1, 0.2, 0.0};

  const plan::TaskProfile kept = WithProcessors(profile, {true, false, true});
  EXPECT_EQ(kept.processors, (std::vector<std::string>{"cpu", "npu"}));
  EXPECT_EQ(kept.stage_latency_ms,
            (std::vector<double>{0.0, 2.0, 10.0, 12.0, 20.0, 22.0, 30.0, 32.0}));
  EXPECT_EQ(kept.handover_ms, (std::vector<double>{0.0, 2.0, 20.0, 0.0}));
  EXPECT_EQ(kept.stage_bytes, profile.stage_bytes);
  EXPECT_EQ(kept.accuracy, profile.accuracy);
  EXPECT_EQ(kept.stitch_gap_ms, profile.stitch_gap_ms);
  EXPECT_EQ(kept.variant_ids, profile.variant_ids);
  EXPECT_EQ(kept.num_stages, 2);

  const plan::TaskProfile gpu = WithProcessors(profile, {false, true, false});
  EXPECT_EQ(gpu.processors, (std::vector<std::string>{"gpu"}));
  EXPECT_EQ(gpu.stage_latency_ms, (std::vector<double>{1.0, 11.0, 21.0, 31.0}));
  EXPECT_EQ(gpu.handover_ms, (std::vector<double>{0.0}));
  const plan::TaskProfile all = WithProcessors(profile, {true, true, true});
  EXPECT_EQ(all.stage_latency_ms, profile.stage_latency_ms);
  EXPECT_EQ(all.handover_ms, profile.handover_ms);

  EXPECT_THROW(WithProcessors(profile, {true, false}), UsageError);
}

TEST(ServingTest, InvalidEpisodesAreUsageErrors) {
  Served served(3);
  const auto planner = plan::MakeSparseLoomPlanner();
  ServeOptions options;
  options.workload.phase_s = 0.01;
  const std::vector<Episode> bad = {
      Episode{"two-slos", {{0.5, 100.0}, {0.5, 100.0}}, {0, 1, 2}, {}},
      Episode{"four-slos", std::vector<plan::Slo>(4, {0.5, 100.0}), {0, 1, 2}, {}},
      InOrder(served, {0, 0, 1}),
      InOrder(served, {0, 1, 3}),
      InOrder(served, {-1, 0, 1}),
      InOrder(served, {0, 1, 2, 0}),
      InOrder(served, {0, 1, 2, 3}),
      InOrder(served, {0, 1}),  // not every task arrives
      InOrder(served, {}),
      Episode{"accuracy", {{0.5, 100.0}, {1.5, 100.0}, {0.5, 100.0}}, {0, 1, 2}, {}},
      Episode{"latency", {{0.5, 100.0}, {0.5, 100.0}, {0.5, 0.0}}, {0, 1, 2}, {}},
  };
  WithinSeconds(30, [&] {
    for (const Episode& episode : bad) {
      EXPECT_THROW(served.server.RunEpisode(*planner, episode, options), UsageError)
          << episode.name << " order of " << episode.order.size();
      EXPECT_THROW(served.server.PlanPhases(*planner, episode, options.planning), UsageError)
          << episode.name;
      EXPECT_THROW(served.server.Warm(*planner, {episode}, options.planning), UsageError)
          << episode.name;
    }
    const Episode good = InOrder(served, {2, 1, 0});
    ServeOptions bad_options = options;
    bad_options.workload.phase_s = 0.0;
    EXPECT_THROW(served.server.RunEpisode(*planner, good, bad_options), UsageError);
    bad_options = options;
    bad_options.planning.wait_quantile = 1.0;
    EXPECT_THROW(served.server.RunEpisode(*planner, good, bad_options), UsageError);
    bad_options = options;
    bad_options.workload.arrivals = ArrivalKind::kClosedLoop;
    bad_options.workload.closed_loop_window = 0;
    EXPECT_THROW(served.server.RunEpisode(*planner, good, bad_options), UsageError);
    EXPECT_NO_THROW(served.server.PlanPhases(*planner, good, options.planning));
  });
  EXPECT_EQ(served.stages.runs.load(), 0) << "nothing served";
}

TEST(ServingTest, ServerRejectsTasksThatDoNotMatchItsProcessors) {
  const plan::TaskProfile profile = Profile("t0");
  const LabelledSet inputs = Inputs();
  TimedFakeStages stages(kStages, 0us);
  preload::StageCache cache(stages.Source(), 0);
  EXPECT_THROW(Server({}, Processors(), cache, Argmax, Sample), UsageError);
  EXPECT_THROW(Server({{"t0", &profile, &inputs, 1.0}}, {Processors()[0]}, cache, Argmax, Sample),
               UsageError);
  std::vector<engine::ProcessorConfig> renamed = Processors();
  renamed[1].name = "gpu";
  EXPECT_THROW(Server({{"t0", &profile, &inputs, 1.0}}, renamed, cache, Argmax, Sample),
               UsageError);
  EXPECT_THROW(Server({{"t0", &profile, nullptr, 1.0}}, Processors(), cache, Argmax, Sample),
               UsageError);
  EXPECT_THROW(Server({{"t0", &profile, &inputs, -1.0}}, Processors(), cache, Argmax, Sample),
               UsageError);
  EXPECT_NO_THROW(Server({{"t0", &profile, &inputs, 0.0}}, Processors(), cache, Argmax, Sample));
}

}  // namespace
}  // namespace sparseloom::runtime
