// The serving core on the virtual executor and clock, deterministically: an SLO changed mid-stream
// re-plans and the requests admitted afterwards run the new route; a task removed with requests
// queued gives every one a result; a task joins while another serves; a deadline the plan cannot
// meet is refused at once; no request is lost.
#include "runtime/serving_core.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "plan/planner.h"
#include "runtime/virtual_executor.h"
#include "support/two_stage_profile.h"

namespace sparseloom::runtime {
namespace {

plan::TaskProfile Profile(const std::string& task) {
  // dense (slow, accurate) and pruned; p0 twice as fast as p1.
  return testing::TwoStageProfile(
      task, [](int k, int v, int p) { return (p == 0 ? 2.0 : 4.0) * (v == 0 ? 2.0 : 1.0) + k; });
}

class Bytes final : public engine::LoadedStage {
 public:
  engine::Tensor Run(const engine::Tensor& x, std::span<const engine::Tensor>) override {
    return x;
  }
  std::int64_t ResidentBytes() const override { return 1000; }
  const std::filesystem::path& File() const override { return file_; }

 private:
  std::filesystem::path file_;
};

struct World {
  World()
      : profiles{Profile("a"), Profile("b")},
        cache(preload::StageSource{
                  [](const preload::StageKey&) -> std::unique_ptr<engine::LoadedStage> {
                    return std::make_unique<Bytes>();
                  },
                  [](const preload::StageKey&) -> std::int64_t { return 1000; }},
              0),
        executor({"p0", "p1"}, cache, clock, Cost(), VirtualExecutorOptions{}),
        planner(plan::MakeSparseLoomPlanner()),
        core({ServedTask{"a", &profiles[0], nullptr, 50.0},
              ServedTask{"b", &profiles[1], nullptr, 50.0}},
             executor, clock, *planner, PlanningOptions{}, nullptr) {}

  StageCostModel Cost() {
    StageCostModel cost;
    cost.stage_ms = [this, chain = plan::ChainCost{}](const StageWork& work, int, double) mutable {
      plan::ChainCostOf(profiles[static_cast<std::size_t>(work.task)], work.route->variant_of_stage,
                        work.route->placement, chain);
      return chain.BusyMs(static_cast<std::size_t>(work.stage));
    };
    cost.load_ms = [](const preload::StageKey&) { return 0.0; };
    return cost;
  }
  // Submits one request of `task` at `ms` on the virtual clock.
  bool SubmitAt(int task, double ms, const AdmitOptions& admit = {}) {
    clock.SleepUntil(ms);
    return executor.Submit(task, next_sample++, RequestInput{}, clock.NowMs(), admit);
  }
  std::vector<RequestRecord> Finish() {
    executor.WaitIdle();
    std::vector<RequestRecord> records = executor.TakeRecords();
    std::sort(records.begin(), records.end(),
              [](const RequestRecord& a, const RequestRecord& b) { return a.id < b.id; });
    const PipelineCounters c = executor.Counters();
    EXPECT_EQ(c.in_flight, 0);
    EXPECT_EQ(c.submitted, static_cast<std::int64_t>(records.size()));  // none lost
    EXPECT_EQ(c.completed + c.dropped + c.failed, c.submitted);
    return records;
  }

