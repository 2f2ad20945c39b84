// The bench's accounting pieces: violations counted episode by episode, the memoizing planner,
// fixed placements and the reference load. Hand-made profiles and reports, no model files.

#include "eval/workbench.h"

#include <gtest/gtest.h>

#include <atomic>

#include "eval/bench.h"
#include "eval/eval_fixtures.h"
#include "eval/memoized_planner.h"

namespace sparseloom::eval {
namespace {

// One task, one phase whose plan gives the task latency `planned_ms`.
runtime::EpisodeReport Report(double planned_ms) {
  runtime::EpisodeReport e;
  e.episode.name = "slo0-order0";
  e.episode.slos = {{0.8, 10.0}};
  e.episode.order = {0};
  runtime::PhaseReport ph;
  ph.tasks = {0};
  ph.plan_task_of = {0};
  plan::TaskPlan tp;
  tp.task = "a";
  tp.latency_ms = planned_ms;
  tp.accuracy = 0.85;
  tp.accuracy_bound = 0.85;
  ph.plan.tasks = {tp};
  e.phases = {ph};
  auto record = [&](double latency, double accuracy, runtime::Outcome outcome) {
    runtime::RequestRecord r;
    r.task = 0;
    r.end_ms = latency;
    r.accuracy = accuracy;
    r.outcome = outcome;
    r.slo = e.episode.slos[0];
    e.records.push_back(r);
    e.phase_of_record.push_back(0);
  };
  record(5.0, 0.85, runtime::Outcome::kCompleted);   // met
  record(15.0, 0.85, runtime::Outcome::kCompleted);  // late
  record(5.0, 0.7, runtime::Outcome::kCompleted);    // below accuracy
  record(0.0, 0.0, runtime::Outcome::kDropped);
  e.duration_ms = 1000.0;
  return e;
}

TEST(ViolationCounter, SortsViolationsByWhy) {
  const Inputs in = testing::TinyInputs({"a"});
  const auto served = testing::ServedOf(in);
  ViolationCounter counter("SparseLoom", served);
  counter.Add(Report(5.0));
  counter.Add(Report(20.0));  // this plan misses the SLO already
  const ViolationFigures f = counter.Figures();
  EXPECT_EQ(f.planner, "SparseLoom");
  EXPECT_EQ(f.requests, 8);
  EXPECT_EQ(f.violations, 6);
  EXPECT_EQ(f.late, 2);
  EXPECT_EQ(f.inaccurate, 2);
  EXPECT_EQ(f.dropped, 2);
  EXPECT_EQ(f.planned_miss, 3);
  EXPECT_EQ(f.task_episodes, 2);
  EXPECT_EQ(f.episodes_violated, 2);
  EXPECT_DOUBLE_EQ(f.RequestRate(), 0.75);
}

class CountingPlanner final : public plan::Planner {
 public:
  explicit CountingPlanner(std::atomic<int>& calls)
      : inner_(plan::MakeSparseLoomPlanner()), calls_(calls) {}
  std::string Name() const override { return inner_->Name(); }
  plan::Plan Solve(const plan::PlanRequest& request) const override {
    ++calls_;
    return inner_->Solve(request);
  }

