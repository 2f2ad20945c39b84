#include "sim/device_task_profile.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "common/error.h"
#include "plan/planner.h"

namespace sparseloom::sim {
namespace {

PrecisionSupport Native(double peak, double utilization) {
  PrecisionSupport s;
  s.mode = PrecisionSupport::Mode::kNative;
  s.peak_ops_per_s = peak;
  s.utilization = utilization;
  return s;
}

PrecisionSupport Unsupported(const std::string& why) {
  PrecisionSupport s;
  s.mode = PrecisionSupport::Mode::kUnsupported;
  s.reason = why;
  return s;
}

// A CPU that runs everything and an NPU ten times faster that cannot run int8 stages.
DeviceProfile TestDevice() {
  DeviceProfile d;
  d.name = "test-soc";
  ProcessorProfile cpu;
  cpu.name = "cpu";
  cpu.precisions = {Native(2e10, 0.5), Native(4e10, 0.5), Native(8e10, 0.5)};
  cpu.memory_bytes_per_s = 1e10;
  cpu.dispatch_overhead_ms = 0.05;
  ProcessorProfile npu;
  npu.name = "npu";
  npu.kind = ProcessorKind::kNpu;
  npu.precisions = {Native(2e11, 0.5), Native(4e11, 0.5), Unsupported("test: no int8")};
  npu.memory_bytes_per_s = 4e9;
  npu.dispatch_overhead_ms = 0.2;
  d.processors = {cpu, npu};
  d.storage.read_bytes_per_s = 1e9;
  d.storage.per_load_ms = 1.0;
  return d;
}

engine::TensorSpec Spec(const std::string& name, std::vector<std::int64_t> shape,
                        engine::DType dtype = engine::DType::kFloat32) {
  engine::TensorSpec s;
  s.name = name;
  s.dtype = dtype;
  s.shape = std::move(shape);
  return s;
}

// A zoo of K = 3 stages and three variants (dense fp32, structured-pruned fp32, int8), in memory:
// the manifest metadata the cost model reads, no stage files.
zoo::Zoo TestZoo() {
  zoo::Zoo z;
  z.task = "shapes";
  z.family = "resnet";
  z.num_stages = 3;
  z.input = Spec("x", {-1, 1, 16, 16});
  z.boundaries = {Spec("b1", {-1, 8, 16, 16}), Spec("b2", {-1, 16, 8, 8})};
  z.output = Spec("logits", {-1, 10});
  const std::vector<std::string> ids = {"dense", "struct50", "int8"};
  for (std::size_t v = 0; v < ids.size(); ++v) {
    zoo::Variant variant;
    variant.id = ids[v];
    variant.accuracy = 0.9 - 0.1 * static_cast<double>(v);
    for (int k = 1; k <= 3; ++k) {
      zoo::StageInfo s;
      s.index = k;
      s.flops = 2'000'000 * k;
      s.bytes = 40'000 * k;
      if (ids[v] == "struct50") {
        s.sparsity_kind = zoo::SparsityKind::kStructured;
        s.sparsity_level = 0.5;
        s.flops /= 2;
        s.bytes /= 2;
      } else if (ids[v] == "int8") {
        s.precision = zoo::Precision::kInt8;
        s.bytes /= 4;
      }
      variant.stages.push_back(s);
    }
    z.variants.push_back(variant);
  }
  return z;
}

// What the host's performance table would give: accuracies and bytes (and host latencies, which
// the device profile replaces).
plan::TaskProfile HostProfile(const zoo::Zoo& z) {
  plan::TaskProfile p;
  p.task = z.task;
  p.num_stages = z.num_stages;
  for (const zoo::Variant& v : z.variants)
    p.variant_ids.push_back(v.id);
  p.processors = {"cpu0", "cpu1"};
  const std::size_t K = 3, V = 3, P = 2;
  p.stage_latency_ms.assign(K * V * P, 1.0);
  for (std::size_t k = 0; k < K; ++k)
    for (std::size_t v = 0; v < V; ++v)
      p.stage_bytes.push_back(static_cast<std::int64_t>(1000 * (k + 1) + v));
  std::mt19937_64 rng(7);
  for (std::size_t s = 0; s < 27; ++s)
    p.accuracy.push_back(std::uniform_real_distribution<double>(0.6, 0.9)(rng));
  p.handover_ms = {0.0, 0.02, 0.02, 0.0};
  p.stitch_gap_ms.assign(27, 0.3);
  return p;
}

TEST(DeviceTaskProfile, LatenciesFromTheCostModelAccuracyAndBytesFromTheHost) {
  const zoo::Zoo z = TestZoo();
  const plan::TaskProfile host = HostProfile(z);
  const DeviceProfile d = TestDevice();
  const plan::TaskProfile p = DeviceTaskProfile(z, host, d, {"cpu", "npu"});
  EXPECT_EQ(p.task, "shapes");
  EXPECT_EQ(p.processors, (std::vector<std::string>{"cpu", "npu"}));
  EXPECT_EQ(p.variant_ids, host.variant_ids);
  EXPECT_EQ(p.accuracy, host.accuracy);
  EXPECT_EQ(p.stage_bytes, host.stage_bytes);
  EXPECT_TRUE(p.stitch_gap_ms.empty());  // host software-stack figure: dropped
  for (int k = 0; k < 3; ++k) {
    for (int v = 0; v < 3; ++v) {
      const StageWork w = WorkOf(z, static_cast<std::size_t>(v), k + 1);
      EXPECT_DOUBLE_EQ(p.StageLatencyMs(k, v, 0), StageLatencyMs(d.Processor("cpu"), w));
      if (v == 2)
        EXPECT_EQ(p.StageLatencyMs(k, v, 1), kUnsupportedStageMs);
      else
        EXPECT_DOUBLE_EQ(p.StageLatencyMs(k, v, 1), StageLatencyMs(d.Processor("npu"), w));
    }
  }
  // The order of processors is the caller's.
  const plan::TaskProfile swapped = DeviceTaskProfile(z, host, d, {"npu", "cpu"});
  EXPECT_DOUBLE_EQ(swapped.StageLatencyMs(1, 0, 0), p.StageLatencyMs(1, 0, 1));
}

TEST(DeviceTaskProfile, HandoverIsOneDispatchPlusTheLargestBoundaryAtTheSlowerBandwidth) {
  const zoo::Zoo z = TestZoo();
  const DeviceProfile d = TestDevice();
  // b1: 8*16*16 floats = 8192 bytes; b2: 16*8*8 floats = 4096 bytes.
  EXPECT_EQ(LargestBoundaryBytes(z), 8192);
  const plan::TaskProfile p = DeviceTaskProfile(z, HostProfile(z), d, {"cpu", "npu"});
  ASSERT_EQ(p.handover_ms.size(), 4u);
  EXPECT_EQ(p.HandoverMs(0, 0), 0.0);
  EXPECT_EQ(p.HandoverMs(1, 1), 0.0);
  EXPECT_NEAR(p.HandoverMs(0, 1), 0.2 + 1000.0 * 8192 / 4e9, 1e-12);   // cpu -> npu
  EXPECT_NEAR(p.HandoverMs(1, 0), 0.05 + 1000.0 * 8192 / 4e9, 1e-12);  // npu -> cpu
}

TEST(DeviceTaskProfile, HostTableOfAnotherZooOrUnknownProcessorIsAnError) {
  const zoo::Zoo z = TestZoo();
  const DeviceProfile d = TestDevice();
  plan::TaskProfile other = HostProfile(z);
  other.variant_ids = {"dense", "int8", "struct50"};
  EXPECT_THROW(DeviceTaskProfile(z, other, d, {"cpu"}), UsageError);
  other = HostProfile(z);
  other.accuracy.pop_back();
  EXPECT_THROW(DeviceTaskProfile(z, other, d, {"cpu"}), UsageError);
  other = HostProfile(z);
  other.num_stages = 2;
  EXPECT_THROW(DeviceTaskProfile(z, other, d, {"cpu"}), UsageError);
  EXPECT_THROW(DeviceTaskProfile(z, HostProfile(z), d, {"cpu", "gpu"}), UsageError);
  EXPECT_THROW(DeviceTaskProfile(z, HostProfile(z), d, {}), UsageError);
}

TEST(DeviceTaskProfile, UnsupportedStagesAreNamed) {
  const std::vector<std::string> lines = UnsupportedStages(TestZoo(), TestDevice(), {"cpu", "npu"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("npu: npu cannot run int8 stages: test: no int8 (3 stages)"),
            std::string::npos)
      << lines[0];
}

plan::PlanRequest Request(const std::vector<plan::TaskProfile>& profiles,
                          const std::vector<plan::Slo>& slos) {
  plan::PlanRequest r;
  r.processors = profiles[0].processors;
  for (std::size_t t = 0; t < profiles.size(); ++t)
    r.tasks.push_back(plan::PlanTask{
        profiles[t].task + std::to_string(t), std::cref(profiles[t]), slos[t], 50.0, {}});
  return r;
}

bool UsesUnsupported(const plan::Plan& plan, const std::vector<plan::TaskProfile>& profiles) {
  for (std::size_t t = 0; t < plan.tasks.size(); ++t) {
    const plan::TaskPlan& tp = plan.tasks[t];
    const plan::TaskProfile& p = profiles[t];
    for (int k = 0; k < p.num_stages; ++k) {
      const auto uk = static_cast<std::size_t>(k);
      if (p.StageLatencyMs(k, tp.variant_of_stage[uk], tp.placement[uk]) >= kUnsupportedStageMs)
        return true;
    }
  }
  return false;
}

// The representation of "cannot run" must never be chosen by any planner while a supported
// choice exists: not when SLOs are met, not when they cannot be (tight latency, an accuracy only
// the unsupported variant reaches), and never counted as meeting an SLO.
TEST(DeviceTaskProfile, NoPlannerChoosesAnUnsupportedStage) {
  const zoo::Zoo z = TestZoo();
  plan::TaskProfile host = HostProfile(z);
  // Make int8 (unsupported on the fast NPU) the most accurate variant everywhere, so that the
  // accuracy-first baselines want it and only the CPU can give it.
  for (std::int64_t s = 0; s < 27; ++s)
    host.accuracy[static_cast<std::size_t>(s)] =
        s == 26 ? 0.95 : 0.5 + 0.01 * static_cast<double>(s % 9);
  const plan::TaskProfile p = DeviceTaskProfile(z, host, TestDevice(), {"cpu", "npu"});
  const std::vector<plan::TaskProfile> profiles = {p, p};
  std::mt19937_64 rng(3);
  int met = 0, plans = 0;
  for (int trial = 0; trial < 40; ++trial) {
    std::vector<plan::Slo> slos;
    for (int t = 0; t < 2; ++t) {
      plan::Slo slo;
      slo.min_accuracy = std::uniform_real_distribution<double>(0.4, 1.0)(rng);
      slo.max_latency_ms = std::uniform_real_distribution<double>(0.05, 20.0)(rng);
      slos.push_back(slo);
    }
    // K = 3 > P = 2: every mapping (orders need K <= P; pinned orders are tested below).
    const plan::PlanRequest r = Request(profiles, slos);
    for (const auto& planner : plan::MakeAllPlanners()) {
      const plan::Plan plan = planner->Solve(r);
      ++plans;
      EXPECT_FALSE(UsesUnsupported(plan, profiles)) << planner->Name() << " trial " << trial;
      for (const plan::TaskPlan& tp : plan.tasks) {
        EXPECT_LT(tp.latency_ms, kUnsupportedStageMs);
        met += tp.slo_met ? 1 : 0;
      }
    }
  }
  EXPECT_EQ(plans, 40 * 7);
  EXPECT_GT(met, 0);
}

TEST(DeviceTaskProfile, PinnedProfileLeavesThePlannerOnlyThatPlacement) {
  const zoo::Zoo z = TestZoo();
  const plan::TaskProfile p = DeviceTaskProfile(z, HostProfile(z), TestDevice(), {"cpu", "npu"});
  const auto sparseloom = plan::MakeSparseLoomPlanner();
  std::mt19937_64 rng(11);
  for (const plan::Placement& fixed : {plan::Placement{0, 1, 0}, plan::Placement{1, 1, 0},
                                       plan::Placement{1, 0, 0}, plan::Placement{0, 0, 0}}) {
    const plan::TaskProfile pinned = PinnedToPlacement(p, fixed);
    for (int trial = 0; trial < 20; ++trial) {
      plan::Slo slo;
      slo.min_accuracy = std::uniform_real_distribution<double>(0.5, 0.95)(rng);
      slo.max_latency_ms = std::uniform_real_distribution<double>(0.1, 10.0)(rng);
      const std::vector<plan::TaskProfile> profiles = {pinned};
      const plan::Plan plan = sparseloom->Solve(Request(profiles, {slo}));
      EXPECT_EQ(plan.tasks[0].placement, fixed);
      // Same verdict as planning over the unpinned profile restricted to that placement by hand:
      // the pinned latency is the unpinned one for the placement it allows.
      EXPECT_LT(plan.tasks[0].latency_ms, kUnsupportedStageMs);
    }
  }
  EXPECT_THROW(PinnedToPlacement(p, {0, 1}), UsageError);
  EXPECT_THROW(PinnedToPlacement(p, {0, 1, 2}), UsageError);
}

}  // namespace
}  // namespace sparseloom::sim
