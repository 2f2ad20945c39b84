// The simulator on hand-made profiles: an unloaded request takes exactly its plan's latency, every
// request ends as one record under overload and after a fault, the stage cache's budget holds and
// cold stages cost their load, every planner is given the same requests — and the simulator and
// the real server agree (same plans, same requests, same accounting) on a small workload run both
// ways through the one episode driver, the real one on worker threads whose stages sleep their
// profiled latency, with a plan made ahead and one made in the background in both.

#include "sim/simulator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "common/error.h"
#include "plan/planner.h"
#include "runtime/serving.h"
#include "support/fake_engine.h"

namespace sparseloom::sim {
namespace {

using runtime::Outcome;
using runtime::RequestRecord;

constexpr int kStages = 2;
constexpr int kVariants = 2;

double Latency(int k, int v, int p) {
  // p0 is twice as fast as p1; variant 1 is faster and less accurate.
  return (p == 0 ? 2.0 : 4.0) * (v == 0 ? 2.0 : 1.0) + k;
}

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
  profile.accuracy = {0.9, 0.85, 0.84, 0.8};
  profile.handover_ms = {0.0, 0.5, 0.5, 0.0};
  return profile;
}

struct World {
  explicit World(int num_tasks, double rate_per_s, std::int64_t budget = 0) {
    for (int t = 0; t < num_tasks; ++t)
      profiles.push_back(Profile(std::to_string(t).insert(0, 1, 't')));
    std::vector<SimTask> tasks;
    for (int t = 0; t < num_tasks; ++t)
      tasks.push_back(SimTask{profiles[static_cast<std::size_t>(t)].task,
                              &profiles[static_cast<std::size_t>(t)], rate_per_s, 50});
    sim = std::make_unique<Simulator>(tasks, std::vector<std::string>{"p0", "p1"}, budget);
  }
  runtime::Episode Episode(double max_latency_ms = 1000.0) const {
    runtime::Episode e;
    e.name = "e";
    for (std::size_t t = 0; t < profiles.size(); ++t) {
      e.slos.push_back(plan::Slo{0.8, max_latency_ms});
      e.order.push_back(static_cast<int>(t));
    }
    return e;
  }
  std::vector<plan::TaskProfile> profiles;
  std::unique_ptr<Simulator> sim;
};

SimOptions Options(double phase_s = 2.0) {
  SimOptions o;
  o.serve.workload.phase_s = phase_s;
  o.serve.workload.seed = 7;
  o.keep_stage_spans = true;
  return o;
}

void ExpectEveryRequestAccounted(const runtime::EpisodeReport& report) {
  const runtime::PipelineCounters& c = report.counters;
  EXPECT_EQ(c.in_flight, 0);
  EXPECT_EQ(c.submitted, static_cast<std::int64_t>(report.records.size()));
  EXPECT_EQ(c.completed + c.dropped + c.failed, c.submitted);
  std::map<Outcome, std::int64_t> outcomes;
  for (const RequestRecord& r : report.records)
    ++outcomes[r.outcome];
  EXPECT_EQ(outcomes[Outcome::kCompleted], c.completed);
  EXPECT_EQ(outcomes[Outcome::kDropped], c.dropped);
  EXPECT_EQ(outcomes[Outcome::kFailed], c.failed);
  for (std::size_t i = 0; i < report.records.size(); ++i)
    EXPECT_EQ(report.records[i].id, static_cast<std::int64_t>(i));
}

// Indices of the report's records by arrival time (then task).
std::vector<std::size_t> ArrivalOrder(const runtime::EpisodeReport& report) {
  std::vector<std::size_t> order(report.records.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const RequestRecord& x = report.records[a];
    const RequestRecord& y = report.records[b];
    return std::tie(x.arrival_ms, x.task) < std::tie(y.arrival_ms, y.task);
  });
  return order;
}

