#include "sim/cost_model_fit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "common/error.h"

namespace sparseloom::sim {
namespace {

PrecisionSupport Native(double peak, double utilization) {
  PrecisionSupport s;
  s.peak_ops_per_s = peak;
  s.utilization = utilization;
  return s;
}

ProcessorProfile Truth() {
  ProcessorProfile p;
  p.name = "cpu";
  p.precisions = {Native(1e11, 0.3), Native(1e12, 0.08), Native(2e12, 0.1)};
  p.memory_bytes_per_s = 3e9;
  p.unstructured_exploited = 0.25;
  p.structured_exploited = 0.8;
  p.dispatch_overhead_ms = 0.15;
  p.family_factors["bert"] = {0.9, 0.5, 0.4};
  return p;
}

// Stages spanning overhead-, compute- and memory-bound regimes, every precision, sparsity kind and
// two families; latencies from `truth`, times multiplicative noise of `noise` (log-normal sigma).
std::vector<LatencySample> Synthetic(const ProcessorProfile& truth, double noise,
                                     unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::lognormal_distribution<double> jitter(0.0, noise);
  std::vector<LatencySample> out;
  const std::vector<std::int64_t> flops = {1'000'000, 10'000'000, 50'000'000, 200'000'000};
  const std::vector<std::int64_t> bytes = {20'000, 500'000, 4'000'000, 30'000'000};
  for (const char* family : {"resnet", "bert"}) {
    for (zoo::Precision precision :
         {zoo::Precision::kFp32, zoo::Precision::kBf16, zoo::Precision::kInt8}) {
      for (zoo::SparsityKind kind : {zoo::SparsityKind::kNone, zoo::SparsityKind::kUnstructured,
                                     zoo::SparsityKind::kStructured}) {
        for (double level : {0.3, 0.7}) {
          for (std::size_t i = 0; i < flops.size(); ++i) {
            for (std::size_t j = 0; j < bytes.size(); ++j) {
              LatencySample s;
              s.work.family = family;
              s.work.precision = precision;
              s.work.sparsity_kind = kind;
              s.work.sparsity_level = kind == zoo::SparsityKind::kNone ? 0.0 : level;
              s.work.flops = flops[i];
              s.work.weight_bytes = bytes[j];
              s.work.activation_bytes = 10'000;
              s.measured_ms = StageLatencyMs(truth, s.work) * (noise > 0 ? jitter(rng) : 1.0);
              s.group = family;
              out.push_back(s);
            }
          }
        }
      }
    }
  }
  return out;
}

// A start far from the truth: every free parameter off by a large factor.
ProcessorProfile Start() {
  ProcessorProfile p = Truth();
  p.precisions[0].utilization = 0.9;
  p.precisions[1].utilization = 0.9;
  p.precisions[2].utilization = 0.9;
  p.memory_bytes_per_s = 1e11;
  p.unstructured_exploited = 0.5;
  p.structured_exploited = 0.5;
  p.dispatch_overhead_ms = 1.0;
  p.family_factors.clear();
  return p;
}

TEST(CostModelFit, RecoversKnownParametersExactly) {
  const ProcessorProfile truth = Truth();
  const std::vector<LatencySample> samples = Synthetic(truth, 0.0);
  const FitResult fit = FitProcessor(Start(), samples);
  const ProcessorProfile& f = fit.processor;
  EXPECT_LT(fit.mape, 1e-3);
  for (int i = 0; i < kNumComputePrecisions; ++i)
    EXPECT_NEAR(f.precisions[i].utilization / truth.precisions[i].utilization, 1.0, 1e-3) << i;
  EXPECT_NEAR(f.memory_bytes_per_s / truth.memory_bytes_per_s, 1.0, 1e-3);
  EXPECT_NEAR(f.dispatch_overhead_ms, truth.dispatch_overhead_ms, 1e-4);
  EXPECT_NEAR(f.unstructured_exploited, truth.unstructured_exploited, 1e-3);
  EXPECT_NEAR(f.structured_exploited, truth.structured_exploited, 1e-3);
  for (int i = 0; i < kNumComputePrecisions; ++i) {
    EXPECT_NEAR(f.FamilyFactor("bert", static_cast<ComputePrecision>(i)),
                truth.FamilyFactor("bert", static_cast<ComputePrecision>(i)), 1e-3);
  }
  EXPECT_DOUBLE_EQ(f.FamilyFactor("resnet", ComputePrecision::kFp32), 1.0);  // the reference
  EXPECT_EQ(fit.predicted_ms.size(), samples.size());
  EXPECT_EQ(fit.mape_by_group.size(), 2u);
}

TEST(CostModelFit, RecoversKnownParametersUnderNoise) {
  const ProcessorProfile truth = Truth();
  const FitResult fit = FitProcessor(Start(), Synthetic(truth, 0.05, 7));
  const ProcessorProfile& f = fit.processor;
  EXPECT_LT(fit.rms_log_error, 0.07);
  EXPECT_NEAR(f.precisions[0].utilization / truth.precisions[0].utilization, 1.0, 0.05);
  EXPECT_NEAR(f.memory_bytes_per_s / truth.memory_bytes_per_s, 1.0, 0.05);
  EXPECT_NEAR(f.dispatch_overhead_ms, truth.dispatch_overhead_ms, 0.02);
  EXPECT_NEAR(f.structured_exploited, truth.structured_exploited, 0.05);
}

TEST(CostModelFit, FixedParametersStayFixed) {
  FitOptions options;
  options.fit_bandwidth = false;
  options.fit_family_factors = false;
  ProcessorProfile start = Start();
  const FitResult fit = FitProcessor(start, Synthetic(Truth(), 0.0), options);
  EXPECT_DOUBLE_EQ(fit.processor.memory_bytes_per_s, start.memory_bytes_per_s);
  EXPECT_TRUE(fit.processor.family_factors.empty());
  for (const std::string& name : fit.parameters)
    EXPECT_EQ(name.find("memory"), std::string::npos);
}

TEST(CostModelFit, RejectsBadSamples) {
  EXPECT_THROW(FitProcessor(Start(), std::vector<LatencySample>{}), UsageError);
  std::vector<LatencySample> samples = Synthetic(Truth(), 0.0);
  samples[3].measured_ms = 0.0;
  EXPECT_THROW(FitProcessor(Start(), samples), UsageError);
  ProcessorProfile no_int8 = Start();
  no_int8.precisions[2].mode = PrecisionSupport::Mode::kUnsupported;
  EXPECT_THROW(FitProcessor(no_int8, Synthetic(Truth(), 0.0)), UsageError);
}

}  // namespace
}  // namespace sparseloom::sim
