// Stitched execution through the real TorchScript engine on the test zoos.

#include <cmath>
#include <set>

#include <gtest/gtest.h>

#include "engine/torchscript_engine.h"
#include "runtime/evaluation.h"
#include "runtime/stitched_chain.h"
#include "support/test_zoos.h"
#include "zoo/stitched_variant.h"

namespace sparseloom::runtime {
namespace {

class StitchedExecution : public ::testing::TestWithParam<const char*> {};

bool AllFp32(const zoo::Variant& v) {
  for (const auto& s : v.stages) {
    if (s.precision != zoo::Precision::kFp32)
      return false;
  }
  return true;
}

// Running (v, v, v) stage by stage reproduces v's whole PyTorch model to 1e-5 (fp32 variants).
TEST_P(StitchedExecution, OriginalVariantsReproducePyTorch) {
  const zoo::Zoo z = zoo::LoadZoo(testing::TestZoo(GetParam()));
  engine::TorchScriptEngine engine;
  ZooStages stages(z, engine, {});
  const LabelledSet reference = LoadReferenceSet(z, engine);
  int fp32_variants = 0;
  for (std::size_t v = 0; v < z.variants.size(); ++v) {
    const double err = MaxReferenceError(stages, v, reference);
    if (AllFp32(z.variants[v])) {
      ++fp32_variants;
      EXPECT_LE(err, 1e-5) << z.variants[v].id;
    } else {
      // Reduced precision: the same graph, so the same numbers up to rounding of bf16/int8.
      EXPECT_LE(err, 0.5) << z.variants[v].id;
    }
  }
  EXPECT_GE(fp32_variants, 7);
}

// Every one of the V^3 stitched variants runs, and the zoo mixes fp32, int8 and bf16 stages.
TEST_P(StitchedExecution, EveryStitchedVariantRuns) {
  const zoo::Zoo z = zoo::LoadZoo(testing::TestZoo(GetParam()));
  engine::TorchScriptEngine engine;
  ZooStages stages(z, engine, {});
  const LabelledSet reference = LoadReferenceSet(z, engine);
  std::int64_t ran = 0;
  std::int64_t mixing_three_precisions = 0;
  for (const auto& stitched : zoo::EnumerateStitched(z)) {
    StitchedChain chain(stages, stitched);
    const engine::Tensor out = chain.Run(reference.input, reference.side);
    ASSERT_TRUE(z.output.Accepts(out.Shape())) << zoo::ToString(z, stitched);
    ASSERT_EQ(out.BatchSize(), reference.size);
    // NaN or infinity anywhere makes x - x non-zero (NaN).
    ASSERT_EQ(engine.MaxAbsDiff(out, out), 0.0) << zoo::ToString(z, stitched) << " gave NaN/inf";
    std::set<zoo::Precision> precisions;
    for (std::size_t k = 0; k < stitched.variant_of_stage.size(); ++k) {
      precisions.insert(z.variants[stitched.variant_of_stage[k]].stages[k].precision);
    }
    mixing_three_precisions += precisions.size() == 3;
    ++ran;
  }
  EXPECT_EQ(ran, 1000);
  EXPECT_GT(mixing_three_precisions, 0);
  EXPECT_GT(stages.ResidentBytes(), 0);
}

// The C++ accuracy of an original variant agrees with the builder's PyTorch measurement.
TEST_P(StitchedExecution, AccuracyMatchesTheBuilder) {
  const zoo::Zoo z = zoo::LoadZoo(testing::TestZoo(GetParam()));
  engine::TorchScriptEngine engine;
  ZooStages stages(z, engine, {});
  const LabelledSet validation = LoadValidationSet(z, engine);
  for (const char* id : {"dense", "us90", "struct50", "int8", "bf16"}) {
    StitchedChain chain(stages, zoo::ParseStitch(z, id));
    const double accuracy = EvaluateAccuracy(chain, engine, validation, 128);
    const double tolerance = AllFp32(z.variants[z.VariantIndex(id)]) ? 1e-9 : 0.01;
    EXPECT_NEAR(accuracy, z.variants[z.VariantIndex(id)].accuracy, tolerance) << id;
  }
}

INSTANTIATE_TEST_SUITE_P(TestZoos, StitchedExecution,
                         ::testing::Values("tiny_cnn", "tiny_transformer"));

}  // namespace
}  // namespace sparseloom::runtime
