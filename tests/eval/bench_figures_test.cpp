// The lookups the bench's report and summary make in a platform's figures.

#include "eval/bench_figures.h"

#include <gtest/gtest.h>

namespace sparseloom::eval {
namespace {

ViolationFigures Violations(const std::string& planner, std::int64_t violations) {
  ViolationFigures v;
  v.planner = planner;
  v.requests = 100;
  v.violations = violations;
  return v;
}

MemoryFigures Memory(double fraction, std::int64_t violations) {
  MemoryFigures m;
  m.fraction = fraction;
  m.figures = Violations("SparseLoom", violations);
  return m;
}

PlatformResults Platform() {
  PlatformResults p;
  p.violations = {Violations("SparseLoom", 5), Violations("SV-AO-NP", 40), Violations("AV-P", 10),
                  Violations("SV-LO-NP", 40)};
  p.throughput = {{"SparseLoom", 300.0, 320.0}, {"SV-AO-NP", 100.0, 110.0}};
  p.memory = {Memory(0.25, 9), Memory(0.5, 6), Memory(0.75, 5), Memory(1.0, 5)};
  ProfilingFigures f;
  f.sampled.accuracy_s = 60.0;
  f.exhaustive.accuracy_s = 600.0;
  p.profiling = {f, f};
  return p;
}

TEST(BenchFigures, Lookups) {
  const PlatformResults p = Platform();
  EXPECT_DOUBLE_EQ(p.violations[0].RequestRate(), 0.05);
  ASSERT_NE(FindViolations(p, "AV-P"), nullptr);
  EXPECT_EQ(FindViolations(p, "AV-P")->violations, 10);
  EXPECT_EQ(FindViolations(p, "AV-NP"), nullptr);
  EXPECT_EQ(WorstBaseline(p), &p.violations[1]);  // the first of two at 40%
  EXPECT_DOUBLE_EQ(ThroughputOf(p, "SV-AO-NP"), 100.0);
  EXPECT_DOUBLE_EQ(BoundOf(p, "SparseLoom"), 320.0);
  EXPECT_DOUBLE_EQ(ThroughputOf(p, "AV-P"), 0.0);
  EXPECT_DOUBLE_EQ(Reduction(1.0, 4.0), 0.75);
  EXPECT_DOUBLE_EQ(Reduction(1.0, 0.0), 0.0);
  const ProfilingTotals t = ProfilingTotalsOf(p);
  EXPECT_DOUBLE_EQ(t.sampled_s, 120.0);
  EXPECT_DOUBLE_EQ(t.exhaustive_accuracy_s, 1200.0);
  EXPECT_FALSE(t.has_measured);
}

TEST(SmallestEquivalentBudget, WithinTheToleranceAtThatBudgetAndEveryLargerOne) {
  PlatformResults p = Platform();
  EXPECT_DOUBLE_EQ(SmallestEquivalentBudget(p, 1.0)->fraction, 0.5);
  EXPECT_DOUBLE_EQ(SmallestEquivalentBudget(p, 0.5)->fraction, 0.75);
  EXPECT_DOUBLE_EQ(SmallestEquivalentBudget(p, 5.0)->fraction, 0.25);
  p.memory.pop_back();  // no 100% point
  EXPECT_EQ(SmallestEquivalentBudget(p, 1.0), nullptr);
}

TEST(HeadlineOf, TheSummaryLineOfAPlatform) {
  const PlatformResults p = Platform();
  const PlatformHeadline h = HeadlineOf(p, 1.0);
  EXPECT_EQ(h.sparseloom, &p.violations[0]);
  EXPECT_EQ(h.worst, &p.violations[1]);
  EXPECT_EQ(h.avp, &p.violations[2]);
  ASSERT_TRUE(h.throughput_ratio.has_value());
  EXPECT_DOUBLE_EQ(*h.throughput_ratio, 3.0);
  ASSERT_TRUE(h.memory_saving.has_value());
  EXPECT_DOUBLE_EQ(*h.memory_saving, 0.5);
  EXPECT_DOUBLE_EQ(h.sampled_s, 120.0);

  PlatformResults alone;
  alone.violations = {Violations("SparseLoom", 1)};
  const PlatformHeadline a = HeadlineOf(alone, 1.0);
  EXPECT_EQ(a.worst, nullptr);
  EXPECT_EQ(a.avp, nullptr);
  EXPECT_FALSE(a.throughput_ratio.has_value());
  EXPECT_FALSE(a.memory_saving.has_value());
}

}  // namespace
}  // namespace sparseloom::eval
