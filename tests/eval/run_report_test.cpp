// `sparseloom run`'s accounting and results file, on runs built by hand.

#include "eval/run_report.h"

#include <gtest/gtest.h>

#include "eval/eval_fixtures.h"

namespace sparseloom::eval {
namespace {

using nlohmann::ordered_json;

std::vector<std::string> KeysOf(const ordered_json& j) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items())
    keys.push_back(key);
  return keys;
}

runtime::TaskSummary Summary(const std::string& task, std::int64_t requests,
                             std::int64_t violations, double p99) {
  runtime::TaskSummary s;
  s.task = task;
  s.requests = requests;
  s.completed = requests - 1;
  s.dropped = 1;
  s.violations = violations;
  s.correct = requests / 2;
  s.task_episodes = 2;
  s.episodes_violated = violations > 0 ? 1 : 0;
  s.throughput_rps = 10.0;
  s.p99_ms = p99;
  return s;
}

// One episode of two tasks, two phases: task 0 alone, then both; three requests.
runtime::EpisodeReport Episode() {
  runtime::EpisodeReport e;
  e.planner = "SparseLoom";
  e.episode.name = "slo0-order0";
  e.episode.slos = {{0.8, 10.0}, {0.8, 20.0}};
  e.episode.order = {0, 1};
  for (int phase = 0; phase < 2; ++phase) {
    runtime::PhaseReport ph;
    ph.phase = phase;
    ph.tasks = phase == 0 ? std::vector<int>{0} : std::vector<int>{0, 1};
    ph.plan_ms = phase == 0 ? 2.0 : 6.0;
    ph.planned_ahead = phase == 1;
    ph.plan.processors = {"p0", "p1"};
    ph.plan.processor_load = {0.5, 0.25};
    for (int t : ph.tasks) {
      plan::TaskPlan tp;
      tp.task = t == 0 ? "a" : "b";
      tp.stitched_variant = 3;
      tp.placement = {0, 1};
      tp.latency_ms = 5.0;
      tp.accuracy = 0.85;
      tp.slo_met = true;
      ph.plan.tasks.push_back(tp);
    }
    e.phases.push_back(ph);
  }
  auto record = [&](int task, double arrival, double end, runtime::Outcome outcome, int phase) {
    runtime::RequestRecord r;
    r.task = task;
    r.arrival_ms = arrival;
    r.end_ms = end;
    r.outcome = outcome;
    r.accuracy = 0.85;
    r.slo = e.episode.slos[static_cast<std::size_t>(task)];
    e.records.push_back(r);
    e.phase_of_record.push_back(phase);
  };
  record(0, 0.0, 4.0, runtime::Outcome::kCompleted, 0);
  record(0, 10.0, 30.0, runtime::Outcome::kCompleted, 1);  // late
  record(1, 11.0, 11.0, runtime::Outcome::kDropped, 1);
  e.counters.submitted = 3;
  e.counters.completed = 2;
  e.counters.dropped = 1;
  e.duration_ms = 40.0;
  return e;
}

PlannerRun HandMadeRun() {
  PlannerRun run;
  run.planner = "SparseLoom";
  run.episodes = {Episode()};
  run.summaries = {Summary("a", 10, 2, 7.0), Summary("b", 6, 0, 9.0)};
  run.throughput = {{100.0, 200.0}, {50.0, 100.0}};
  run.warmed = 4;
  run.wall_s = 1.5;
  return run;
}

TEST(TotalsOf, AddsUpTheTasks) {
  const Totals t = TotalsOf(HandMadeRun());
  EXPECT_EQ(t.requests, 16);
  EXPECT_EQ(t.violations, 2);
  EXPECT_EQ(t.completed, 14);
  EXPECT_EQ(t.dropped, 2);
  EXPECT_EQ(t.task_episodes, 4);
  EXPECT_EQ(t.episodes_violated, 1);
  EXPECT_DOUBLE_EQ(t.throughput, 20.0);
  EXPECT_DOUBLE_EQ(t.worst_p99, 9.0);
  EXPECT_DOUBLE_EQ(Ratio(1, 4), 0.25);
  EXPECT_DOUBLE_EQ(Ratio(1, 0), 0.0);
}

TEST(PlanningTimesOf, CountsEveryPhase) {
  const PlanningTimes p = PlanningTimesOf(HandMadeRun());
  EXPECT_DOUBLE_EQ(p.total_ms, 8.0);
  EXPECT_DOUBLE_EQ(p.worst_ms, 6.0);
  EXPECT_EQ(p.phases, 2u);
  EXPECT_EQ(p.planned_ahead, 1u);
}

TEST(ClosedLoopOf, MeansOverEpisodesAndTheShareOfTheBound) {
  const ClosedLoopFigures c = ClosedLoopOf(HandMadeRun());
  EXPECT_DOUBLE_EQ(c.measured_rps, 75.0);
  EXPECT_DOUBLE_EQ(c.bound_rps, 150.0);
  EXPECT_DOUBLE_EQ(c.share_of_bound, 0.5);
}

