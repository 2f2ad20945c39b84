#pragma once
// The simulator (DESIGN.md "sim", docs/simulation.md): serving episodes on a virtual clock. It
// drives the real runtime's policies, not copies of them: the phase planning of
// runtime/phase_planning.h (the planner, latency headroom, queueing-aware budgets), the request
// flow of runtime/request_flow.h (admission, earliest-deadline-first queues, hand-overs, faults,
// re-runs) and the stage cache of preload/stage_cache.h (budget, hotness-ordered eviction). What
// it replaces is the clock and the processors: a stage takes its profile latency on the virtual
// clock (plus the hand-over from another processor, the stitch gap on a chain's last stage, and
// the storage read when its stage was not resident), instead of running an inference library on
// a worker thread. Its reports are the real server's EpisodeReport, so runtime::Summarize and
// runtime::CheckThroughput account for both alike.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "plan/planner.h"
#include "preload/stage_cache.h"
#include "runtime/serving.h"
#include "sim/device_profile.h"

namespace sparseloom::runtime {
class PlanBook;  // runtime/phase_planning.h
}

namespace sparseloom::sim {

struct SimTask {
  std::string name;
  const plan::TaskProfile* profile = nullptr;  // its processors are the simulator's, in order
  double rate_per_s = 1.0;                     // Poisson arrivals; the planner's load weight
  std::int64_t num_samples = 1;                // the input set the sample walk draws from
  // The zoo's accuracy ground truth, [s], that requests are judged against (ServedTask), or none.
  const std::vector<double>* true_accuracy = nullptr;
};

struct SimOptions {
  // The real server's options (phases, arrivals, planning, pipeline limits, injected faults).
  runtime::ServeOptions serve;
  // On-demand loads of stages that are not resident take LoadTimeMs(storage, stage bytes).
  StorageProfile storage;
  bool keep_stage_spans = false;  // per-stage spans in the records (for traces); costs speed
};

class Simulator {
 public:
  // `cache_budget_bytes`: the stage cache's budget (0 = unlimited), kept under `cache_policy`.
  // Every task's profile lists `processors` in this order. UsageError otherwise.
  Simulator(std::vector<SimTask> tasks, std::vector<std::string> processors,
            std::int64_t cache_budget_bytes,
            preload::CachePolicy cache_policy = preload::CachePolicy::kHotness);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // As runtime::Server::PlanPhases: the plan of every phase of `episode` (no requests run).
  std::vector<plan::Plan> PlanPhases(const plan::Planner& planner, const runtime::Episode& episode,
                                     const runtime::PlanningOptions& options) const;
  // As runtime::Server::Warm: makes resident every stage `planner`'s plans for `episodes` use
  // (those that fit the budget). Returns how many were loaded.
  int Warm(const plan::Planner& planner, const std::vector<runtime::Episode>& episodes,
           const runtime::PlanningOptions& options);
  // As `sparseloom run` with a budget: hotness from SparseLoom's plans of every phase of every
  // episode, set as the cache's eviction order, and the hottest stages that fit preloaded.
  // Nothing under another cache policy (returns 0).
  int PreloadHottest(const std::vector<runtime::Episode>& episodes,
                     const runtime::PlanningOptions& options);

  // As runtime::Server::PlanAhead: RunEpisode then installs the kept plan of a matching phase.
  int PlanAhead(const plan::Planner& planner, const std::vector<runtime::Episode>& episodes,
                const runtime::PlanningOptions& options);

  runtime::EpisodeReport RunEpisode(const plan::Planner& planner, const runtime::Episode& episode,
                                    const SimOptions& options);

  // Stages loaded, hits, misses, evictions and peak resident bytes since construction; load_ms is
  // the modelled (virtual) time of the on-demand loads, not the stand-in loads' wall time.
  preload::StageCacheStats CacheStats() const;
  const std::vector<SimTask>& tasks() const { return tasks_; }
  const std::vector<std::string>& processors() const { return processors_; }

 private:
  std::vector<SimTask> tasks_;
  std::vector<std::string> processors_;
  std::vector<runtime::ServedTask> served_;  // the phase planner's view of the tasks
  std::unique_ptr<preload::StageCache> cache_;
  std::unique_ptr<runtime::PlanBook> plans_ahead_;
  double load_ms_ = 0.0;  // modelled on-demand loads, summed
};

}  // namespace sparseloom::sim
