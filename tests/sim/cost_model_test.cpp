#include "sim/cost_model.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace sparseloom::sim {
namespace {

PrecisionSupport Native(double peak, double utilization) {
  PrecisionSupport s;
  s.mode = PrecisionSupport::Mode::kNative;
  s.peak_ops_per_s = peak;
  s.utilization = utilization;
  return s;
}

// 1e11 fp32 FLOP/s effective, 4e11 half, 8e11 int8; 1e10 B/s; 0.1 ms per stage.
ProcessorProfile Cpu() {
  ProcessorProfile p;
  p.name = "cpu";
  p.precisions = {Native(2e11, 0.5), Native(8e11, 0.5), Native(1.6e12, 0.5)};
  p.memory_bytes_per_s = 1e10;
  p.unstructured_exploited = 0.0;
  p.structured_exploited = 1.0;
  p.dispatch_overhead_ms = 0.1;
  return p;
}

StageWork Work(std::int64_t flops, std::int64_t bytes,
               zoo::Precision precision = zoo::Precision::kFp32) {
  StageWork w;
  w.family = "resnet";
  w.precision = precision;
  w.flops = flops;
  w.weight_bytes = bytes;
  w.activation_bytes = 0;
  return w;
}

TEST(CostModel, RooflineOfComputeAndMemoryPlusOverhead) {
  const ProcessorProfile p = Cpu();
  // Compute-bound: 1e8 FLOP / 1e11 = 1 ms; 1e6 B / 1e10 = 0.1 ms.
  StageCost c = EstimateStage(p, Work(100'000'000, 1'000'000));
  EXPECT_NEAR(c.compute_ms, 1.0, 1e-12);
  EXPECT_NEAR(c.memory_ms, 0.1, 1e-12);
  EXPECT_NEAR(c.total_ms, 1.1, 1e-12);
  EXPECT_FALSE(c.memory_bound());
  // Memory-bound: 1e6 FLOP = 0.01 ms; 1e8 B = 10 ms.
  c = EstimateStage(p, Work(1'000'000, 100'000'000));
  EXPECT_TRUE(c.memory_bound());
  EXPECT_NEAR(c.total_ms, 10.1, 1e-9);
  // Precision picks the throughput.
  EXPECT_NEAR(EstimateStage(p, Work(400'000'000, 0, zoo::Precision::kBf16)).compute_ms, 1.0, 1e-12);
  EXPECT_NEAR(EstimateStage(p, Work(800'000'000, 0, zoo::Precision::kInt8)).compute_ms, 1.0, 1e-12);
}

TEST(CostModel, MonotonicInFlopsAndBytes) {
  const ProcessorProfile p = Cpu();
  for (zoo::Precision precision :
       {zoo::Precision::kFp32, zoo::Precision::kBf16, zoo::Precision::kInt8}) {
    double previous = 0.0;
    for (std::int64_t flops = 0; flops <= 2'000'000'000; flops += 50'000'000) {
      const double t = StageLatencyMs(p, Work(flops, 3'000'000, precision));
      EXPECT_GE(t, previous);
      previous = t;
    }
    previous = 0.0;
    for (std::int64_t bytes = 0; bytes <= 200'000'000; bytes += 5'000'000) {
      const double t = StageLatencyMs(p, Work(50'000'000, bytes, precision));
      EXPECT_GE(t, previous);
      previous = t;
    }
  }
  StageWork w = Work(50'000'000, 1'000'000);
  const double without = StageLatencyMs(p, w);
  w.activation_bytes = 500'000'000;
  EXPECT_GT(StageLatencyMs(p, w), without);
}

TEST(CostModel, UnstructuredSparsityOnlyAsDeclared) {
  ProcessorProfile p = Cpu();
  StageWork w = Work(100'000'000, 0);
  w.sparsity_kind = zoo::SparsityKind::kUnstructured;
  w.sparsity_level = 0.9;
  // Not exploited: 90% zeros take dense time.
  EXPECT_NEAR(StageLatencyMs(p, w), StageLatencyMs(p, Work(100'000'000, 0)), 1e-12);
  // Half exploited: 1 − 0.5·0.9 = 0.55 of the work; weight traffic shrinks the same way.
  p.unstructured_exploited = 0.5;
  EXPECT_NEAR(EstimateStage(p, w).compute_ms, 0.55, 1e-12);
  w.flops = 0;
  w.weight_bytes = 100'000'000;
  EXPECT_NEAR(EstimateStage(p, w).memory_ms, 5.5, 1e-9);
  // Exploiting unstructured sparsity does nothing for structured or dense stages.
  StageWork dense = Work(100'000'000, 0);
  EXPECT_NEAR(EstimateStage(p, dense).compute_ms, 1.0, 1e-12);
}

TEST(CostModel, StructuredSparsityOnlyAsDeclared) {
  ProcessorProfile p = Cpu();
  // A 50% structured stage whose manifest flops (5e7) already count the removed channels.
  StageWork w = Work(50'000'000, 0);
  w.sparsity_kind = zoo::SparsityKind::kStructured;
  w.sparsity_level = 0.5;
  EXPECT_NEAR(EstimateStage(p, w).compute_ms, 0.5, 1e-12);  // fully exploited: as its flops say
  p.structured_exploited = 0.0;
  EXPECT_NEAR(EstimateStage(p, w).compute_ms, 1.0, 1e-12);  // not at all: the unpruned 1e8
  p.structured_exploited = 0.5;
  EXPECT_NEAR(EstimateStage(p, w).compute_ms, 0.75, 1e-12);
  // Structured exploitation leaves unstructured stages alone.
  StageWork u = Work(100'000'000, 0);
  u.sparsity_kind = zoo::SparsityKind::kUnstructured;
  u.sparsity_level = 0.5;
  EXPECT_NEAR(EstimateStage(p, u).compute_ms, 1.0, 1e-12);
}

TEST(CostModel, UnsupportedPrecisionOrFamilyIsAnErrorNotACost) {
  ProcessorProfile p = Cpu();
  p.name = "dla";
  p.precisions[static_cast<int>(ComputePrecision::kFp32)].mode =
      PrecisionSupport::Mode::kUnsupported;
  p.precisions[static_cast<int>(ComputePrecision::kFp32)].reason = "fp16 and int8 only";
  p.unsupported_families["bert"] = "no LayerNorm";
  const StageWork fp32 = Work(1'000'000, 0);
  ASSERT_TRUE(WhyUnsupported(p, fp32).has_value());
  EXPECT_NE(WhyUnsupported(p, fp32)->find("fp16 and int8 only"), std::string::npos);
  EXPECT_THROW(EstimateStage(p, fp32), UsageError);
  StageWork bert = Work(1'000'000, 0, zoo::Precision::kInt8);
  EXPECT_FALSE(WhyUnsupported(p, bert).has_value());
  bert.family = "bert";
  EXPECT_NE(WhyUnsupported(p, bert)->find("no LayerNorm"), std::string::npos);
  EXPECT_THROW(StageLatencyMs(p, bert), UsageError);
}

TEST(CostModel, ExecutedAsUsesTheOtherPrecisionsThroughput) {
  ProcessorProfile p = Cpu();
  PrecisionSupport& fp32 = p.precisions[static_cast<int>(ComputePrecision::kFp32)];
  fp32.mode = PrecisionSupport::Mode::kExecutedAs;
  fp32.executed_as = ComputePrecision::kHalf;
  const StageCost c = EstimateStage(p, Work(400'000'000, 0));
  EXPECT_EQ(c.executed_as, ComputePrecision::kHalf);
  EXPECT_NEAR(c.compute_ms, 1.0, 1e-12);
}

TEST(CostModel, FamilyFactorsScaleThroughput) {
  ProcessorProfile p = Cpu();
  p.family_factors["bert"] = {0.5, 1.0, 1.0};
  StageWork w = Work(100'000'000, 0);
  EXPECT_NEAR(EstimateStage(p, w).compute_ms, 1.0, 1e-12);
  w.family = "bert";
  EXPECT_NEAR(EstimateStage(p, w).compute_ms, 2.0, 1e-12);
}

TEST(CostModel, LoadTimeIsFixedPlusBytesOverBandwidth) {
  StorageProfile s{.read_bytes_per_s = 1e9, .per_load_ms = 2.0};
  EXPECT_NEAR(LoadTimeMs(s, 0), 2.0, 1e-12);
  EXPECT_NEAR(LoadTimeMs(s, 500'000'000), 502.0, 1e-9);
  EXPECT_LT(LoadTimeMs(s, 1000), LoadTimeMs(s, 2000));
  EXPECT_THROW(LoadTimeMs(s, -1), UsageError);
}

TEST(CostModel, BadStageMetadataIsAnError) {
  StageWork w = Work(-1, 0);
  EXPECT_THROW(EstimateStage(Cpu(), w), UsageError);
  w = Work(1, 0);
  w.sparsity_level = 1.5;
  EXPECT_THROW(EstimateStage(Cpu(), w), UsageError);
}

}  // namespace
}  // namespace sparseloom::sim
