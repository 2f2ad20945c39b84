#pragma once
// A hand-made planner profile of K = 2 stages, V = 2 variants ("dense", "pruned") and P = 2
// processors ("p0", "p1"), for tests that need a task without model files.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "plan/problem.h"

namespace sparseloom::testing {

// Stage (k, v) takes latency(k, v, p) ms on p; stitched accuracies 0.9, 0.85, 0.84, 0.8; a
// 0.5 ms hand-over between the processors; stage k of variant v holds bytes[k * 2 + v].
inline plan::TaskProfile TwoStageProfile(const std::string& task,
                                         const std::function<double(int, int, int)>& latency,
                                         std::vector<std::int64_t> bytes = {1000, 1000, 1000,
                                                                            1000}) {
  plan::TaskProfile profile;
  profile.task = task;
  profile.num_stages = 2;
  profile.variant_ids = {"dense", "pruned"};
  profile.processors = {"p0", "p1"};
  for (int k = 0; k < 2; ++k)
    for (int v = 0; v < 2; ++v)
      for (int p = 0; p < 2; ++p)
        profile.stage_latency_ms.push_back(latency(k, v, p));
  profile.stage_bytes = std::move(bytes);
  profile.accuracy = {0.9, 0.85, 0.84, 0.8};
  profile.handover_ms = {0.0, 0.5, 0.5, 0.0};
  return profile;
}

}  // namespace sparseloom::testing