  std::vector<plan::TaskProfile> profiles;
  VirtualServingClock clock;
  preload::StageCache cache;
  VirtualExecutor executor;
  std::unique_ptr<plan::Planner> planner;
  ServingCore core;
  std::int64_t next_sample = 0;
};

TEST(ServingCoreTest, SetSloMidStreamReplansAndLaterRequestsUseTheNewRoute) {
  World w;
  w.core.Join(0, plan::Slo{0.9, 100.0})->Wait();  // only dense,dense reaches 0.9
  for (int i = 0; i < 10; ++i)
    w.SubmitAt(0, 20.0 * i);
  w.clock.SleepUntil(200.0);
  w.core.ChangeSlo(0, plan::Slo{0.8, 6.0})->Wait();  // only pruned,pruned on p0 is fast enough
  for (int i = 0; i < 10; ++i)
    w.SubmitAt(0, 200.0 + 20.0 * i);
  const std::vector<RequestRecord> records = w.Finish();
  ASSERT_EQ(records.size(), 20u);
  for (const RequestRecord& r : records) {
    ASSERT_EQ(r.outcome, Outcome::kCompleted) << r.reason;
    const bool after = r.arrival_ms >= 200.0;
    EXPECT_EQ(r.slo.max_latency_ms, after ? 6.0 : 100.0);
    for (const StageSpan& s : r.stages)
      EXPECT_EQ(s.variant, after ? 1 : 0) << "request " << r.id;
    EXPECT_TRUE(r.SloMet()) << "request " << r.id << ": " << r.latency_ms() << " ms";
  }
  EXPECT_EQ(w.core.PlanOf(0)->variant_of_stage, (std::vector<int>{1, 1}));
}

TEST(ServingCoreTest, RemoveTaskWithRequestsQueuedGivesEveryOneAResult) {
  World w;
  w.core.Join(0, plan::Slo{0.8, 1000.0})->Wait();
  w.core.Join(1, plan::Slo{0.8, 1000.0})->Wait();
  for (int i = 0; i < 20; ++i)
    w.SubmitAt(0, 0.0);  // queued behind each other
  w.SubmitAt(1, 0.0);
  w.core.Leave(0)->Wait();
  EXPECT_FALSE(w.SubmitAt(0, 0.0));  // refused at once: no route
  EXPECT_TRUE(w.SubmitAt(1, 1.0));   // the other task keeps its route
  const std::vector<RequestRecord> records = w.Finish();
  ASSERT_EQ(records.size(), 23u);
  int completed = 0, refused = 0;
  for (const RequestRecord& r : records) {
    if (r.outcome == Outcome::kCompleted)
      ++completed;
    if (r.outcome == Outcome::kDropped) {
      ++refused;
      EXPECT_EQ(r.task, 0);
      EXPECT_NE(r.reason.find("no route"), std::string::npos) << r.reason;
    }
  }
  EXPECT_EQ(completed, 22);  // the 20 queued ones finish on the route they were admitted on
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(w.core.Present(), std::vector<int>{1});
}

TEST(ServingCoreTest, AddTaskWhileAnotherServes) {
  World w;
  w.core.Join(0, plan::Slo{0.8, 1000.0})->Wait();
  for (int i = 0; i < 20; ++i) {
    if (i == 10)
      w.core.Join(1, plan::Slo{0.8, 1000.0})->Wait();
    w.SubmitAt(0, 10.0 * i);
    if (i >= 10)
      w.SubmitAt(1, 10.0 * i + 1.0);
  }
  const std::vector<RequestRecord> records = w.Finish();
  ASSERT_EQ(records.size(), 30u);
  for (const RequestRecord& r : records)
    EXPECT_EQ(r.outcome, Outcome::kCompleted) << r.reason;
  EXPECT_EQ(w.core.Present(), (std::vector<int>{0, 1}));
}

TEST(ServingCoreTest, ADeadlineThePlanCannotMeetIsRefusedAtOnce) {
  World w;
  w.core.Join(0, plan::Slo{0.9, 100.0})->Wait();  // dense,dense: 9 ms at best
  AdmitOptions tight;
  tight.deadline_ms = 10.0 + 2.0;
  EXPECT_FALSE(w.SubmitAt(0, 10.0, tight));
  AdmitOptions loose;
  loose.deadline_ms = 10.0 + 50.0;
  EXPECT_TRUE(w.SubmitAt(0, 10.0, loose));
  const std::vector<RequestRecord> records = w.Finish();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].outcome, Outcome::kDropped);
  EXPECT_NE(records[0].reason.find("deadline cannot be met"), std::string::npos)
      << records[0].reason;
  EXPECT_EQ(records[0].end_ms, 10.0);  // at once, not after the fact
  EXPECT_EQ(records[1].outcome, Outcome::kCompleted);
  EXPECT_LE(records[1].end_ms, loose.deadline_ms);
}

TEST(ServingCoreTest, AnAccuracyBoundThePlanCannotMeetIsRefusedAtOnce) {
  World w;
  w.core.Join(0, plan::Slo{0.8, 1000.0})->Wait();
  AdmitOptions strict;
  strict.min_accuracy = 0.999;  // above every variant of the test profile
  EXPECT_FALSE(w.SubmitAt(0, 10.0, strict));
  AdmitOptions modest;
  modest.min_accuracy = 0.5;
  EXPECT_TRUE(w.SubmitAt(0, 10.0, modest));
  const std::vector<RequestRecord> records = w.Finish();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].outcome, Outcome::kDropped);
  EXPECT_NE(records[0].reason.find("accuracy cannot be met"), std::string::npos)
      << records[0].reason;
  EXPECT_EQ(records[0].end_ms, 10.0);
  EXPECT_EQ(records[1].outcome, Outcome::kCompleted);
}

TEST(ServingCoreTest, AHigherPriorityOvertakesTheQueue) {
  World w;
  w.core.Join(0, plan::Slo{0.8, 1000.0})->Wait();
  for (int i = 0; i < 5; ++i)
    w.SubmitAt(0, 0.0);
  AdmitOptions urgent;
  urgent.priority = 1;
  w.SubmitAt(0, 0.0, urgent);
  const std::vector<RequestRecord> records = w.Finish();
  ASSERT_EQ(records.size(), 6u);
  // The first request was already running; the urgent one ends right after it.
  EXPECT_LT(records[5].end_ms, records[2].end_ms);
  EXPECT_EQ(records[5].priority, 1);
}

TEST(ServingCoreTest, UnknownOrAbsentTasksAreUsageErrors) {
  World w;
  EXPECT_THROW(w.core.Join(5, plan::Slo{0.8, 10.0}), UsageError);
  EXPECT_THROW(w.core.Leave(0), UsageError);
  EXPECT_THROW(w.core.ChangeSlo(1, plan::Slo{0.8, 10.0}), UsageError);
  w.core.Join(0, plan::Slo{0.8, 10.0})->Wait();
  EXPECT_THROW(w.core.Join(0, plan::Slo{0.8, 10.0}), UsageError);
}

}  // namespace
}  // namespace sparseloom::runtime