TEST(SimulatorTest, AnUnloadedRequestTakesItsPlannedLatency) {
  World world(1, 5.0);
  const auto planner = plan::MakeSparseLoomPlanner();
  SimOptions options = Options(20.0);
  options.serve.planning.latency_headroom = 1.0;
  options.serve.planning.queueing_aware = false;
  world.sim->Warm(*planner, {world.Episode()}, options.serve.planning);
  const runtime::EpisodeReport report = world.sim->RunEpisode(*planner, world.Episode(), options);
  ExpectEveryRequestAccounted(report);
  ASSERT_EQ(report.phases.size(), 1u);
  const plan::TaskPlan& tp = report.phases[0].plan.tasks.at(0);
  ASSERT_GT(report.counters.completed, 50);  // 20 s at 5/s
  double fastest = 1e9;
  for (const RequestRecord& r : report.records) {
    ASSERT_EQ(r.outcome, Outcome::kCompleted);
    EXPECT_GE(r.latency_ms(), tp.latency_ms - 1e-9);  // queueing only adds
    fastest = std::min(fastest, r.latency_ms());
    ASSERT_EQ(r.stages.size(), 2u);
    EXPECT_EQ(r.stages[0].processor, tp.placement[0]);
    EXPECT_EQ(r.stages[1].processor, tp.placement[1]);
  }
  EXPECT_NEAR(fastest, tp.latency_ms, 1e-9);
  EXPECT_EQ(world.sim->CacheStats().misses, 0);  // warmed: every planned stage was resident
}

TEST(SimulatorTest, OverloadDropsButEveryRequestEndsAsOneRecord) {
  World world(3, 2000.0);
  const auto planner = plan::MakeSparseLoomPlanner();
  SimOptions options = Options(1.0);
  options.serve.pipeline.max_in_flight = 8;
  const runtime::EpisodeReport report = world.sim->RunEpisode(*planner, world.Episode(), options);
  ExpectEveryRequestAccounted(report);
  EXPECT_GT(report.counters.dropped, 0);
  EXPECT_GT(report.counters.completed, 0);
  EXPECT_EQ(report.counters.failed, 0);
  EXPECT_EQ(report.phases.size(), 3u);
}

TEST(SimulatorTest, AFaultReplansOntoTheSurvivorWithoutLosingARequest) {
  World world(2, 100.0);
  const auto planner = plan::MakeSparseLoomPlanner();
  SimOptions options = Options(1.0);
  options.serve.fault.processor = 0;
  options.serve.fault.after_ms = 1500.0;
  const runtime::EpisodeReport report = world.sim->RunEpisode(*planner, world.Episode(), options);
  ExpectEveryRequestAccounted(report);
  EXPECT_EQ(report.phases[1].replans, 1);
  EXPECT_EQ(report.phases[1].plan.processors, (std::vector<std::string>{"p1"}));
  EXPECT_GT(report.counters.rerun + report.counters.completed, 0);
  EXPECT_EQ(report.counters.failed, 0);
  int after = 0;
  for (const RequestRecord& r : report.records) {
    if (r.outcome != Outcome::kCompleted || r.stages.front().start_ms < 1500.0)
      continue;
    ++after;
    for (const runtime::StageSpan& s : r.stages)
      EXPECT_EQ(s.processor, 1);
  }
  EXPECT_GT(after, 0);
}

TEST(SimulatorTest, TheBudgetHoldsAndColdStagesCostTheirLoad) {
  World world(2, 200.0, /*budget=*/2000);  // two of the 16 (task, stage, variant, processor)s
  const auto planner = plan::MakeSparseLoomPlanner();
  SimOptions options = Options(1.0);
  options.storage.per_load_ms = 3.0;
  options.storage.read_bytes_per_s = 1e6;  // + 1 ms for 1000 bytes
  const runtime::EpisodeReport report = world.sim->RunEpisode(*planner, world.Episode(), options);
  ExpectEveryRequestAccounted(report);
  const preload::StageCacheStats stats = world.sim->CacheStats();
  EXPECT_LE(stats.peak_resident_bytes, 2000);
  EXPECT_GT(stats.misses, 0);
  EXPECT_GT(stats.evictions, 0);
  int loaded = 0;
  for (const RequestRecord& r : report.records) {
    for (const runtime::StageSpan& s : r.stages) {
      if (s.load_ms > 0) {
        EXPECT_NEAR(s.load_ms, 4.0, 1e-9);
        ++loaded;
      }
    }
  }
  EXPECT_GT(loaded, 0);
}

