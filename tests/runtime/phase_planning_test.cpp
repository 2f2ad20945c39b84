#include "runtime/phase_planning.h"

#include <pthread.h>
#include <sched.h>

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "runtime/processor_thread.h"

namespace sparseloom::runtime {
namespace {

// One stage, one variant, on `processors` processors, each taking `ms`.
plan::TaskProfile OneStage(const std::string& task, double ms, int processors) {
  plan::TaskProfile profile;
  profile.task = task;
  profile.num_stages = 1;
  profile.variant_ids = {"v0"};
  for (int p = 0; p < processors; ++p)
    profile.processors.push_back("cpu" + std::to_string(p));
  profile.stage_latency_ms.assign(static_cast<std::size_t>(processors), ms);
  profile.stage_bytes = {1000};
  profile.accuracy = {0.9};
  profile.handover_ms.assign(static_cast<std::size_t>(processors * processors), 0.0);
  return profile;
}

plan::TaskPlan OnProcessor(const std::string& task, int processor) {
  plan::TaskPlan tp;
  tp.task = task;
  tp.variant_of_stage = {0};
  tp.placement = {processor};
  return tp;
}

TEST(EntryWaits, FollowCobhamsFormulaWithTasksRankedByDeadline) {
  // On one processor: "tight" (1 ms stages, 100/s, 2 ms SLO) goes ahead of "loose" (2 ms stages,
  // 100/s, 20 ms SLO). rho = 0.1 and 0.2; R = (100 x 0.001^2 + 100 x 0.002^2) / 2 = 0.25 ms/s.
  const plan::TaskProfile tight = OneStage("tight", 1.0, 1);
  const plan::TaskProfile loose = OneStage("loose", 2.0, 1);
  plan::PlanRequest request;
  request.processors = {"cpu0"};
  request.tasks.push_back({"tight", tight, {0.0, 2.0}, 100.0, {}});
  request.tasks.push_back({"loose", loose, {0.0, 20.0}, 100.0, {}});
  plan::Plan plan;
  plan.tasks = {OnProcessor("tight", 0), OnProcessor("loose", 0)};
  const std::vector<std::vector<double>> waits = EntryWaits(plan, request, PlanningOptions{});
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_NEAR(waits[0][0], 0.25 / ((1.0 - 0.0) * (1.0 - 0.1)), 1e-9);  // only the residual
  EXPECT_NEAR(waits[1][0], 0.25 / ((1.0 - 0.1) * (1.0 - 0.3)), 1e-9);  // and the tight load
  EXPECT_LT(waits[0][0], waits[1][0]);

  // Same deadlines share one queue: both wait R / (1 - 0.3).
  request.tasks[0].slo.max_latency_ms = 20.0;
  const std::vector<std::vector<double>> shared = EntryWaits(plan, request, PlanningOptions{});
  EXPECT_NEAR(shared[0][0], 0.25 / 0.7, 1e-9);
  EXPECT_NEAR(shared[1][0], 0.25 / 0.7, 1e-9);

  // A processor loaded to 0.95 or more has no finite wait.
  request.tasks[1].rate_per_s = 500.0;  // rho 0.1 + 1.0
  EXPECT_GE(EntryWaits(plan, request, PlanningOptions{})[0][0], 1e6);
}

TEST(EntryWaits, AProcessorATaskDoesNotUseStillHasTheWaitOfOthersThere) {
  const plan::TaskProfile a = OneStage("a", 1.0, 2);
  const plan::TaskProfile b = OneStage("b", 3.0, 2);
  plan::PlanRequest request;
  request.processors = {"cpu0", "cpu1"};
  request.tasks.push_back({"a", a, {0.0, 2.0}, 100.0, {}});
  request.tasks.push_back({"b", b, {0.0, 30.0}, 100.0, {}});
  plan::Plan plan;
  plan.tasks = {OnProcessor("a", 0), OnProcessor("b", 1)};
  const std::vector<std::vector<double>> waits = EntryWaits(plan, request, PlanningOptions{});
  EXPECT_NEAR(waits[0][0], 1000.0 * 100.0 * 0.001 * 0.001 / 2.0 / 0.9, 1e-9);
  EXPECT_NEAR(waits[0][1], 1000.0 * 100.0 * 0.003 * 0.003 / 2.0, 1e-9);  // b's residual, a ahead
  EXPECT_GT(waits[0][1], waits[0][0]) << "joining b's processor costs a more than its own";
}

TEST(EntryWaits, StagesRunBackToBackOnAProcessorAreStretchedByTighterLoadArrivingBetween) {
  // "loose" runs two 2 ms stages on cpu0, then one on cpu1, then one more on cpu0; "tight" (1 ms,
  // 200/s, rho 0.2) runs on cpu0 and overtakes it at every stage boundary there.
  const plan::TaskProfile tight = OneStage("tight", 1.0, 2);
  plan::TaskProfile loose;
  loose.task = "loose";
  loose.num_stages = 4;
  loose.variant_ids = {"v0"};
  loose.processors = {"cpu0", "cpu1"};
  loose.stage_latency_ms.assign(8, 2.0);
  loose.stage_bytes.assign(4, 1000);
  loose.accuracy = {0.9};
  loose.handover_ms.assign(4, 0.0);
  plan::PlanRequest request;
  request.processors = {"cpu0", "cpu1"};
  request.tasks.push_back({"tight", tight, {0.0, 2.0}, 200.0, {}});
  request.tasks.push_back({"loose", loose, {0.0, 50.0}, 10.0, {}});
  plan::Plan plan;
  plan::TaskPlan runs;
  runs.task = "loose";
  runs.variant_of_stage = {0, 0, 0, 0};
  runs.placement = {0, 0, 1, 0};
  plan.tasks = {OnProcessor("tight", 0), runs};
  const std::vector<std::vector<double>> waits = EntryWaits(plan, request, PlanningOptions{});
  // Cobham on cpu0: R = (200 x 0.001^2 + 3 x 10 x 0.002^2) / 2 s; loose waits R / (0.8 x 0.74).
  const double r0 = (200.0 * 1e-6 + 30.0 * 4e-6) / 2.0;
  const double cobham = 1000.0 * r0 / (0.8 * (1.0 - 0.2 - 0.06));
  // Plus, per entry (2 on cpu0), the 2 ms followed by another stage there x 0.2 / 0.8.
  EXPECT_NEAR(waits[1][0], cobham + 2.0 / 2.0 * 0.2 / 0.8, 1e-9);
  // On cpu1 nothing tighter runs, and the tight task itself is overtaken by nothing.
  EXPECT_NEAR(waits[1][1], 1000.0 * (10.0 * 4e-6 / 2.0) / (1.0 - 0.02), 1e-9);
  EXPECT_NEAR(waits[0][0], 1000.0 * r0 / 0.8, 1e-9);
}

TEST(ShareLate, IsOneWhenTheServiceAloneIsLateAndFallsWithTheSlack) {
  const plan::TaskProfile profile = OneStage("t", 1.0, 2);
  plan::PlanTask task{"t", profile, {0.0, 4.0}, 100.0, {0.5, 2.0}};
  const std::vector<double> busy = {0.3, 0.6};
  EXPECT_DOUBLE_EQ(ShareLate(task, {0}, busy, 4.5), 1.0);
  // One processor entered: 0.3 exp(-slack 0.3 / 0.5).
  EXPECT_NEAR(ShareLate(task, {0}, busy, 3.0), 0.3 * std::exp(-1.0 * 0.3 / 0.5), 1e-12);
  double last = 0.0;
  for (double service = 0.5; service <= 4.0; service += 0.5) {
    const double share = ShareLate(task, {0}, busy, service);
    EXPECT_GE(share, last) << "less slack, no fewer late requests";
    EXPECT_LE(share, 1.0);
    last = share;
  }
  EXPECT_LT(ShareLate(task, {0, 0}, busy, 3.0), ShareLate(task, {0, 1}, busy, 3.0))
      << "a hop to a busier processor adds a wait";
  task.entry_wait_ms.clear();
  EXPECT_DOUBLE_EQ(ShareLate(task, {0, 1}, busy, 3.0), 0.0) << "no waits, no late requests";
}

TEST(PlanFor, ReportsLatencyWithTheWaitsOfThePlansOwnLoad) {
  const plan::TaskProfile a = OneStage("a", 0.5, 2);
  const plan::TaskProfile b = OneStage("b", 3.0, 2);
  const plan::TaskProfile c = OneStage("c", 3.0, 2);
  const std::vector<ServedTask> tasks = {
      {"a", &a, nullptr, 200.0}, {"b", &b, nullptr, 100.0}, {"c", &c, nullptr, 100.0}};
  const std::vector<plan::Slo> slos = {{0.0, 1.0}, {0.0, 30.0}, {0.0, 30.0}};
  const auto planner = plan::MakeSparseLoomPlanner();
  std::vector<plan::TaskProfile> restricted;
  const PlanningOptions options;
  const PhasePlan phase =
      PlanFor(tasks, {0, 1, 2}, slos, {true, true}, *planner, options, restricted);
  ASSERT_EQ(phase.plan.tasks.size(), 3u);
  plan::PlanRequest request;
  request.processors = {"cpu0", "cpu1"};
  for (std::size_t t = 0; t < tasks.size(); ++t)
    request.tasks.push_back({tasks[t].name, *tasks[t].profile, slos[t], tasks[t].rate_per_s, {}});
  const std::vector<std::vector<double>> waits = EntryWaits(phase.plan, request, options);
  int violations = 0;
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    const plan::TaskPlan& tp = phase.plan.tasks[t];
    const double service = tasks[t].profile->StageLatencyMs(0, 0, 0);
    EXPECT_NEAR(tp.latency_ms, service + waits[t][static_cast<std::size_t>(tp.placement[0])], 1e-9)
        << tp.task;
    EXPECT_EQ(tp.slo_met, tp.latency_ms <= slos[t].max_latency_ms) << tp.task;
    violations += !tp.slo_met;
  }
  EXPECT_EQ(phase.plan.objective.violations, violations);
}

int PolicyOfThisThread() {
  int policy = -1;
  sched_param param{};
  pthread_getschedparam(pthread_self(), &policy, &param);
  return policy;
}

TEST(PlanBook, FindsAPlanOnlyForItsPlannerTasksSlosRatesAndPlanningOptions) {
  PhasePlan kept;
  kept.plan.planner = "A";
  kept.task_of_plan_task = {2, 0};
  const std::vector<ServedTask> tasks = {
      {"a", nullptr, nullptr, 10.0}, {"b", nullptr, nullptr, 20.0}, {"c", nullptr, nullptr, 30.0}};
  const std::vector<plan::Slo> slos = {{0.5, 10.0}, {0.6, 20.0}, {0.7, 30.0}};
  const PlanningOptions options;
  PlanBook book;
  book.Add("A", tasks, {2, 0}, slos, options, kept);
  ASSERT_EQ(book.size(), 1u);
  const PhasePlan* found = book.Find("A", tasks, {2, 0}, slos, options);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->task_of_plan_task, kept.task_of_plan_task);

