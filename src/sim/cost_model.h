#pragma once
// The cost model (docs/devices.md "Cost model"): the batch-1 latency of one stage on one processor
// of a device profile, from the stage's manifest metadata alone, and the time to load a stage's
// bytes from storage. A roofline with sparsity and a fixed dispatch cost:
//
//   ops       = flops × s_factor          (work left after the sparsity the processor exploits)
//   traffic   = weight_bytes × w_factor + activation_bytes
//   compute   = ops / (peak[p] × utilization[p] × family_factor[family][p])
//   memory    = traffic / memory_bytes_per_s
//   latency   = dispatch_overhead + max(compute, memory)
//
// p is the precision the processor executes the stage in (its own, or the one it converts it to).
// The manifest's flops count structurally removed channels as gone but unstructured zeros as work
// (docs/zoo-format.md), so with sparsity level s:
//   unstructured: s_factor = w_factor = 1 − e_u·s  (e_u = unstructured_exploited; sparse formats
//                 skip zero weights in both compute and weight traffic)
//   structured:   s_factor = (1 − e_s·s) / (1 − s), w_factor = 1  (e_s = structured_exploited; 1
//                 means the smaller dense stage runs as fast as its flops say, 0 as slow as the
//                 unpruned one)
//   none:         s_factor = w_factor = 1
//
// A stage the processor cannot run (unsupported precision or model family) has no latency: asking
// for one is a UsageError. Call WhyUnsupported first; a simulator treats such a placement as not
// allowed (documented choice, rather than an infinite cost that could leak into sums).

#include <cstdint>
#include <optional>
#include <string>

#include "sim/device_profile.h"
#include "zoo/zoo.h"

namespace sparseloom::sim {

// What the cost model needs to know about one stage: its manifest metadata plus the bytes of its
// boundary tensors at batch 1.
struct StageWork {
  std::string family;  // zoo.json "family", e.g. "resnet", "bert"
  zoo::Precision precision = zoo::Precision::kFp32;
  zoo::SparsityKind sparsity_kind = zoo::SparsityKind::kNone;
  double sparsity_level = 0.0;        // in [0, 1]
  std::int64_t flops = 0;             // manifest flops (batch 1)
  std::int64_t weight_bytes = 0;      // manifest bytes (the stage file)
  std::int64_t activation_bytes = 0;  // input + side inputs + output at batch 1
};

// Bytes of one sample (batch 1) of a tensor of this spec: dimension 0 is the batch.
std::int64_t Batch1Bytes(const engine::TensorSpec& spec);

// Stage `stage` (1-based) of variant `variant` of `zoo`.
StageWork WorkOf(const zoo::Zoo& zoo, std::size_t variant, int stage);

struct StageCost {
  ComputePrecision executed_as = ComputePrecision::kFp32;
  double ops = 0.0;            // after sparsity
  double traffic_bytes = 0.0;  // weights (after sparsity) + activations
  double effective_ops_per_s = 0.0;
  double compute_ms = 0.0;
  double memory_ms = 0.0;
  double overhead_ms = 0.0;
  double total_ms = 0.0;
  bool memory_bound() const { return memory_ms > compute_ms; }
};

// Why `processor` cannot run `work` (its precision or family), or nothing when it can.
std::optional<std::string> WhyUnsupported(const ProcessorProfile& processor, const StageWork& work);

// The cost of `work` on `processor` by the formula above. UsageError when WhyUnsupported says so.
StageCost EstimateStage(const ProcessorProfile& processor, const StageWork& work);
inline double StageLatencyMs(const ProcessorProfile& processor, const StageWork& work) {
  return EstimateStage(processor, work).total_ms;
}

// Time to read `bytes` of stage weights from storage: per_load_ms + bytes / read_bytes_per_s.
double LoadTimeMs(const StorageProfile& storage, std::int64_t bytes);

}  // namespace sparseloom::sim
