// The profiler end to end on the small test CNN zoo, through the TorchScript engine, with a budget
// small enough for a test: the table covers every stitched variant and placement, holds measured
// originals, survives a save and load, and converts for the planner.

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

}  // namespace
}  // namespace sparseloom::profile