  // A task absent from the phase may have any SLO and rate.
  std::vector<plan::Slo> absent_changed = slos;
  absent_changed[1].max_latency_ms = 99.0;
  EXPECT_NE(book.Find("A", tasks, {2, 0}, absent_changed, options), nullptr);
  std::vector<ServedTask> absent_faster = tasks;
  absent_faster[1].rate_per_s = 99.0;
  EXPECT_NE(book.Find("A", absent_faster, {2, 0}, slos, options), nullptr);

  EXPECT_EQ(book.Find("B", tasks, {2, 0}, slos, options), nullptr);  // another planner
  EXPECT_EQ(book.Find("A", tasks, {0, 2}, slos, options), nullptr);  // another arrival order
  EXPECT_EQ(book.Find("A", tasks, {2}, slos, options), nullptr);     // other tasks present
  for (int field = 0; field < 2; ++field) {
    std::vector<plan::Slo> other = slos;
    (field == 0 ? other[0].min_accuracy : other[2].max_latency_ms) += 1e-9;
    EXPECT_EQ(book.Find("A", tasks, {2, 0}, other, options), nullptr) << "SLO field " << field;
  }
  // A present task's rate: the planner's load weight.
  std::vector<ServedTask> faster = tasks;
  faster[2].rate_per_s *= 2.0;
  EXPECT_EQ(book.Find("A", faster, {2, 0}, slos, options), nullptr);
  // Every planning option PlanFor reads.
  for (int field = 0; field < 6; ++field) {
    PlanningOptions other = options;
    switch (field) {
      case 0:
        other.memory_budget_bytes = 1000;
        break;
      case 1:
        other.placements = plan::PlacementSpace::kOrders;
        break;
      case 2:
        other.latency_headroom = 1.5;
        break;
      case 3:
        other.queueing_aware = false;
        break;
      case 4:
        other.wait_quantile = 0.9;
        break;
      default:
        other.rank_slowdown = 1.0;
        break;
    }
    EXPECT_EQ(book.Find("A", tasks, {2, 0}, slos, other), nullptr) << "option " << field;
  }

  // Adding the same key again replaces the plan.
  kept.task_of_plan_task = {7, 7};
  book.Add("A", tasks, {2, 0}, slos, options, kept);
  EXPECT_EQ(book.size(), 1u);
  EXPECT_EQ(book.Find("A", tasks, {2, 0}, slos, options)->task_of_plan_task,
            (std::vector<int>{7, 7}));
}

TEST(ScopedRealtimePriority, RaisesWhilePermittedAndRestoresAfter) {
  // On a thread of its own, so a failure cannot leave the test runner's thread real-time.
  std::thread([] {
    const int before = PolicyOfThisThread();
    {
      const ScopedRealtimePriority off(0);
      EXPECT_FALSE(off.active());
      EXPECT_EQ(PolicyOfThisThread(), before);
    }
    {
      const ScopedRealtimePriority raised(5);
      // Root or CAP_SYS_NICE: FIFO now; otherwise refused and unchanged (both are correct).
      EXPECT_EQ(PolicyOfThisThread(), raised.active() ? SCHED_FIFO : before);
    }
    EXPECT_EQ(PolicyOfThisThread(), before);
  }).join();
}

}  // namespace
}  // namespace sparseloom::runtime
