#include "sim/cost_model.h"

#include <algorithm>

#include "common/error.h"

namespace sparseloom::sim {
namespace {

// Above this level the structured reconstruction (1 − e·s)/(1 − s) would blow up on a stage that
// is nearly all removed; such a stage is treated as pruned at this level.
constexpr double kMaxStructuredLevel = 0.99;

}  // namespace

std::int64_t Batch1Bytes(const engine::TensorSpec& spec) {
  std::int64_t elements = 1;
  for (std::size_t i = 1; i < spec.shape.size(); ++i)
    elements *= spec.shape[i];
  // Manifests name only dtypes with a size (engine::ParseDType refuses others).
  return elements * static_cast<std::int64_t>(engine::ElementBytes(spec.dtype));
}

StageWork WorkOf(const zoo::Zoo& zoo, std::size_t variant, int stage) {
  if (variant >= zoo.variants.size() || stage < 1 || stage > zoo.num_stages) {
    throw UsageError("zoo " + zoo.task + " has no stage " + std::to_string(stage) + " of variant " +
                     std::to_string(variant));
  }
  const zoo::StageInfo& info = zoo.variants[variant].stages[static_cast<std::size_t>(stage - 1)];
  const engine::StageSignature signature = zoo.Signature(stage);
  StageWork w;
  w.family = zoo.family;
  w.precision = info.precision;
  w.sparsity_kind = info.sparsity_kind;
  w.sparsity_level = info.sparsity_level;
  w.flops = info.flops;
  w.weight_bytes = info.bytes;
  w.activation_bytes = Batch1Bytes(signature.input) + Batch1Bytes(signature.output);
  for (const engine::TensorSpec& side : signature.side_inputs)
    w.activation_bytes += Batch1Bytes(side);
  return w;
}

std::optional<std::string> WhyUnsupported(const ProcessorProfile& processor,
                                          const StageWork& work) {
  auto family = processor.unsupported_families.find(work.family);
  if (family != processor.unsupported_families.end()) {
    return processor.name + " cannot run " + work.family + " stages: " + family->second;
  }
  const ComputePrecision precision = ComputePrecisionOf(work.precision);
  const PrecisionSupport& support = processor.Support(precision);
  if (support.mode == PrecisionSupport::Mode::kUnsupported) {
    return processor.name + " cannot run " + zoo::ToString(work.precision) +
           " stages: " + support.reason;
  }
  return std::nullopt;
}

StageCost EstimateStage(const ProcessorProfile& processor, const StageWork& work) {
  if (auto why = WhyUnsupported(processor, work))
    throw UsageError(*why);
  if (work.flops < 0 || work.weight_bytes < 0 || work.activation_bytes < 0 ||
      !(work.sparsity_level >= 0.0 && work.sparsity_level <= 1.0)) {
    throw UsageError(
        "stage metadata out of range: flops, bytes must be non-negative and the "
        "sparsity level in [0, 1]");
  }
  StageCost c;
  c.executed_as = ComputePrecisionOf(work.precision);
  if (processor.Support(c.executed_as).mode == PrecisionSupport::Mode::kExecutedAs)
    c.executed_as = processor.Support(c.executed_as).executed_as;
  const PrecisionSupport& support = processor.Support(c.executed_as);

  double ops_factor = 1.0;
  double weight_factor = 1.0;
  const double s = work.sparsity_level;
  switch (work.sparsity_kind) {
    case zoo::SparsityKind::kNone:
      break;
    case zoo::SparsityKind::kUnstructured:
      ops_factor = 1.0 - processor.unstructured_exploited * s;
      weight_factor = ops_factor;
      break;
    case zoo::SparsityKind::kStructured: {
      const double level = std::min(s, kMaxStructuredLevel);
      ops_factor = (1.0 - processor.structured_exploited * level) / (1.0 - level);
      break;
    }
  }
  c.ops = static_cast<double>(work.flops) * ops_factor;
  c.traffic_bytes = static_cast<double>(work.weight_bytes) * weight_factor +
                    static_cast<double>(work.activation_bytes);
  c.effective_ops_per_s =
      support.EffectiveOpsPerS() * processor.FamilyFactor(work.family, c.executed_as);
  c.compute_ms = 1e3 * c.ops / c.effective_ops_per_s;
  c.memory_ms = 1e3 * c.traffic_bytes / processor.memory_bytes_per_s;
  c.overhead_ms = processor.dispatch_overhead_ms;
  c.total_ms = c.overhead_ms + std::max(c.compute_ms, c.memory_ms);
  return c;
}

double LoadTimeMs(const StorageProfile& storage, std::int64_t bytes) {
  if (bytes < 0)
    throw UsageError("cannot load a negative number of bytes");
  return storage.per_load_ms + 1e3 * static_cast<double>(bytes) / storage.read_bytes_per_s;
}

}  // namespace sparseloom::sim
