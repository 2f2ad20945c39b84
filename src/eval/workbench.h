#pragma once
// Violation accounting of the bench's simulated runs: a platform's tasks and serving options
// (Workbench), episodes run on a fresh simulator, and the SLO violations they add up to.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "eval/bench_figures.h"
#include "eval/platforms.h"
#include "plan/planner.h"
#include "preload/stage_cache.h"
#include "runtime/serving.h"
#include "sim/simulator.h"

namespace sparseloom::eval {

// Counts SLO violations episode by episode (runtime::Summarize per episode, summed), so that a
// run of many episodes never holds all of its request records at once.
class ViolationCounter {
 public:
  ViolationCounter(std::string planner, const std::vector<runtime::ServedTask>& served);

  void Add(const runtime::EpisodeReport& e);
  ViolationFigures Figures() const;

 private:
  // Whether the plan of record i's phase already missed its SLO in the planner's own model.
  static bool PlanMissed(const runtime::EpisodeReport& e, std::size_t i, const plan::Slo& slo);

  const std::vector<runtime::ServedTask>& served_;
  ViolationFigures f_;
  std::vector<std::int64_t> completed_;
  std::vector<double> served_s_;
};

// Everything one run of episodes on one platform needs.
struct Workbench {
  const Platform& platform;
  std::vector<sim::SimTask> tasks;
  std::vector<runtime::ServedTask> served;
  sim::SimOptions options;
};

// The platform's tasks with `profiles` (per task; the platform's own or pinned ones), at the
// platform's rate scale, under `serve`.
Workbench MakeWorkbench(const Platform& platform, const std::deque<plan::TaskProfile>& profiles,
                        const std::vector<BenchTask>& data, const runtime::ServeOptions& serve);

// Runs `episodes` under `planner` on a fresh simulator whose stage cache keeps `policy`; with a
// budget, the hottest stages are preloaded first (hotness policy), otherwise every stage the plans
// use. `each` sees every episode's report. `stats`: the cache's, load_ms the modelled load time.
void RunEpisodes(const Workbench& w, const plan::Planner& planner,
                 const std::vector<runtime::Episode>& episodes, std::int64_t budget_bytes,
                 const std::function<void(std::size_t, const runtime::EpisodeReport&)>& each,
                 preload::StageCacheStats* stats = nullptr,
                 preload::CachePolicy policy = preload::CachePolicy::kHotness);

// The violation figures of `planner` over `episodes`.
ViolationFigures CountViolations(const Workbench& w, const plan::Planner& planner,
                                 const std::vector<runtime::Episode>& episodes,
                                 std::int64_t budget_bytes = 0,
                                 preload::StageCacheStats* stats = nullptr,
                                 preload::CachePolicy policy = preload::CachePolicy::kHotness);

}  // namespace sparseloom::eval
