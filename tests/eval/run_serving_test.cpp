// `sparseloom run --simulate` without the command: every planner serves the same episodes on the
// virtual clock, in rotation, with progress reported in order. Hand-made profiles, no model files
// (the engine is a fake that is never asked for anything).

#include "eval/run_serving.h"

#include <gtest/gtest.h>

#include "eval/episodes.h"
#include "eval/eval_fixtures.h"
#include "support/fake_engine.h"

namespace sparseloom::eval {
namespace {

class Recorder final : public ServeObserver {
 public:
  void Warming(const std::string& planner) override { events.push_back("warm " + planner); }
  void PlannedAhead(const std::string& planner, int) override {
    events.push_back("ahead " + planner);
  }
  void EpisodeStarts(std::size_t e, std::size_t count, const runtime::Episode& episode,
                     const std::string& planner) override {
    events.push_back(std::to_string(e) + "/" + std::to_string(count) + " " + episode.name + " " +
                     planner);
  }
  void EpisodeServed(std::size_t, std::size_t i, const runtime::EpisodeReport&) override {
    events.push_back("served " + std::to_string(i));
  }
  std::vector<std::string> events;
};

runtime::ServeOptions Serve() {
  runtime::ServeOptions serve;
  serve.workload.phase_s = 0.2;
  serve.workload.seed = 5;
  return serve;
}

std::vector<std::unique_ptr<plan::Planner>> TwoPlanners() {
  std::vector<std::unique_ptr<plan::Planner>> planners;
  planners.push_back(plan::MakeSparseLoomPlanner());
  planners.push_back(plan::MakeBaselinePlanner(plan::Baseline::kAvP));
  return planners;
}

TEST(RunServing, SimulatedTasksCarryNoInputsAndCountTheFullSet) {
  const Inputs in = testing::TinyInputs({"a", "b"});
  sparseloom::testing::FakeEngine engine;
  RunServing serving(in, engine, /*simulate=*/true);
  ASSERT_EQ(serving.tasks().size(), 2u);
  EXPECT_EQ(serving.tasks()[1].name, "b");
  EXPECT_EQ(serving.tasks()[0].inputs, nullptr);
  EXPECT_EQ(serving.tasks()[0].profile, &in.profiles[0]);
  // Two tasks, 4 stages of 10000 bytes in all, on each of 2 processors.
  EXPECT_EQ(serving.full_set_bytes(), 2 * 10000 * 2);
}

TEST(ServeEveryPlanner, EveryPlannerServesTheSameEpisodesInRotation) {
  const Inputs in = testing::TinyInputs({"a", "b"});
  sparseloom::testing::FakeEngine engine;
  RunServing serving(in, engine, /*simulate=*/true);
  serving.SetCacheBudget(0);
  const runtime::ServeOptions serve = Serve();
  serving.Start(serve, "");
  const Workload w = RunWorkload(in.file, serving.profiles(), 0, 2, 5);
  ASSERT_EQ(w.episodes.size(), 2u);
  const auto planners = TwoPlanners();
  Recorder recorder;
  const std::vector<PlannerRun> runs =
      ServeEveryPlanner(serving, planners, w.episodes, serve, {true, true}, recorder);

  // Both planners load their stages first; a simulation makes no plans ahead; the first planner
  // of each episode rotates.
  EXPECT_EQ(recorder.events,
            (std::vector<std::string>{"warm SparseLoom", "warm AV-P", "0/2 slo0-order0 SparseLoom",
                                      "served 0", "0/2 slo0-order0 AV-P", "served 1",
                                      "1/2 slo0-order1 AV-P", "served 0",
                                      "1/2 slo0-order1 SparseLoom", "served 1"}));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].planner, "SparseLoom");
  EXPECT_EQ(runs[1].planner, "AV-P");
  for (const PlannerRun& run : runs) {
    ASSERT_EQ(run.episodes.size(), 2u);
    EXPECT_EQ(run.episodes[1].episode.name, "slo0-order1");
    EXPECT_EQ(run.summaries.size(), 2u);
    EXPECT_TRUE(run.throughput.empty());  // Poisson arrivals
  }
  EXPECT_GT(runs[0].warmed, 0);  // the second finds some of its stages loaded already
  // The same seed gives every planner the same requests.
  for (std::size_t e = 0; e < 2; ++e)
    EXPECT_EQ(runs[0].episodes[e].counters.submitted, runs[1].episodes[e].counters.submitted);
  EXPECT_GT(TotalsOf(runs[0]).requests, 0);
  // Stage spans are kept for the first planner's first episode only (the trace's).
  bool spans = false, others = false;
  for (const runtime::RequestRecord& r : runs[0].episodes[0].records)
    spans = spans || !r.stages.empty();
  for (const runtime::RequestRecord& r : runs[1].episodes[0].records)
    others = others || !r.stages.empty();
  EXPECT_TRUE(spans);
  EXPECT_FALSE(others);
}

TEST(ServeEveryPlanner, ClosedLoopChecksThroughputAndABudgetPreloadsInsteadOfWarming) {
  const Inputs in = testing::TinyInputs({"a", "b"});
  sparseloom::testing::FakeEngine engine;
  RunServing serving(in, engine, /*simulate=*/true);
  serving.SetCacheBudget(serving.full_set_bytes() / 2);
  runtime::ServeOptions serve = Serve();
  serve.workload.arrivals = runtime::ArrivalKind::kClosedLoop;
  serving.Start(serve, SPARSELOOM_DEVICES_DIR "/host.json");
  const Workload w = RunWorkload(in.file, serving.profiles(), 0, 1, 5);
  const RunServing::Preloaded preloaded = serving.PreloadHottest(w.episodes, serve.planning);
  EXPECT_GT(preloaded.stages, 0);
  EXPECT_LE(preloaded.resident_bytes, serving.cache_budget());
  const auto planners = TwoPlanners();
  Recorder recorder;
  const auto runs = ServeEveryPlanner(serving, planners, w.episodes, serve, {}, recorder);
  for (const std::string& event : recorder.events)
    EXPECT_NE(event.rfind("warm", 0), 0u) << event;
  for (const PlannerRun& run : runs) {
    EXPECT_EQ(run.warmed, 0);
    ASSERT_EQ(run.throughput.size(), 1u);
    EXPECT_GT(run.throughput[0].measured_rps, 0.0);
  }
  EXPECT_LE(serving.CacheStats().peak_resident_bytes, serving.cache_budget());
}

}  // namespace
}  // namespace sparseloom::eval