TEST(SimulatorTest, EveryPlannerIsGivenTheSameRequests) {
  World world(2, 150.0);
  SimOptions options = Options(1.0);
  std::vector<std::vector<std::pair<double, std::int64_t>>> seen;
  for (const auto& planner : plan::MakeAllPlanners()) {
    const runtime::EpisodeReport report = world.sim->RunEpisode(*planner, world.Episode(), options);
    ExpectEveryRequestAccounted(report);
    std::vector<std::pair<double, std::int64_t>> requests;
    for (const RequestRecord& r : report.records)
      requests.emplace_back(r.arrival_ms, r.sample);
    seen.push_back(requests);
  }
  ASSERT_EQ(seen.size(), 7u);
  for (const auto& s : seen)
    EXPECT_EQ(s, seen.front());
}

TEST(SimulatorTest, MalformedInputsAreUsageErrors) {
  plan::TaskProfile profile = Profile("t0");
  EXPECT_THROW(Simulator({}, {"p0", "p1"}, 0), UsageError);
  EXPECT_THROW(Simulator({SimTask{"t0", &profile, 1.0, 1}}, {"p0"}, 0), UsageError);
  EXPECT_THROW(Simulator({SimTask{"t0", &profile, -1.0, 1}}, {"p0", "p1"}, 0), UsageError);
  profile.stage_bytes.pop_back();
  EXPECT_THROW(Simulator({SimTask{"t0", &profile, 1.0, 1}}, {"p0", "p1"}, 0), UsageError);
}

// A stage of the real server's run that sleeps the profile's latency of its (stage, variant,
// processor), so the real run and the simulation serve the same service times.
class SleepingStage final : public engine::LoadedStage {
 public:
  explicit SleepingStage(double ms) : ms_(ms) {}
  engine::Tensor Run(const engine::Tensor& x, std::span<const engine::Tensor>) override {
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms_));
    return x;
  }
  std::int64_t ResidentBytes() const override { return 1000; }
  const std::filesystem::path& File() const override { return file_; }

 private:
  double ms_;
  std::filesystem::path file_ = "sleeping.stage";
};