 private:
  std::unique_ptr<plan::Planner> inner_;
  std::atomic<int>& calls_;
};

plan::PlanRequest RequestFor(const plan::TaskProfile& profile, double max_latency_ms) {
  plan::PlanRequest request;
  request.processors = {"p0", "p1"};
  request.tasks.push_back(plan::PlanTask{"a", std::cref(profile), {0.8, max_latency_ms}, 10.0, {}});
  return request;
}

TEST(MemoizedPlanner, AnswersARepeatedRequestFromItsMemory) {
  const plan::TaskProfile profile = testing::TinyProfile("a");
  std::atomic<int> calls{0};
  const MemoizedPlanner planner(std::make_unique<CountingPlanner>(calls), {&profile}, true);
  EXPECT_EQ(planner.Name(), "SparseLoom");
  const plan::Plan first = planner.Solve(RequestFor(profile, 50.0));
  const plan::Plan again = planner.Solve(RequestFor(profile, 50.0));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(first.tasks[0].stitched_variant, again.tasks[0].stitched_variant);
  planner.Solve(RequestFor(profile, 6.0));  // another SLO: another question
  EXPECT_EQ(calls, 2);
}

TEST(MemoizedPlanner, NeverKeepsRequestsOfProfilesItDoesNotOwnOrWhenDisabled) {
  const plan::TaskProfile profile = testing::TinyProfile("a");
  std::atomic<int> calls{0};
  const MemoizedPlanner stranger(std::make_unique<CountingPlanner>(calls), {}, true);
  stranger.Solve(RequestFor(profile, 50.0));
  stranger.Solve(RequestFor(profile, 50.0));
  EXPECT_EQ(calls, 2);
  const MemoizedPlanner disabled(std::make_unique<CountingPlanner>(calls), {&profile}, false);
  disabled.Solve(RequestFor(profile, 50.0));
  disabled.Solve(RequestFor(profile, 50.0));
  EXPECT_EQ(calls, 4);
}

TEST(FixedPlacements, OrdersWhenEveryStageHasAProcessorElseMappingsUsingAll) {
  const auto orders = FixedPlacements(3, 3);
  EXPECT_EQ(orders.size(), 6u);  // 3!
  EXPECT_EQ(orders.front(), (plan::Placement{0, 1, 2}));
  EXPECT_EQ(orders.back(), (plan::Placement{2, 1, 0}));
  EXPECT_EQ(FixedPlacements(3, 2).size(), 6u);  // 2^3 minus the two single-processor ones
  EXPECT_EQ(FixedPlacements(2, 3).size(), 6u);  // 3 x 2
  EXPECT_EQ(PlacementName({2, 0, 1}, {"npu", "gpu", "cpu"}), "cpu-npu-gpu");
}

TEST(ReferenceLoad, TheMostAccurateOriginalsWholeOnPooledProcessors) {
  const Inputs in = testing::TinyInputs({"a"});
  std::vector<BenchTask> tasks(1);
  tasks[0].rate_per_s = 100.0;
  // The dense original (accuracy 0.9) takes 8 ms on p0 and 12 ms on p1: 125 + 83.3 requests/s.
  EXPECT_NEAR(ReferenceLoad(in.profiles, tasks), 100.0 / (125.0 + 1000.0 / 12.0), 1e-12);
}

TEST(MakeWorkbench, ThePlatformsRatesAndStorage) {
  const Inputs in = testing::TinyInputs({"a", "b"});
  std::vector<BenchTask> tasks(2);
  tasks[0].name = "a";
  tasks[0].rate_per_s = 10.0;
  tasks[0].zoo.validation_samples = 0;
  tasks[1].name = "b";
  tasks[1].rate_per_s = 20.0;
  tasks[1].zoo.validation_samples = 300;
  Platform platform;
  platform.processors = {"p0", "p1"};
  platform.rate_scale = 2.0;
  platform.storage.read_bytes_per_s = 1e9;
  runtime::ServeOptions serve;
  serve.workload.phase_s = 0.5;
  const Workbench w = MakeWorkbench(platform, in.profiles, tasks, serve);
  ASSERT_EQ(w.tasks.size(), 2u);
  EXPECT_DOUBLE_EQ(w.tasks[1].rate_per_s, 40.0);
  EXPECT_EQ(w.tasks[0].num_samples, 1);  // at least one sample
  EXPECT_EQ(w.tasks[1].num_samples, 300);
  EXPECT_EQ(w.served[1].profile, &in.profiles[1]);
  EXPECT_EQ(w.served[1].inputs, nullptr);
  EXPECT_DOUBLE_EQ(w.options.serve.workload.phase_s, 0.5);
  EXPECT_DOUBLE_EQ(w.options.storage.read_bytes_per_s, 1e9);
}

TEST(CountViolations, EveryPlannerOnTheSameSimulatedEpisodes) {
  const Inputs in = testing::TinyInputs({"a", "b"});
  std::vector<BenchTask> tasks(2);
  for (std::size_t t = 0; t < 2; ++t) {
    tasks[t].name = in.file.tasks[t].name;
    tasks[t].rate_per_s = 20.0;
    tasks[t].zoo.validation_samples = 100;
  }
  Platform platform;
  platform.processors = {"p0", "p1"};
  runtime::ServeOptions serve;
  serve.workload.phase_s = 0.2;
  const Workbench w = MakeWorkbench(platform, in.profiles, tasks, serve);
  runtime::Episode episode;
  episode.name = "slo0-order0";
  episode.slos = {{0.8, 20.0}, {0.8, 20.0}};
  episode.order = {1, 0};
  const auto sparseloom = plan::MakeSparseLoomPlanner();
  const auto avp = plan::MakeBaselinePlanner(plan::Baseline::kAvP);
  const ViolationFigures a = CountViolations(w, *sparseloom, {episode, episode});
  const ViolationFigures b = CountViolations(w, *avp, {episode, episode});
  EXPECT_GT(a.requests, 0);
  EXPECT_EQ(a.requests, b.requests);  // same seed, same requests
  EXPECT_EQ(a.task_episodes, 4);
  EXPECT_EQ(a.late + a.inaccurate + a.dropped, a.violations);
  preload::StageCacheStats stats;
  CountViolations(w, *sparseloom, {episode}, 5000, &stats);
  EXPECT_LE(stats.peak_resident_bytes, 5000);
  EXPECT_GT(stats.preloaded, 0);
}

}  // namespace
}  // namespace sparseloom::eval
