// Verify on selection (runtime/accuracy_verification.h) through phase planning: a chosen variant
// whose accuracy is an estimate is measured, recorded as measured, and a plan whose variant
// measures below its SLO is replaced. Hand-made profiles, no model files.

#include "runtime/accuracy_verification.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "runtime/phase_planning.h"

namespace sparseloom::runtime {
namespace {

// One stage, one processor: "fast" (1 ms, accuracy estimated at 0.85) and "slow" (4 ms, 0.90
// measured). An SLO of (0.8, 10 ms) is met by both as planned, and "fast" loads the processor
// least.
plan::TaskProfile TwoVariants(const std::string& task = "t") {
  plan::TaskProfile p;
  p.task = task;
  p.num_stages = 1;
  p.variant_ids = {"fast", "slow"};
  p.processors = {"cpu0"};
  p.stage_latency_ms = {1.0, 4.0};
  p.stage_bytes = {100, 400};
  p.accuracy = {0.85, 0.90};
  p.accuracy_measured = {0, 1};
  p.handover_ms = {0.0};
  return p;
}

struct Planned {
  PhasePlan phase;
  int measured = 0;  // calls of the measurement
};

Planned Plan(plan::TaskProfile& profile, AccuracyVerification* verification) {
  const std::vector<ServedTask> tasks = {{"t", &profile, nullptr, 10.0}};
  PlanningOptions options;
  options.verification = verification;
  std::vector<plan::TaskProfile> restricted;
  const auto planner = plan::MakeSparseLoomPlanner();
  Planned out;
  out.phase = PlanFor(tasks, {0}, {{0.8, 10.0}}, {true}, *planner, options, restricted);
  return out;
}

TEST(AccuracyVerification, AVariantMeasuredBelowItsSloIsReplacedByAReplan) {
  plan::TaskProfile profile = TwoVariants();
  ASSERT_EQ(Plan(profile, nullptr).phase.plan.tasks[0].stitched_variant, 0) << "fast as planned";

  int calls = 0;
  AccuracyVerification verification({&profile}, [&](int task, std::int64_t s) {
    ++calls;
    EXPECT_EQ(task, 0);
    EXPECT_EQ(s, 0);             // only the estimated variant chosen is measured
    return std::optional(0.75);  // its truth: below the SLO's 0.8
  });
  const PhasePlan phase = Plan(profile, &verification).phase;
  const plan::TaskPlan& tp = phase.plan.tasks.at(0);
  EXPECT_EQ(tp.stitched_variant, 1) << "slow replaces it";
  EXPECT_TRUE(tp.slo_met);
  EXPECT_TRUE(tp.accuracy_measured);
  EXPECT_EQ(calls, 1);
  // Recorded in the table as measured: the planner now sees the truth.
  EXPECT_DOUBLE_EQ(profile.accuracy[0], 0.75);
  EXPECT_EQ(profile.accuracy_measured[0], 1);
  const AccuracyVerification::Counts c = verification.counts();
  EXPECT_EQ(c.verified, 1);
  EXPECT_EQ(c.below_slo, 1);
  EXPECT_EQ(c.replans, 1);
  EXPECT_EQ(c.unavailable, 0);

  // The next plan of the same phase measures nothing again.
  EXPECT_EQ(Plan(profile, &verification).phase.plan.tasks[0].stitched_variant, 1);
  EXPECT_EQ(calls, 1);
}

TEST(AccuracyVerification, AVariantThatMeasuresWellKeepsItsPlan) {
  plan::TaskProfile profile = TwoVariants();
  AccuracyVerification verification({&profile}, [](int, std::int64_t) { return 0.86; });
  const plan::TaskPlan tp = Plan(profile, &verification).phase.plan.tasks.at(0);
  EXPECT_EQ(tp.stitched_variant, 0);
  EXPECT_EQ(verification.counts().verified, 1);
  EXPECT_EQ(verification.counts().replans, 0);
  EXPECT_DOUBLE_EQ(profile.accuracy[0], 0.86);
}

TEST(AccuracyVerification, WhatCannotBeMeasuredStaysAnEstimate) {
  plan::TaskProfile profile = TwoVariants();
  AccuracyVerification verification({&profile},
                                    [](int, std::int64_t) { return std::optional<double>(); });
  const plan::TaskPlan tp = Plan(profile, &verification).phase.plan.tasks.at(0);
  EXPECT_EQ(tp.stitched_variant, 0);
  EXPECT_FALSE(tp.accuracy_measured);
  EXPECT_EQ(verification.counts().unavailable, 1);
  EXPECT_EQ(profile.accuracy_measured[0], 0);
}

TEST(AccuracyVerification, RoutesAreJudgedAgainstTheTruthWhereThereIsOne) {
  plan::TaskProfile profile = TwoVariants();
  const PhasePlan phase = Plan(profile, nullptr).phase;  // fast, estimated at 0.85
  const std::vector<double> truth = {0.75, 0.90};
  std::vector<ServedTask> tasks = {{"t", &profile, nullptr, 10.0}};
  const std::vector<plan::Slo> slos = {{0.8, 10.0}};
  const TaskRoute estimated = *RoutesOf(phase, tasks, slos)[0];
  EXPECT_DOUBLE_EQ(estimated.accuracy, 0.85);
  EXPECT_FALSE(estimated.accuracy_measured);
  tasks[0].true_accuracy = &truth;
  const TaskRoute judged = *RoutesOf(phase, tasks, slos)[0];
  EXPECT_DOUBLE_EQ(judged.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(judged.planned_accuracy, 0.85);
  EXPECT_TRUE(judged.accuracy_measured);
  RequestRecord r;
  r.outcome = Outcome::kCompleted;
  r.end_ms = 2.0;
  r.slo = slos[0];
  r.accuracy = judged.accuracy;
  EXPECT_FALSE(r.SloMet()) << "an accuracy violation although the estimate met the SLO";
}

}  // namespace
}  // namespace sparseloom::runtime
