#pragma once
// `sparseloom bench`'s comparisons on one platform, simulated (docs/results.md): (a) SLO
// violations of SparseLoom and the six baselines over SLO configurations x arrival orders, again
// at the host's load; (b) closed-loop throughput; (c) profiling time, modelled; (d) fixed against
// optimized placement; (e) violations against the stage memory budget.

#include <functional>
#include <string>
#include <vector>

#include "eval/bench_figures.h"
#include "eval/bench_settings.h"
#include "eval/platforms.h"
#include "plan/planner.h"

namespace sparseloom::eval {

// Progress of the platform runs: which platform, and what was done (it may be called from
// several threads at once).
using BenchProgress = std::function<void(const std::string& platform, const std::string& what)>;

PlatformResults RunPlatform(const Platform& platform, const std::vector<BenchTask>& data,
                            const BenchSettings& settings, const BenchProgress& progress);

// Every platform, `settings.jobs` at once (each its own simulators and planners; the results do
// not depend on it), in their order. The first platform's error, if any, is rethrown.
std::vector<PlatformResults> RunPlatforms(const std::vector<Platform>& platforms,
                                          const std::vector<BenchTask>& data,
                                          const BenchSettings& settings,
                                          const BenchProgress& progress);

// (c): the profiler's runs for `task` priced on the platform, with the sample design and
// exhaustively; on the host also the model of the sample its table measured.
ProfilingFigures ModelProfiling(const Platform& platform, const plan::TaskProfile& profile,
                                const BenchTask& task);

// (d): the fixed placements compared with the planner's free choice: every stage on its own
// processor when K <= P (the paper's placement orders), otherwise every mapping that uses every
// processor.
std::vector<plan::Placement> FixedPlacements(int K, int P);
// "npu-gpu-cpu"
std::string PlacementName(const plan::Placement& placement,
                          const std::vector<std::string>& processors);

}  // namespace sparseloom::eval