TEST(RunJson, ShapeOfARunEntry) {
  const Inputs in = testing::TinyInputs({"a", "b"});
  const ordered_json j = RunJson(HandMadeRun(), testing::ServedOf(in));
  EXPECT_EQ(KeysOf(j), (std::vector<std::string>{"planner", "wall_s", "stages_warmed", "requests",
                                                 "violations", "violation_rate", "task_episodes",
                                                 "episodes_violated", "throughput_rps",
                                                 "closed_loop", "tasks", "episodes"}));
  EXPECT_EQ(j["requests"], 16);
  EXPECT_DOUBLE_EQ(j["violation_rate"].get<double>(), 0.125);
  EXPECT_EQ(j["closed_loop"].size(), 2u);
  ASSERT_EQ(j["tasks"].size(), 2u);
  EXPECT_EQ(KeysOf(j["tasks"][0]), (std::vector<std::string>{"task",
                                                             "requests",
                                                             "completed",
                                                             "dropped",
                                                             "failed",
                                                             "violations",
                                                             "violation_rate",
                                                             "task_episodes",
                                                             "episodes_violated",
                                                             "served_s",
                                                             "throughput_rps",
                                                             "p50_ms",
                                                             "p95_ms",
                                                             "p99_ms",
                                                             "measured_accuracy",
                                                             "measured_accuracy_95",
                                                             "planned_accuracy",
                                                             "judged_accuracy",
                                                             "accuracy_source",
                                                             "last_stitched_variant",
                                                             "last_placement"}));
  EXPECT_TRUE(j["tasks"][0]["measured_accuracy"].is_null());  // no inputs: simulated
  const ordered_json& e = j["episodes"][0];
  EXPECT_EQ(KeysOf(e), (std::vector<std::string>{"name", "order", "slos", "duration_ms",
                                                 "submitted", "completed", "dropped", "failed",
                                                 "rerun", "phases", "slo_changes"}));
  EXPECT_TRUE(e["slo_changes"].is_array());
  EXPECT_EQ(KeysOf(e["slos"]), (std::vector<std::string>{"a", "b"}));
  const ordered_json& ph = e["phases"][1];
  EXPECT_EQ(KeysOf(ph), (std::vector<std::string>{"phase", "tasks", "start_ms", "end_ms", "replans",
                                                  "plan_ms", "planned_ahead", "requests",
                                                  "violations", "processor_load", "plan"}));
  EXPECT_EQ(ph["requests"], 2);
  EXPECT_EQ(ph["violations"], 2);  // late and dropped
  ASSERT_EQ(ph["plan"].size(), 2u);
  EXPECT_EQ(ph["plan"][0]["placement"], (ordered_json{"p0", "p1"}));
  EXPECT_EQ(ph["plan"][0]["requests"], 1);
  EXPECT_DOUBLE_EQ(ph["plan"][0]["p95_ms"].get<double>(), 20.0);
  EXPECT_TRUE(ph["plan"][1]["p95_ms"].is_null());  // b completed nothing
}

TEST(RunFileJson, TheDescriptionThenEveryRun) {
  const Inputs in = testing::TinyInputs({"a", "b"});
  RunDescription d;
  d.simulated = true;
  d.task_file = "tasks.json";
  d.processors = in.setup;
  d.seed = 3;
  d.latency_scale = {1.0, 1.0};
  d.stitch_margin = {0.0, 0.0};
  d.cache.misses = 5;
  const ordered_json j = RunFileJson(d, {HandMadeRun(), HandMadeRun()}, testing::ServedOf(in));
  EXPECT_EQ(KeysOf(j), (std::vector<std::string>{"format",
                                                 "simulated",
                                                 "version",
                                                 "task_file",
                                                 "processors",
                                                 "arrivals",
                                                 "phase_s",
                                                 "rate_scale",
                                                 "seed",
                                                 "plans_made_ahead",
                                                 "latency_scale",
                                                 "stitch_margin",
                                                 "accuracy_coverage",
                                                 "accuracy_margin",
                                                 "accuracy_truth",
                                                 "verification",
                                                 "cache_budget_bytes",
                                                 "cache_policy",
                                                 "full_zoo_set_bytes",
                                                 "memory",
                                                 "runs"}));
  EXPECT_EQ(j["format"], "sparseloom-run");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["arrivals"], "poisson");
  EXPECT_EQ(j["cache_policy"], "hotness");
  EXPECT_EQ(j["processors"][1]["name"], "p1");
  EXPECT_EQ(KeysOf(j["memory"]),
            (std::vector<std::string>{"resident_stage_bytes", "peak_resident_stage_bytes",
                                      "rss_bytes", "rss_start_bytes", "on_demand_loads",
                                      "on_demand_load_ms", "evictions"}));
  EXPECT_EQ(j["memory"]["on_demand_loads"], 5);
  EXPECT_EQ(j["runs"].size(), 2u);
}

}  // namespace
}  // namespace sparseloom::eval
