#include "runtime/stitched_chain.h"

#include <gtest/gtest.h>

#include "runtime/evaluation.h"
#include "support/fake_engine.h"

namespace sparseloom::runtime {
namespace {

TEST(StitchedChain, RunsTheChosenStageOfEachVariantInOrder) {
  const zoo::Zoo z = testing::MakeFakeZoo(3, 3);
  testing::FakeEngine engine;
  ZooStages stages(z, engine, {});
  // Stage k of variant v adds (v+1) * 10^(K-k): the digits of the result spell the variants.
  StitchedChain chain(stages, zoo::ParseStitch(z, "v2,v0,v1"));
  const engine::Tensor out = chain.Run(testing::MakeFake({5, 4}, 0.0), {});
  EXPECT_DOUBLE_EQ(testing::ValueOf(out), 312.0);
  EXPECT_EQ(out.Shape(), (std::vector<std::int64_t>{5, 2}));
}

TEST(StitchedChain, LoadsEachStageOnceAcrossChains) {
  const zoo::Zoo z = testing::MakeFakeZoo(3, 3);
  testing::FakeEngine engine;
  ZooStages stages(z, engine, {});
  for (const auto& s : zoo::EnumerateStitched(z))
    StitchedChain(stages, s);
  EXPECT_EQ(engine.loads, 9);
  EXPECT_EQ(stages.ResidentBytes(), 900);
}

TEST(StitchedChain, TimedRunReportsEveryStage) {
  const zoo::Zoo z = testing::MakeFakeZoo(2, 3);
  testing::FakeEngine engine;
  ZooStages stages(z, engine, {});
  StitchedChain chain(stages, zoo::ParseStitch(z, "v1"));
  std::vector<double> ms(3, -1.0);
  chain.RunTimed(testing::MakeFake({1, 4}, 0.0), {}, ms);
  for (double t : ms)
    EXPECT_GE(t, 0.0);
}

TEST(Statistics, MedianAndPercentile) {
  EXPECT_DOUBLE_EQ(Median({3.0, 1.0, 2.0}), 2.0);
  EXPECT_DOUBLE_EQ(Median({4.0, 1.0, 2.0, 3.0}), 2.5);
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i)
    v.push_back(i);
  EXPECT_DOUBLE_EQ(Percentile(v, 0.9), 90.0);
  EXPECT_DOUBLE_EQ(Percentile(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(Percentile(v, 1.0), 100.0);
}

}  // namespace
}  // namespace sparseloom::runtime
