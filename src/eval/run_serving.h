#pragma once
// How `sparseloom run` serves its episodes (docs/runtime.md): the task file's tasks, their stage
// source and stage cache, served for real (runtime::Server: one pinned worker per processor,
// stages through the engine interface) or simulated (sim::Simulator: the same planning, request
// flow and stage cache policy on a virtual clock, each stage taking its table latency;
// docs/simulation.md); and every planner's run of the same episodes.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "eval/run_report.h"
#include "eval/task_inputs.h"
#include "plan/planner.h"
#include "preload/stage_cache.h"
#include "runtime/accuracy_verification.h"
#include "runtime/evaluation.h"
#include "runtime/latency_calibration.h"
#include "runtime/serving.h"
#include "sim/simulator.h"
#include "zoo/zoo.h"

namespace sparseloom::eval {

// The resident set size of this process.
std::int64_t ProcessRssBytes();

class RunServing {
 public:
  // Real: loads every task's zoo and validation set through `engine`. Simulated: no zoo is
  // loaded and requests carry no input (no measured accuracy); `engine` is not used. Every task
  // is served at its task file's rate_per_s x `rate_scale` (> 0; UsageError otherwise). `in` must
  // outlive this; its profiles may change in place (calibration) until Start.
  RunServing(const Inputs& in, engine::Engine& engine, bool simulate, double rate_scale = 1.0);
  ~RunServing();
  RunServing(const RunServing&) = delete;
  RunServing& operator=(const RunServing&) = delete;

  bool simulated() const { return simulate_; }
  const std::vector<runtime::ServedTask>& tasks() const { return tasks_; }
  const std::vector<const plan::TaskProfile*>& profiles() const { return profiles_; }
  // Every stage of every task's variants on every processor.
  std::int64_t full_set_bytes() const { return full_set_bytes_; }

  // Verify on selection (runtime/accuracy_verification.h) from now on, recording what it measures
  // in `in`'s profiles (the Inputs this serves): a chosen estimated variant is looked up in its
  // zoo's accuracy ground truth where there is one, else measured on the task's validation set
  // through the engine (real runs; a simulated run without a truth cannot measure it). Returns the
  // verification for the serving options' planning (PlanningOptions::verification).
  runtime::AccuracyVerification* EnableVerification(Inputs& in);
  runtime::AccuracyVerification* verification() const { return verification_.get(); }
  // Wall time spent measuring variants through the engine (not looked up in a truth).
  double verification_measure_s() const { return verification_measure_s_; }

  // The run's stage cache (0: unlimited) and what it keeps (preload::CachePolicy).
  void SetCacheBudget(std::int64_t budget_bytes,
                      preload::CachePolicy policy = preload::CachePolicy::kHotness);
  std::int64_t cache_budget() const { return budget_; }
  preload::CachePolicy cache_policy() const { return policy_; }

  // Real runs: serves a calibration episode on its own cache and server, so that the run's cache
  // starts empty with clean statistics (eval::MeasureLatencyScale).
  runtime::LatencyScale MeasureLatencyScale(const runtime::ServeOptions& serve, double seconds);

  // Makes the server or the simulator, with the profiles as they are now. With a cache budget the
  // simulator prices the loads of cold stages with the storage of the device profile `storage`.
  void Start(const runtime::ServeOptions& serve, const std::string& storage);

  // Preloads the hottest stages: frequency over the plans SparseLoom makes for every phase of
  // every episode (docs/runtime.md, "The hot-subgraph preloader"). Needs a budget; nothing under
  // a cache policy other than hotness.
  struct Preloaded {
    int stages = 0;
    std::int64_t resident_bytes = 0;
  };
  Preloaded PreloadHottest(const std::vector<runtime::Episode>& episodes,
                           const runtime::PlanningOptions& planning);
  // Loads every stage the planner's plans of `episodes` use; returns how many.
  int Warm(const plan::Planner& planner, const std::vector<runtime::Episode>& episodes,
           const runtime::PlanningOptions& planning);
  // Real runs: the planner's plans of every phase of `episodes`, made before serving.
  int PlanAhead(const plan::Planner& planner, const std::vector<runtime::Episode>& episodes,
                const runtime::PlanningOptions& planning);
  // `keep_stage_spans`: simulated records keep their per-stage spans (for a trace).
  runtime::EpisodeReport RunEpisode(const plan::Planner& planner, const runtime::Episode& episode,
                                    const runtime::ServeOptions& serve, bool keep_stage_spans);
  preload::StageCacheStats CacheStats() const;

 private:
  const Inputs& in_;
  engine::Engine& engine_;
  bool simulate_;
  std::vector<zoo::Zoo> zoos_;
  std::vector<runtime::LabelledSet> inputs_;
  std::vector<runtime::ServedTask> tasks_;
  std::vector<const plan::TaskProfile*> profiles_;
  std::int64_t full_set_bytes_ = 0;
  preload::StageSource source_;
  std::int64_t budget_ = 0;
  preload::CachePolicy policy_ = preload::CachePolicy::kHotness;
  std::unique_ptr<preload::StageCache> cache_;
  std::optional<runtime::Server> server_;
  std::unique_ptr<sim::Simulator> simulator_;
  sim::SimOptions sim_options_;
  std::unique_ptr<runtime::AccuracyVerification> verification_;
  double verification_measure_s_ = 0.0;
};

// What the command shows while every planner serves.
class ServeObserver {
 public:
  virtual ~ServeObserver() = default;
  virtual void Warming(const std::string& /*planner*/) {}
  virtual void PlannedAhead(const std::string& /*planner*/, int /*plans*/) {}
  // Episode `e` of `count` is about to be served by `planner`.
  virtual void EpisodeStarts(std::size_t /*e*/, std::size_t /*count*/,
                             const runtime::Episode& /*episode*/, const std::string& /*planner*/) {}
  // `i`: the planner's place in episode e's rotation (0: it served first).
  virtual void EpisodeServed(std::size_t /*e*/, std::size_t /*i*/,
                             const runtime::EpisodeReport& /*report*/) {}
};

struct ServePolicy {
  bool plan_ahead = true;            // real runs: install plans made before serving
  bool trace_first_episode = false;  // keep the first planner's first episode's stage spans
};

// Every episode served by every planner back to back, the first of them rotating from episode to
// episode, so that a slow spell of the shared machine falls on all planners alike. Without a
// cache budget every planner first loads the stages its plans use. Closed loop: each episode's
// throughput with every task present is checked against the planner's bound. Returns one run per
// planner, in their order, summarized.
std::vector<PlannerRun> ServeEveryPlanner(
    RunServing& serving, const std::vector<std::unique_ptr<plan::Planner>>& planners,
    const std::vector<runtime::Episode>& episodes, const runtime::ServeOptions& serve,
    const ServePolicy& policy, ServeObserver& observer);

// The Chrome / Perfetto trace of the first planner's first episode.
void WriteFirstEpisodeTrace(const std::string& file, const std::vector<PlannerRun>& runs,
                            const std::vector<runtime::Episode>& episodes,
                            const std::vector<runtime::ServedTask>& tasks,
                            const profile::ProcessorSetup& setup);

}  // namespace sparseloom::eval