TEST(SimulatorTest, AgreesWithTheRealServerOnASmallWorkload) {
  World world(2, 20.0);
  preload::StageSource source;
  source.load = [&](const preload::StageKey& key) -> std::unique_ptr<engine::LoadedStage> {
    return std::make_unique<SleepingStage>(Latency(key.stage, key.variant, key.processor));
  };
  source.expected_bytes = [](const preload::StageKey&) -> std::int64_t { return 1000; };
  preload::StageCache cache(source, 0);
  runtime::LabelledSet inputs;
  inputs.input = testing::MakeFake({50, 1}, 0.0);
  inputs.size = 50;
  std::vector<runtime::ServedTask> served;
  for (const plan::TaskProfile& p : world.profiles)
    served.push_back(runtime::ServedTask{p.task, &p, &inputs, 20.0});
  std::vector<engine::ProcessorConfig> processors(2);
  processors[0].name = "p0";
  processors[1].name = "p1";
  runtime::Server server(
      served, processors, cache, [](const engine::Tensor&) -> std::int64_t { return 0; },
      [](const engine::Tensor& set, std::int64_t) { return set; });

  const auto planner = plan::MakeSparseLoomPlanner();
  SimOptions options = Options(1.5);
  const runtime::Episode episode = world.Episode(/*max_latency_ms=*/60.0);
  server.Warm(*planner, {episode}, options.serve.planning);
  world.sim->Warm(*planner, {episode}, options.serve.planning);
  // Both ways through the one driver with both planning paths: the first phase's plan made ahead,
  // the second planned in the background when its task arrives.
  // (The expected configuration differs from the episode in the second task's SLO only.)
  runtime::Episode expected = episode;
  expected.slos[1].max_latency_ms += 1.0;
  EXPECT_EQ(server.PlanAhead(*planner, {expected}, options.serve.planning), 2);
  EXPECT_EQ(world.sim->PlanAhead(*planner, {expected}, options.serve.planning), 2);
  const runtime::EpisodeReport real = server.RunEpisode(*planner, episode, options.serve);
  const runtime::EpisodeReport simulated = world.sim->RunEpisode(*planner, episode, options);
  for (const runtime::EpisodeReport* report : {&real, &simulated}) {
    ASSERT_EQ(report->phases.size(), 2u);
    EXPECT_TRUE(report->phases[0].planned_ahead);
    EXPECT_FALSE(report->phases[1].planned_ahead);
  }

  // Same plans, phase by phase.
  ASSERT_EQ(real.phases.size(), simulated.phases.size());
  for (std::size_t i = 0; i < real.phases.size(); ++i) {
    ASSERT_EQ(real.phases[i].plan.tasks.size(), simulated.phases[i].plan.tasks.size());
    for (std::size_t j = 0; j < real.phases[i].plan.tasks.size(); ++j) {
      EXPECT_EQ(real.phases[i].plan.tasks[j].variant_of_stage,
                simulated.phases[i].plan.tasks[j].variant_of_stage);
      EXPECT_EQ(real.phases[i].plan.tasks[j].placement,
                simulated.phases[i].plan.tasks[j].placement);
    }
  }
  // Same requests (task, sample, arrival, phase) and the same accounting, in arrival order: the
  // server numbers the joining task's requests that arrive while its phase is planned after it.
  ASSERT_EQ(real.records.size(), simulated.records.size());
  const std::vector<std::size_t> real_order = ArrivalOrder(real);
  const std::vector<std::size_t> sim_order = ArrivalOrder(simulated);
  for (std::size_t k = 0; k < real.records.size(); ++k) {
    const std::size_t i = real_order[k], j = sim_order[k];
    EXPECT_EQ(real.records[i].task, simulated.records[j].task);
    EXPECT_EQ(real.records[i].sample, simulated.records[j].sample);
    EXPECT_NEAR(real.records[i].arrival_ms, simulated.records[j].arrival_ms, 1e-3);
    EXPECT_EQ(real.phase_of_record[i], simulated.phase_of_record[j]);
    EXPECT_EQ(real.records[i].outcome, simulated.records[j].outcome);
  }
  const auto real_summary = runtime::Summarize({real}, served);
  const auto sim_summary = runtime::Summarize({simulated}, served);
  for (std::size_t t = 0; t < served.size(); ++t) {
    EXPECT_EQ(real_summary[t].requests, sim_summary[t].requests);
    EXPECT_EQ(real_summary[t].completed, sim_summary[t].completed);
    EXPECT_EQ(real_summary[t].stitched, sim_summary[t].stitched);
    EXPECT_EQ(real_summary[t].placement, sim_summary[t].placement);
    // Sleeps overshoot and threads wake late, never early: the real median is at least the
    // simulated one, and not far above it on a machine that is not overloaded.
    EXPECT_GE(real_summary[t].p50_ms, sim_summary[t].p50_ms - 1.0);  // hand-overs: not slept
    EXPECT_LE(real_summary[t].p50_ms, sim_summary[t].p50_ms * 1.5 + 5.0);
  }
}

