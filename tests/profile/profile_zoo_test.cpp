// The profiler end to end on the small test CNN zoo, through the TorchScript engine, with a budget
// small enough for a test: the table covers every stitched variant and placement, holds the
// originals' accuracies (the manifest's, checked against the measured reference; measured when the
// two disagree), survives a save and load, and converts for the planner; the latency ground truth
// alone checks the latency estimator on the chains it never saw.

#include <cmath>
#include <set>

#include <gtest/gtest.h>

#include "engine/torchscript_engine.h"
#include "profile/performance_table.h"
#include "profile/processor_setup.h"
#include "profile/profiler.h"
#include "support/test_zoos.h"
#include "zoo/stitched_variant.h"

namespace sparseloom::profile {
namespace {

TEST(Profiler, ProfilesATestZooWithATinyBudget) {
  const zoo::Zoo z = zoo::LoadZoo(testing::TestZoo("tiny_cnn"));
  engine::TorchScriptEngine engine;
  ProfileOptions options;
  options.processors = DefaultProcessorSetup();
  options.budget_minutes = 0.0;  // structured sample only, no random points
  options.stage_runs = 3;
  options.stage_warmup = 1;
  options.chain_runs = 2;
  options.chain_warmup = 1;
  options.chain_fraction = 0.0;  // 4 chains per placement
  int calls = 0;
  options.progress = [&](const std::string&, std::int64_t, std::int64_t) { ++calls; };
  const PerformanceTable t = ProfileZoo(z, engine, options);
  EXPECT_GT(calls, 0);
  EXPECT_NO_THROW(t.CheckShape());
  EXPECT_EQ(t.num_stitched(), z.StitchedCount());
  EXPECT_EQ(t.key, ProfileKey(z, options.processors));
  for (std::size_t v = 0; v < z.variants.size(); ++v) {
    zoo::StitchedVariant original;
    original.variant_of_stage.assign(3, v);
    const auto s = static_cast<std::size_t>(zoo::IndexOf(z, original));
    EXPECT_TRUE(t.accuracy_measured[s]);
    // The builder measured the same validation set (batching differs for int8).
    EXPECT_NEAR(t.accuracy[s], z.variants[v].accuracy, 0.01) << z.variants[v].id;
  }
  for (double ms : t.stage_latency_ms)
    EXPECT_GT(ms, 0.0);
  for (double a : t.accuracy) {
    EXPECT_GE(a, 0.0);
    EXPECT_LE(a, 1.0);
  }
  for (double ms : t.latency_ms)
    EXPECT_GT(ms, 0.0);

  const auto file = std::filesystem::temp_directory_path() / "sparseloom-profile-zoo-test.json";
  SavePerformanceTable(t, file);
  const auto fresh = LoadFreshTable(file, ProfileKey(z, options.processors));
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(fresh->accuracy, t.accuracy);
  const plan::TaskProfile profile = ToTaskProfile(*fresh);
  EXPECT_EQ(profile.accuracy.size(), 1000u);
  EXPECT_EQ(profile.stage_latency_ms.size(), 3u * 10u * t.processors.size());
}

ProfileOptions QuickOptions() {
  ProfileOptions options;
  options.processors = DefaultProcessorSetup();
  options.budget_minutes = 0.0;
  options.stage_runs = 3;
  options.stage_warmup = 1;
  options.chain_runs = 2;
  options.chain_warmup = 1;
  options.chain_fraction = 0.0;
  return options;
}

double OriginalAccuracy(const zoo::Zoo& z, const PerformanceTable& t, std::size_t v) {
  return t.accuracy[static_cast<std::size_t>(zoo::IndexOf(z, zoo::Original(z, v)))];
}

TEST(Profiler, TakesTheOriginalsFromTheManifestOnlyWhenItsReferenceAccuracyIsRight) {
  testing::ZooCopy copy("tiny_cnn", "manifest-accuracy");
  // `us30` is claimed at 0.5: believed while `dense` (the reference) agrees with its measurement.
  auto& variants = copy.manifest()["variants"];
  std::size_t us30 = 0, dense = 0;
  for (std::size_t v = 0; v < variants.size(); ++v) {
    if (variants[v]["id"] == "us30")
      us30 = v;
    if (variants[v]["id"] == "dense")
      dense = v;
  }
  const double us30_built = variants[us30]["accuracy"].get<double>();
  ASSERT_GT(std::abs(us30_built - 0.5), 0.05);
  variants[us30]["accuracy"] = 0.5;
  copy.Save();
  engine::TorchScriptEngine engine;
  const ProfileOptions options = QuickOptions();
  {
    const zoo::Zoo z = zoo::LoadZoo(copy.dir());
    const PerformanceTable t = ProfileZoo(z, engine, options);
    EXPECT_EQ(OriginalAccuracy(z, t, us30), 0.5);
  }
  // A manifest whose reference accuracy is not what the reference measures is not believed: every
  // original is measured.
  variants[dense]["accuracy"] = 0.25;
  copy.Save();
  const zoo::Zoo z = zoo::LoadZoo(copy.dir());
  const PerformanceTable t = ProfileZoo(z, engine, options);
  EXPECT_NEAR(OriginalAccuracy(z, t, us30), us30_built, 0.01);
  EXPECT_GT(OriginalAccuracy(z, t, dense), 0.5);
}

TEST(Profiler, LatencyGroundTruthAloneChecksOnlyTheLatencyEstimator) {
  const zoo::Zoo z = zoo::LoadZoo(testing::TestZoo("tiny_cnn"));
  engine::TorchScriptEngine engine;
  ProfileOptions options = QuickOptions();
  options.exhaustive = true;
  options.exhaustive_accuracy = false;
  options.exhaustive_chains = 40;
  std::set<std::string> phases;
  options.progress = [&](const std::string& phase, std::int64_t, std::int64_t) {
    phases.insert(phase);
  };
  const PerformanceTable t = ProfileZoo(z, engine, options);
  EXPECT_FALSE(phases.contains("exhaustive accuracy"));
  EXPECT_FALSE(t.exhaustive);
  ASSERT_TRUE(t.held_out.has_value());
  EXPECT_EQ(t.held_out->accuracy_points, 0);
  // 40 truth chains, less any the sample (4 per placement) already measured.
  EXPECT_GT(t.held_out->latency_points, 30);
  EXPECT_LE(t.held_out->latency_points, 40);
  EXPECT_GT(t.held_out->latency_mape, 0.0);
  std::int64_t accuracy_measured = 0;
  for (auto m : t.accuracy_measured)
    accuracy_measured += m;
  EXPECT_LT(accuracy_measured, z.StitchedCount());
}

}  // namespace
}  // namespace sparseloom::profile
