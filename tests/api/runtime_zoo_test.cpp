// The application API on the test zoos through the real engine: a submitted sample's outputs equal
// the stitched chain's (what `sparseloom zoo eval` runs) for the stitched variant the result names,
// side inputs included; bad inputs are refused at once, naming the input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/torchscript_engine.h"
#include "runtime/evaluation.h"
#include "runtime/stitched_chain.h"
#include "sparseloom/runtime.h"
#include "support/test_zoos.h"
#include "zoo/stitched_variant.h"

namespace sparseloom {
namespace {

Tensor Public(const engine::HostTensor& h) {
  const DType dtype = h.dtype == engine::DType::kInt64  ? DType::kInt64
                      : h.dtype == engine::DType::kBool ? DType::kBool
                                                        : DType::kFloat32;
  return Tensor::View(dtype, h.shape, h.owner, h.data, h.bytes);
}

void ExpectOutputsMatchTheStitchedChain(const std::string& zoo_name) {
  const char* profiles = std::getenv("SPARSELOOM_TEST_PROFILES");
  ASSERT_NE(profiles, nullptr) << "SPARSELOOM_TEST_PROFILES is not set: run through ctest";
  const std::filesystem::path dir = testing::TestZoo(zoo_name);
  Runtime rt({.processors = "cpu0:0:1,cpu1:1:1"});
  rt.AddTask("t", dir, {.min_accuracy = 0.0, .max_latency_ms = 1000.0},
             {.rate_per_s = 10.0, .profile_dir = profiles})
      .get();

  engine::TorchScriptEngine engine;
  const zoo::Zoo z = zoo::LoadZoo(dir);
  const runtime::LabelledSet set = runtime::LoadValidationSet(z, engine);
  runtime::ZooStages stages(z, engine, engine::ProcessorConfig{});
  for (std::int64_t i = 0; i < 4; ++i) {
    std::vector<Tensor> inputs{Public(engine.ToHost(engine.SliceBatch(set.input, i, i + 1)))};
    std::vector<engine::Tensor> side;
    for (const engine::Tensor& s : set.side) {
      side.push_back(engine.SliceBatch(s, i, i + 1));
      inputs.push_back(Public(engine.ToHost(side.back())));
    }
    const Result r = rt.Submit("t", inputs).get();
    ASSERT_TRUE(r.completed) << r.error;
    ASSERT_EQ(r.outputs.size(), 1u);
    const runtime::StitchedChain chain(stages, zoo::ParseStitch(z, r.stitched));
    const engine::HostTensor want =
        engine.ToHost(chain.Run(engine.SliceBatch(set.input, i, i + 1), side));
    const std::span<const float> got = r.outputs[0].values<float>();
    ASSERT_EQ(got.size() * sizeof(float), want.bytes);
    const float* w = static_cast<const float*>(want.data);
    for (std::size_t j = 0; j < got.size(); ++j)
      EXPECT_NEAR(got[j], w[j], 1e-5) << zoo_name << " sample " << i << " logit " << j;
  }
  const Result bad = rt.Submit("t", {Tensor::Of<float>({1}, {0.0f})}).get();
  EXPECT_FALSE(bad.completed);
  EXPECT_EQ(bad.slo_miss, "rejected");
  EXPECT_FALSE(bad.error.empty());
  const Stats stats = rt.GetStats();
  ASSERT_EQ(stats.tasks.size(), 1u);
  EXPECT_EQ(stats.tasks[0].completed, 4);
  EXPECT_EQ(stats.tasks[0].rejected, 1);
}

TEST(RuntimeApiTest, OutputsEqualTheStitchedChainOnTheCnnZoo) {
  ExpectOutputsMatchTheStitchedChain("tiny_cnn");
}

TEST(RuntimeApiTest, OutputsEqualTheStitchedChainWithSideInputs) {
  ExpectOutputsMatchTheStitchedChain("tiny_transformer");
}

}  // namespace
}  // namespace sparseloom
