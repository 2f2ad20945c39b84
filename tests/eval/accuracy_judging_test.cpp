// Accuracy you can trust, on the virtual clock: requests are judged against the stitched
// variant's measured accuracy (the zoo's ground truth), not against the planner's estimate, and
// verification on selection keeps a served variant from measuring below its SLO. The same
// simulator, serving core and summaries as `run --simulate` and `bench`; no model files.

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "eval/workbench.h"
#include "plan/planner.h"
#include "runtime/accuracy_verification.h"
#include "runtime/serving.h"
#include "sim/simulator.h"

namespace sparseloom::sim {
namespace {

// One stage on one processor: "fast" (1 ms) estimated at 0.85 but truly 0.75, "slow" (3 ms)
// measured at 0.90. The SLO (0.80, 20 ms): the plan, on the estimate, serves "fast".
plan::TaskProfile Estimated(const std::string& task = "t") {
  plan::TaskProfile p;
  p.task = task;
  p.num_stages = 1;
  p.variant_ids = {"fast", "slow"};
  p.processors = {"p0"};
  p.stage_latency_ms = {1.0, 3.0};
  p.stage_bytes = {100, 300};
  p.accuracy = {0.85, 0.90};
  p.accuracy_measured = {0, 1};
  p.handover_ms = {0.0};
  return p;
}

const std::vector<double> kTruth = {0.75, 0.90};

runtime::Episode OneTask() {
  return runtime::Episode{"e", {{0.80, 20.0}}, {0}, {}};
}

SimOptions Options() {
  SimOptions o;
  o.serve.workload.phase_s = 5.0;
  o.serve.workload.seed = 1;
  return o;
}

runtime::EpisodeReport Serve(plan::TaskProfile& profile, const std::vector<double>* truth,
                             runtime::AccuracyVerification* verification) {
  Simulator sim({SimTask{"t", &profile, 50.0, 100, truth}}, {"p0"}, 0);
  SimOptions o = Options();
  o.serve.planning.verification = verification;
  const auto planner = plan::MakeSparseLoomPlanner();
  sim.Warm(*planner, {OneTask()}, o.serve.planning);  // every stage it plans for resident
  return sim.RunEpisode(*planner, OneTask(), o);
}

TEST(AccuracyJudging, AnEstimateAboveTheSloDoesNotMeetItWhenTheTruthIsBelow) {
  plan::TaskProfile profile = Estimated();
  const runtime::EpisodeReport report = Serve(profile, &kTruth, nullptr);
  ASSERT_GT(report.counters.completed, 100);
  EXPECT_TRUE(report.phases[0].plan.tasks[0].slo_met) << "planned on the estimate";
  const std::vector<runtime::ServedTask> served = {{"t", &profile, nullptr, 50.0, &kTruth}};
  const std::vector<runtime::TaskSummary> s = runtime::Summarize({report}, served);
  EXPECT_EQ(s[0].violations, s[0].requests) << "every request below the measured accuracy";
  EXPECT_EQ(s[0].accuracy_source, "measured");
  EXPECT_NEAR(s[0].planned_accuracy, 0.85, 1e-12);
  EXPECT_NEAR(s[0].judged_accuracy, 0.75, 1e-12);
  eval::ViolationCounter counter("SparseLoom", served);
  counter.Add(report);
  const eval::ViolationFigures f = counter.Figures();
  EXPECT_EQ(f.inaccurate, report.counters.completed);
  EXPECT_EQ(f.late, 0);
  EXPECT_EQ(f.planned_miss, 0) << "the plan met the SLO in the planner's own model";

  // Without a truth the estimate is what it is judged by, and the summary says so.
  plan::TaskProfile again = Estimated();
  const runtime::EpisodeReport unjudged = Serve(again, nullptr, nullptr);
  const std::vector<runtime::ServedTask> bare = {{"t", &again, nullptr, 50.0}};
  const std::vector<runtime::TaskSummary> e = runtime::Summarize({unjudged}, bare);
  EXPECT_EQ(e[0].violations, 0);
  EXPECT_EQ(e[0].accuracy_source, "estimated");
}

TEST(AccuracyJudging, VerificationServesAVariantThatMeetsTheSloMeasured) {
  plan::TaskProfile profile = Estimated();
  runtime::AccuracyVerification verification(
      {&profile}, [](int, std::int64_t s) { return std::optional(kTruth.at(s)); });
  const runtime::EpisodeReport report = Serve(profile, &kTruth, &verification);
  EXPECT_EQ(report.phases[0].plan.tasks[0].stitched_variant, 1);
  const std::vector<runtime::ServedTask> served = {{"t", &profile, nullptr, 50.0, &kTruth}};
  const std::vector<runtime::TaskSummary> s = runtime::Summarize({report}, served);
  EXPECT_EQ(s[0].violations, 0);
  EXPECT_EQ(s[0].accuracy_source, "measured");
  EXPECT_NEAR(s[0].planned_accuracy, 0.90, 1e-12);
  EXPECT_EQ(verification.counts().verified, 1);
  EXPECT_EQ(verification.counts().replans, 1);
}

}  // namespace
}  // namespace sparseloom::sim
