#include "runtime/latency_calibration.h"

#include <cmath>
#include <string>

#include "common/error.h"
#include "plan/evaluation.h"
#include "runtime/evaluation.h"
#include "runtime/workload.h"

namespace sparseloom::runtime {

LatencyScale ServingLatencyScale(const std::vector<RequestRecord>& records,
                                 const std::vector<const plan::TaskProfile*>& profiles) {
  std::vector<std::vector<double>> ratios(profiles.size());
  for (const RequestRecord& r : records) {
    if (r.task < 0 || static_cast<std::size_t>(r.task) >= profiles.size() ||
        profiles[static_cast<std::size_t>(r.task)] == nullptr)
      throw UsageError("serving calibration: record " + std::to_string(r.id) + " names task " +
                       std::to_string(r.task) + ", there are " + std::to_string(profiles.size()));
    const plan::TaskProfile& profile = *profiles[static_cast<std::size_t>(r.task)];
    const int K = profile.num_stages;
    const int V = profile.num_variants();
    const int P = profile.num_processors();
    if (r.outcome != Outcome::kCompleted || static_cast<int>(r.stages.size()) != K)
      continue;
    double measured = 0.0, profiled = 0.0;
    for (int k = 0; k < K; ++k) {
      const StageSpan& s = r.stages[static_cast<std::size_t>(k)];
      if (s.stage != k || s.variant < 0 || s.variant >= V || s.processor < 0 || s.processor >= P)
        throw UsageError("serving calibration: record " + std::to_string(r.id) + " of task '" +
                         profile.task + "': span " + std::to_string(k) +
                         " is not a stage, variant and processor of its profile");
      measured += s.end_ms - s.start_ms - s.load_ms;
      profiled += profile.StageLatencyMs(k, s.variant, s.processor);
    }
    if (profiled > 0.0 && measured > 0.0)
      ratios[static_cast<std::size_t>(r.task)].push_back(measured / profiled);
  }
  LatencyScale out;
  for (std::vector<double>& r : ratios) {
    out.requests.push_back(static_cast<std::int64_t>(r.size()));
    out.scale.push_back(r.empty() ? 1.0 : Median(std::move(r)));
  }
  return out;
}

void ScaleStageLatencies(plan::TaskProfile& profile, double scale) {
  if (!(scale > 0.0 && std::isfinite(scale)))
    throw UsageError("latency scale of task '" + profile.task +
                     "': expected a finite number > 0, got " + std::to_string(scale));
  for (double& ms : profile.stage_latency_ms)
    ms *= scale;
  profile.stitch_gap_ms.clear();
}

void SetStitchMargin(plan::TaskProfile& profile, double margin) {
  if (!(margin >= 0.0 && std::isfinite(margin)))
    throw UsageError("stitch margin of task '" + profile.task +
                     "': expected a finite number >= 0, got " + std::to_string(margin));
  profile.stitch_gap_ms.clear();
  const std::vector<double> fastest = BestSingleProcessorLatencies(profile);  // stages alone
  profile.stitch_gap_ms.resize(fastest.size());
  for (std::size_t s = 0; s < fastest.size(); ++s)
    profile.stitch_gap_ms[s] = margin * fastest[s];
  for (int v = 0; v < profile.num_variants(); ++v)  // an original's chain is what the profile timed
    profile.stitch_gap_ms[static_cast<std::size_t>(plan::OriginalStitched(profile, v))] = 0.0;
}

}  // namespace sparseloom::runtime