// An episode whose SLOs move while served: the requests after each change are planned for the new
// SLO (judged against it, on a route meeting it), those before it for the old one, none is lost,
// and a plan made ahead for the change is installed at once.
TEST(SimulatorTest, SloChangesReplanAndNoRequestIsLostAcrossThem) {
  World world(2, 40.0);
  const auto planner = plan::MakeSparseLoomPlanner();
  SimOptions options = Options(1.0);
  options.storage.read_bytes_per_s = 1e9;  // a stage first needed after a change is loaded then
  runtime::Episode episode = world.Episode();
  // Task 0 first needs 0.9 accuracy (only dense,dense reaches it), then 0.8 again; task 1 0.85.
  episode.changes = {{1, 300.0, 0, plan::Slo{0.9, 1000.0}, ""},
                     {1, 500.0, 1, plan::Slo{0.85, 1000.0}, ""},
                     {1, 700.0, 0, plan::Slo{0.8, 1000.0}, ""}};
  const runtime::EpisodeReport without = world.sim->RunEpisode(*planner, world.Episode(), options);
  const runtime::EpisodeReport report = world.sim->RunEpisode(*planner, episode, options);
  ExpectEveryRequestAccounted(report);
  // The arrivals do not depend on the SLOs: the same requests with and without the changes.
  EXPECT_EQ(report.records.size(), without.records.size());
  ASSERT_EQ(report.slo_changes.size(), 3u);
  for (const runtime::SloChangeReport& c : report.slo_changes) {
    EXPECT_GE(c.replan_ms, 0.0);
    EXPECT_TRUE(c.plan_meets_slo);
    EXPECT_GT(c.before.requests, 0);
    EXPECT_GT(c.after.requests, 0);
    EXPECT_EQ(c.after.violations, 0);
  }
  EXPECT_EQ(report.slo_changes[0].from.min_accuracy, 0.8);
  EXPECT_EQ(report.slo_changes[2].from.min_accuracy, 0.9);
  int strict = 0;
  for (const RequestRecord& r : report.records) {
    ASSERT_EQ(r.outcome, Outcome::kCompleted) << r.reason;
    const double t = r.arrival_ms;
    const double asked =
        r.task == 0 ? (t >= 1300.0 && t < 1700.0 ? 0.9 : 0.8) : (t >= 1500.0 ? 0.85 : 0.8);
    EXPECT_EQ(r.slo.min_accuracy, asked) << "request " << r.id << " at " << t << " ms";
    EXPECT_TRUE(r.SloMet()) << "request " << r.id << ": " << r.latency_ms() << " ms";
    EXPECT_GE(r.accuracy, asked) << "request " << r.id;
    if (asked == 0.9) {
      ++strict;
      for (const runtime::StageSpan& s : r.stages)
        EXPECT_EQ(s.variant, 0) << "request " << r.id;
    }
  }
  EXPECT_GT(strict, 5);  // 400 ms at 40/s

  // Planned ahead, each change finds its plan and is installed at once.
  world.sim->PlanAhead(*planner, {episode}, options.serve.planning);
  const runtime::EpisodeReport ahead = world.sim->RunEpisode(*planner, episode, options);
  for (const runtime::SloChangeReport& c : ahead.slo_changes)
    EXPECT_TRUE(c.planned_ahead);
}

TEST(SimulatorTest, AChangeForATaskNotPresentIsRefused) {
  World world(2, 100.0);
  const auto planner = plan::MakeSparseLoomPlanner();
  runtime::Episode episode = world.Episode();
  episode.changes = {{0, 100.0, 1, plan::Slo{0.85, 1000.0}, ""}};  // task 1 joins in phase 1
  EXPECT_THROW(
      {
        try {
          world.sim->RunEpisode(*planner, episode, Options(1.0));
        } catch (const UsageError& e) {
          EXPECT_STREQ(e.what(), "episode 'e': changes[0].task: task 1 is not present in phase 0");
          throw;
        }
      },
      UsageError);
}

}  // namespace
}  // namespace sparseloom::sim
