// The estimators and the pieces around them, without model files: XGBoost through its C API,
// the sample design, and the accuracy estimator against the sum-of-drops baseline on a synthetic
// zoo whose stages interact.

#include <cmath>
#include <set>

#include <gtest/gtest.h>
#include <sched.h>

#include "common/error.h"
#include "profile/estimators.h"
#include "profile/gradient_boosting.h"
#include "profile/processor_setup.h"
#include "profile/sample_design.h"
#include "runtime/processor_thread.h"
#include "support/fake_engine.h"

namespace sparseloom::profile {
namespace {

TEST(GradientBoostedTrees, LearnsAStepAndRoundTripsItsModel) {
  FeatureMatrix x;
  std::vector<float> y;
  for (int i = 0; i < 40; ++i) {
    const float f = static_cast<float>(i) / 40.0f;
    x.AddRow(std::vector<float>{f, 1.0f - f});
    y.push_back(f < 0.5f ? 1.0f : 3.0f);
  }
  const BoostingOptions options{.rounds = 100, .max_depth = 2, .learning_rate = 0.3};
  const GradientBoostedTrees model = GradientBoostedTrees::Train(x, y, options);
  FeatureMatrix query;
  query.AddRow(std::vector<float>{0.1f, 0.9f});
  query.AddRow(std::vector<float>{0.9f, 0.1f});
  const std::vector<double> p = model.Predict(query);
  EXPECT_NEAR(p[0], 1.0, 0.05);
  EXPECT_NEAR(p[1], 3.0, 0.05);
  const GradientBoostedTrees loaded = GradientBoostedTrees::Load(model.Save());
  EXPECT_EQ(loaded.Predict(query), p);
}

TEST(GradientBoostedTrees, XgboostFailureIsAnEngineError) {
  EXPECT_THROW(GradientBoostedTrees::Load("not a model"), EngineError);
  FeatureMatrix x;
  x.AddRow(std::vector<float>{1.0f});
  EXPECT_THROW(GradientBoostedTrees::Train(x, std::vector<float>{1.0f, 2.0f}, {}), UsageError);
}

// V = 6 variants, K = 3 stages. Variant v's stage k costs drop[v][k] accuracy alone; two
// consecutive damaged stages compound (the synthetic interaction the additive model misses).
struct SyntheticZoo {
  zoo::Zoo zoo = testing::MakeFakeZoo(6, 3);
  double drop[6][3] = {{0, 0, 0},
                       {-0.01, -0.01, -0.01},
                       {-0.03, -0.02, -0.02},
                       {-0.08, -0.05, -0.04},
                       {-0.15, -0.10, -0.08},
                       {0.0, -0.03, -0.06}};
  SyntheticZoo() {
    zoo.variants[0].id = "dense";
    for (std::size_t v = 0; v < 6; ++v) {
      for (std::size_t k = 0; k < 3; ++k) {
        auto& s = zoo.variants[v].stages[k];
        s.params = 1000;
        s.nonzeros = static_cast<std::int64_t>(1000 * (1.0 + 4.0 * drop[v][k]));
        s.flops = 5000;
        s.sparsity_kind = v == 0 ? zoo::SparsityKind::kNone : zoo::SparsityKind::kUnstructured;
        s.sparsity_level = -4.0 * drop[v][k];
      }
    }
  }
  double Truth(const zoo::StitchedVariant& s) const {
    double acc = 0.9;
    for (std::size_t k = 0; k < 3; ++k)
      acc += drop[s.variant_of_stage[k]][k];
    for (std::size_t k = 0; k + 1 < 3; ++k)
      acc -= 8.0 * drop[s.variant_of_stage[k]][k] * drop[s.variant_of_stage[k + 1]][k + 1];
    return std::max(0.0, acc);
  }
};

TEST(AccuracyEstimator, BeatsSumOfStageDropsOnAnInteraction) {
  const SyntheticZoo synthetic;
  const zoo::Zoo& z = synthetic.zoo;
  AccuracyTraining training;
  training.reference = ReferenceVariant(z);
  ASSERT_EQ(training.reference, 0u);
  const std::vector<std::int64_t> structured = StructuredAccuracySample(z, training.reference);
  EXPECT_EQ(structured.size(), 6u + 3u * 5u);  // originals + single substitutions into dense
  training.representative = RandomStitched(z, 40, structured, 7);
  for (std::int64_t s : structured)
    training.measured[s] = synthetic.Truth(zoo::StitchedAt(z, s));
  for (std::int64_t s : training.representative)
    training.measured[s] = synthetic.Truth(zoo::StitchedAt(z, s));

  std::vector<std::int64_t> held_out;
  for (std::int64_t s = 0; s < z.StitchedCount(); ++s) {
    if (!training.measured.contains(s))
      held_out.push_back(s);
  }
  ASSERT_GT(held_out.size(), 100u);
  const Estimate e = EstimateAccuracy(z, training, held_out, {.rounds = 300, .max_depth = 3});
  double mae = 0.0, baseline_mae = 0.0;
  for (std::size_t i = 0; i < held_out.size(); ++i) {
    const double truth = synthetic.Truth(zoo::StitchedAt(z, held_out[i]));
    mae += std::abs(e.value[i] - truth);
    baseline_mae += std::abs(e.baseline[i] - truth);
  }
  mae /= static_cast<double>(held_out.size());
  baseline_mae /= static_cast<double>(held_out.size());
  EXPECT_LT(mae, 0.5 * baseline_mae) << "estimator " << mae << ", sum of drops " << baseline_mae;
  EXPECT_EQ(e.error.metric, "mae");
  EXPECT_EQ(e.error.samples, 40);
  EXPECT_GT(e.error.value, 0.0);
  EXPECT_LT(e.error.value, baseline_mae);
}

TEST(AccuracyEstimator, NeedsEverySingleSubstitution) {
  const SyntheticZoo synthetic;
  AccuracyTraining training;
  training.measured[0] = 0.9;  // dense only
  EXPECT_THROW(EstimateAccuracy(synthetic.zoo, training, {1}, {}), UsageError);
}

// Stages that each keep a fraction of the accuracy above chance, with drops large enough to push
// some stitched variants toward chance: the multiplicative model is exact, the additive one goes
// below chance, and cross-validation has to find that out.
TEST(AccuracyEstimator, ChoosesAMultiplicativeModelForMultiplicativeTruth) {
  zoo::Zoo z = testing::MakeFakeZoo(6, 3);
  z.output.shape = {-1, 10};  // chance 0.1
  z.variants[0].id = "dense";
  const double keep[6][3] = {{1, 1, 1},       {0.95, 0.9, 0.97}, {0.6, 0.7, 0.9},
                             {0.3, 0.4, 0.5}, {0.99, 0.8, 0.6},  {0.5, 0.98, 0.99}};
  const auto truth = [&](const zoo::StitchedVariant& s) {
    double above = 0.8;
    for (std::size_t k = 0; k < 3; ++k)
      above *= keep[s.variant_of_stage[k]][k];
    return 0.1 + above;
  };
  EXPECT_DOUBLE_EQ(ChanceAccuracy(z), 0.1);
  AccuracyTraining training;
  training.reference = 0;
  const auto structured = StructuredAccuracySample(z, 0);
  training.representative = RandomStitched(z, 20, structured, 1);
  for (std::int64_t s : structured)
    training.measured[s] = truth(zoo::StitchedAt(z, s));
  for (std::int64_t s : training.representative)
    training.measured[s] = truth(zoo::StitchedAt(z, s));
  std::vector<std::int64_t> all(static_cast<std::size_t>(z.StitchedCount()));
  for (std::size_t i = 0; i < all.size(); ++i)
    all[i] = static_cast<std::int64_t>(i);
  const Estimate e = EstimateAccuracy(z, training, all, {.rounds = 100});
  EXPECT_EQ(e.error.model.rfind("multiplicative", 0), 0u) << e.error.model;
  double mae = 0.0, baseline_mae = 0.0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    mae += std::abs(e.value[i] - truth(zoo::StitchedAt(z, all[i])));
    baseline_mae += std::abs(e.baseline[i] - truth(zoo::StitchedAt(z, all[i])));
  }
  EXPECT_LT(mae, 0.2 * baseline_mae) << "estimator " << mae << ", sum of drops " << baseline_mae;
}

TEST(LatencyEstimator, LearnsAConstantSlowdownOfWholeChains) {
  const zoo::Zoo z = testing::MakeFakeZoo(4, 3);
  PerformanceTable t;
  t.num_stages = 3;
  t.variant_ids = {"a", "b", "c", "d"};
  t.processors = ParseProcessorSetup("p0:0:1,p1:1:1");
  t.handover_ms = {0.0, 0.01, 0.01, 0.0};
  for (int i = 0; i < 3 * 4 * 2; ++i)
    t.stage_latency_ms.push_back(0.5 + 0.1 * (i % 7));
  LatencyTraining training;
  for (const ChainPoint& p : ChainSample(z, t.num_placements(), 6, 2))
    training.measured[p] = 1.3 * t.AdditiveLatency(p.first, p.second);
  const std::vector<ChainPoint> query = {{5, 3}, {63, 7}, {17, 0}};
  const Estimate e = EstimateLatency(z, t, training, query, {.rounds = 50});
  for (std::size_t i = 0; i < query.size(); ++i)
    EXPECT_NEAR(e.value[i] / e.baseline[i], 1.3, 0.02);
  EXPECT_LT(e.error.value, 0.02);
  EXPECT_EQ(e.error.metric, "mape");
}

TEST(SampleDesign, RandomDrawsAreDistinctDeterministicAndExcludeTheStructuredOnes) {
  const zoo::Zoo z = testing::MakeFakeZoo(4, 3);
  const auto structured = StructuredAccuracySample(z, 0);
  const auto a = RandomStitched(z, 20, structured, 3);
  EXPECT_EQ(a, RandomStitched(z, 20, structured, 3));
  const std::set<std::int64_t> unique(a.begin(), a.end());
  EXPECT_EQ(unique.size(), 20u);
  for (std::int64_t s : structured)
    EXPECT_FALSE(unique.contains(s));
  EXPECT_EQ(RandomStitched(z, 1000, structured, 3).size(), 64u - structured.size());
  const auto chains = ChainSample(z, 8, 5, 1);
  EXPECT_EQ(chains.size(), 40u);
  // Blocks share their prefix: every last-stage variant of each drawn prefix.
  const auto blocks = BlockStitched(z, 3, {}, 5);
  ASSERT_EQ(blocks.size(), 12u);
  for (std::size_t i = 0; i < blocks.size(); ++i)
    EXPECT_EQ(blocks[i] / 4, blocks[i - i % 4] / 4);
  EXPECT_EQ(blocks, BlockStitched(z, 3, {}, 5));
}

TEST(ProcessorSetup, ParsesTheListForm) {
  const ProcessorSetup s = ParseProcessorSetup("cpu0:0:1,big:0+1:2,r:2-3:1");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[1].name, "big");
  EXPECT_EQ(s[1].cores, (std::vector<int>{0, 1}));
  EXPECT_EQ(s[1].threads, 2);
  EXPECT_EQ(s[2].cores, (std::vector<int>{2, 3}));
  EXPECT_EQ(ToString(s), "cpu0:0:1,big:0+1:2,r:2+3:1");
  EXPECT_THROW(ParseProcessorSetup("cpu0:0"), UsageError);
  EXPECT_THROW(ParseProcessorSetup("cpu0:x:1"), UsageError);
  EXPECT_THROW(ParseProcessorSetup("a:0:1,a:1:1"), UsageError);
  EXPECT_THROW(ParseProcessorSetup("a:0:0"), UsageError);
  EXPECT_THROW(ParseProcessorSetup("/no/such/processors.json"), InputError);
  // Bounded like a processor file: no gigabyte core list, no billion threads.
  EXPECT_THROW(ParseProcessorSetup("a:0-2000000000:1"), UsageError);
  EXPECT_THROW(ParseProcessorSetup("a:4096:1"), UsageError);
  EXPECT_THROW(ParseProcessorSetup("a:0:1025"), UsageError);
  EXPECT_EQ(ParseProcessorSetup("a:0-4095:1024")[0].cores.size(), 4096u);
}

TEST(ProcessorThread, RunsPinnedAndRethrows) {
  const std::vector<int> cores = runtime::AvailableCores();
  ASSERT_FALSE(cores.empty());
  engine::ProcessorConfig p;
  p.name = "pinned";
  p.cores = {cores.back()};
  runtime::ProcessorThread thread(p);
  int ran_on = -1;
  thread.Run([&] { ran_on = sched_getcpu(); });
  EXPECT_EQ(ran_on, cores.back());
  EXPECT_THROW(thread.Run([] { throw EngineError("boom"); }), EngineError);
  thread.Run([&] { ran_on = -2; });  // still serving after a failed job
  EXPECT_EQ(ran_on, -2);
  p.cores = {4095};
  EXPECT_THROW(runtime::ProcessorThread{p}, UsageError);
}

}  // namespace
}  // namespace sparseloom::profile
