#pragma once
// Synthetic task profiles for the planner's tests and benchmark, from a seeded RNG: a dense
// variant plus structured-pruned, unstructured-pruned, int8 and bf16 variants whose speed depends
// on the processor (quantized stages suit some processors more than others), stitched accuracy
// that is not additive across stages, hand-over costs and stitch gaps. No files.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "plan/planner.h"

namespace sparseloom::plan::testing {

struct Shape {
  int stages = 3;      // K
  int variants = 10;   // V
  int processors = 3;  // P
};

inline std::vector<std::string> ProcessorNames(int count) {
  const std::vector<std::string> known = {"cpu", "gpu", "npu"};
  std::vector<std::string> names;
  for (int p = 0; p < count; ++p)
    names.push_back(p < 3 ? known[static_cast<std::size_t>(p)] : "proc" + std::to_string(p));
  return names;
}

inline double Uniform(std::mt19937_64& rng, double low, double high) {
  return std::uniform_real_distribution<double>(low, high)(rng);
}

inline TaskProfile MakeProfile(std::mt19937_64& rng, const std::string& task, Shape shape) {
  const int K = shape.stages;
  const int V = shape.variants;
  const int P = shape.processors;
  TaskProfile profile;
  profile.task = task;
  profile.num_stages = K;
  profile.processors = ProcessorNames(P);
  std::vector<double> processor_speed(static_cast<std::size_t>(P));
  for (int p = 0; p < P; ++p)
    processor_speed[static_cast<std::size_t>(p)] = p == 0 ? 1.0 : Uniform(rng, 0.3, 1.2);
  // Per variant: a time factor on each processor, a size factor and an accuracy drop per stage.
  std::vector<double> time_factor(static_cast<std::size_t>(V * P));
  std::vector<double> size_factor(static_cast<std::size_t>(V));
  std::vector<double> drop(static_cast<std::size_t>(V * K));
  const char* kinds[] = {"struct", "unstruct", "int8", "bf16"};
  for (int v = 0; v < V; ++v) {
    const int kind = v == 0 ? -1 : std::uniform_int_distribution<int>(0, 3)(rng);
    profile.variant_ids.push_back(v == 0 ? "dense" : kinds[kind] + std::to_string(v));
    double speed = 1.0, size = 1.0, low = 0.0, high = 0.0, affinity = 0.05;
    switch (kind) {
      case 0:
        speed = Uniform(rng, 0.35, 0.85);
        size = speed;
        low = 0.005;
        high = 0.04;
        break;
      case 1:
        size = Uniform(rng, 0.3, 1.0);
        low = 0.0;
        high = 0.03;
        break;
      case 2:
        speed = 0.6;
        size = 0.25;
        low = 0.002;
        high = 0.015;
        affinity = 0.5;
        break;
      case 3:
        speed = 0.8;
        size = 0.5;
        low = 0.0;
        high = 0.005;
        affinity = 0.3;
        break;
      default:
        break;
    }
    size_factor[static_cast<std::size_t>(v)] = size;
    for (int p = 0; p < P; ++p)
      time_factor[static_cast<std::size_t>(v * P + p)] =
          speed * Uniform(rng, 1.0 - affinity, 1.0 + affinity);
    for (int k = 0; k < K; ++k)
      drop[static_cast<std::size_t>(v * K + k)] = v == 0 ? 0.0 : Uniform(rng, low, high);
  }
  profile.stage_latency_ms.resize(static_cast<std::size_t>(K * V * P));
  profile.stage_bytes.resize(static_cast<std::size_t>(K * V));
  for (int k = 0; k < K; ++k) {
    const double base_ms = Uniform(rng, 1.0, 8.0);
    const double base_bytes = Uniform(rng, 1e6, 40e6);
    for (int v = 0; v < V; ++v) {
      profile.stage_bytes[profile.StageIndex(k, v)] =
          static_cast<std::int64_t>(base_bytes * size_factor[static_cast<std::size_t>(v)]);
      for (int p = 0; p < P; ++p)
        profile.stage_latency_ms[profile.StageLatencyIndex(k, v, p)] =
            base_ms * processor_speed[static_cast<std::size_t>(p)] *
            time_factor[static_cast<std::size_t>(v * P + p)] * Uniform(rng, 0.95, 1.05);
    }
  }
  std::int64_t count = 1;
  for (int k = 0; k < K; ++k)
    count *= V;
  const double base_accuracy = Uniform(rng, 0.75, 0.95);
  profile.accuracy.resize(static_cast<std::size_t>(count));
  profile.stitch_gap_ms.resize(static_cast<std::size_t>(count));
  for (std::int64_t s = 0; s < count; ++s) {
    double accuracy = base_accuracy;
    bool original = true;
    std::int64_t rest = s;
    int first = -1;
    for (int k = K - 1; k >= 0; --k) {
      const int v = static_cast<int>(rest % V);
      rest /= V;
      accuracy -= drop[static_cast<std::size_t>(v * K + k)];
      if (first >= 0 && v != first)
        original = false;
      first = v;
    }
    // Stitching across variants costs a little accuracy and time, differently per combination.
    if (!original)
      accuracy -= Uniform(rng, 0.0, 0.01);
    profile.accuracy[static_cast<std::size_t>(s)] = std::clamp(accuracy, 0.0, 1.0);
    profile.stitch_gap_ms[static_cast<std::size_t>(s)] = original ? 0.0 : Uniform(rng, 0.0, 0.2);
  }
  profile.handover_ms.resize(static_cast<std::size_t>(P * P));
  for (int p = 0; p < P; ++p)
    for (int q = 0; q < P; ++q)
      profile.handover_ms[static_cast<std::size_t>(p * P + q)] =
          p == q ? 0.0 : Uniform(rng, 0.05, 0.5);
  return profile;
}

// An SLO spanning the profile's range: accuracy from a quantile of its stitched accuracies (a few
// above the best), latency from a multiple of its fastest single-processor stage sum (a few
// below what any variant reaches).
inline Slo RandomSlo(std::mt19937_64& rng, const TaskProfile& profile) {
  std::vector<double> sorted = profile.accuracy;
  std::sort(sorted.begin(), sorted.end());
  const double q = Uniform(rng, 0.0, 1.05);
  Slo slo;
  slo.min_accuracy =
      q >= 1.0 ? std::min(1.0, sorted.back() + 0.01)
               : sorted[static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1))];
  double fastest = 0.0;
  for (int k = 0; k < profile.num_stages; ++k) {
    double best = profile.StageLatencyMs(k, 0, 0);
    for (int v = 0; v < profile.num_variants(); ++v)
      for (int p = 0; p < profile.num_processors(); ++p)
        best = std::min(best, profile.StageLatencyMs(k, v, p));
    fastest += best;
  }
  slo.max_latency_ms = fastest * Uniform(rng, 0.9, 3.5);
  return slo;
}

// Profiles of `tasks` tasks; the request refers to them, so keep them alive.
inline std::vector<TaskProfile> MakeProfiles(std::mt19937_64& rng, int tasks, Shape shape) {
  std::vector<TaskProfile> profiles;
  for (int t = 0; t < tasks; ++t)
    profiles.push_back(MakeProfile(rng, "task" + std::to_string(t), shape));
  return profiles;
}

inline PlanRequest MakeRequest(std::mt19937_64& rng, const std::vector<TaskProfile>& profiles,
                               PlacementSpace placements = PlacementSpace::kAnyMapping) {
  PlanRequest request;
  request.processors = profiles.front().processors;
  request.placements = placements;
  for (const TaskProfile& profile : profiles)
    request.tasks.push_back(
        {profile.task, profile, RandomSlo(rng, profile), Uniform(rng, 2.0, 40.0), {}});
  return request;
}

}  // namespace sparseloom::plan::testing
