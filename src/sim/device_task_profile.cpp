#include "sim/device_task_profile.h"

#include <algorithm>
#include <map>

#include "common/error.h"

namespace sparseloom::sim {
namespace {

// The host profile must describe this zoo: same K, same variant ids in the same order, and
// vectors of the sizes the planner expects.
void CheckSameZoo(const zoo::Zoo& zoo, const plan::TaskProfile& host) {
  const std::string where = "task '" + host.task + "' (zoo " + zoo.dir.string() + ")";
  if (host.num_stages != zoo.num_stages) {
    throw UsageError(where + ": its performance table has K = " + std::to_string(host.num_stages) +
                     " stages, the zoo " + std::to_string(zoo.num_stages));
  }
  std::vector<std::string> ids;
  for (const zoo::Variant& v : zoo.variants)
    ids.push_back(v.id);
  if (ids != host.variant_ids) {
    throw UsageError(where + ": its performance table lists other variants than the zoo (" +
                     std::to_string(host.variant_ids.size()) + " in the table, " +
                     std::to_string(ids.size()) + " in the zoo, or in another order)");
  }
  const std::size_t K = static_cast<std::size_t>(host.num_stages);
  const std::size_t V = ids.size();
  if (host.stage_bytes.size() != K * V) {
    throw UsageError(where + ": stage_bytes: expected K*V = " + std::to_string(K * V) +
                     " entries, got " + std::to_string(host.stage_bytes.size()));
  }
  std::size_t stitched = 1;
  for (std::size_t k = 0; k < K; ++k)
    stitched *= V;
  if (host.accuracy.size() != stitched) {
    throw UsageError(where + ": accuracy: expected V^K = " + std::to_string(stitched) +
                     " entries, got " + std::to_string(host.accuracy.size()));
  }
}

}  // namespace

std::int64_t LargestBoundaryBytes(const zoo::Zoo& zoo) {
  std::int64_t largest = 0;
  for (const engine::TensorSpec& b : zoo.boundaries)
    largest = std::max(largest, Batch1Bytes(b));
  return largest;
}

double HandoverMs(const ProcessorProfile& from, const ProcessorProfile& to,
                  std::int64_t boundary_bytes) {
  if (from.name == to.name)
    return 0.0;
  const double bandwidth = std::min(from.memory_bytes_per_s, to.memory_bytes_per_s);
  return to.dispatch_overhead_ms + 1000.0 * static_cast<double>(boundary_bytes) / bandwidth;
}

plan::TaskProfile DeviceTaskProfile(const zoo::Zoo& zoo, const plan::TaskProfile& host,
                                    const DeviceProfile& device,
                                    const std::vector<std::string>& processors) {
  CheckSameZoo(zoo, host);
  if (processors.empty())
    throw UsageError("device " + device.name + ": no processors to simulate");
  std::vector<const ProcessorProfile*> procs;
  for (const std::string& name : processors)
    procs.push_back(&device.Processor(name));

  const int K = zoo.num_stages;
  const int V = static_cast<int>(zoo.variants.size());
  const int P = static_cast<int>(procs.size());
  plan::TaskProfile out;
  out.task = host.task;
  out.num_stages = K;
  out.variant_ids = host.variant_ids;
  out.processors = processors;
  out.stage_bytes = host.stage_bytes;
  out.accuracy = host.accuracy;
  out.accuracy_measured = host.accuracy_measured;
  out.accuracy_margin = host.accuracy_margin;
  out.stage_latency_ms.resize(static_cast<std::size_t>(K * V * P));
  for (int k = 0; k < K; ++k) {
    for (int v = 0; v < V; ++v) {
      const StageWork work = WorkOf(zoo, static_cast<std::size_t>(v), k + 1);
      for (int p = 0; p < P; ++p) {
        const ProcessorProfile& processor = *procs[static_cast<std::size_t>(p)];
        out.stage_latency_ms[out.StageLatencyIndex(k, v, p)] =
            WhyUnsupported(processor, work) ? kUnsupportedStageMs : StageLatencyMs(processor, work);
      }
    }
  }
  const std::int64_t boundary = LargestBoundaryBytes(zoo);
  out.handover_ms.resize(static_cast<std::size_t>(P * P));
  for (int p = 0; p < P; ++p)
    for (int q = 0; q < P; ++q)
      out.handover_ms[static_cast<std::size_t>(p * P + q)] = HandoverMs(
          *procs[static_cast<std::size_t>(p)], *procs[static_cast<std::size_t>(q)], boundary);
  return out;
}

std::vector<std::string> UnsupportedStages(const zoo::Zoo& zoo, const DeviceProfile& device,
                                           const std::vector<std::string>& processors) {
  std::vector<std::string> out;
  for (const std::string& name : processors) {
    const ProcessorProfile& processor = device.Processor(name);
    std::map<std::string, int> stages_by_reason;
    for (std::size_t v = 0; v < zoo.variants.size(); ++v)
      for (int k = 1; k <= zoo.num_stages; ++k)
        if (auto why = WhyUnsupported(processor, WorkOf(zoo, v, k)))
          ++stages_by_reason[*why];
    for (const auto& [why, count] : stages_by_reason)
      out.push_back(name + ": " + why + " (" + std::to_string(count) + " stage" +
                    (count == 1 ? "" : "s") + ")");
  }
  return out;
}

plan::TaskProfile PinnedToPlacement(const plan::TaskProfile& profile,
                                    const plan::Placement& placement) {
  const int K = profile.num_stages;
  const int V = profile.num_variants();
  const int P = profile.num_processors();
  if (static_cast<int>(placement.size()) != K) {
    throw UsageError("task '" + profile.task + "': a placement of " +
                     std::to_string(placement.size()) +
                     " stages for a zoo of K = " + std::to_string(K));
  }
  if (profile.stage_latency_ms.size() != static_cast<std::size_t>(K * V * P)) {
    throw UsageError("task '" + profile.task +
                     "': stage_latency_ms: expected K*V*P = " + std::to_string(K * V * P) +
                     " entries, got " + std::to_string(profile.stage_latency_ms.size()));
  }
  plan::TaskProfile out = profile;
  for (int k = 0; k < K; ++k) {
    const int pinned = placement[static_cast<std::size_t>(k)];
    if (pinned < 0 || pinned >= P) {
      throw UsageError("task '" + profile.task + "': stage " + std::to_string(k + 1) +
                       " placed on processor " + std::to_string(pinned) + " of " +
                       std::to_string(P));
    }
    for (int v = 0; v < V; ++v)
      for (int p = 0; p < P; ++p)
        if (p != pinned)
          out.stage_latency_ms[out.StageLatencyIndex(k, v, p)] = kUnsupportedStageMs;
  }
  return out;
}

}  // namespace sparseloom::sim
