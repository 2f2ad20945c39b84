#include "eval/bench.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "common/error.h"
#include "profile/sample_design.h"
#include "sim/cost_model.h"
#include "sim/profiling_model.h"

namespace sparseloom::eval {
namespace {

// The batch-B work of a stage: B samples' compute and activations, its weights read once.
sim::StageWork Batched(sim::StageWork work, std::int64_t batch) {
  work.flops *= batch;
  work.activation_bytes *= batch;
  return work;
}

}  // namespace

ProfilingFigures ModelProfiling(const Platform& platform, const plan::TaskProfile& profile,
                                const BenchTask& task) {
  const zoo::Zoo& z = task.zoo;
  const int K = z.num_stages;
  const int V = static_cast<int>(z.variants.size());
  const sim::ProfilerDesign design;
  ProfilingFigures f;
  f.task = task.name;
  // Accuracy runs on one processor (the profiler's first; on a device the one that runs the
  // whole validation pass fastest): the batch time of each stage there, by the cost model.
  const std::vector<std::string> candidates =
      platform.host ? std::vector<std::string>{platform.device->processors.front().name}
                    : platform.processors;
  std::vector<double> best_batch;
  double best_total = std::numeric_limits<double>::infinity();
  for (const std::string& name : candidates) {
    const sim::ProcessorProfile& processor = platform.device->Processor(name);
    std::vector<double> batch_ms;
    double total = 0.0;
    bool supported = true;
    for (int k = 0; k < K && supported; ++k) {
      for (int v = 0; v < V && supported; ++v) {
        const sim::StageWork work =
            Batched(sim::WorkOf(z, static_cast<std::size_t>(v), k + 1), design.accuracy_batch);
        if (sim::WhyUnsupported(processor, work)) {
          supported = false;
          break;
        }
        batch_ms.push_back(sim::StageLatencyMs(processor, work));
        total += batch_ms.back();
      }
    }
    if (supported && total < best_total) {
      best_total = total;
      best_batch = batch_ms;
      f.accuracy_processor = name;
    }
  }
  if (best_batch.empty())
    throw UsageError(platform.name + ": no processor runs every stage of task '" + task.name +
                     "' for the accuracy evaluation");
  sim::ProfilingWork work;
  work.accuracy_batch_ms = best_batch;
  work.validation_samples = z.validation_samples;
  const std::size_t P = platform.processors.size();
  for (int k = 0; k < K; ++k)
    for (int v = 0; v < V; ++v)
      for (std::size_t p = 0; p < P; ++p)
        work.load_ms.push_back(sim::LoadTimeMs(platform.storage, profile.StageBytes(k, v)));
  work.estimators_s = task.table->time.estimators_s;
  // The design's sample: originals, single substitutions into the reference, then random
  // stitched variants up to 2% of V^K (the profiler's seeds; its wall-time budget may stop it
  // earlier on a slow machine).
  std::vector<std::int64_t> points =
      profile::StructuredAccuracySample(z, profile::ReferenceVariant(z));
  const auto random_count =
      static_cast<std::int64_t>(std::ceil(0.02 * static_cast<double>(z.StitchedCount())));
  for (std::int64_t s : profile::RandomStitched(z, random_count, points, 1))
    points.push_back(s);
  work.accuracy_points = points;
  f.sampled = sim::ModelProfilingTime(profile, work, design);
  work.exhaustive = true;
  f.exhaustive = sim::ModelProfilingTime(profile, work, design);
  if (platform.host) {
    const profile::PerformanceTable& table = *task.table;
    f.measured_s = table.time.Estimated();
    work.exhaustive = false;
    work.accuracy_points.clear();
    for (std::size_t s = 0; s < table.accuracy_measured.size(); ++s)
      if (table.accuracy_measured[s])
        work.accuracy_points.push_back(static_cast<std::int64_t>(s));
    f.modelled_measured_s = sim::ModelProfilingTime(profile, work, design).total_s();
  }
  return f;
}

}  // namespace sparseloom::eval
