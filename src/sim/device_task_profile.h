#pragma once
// A task's planner profile on a simulated device (docs/results.md "How a device profile becomes a
// task profile"): the host's performance table says what is device-independent — the accuracy of
// every stitched variant and the resident bytes of every stage — and the device profile with the
// cost model says what is not — the latency of every stage on every processor and the cost of
// handing a boundary from one processor to another.
//
//   stage_latency_ms[k, v, p] = EstimateStage(processor p, WorkOf(zoo, v, k))
//   handover_ms[p, q]         = dispatch_overhead(q) + max_k boundary_bytes(k) / min(bw_p, bw_q)
//                               (p != q; 0 when p == q)
//   stitch_gap_ms             = none
//
// The hand-over is one more dispatch on the receiving processor (its runtime is kicked after the
// producer's completion is seen) plus one copy of the boundary tensor through the shared DRAM at
// the slower side's bandwidth: the processors' runtimes (OpenVINO's CPU, GPU and NPU plugins;
// TensorRT and the CPU) keep their own buffers even on unified memory. The largest of the task's
// K-1 boundaries is used, since the profile has one cost per processor pair.
//
// The host table's stitch gap (measured chain latency minus its summed stages, from casts and
// caches of libtorch on this CPU) is dropped: it is a property of the host's software stack, in
// host milliseconds, and the cost model has no term it would correct.
//
// A stage a processor cannot run (cost_model.h WhyUnsupported) gets kUnsupportedStageMs: finite
// (the planner validates finite latencies and sums them), far above any SLO the workload draws
// (so a placement using it never meets one), and with a load (rate x 1000 s) that no real choice
// comes near, so the planner's objective (violations, then the busiest processor's load) never
// picks it while any supported placement exists.

#include <cstdint>
#include <string>
#include <vector>

#include "plan/planner.h"
#include "plan/problem.h"
#include "sim/cost_model.h"
#include "sim/device_profile.h"
#include "zoo/zoo.h"

namespace sparseloom::sim {

inline constexpr double kUnsupportedStageMs = 1e6;

// The planner's profile of `zoo`'s task on `device`'s processors named `processors` (in that
// order). `host` is the task's profile from its host performance table (profile::ToTaskProfile);
// it must describe the same zoo (stages and variant ids in the same order). UsageError naming the
// task and what differs otherwise, or when a processor name is not the device's.
plan::TaskProfile DeviceTaskProfile(const zoo::Zoo& zoo, const plan::TaskProfile& host,
                                    const DeviceProfile& device,
                                    const std::vector<std::string>& processors);

// The hand-over cost of the formula above for a boundary of `boundary_bytes`.
double HandoverMs(const ProcessorProfile& from, const ProcessorProfile& to,
                  std::int64_t boundary_bytes);

// Bytes of the largest of `zoo`'s K-1 boundary tensors at batch 1 (0 when K = 1).
std::int64_t LargestBoundaryBytes(const zoo::Zoo& zoo);

// Why stages of `zoo` cannot run on some of `processors`: one line per (processor, reason), e.g.
// "dla0: dla0 cannot run fp32 stages: ... (10 stages)". Empty when every stage runs everywhere.
std::vector<std::string> UnsupportedStages(const zoo::Zoo& zoo, const DeviceProfile& device,
                                           const std::vector<std::string>& processors);

// `profile` with every stage pinned to its processor in `placement` (the other processors get
// kUnsupportedStageMs): a planner given it can only choose `placement`, which is how a fixed
// placement order is compared with the planner's free choice. UsageError on a placement of the
// wrong length or naming no processor of the profile.
plan::TaskProfile PinnedToPlacement(const plan::TaskProfile& profile,
                                    const plan::Placement& placement);

}  // namespace sparseloom::sim
