#include "sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <utility>

#include "common/error.h"
#include "runtime/episode_driver.h"
#include "runtime/injected_fault.h"
#include "runtime/phase_planning.h"
#include "runtime/request_flow.h"
#include "runtime/virtual_executor.h"
#include "runtime/workload.h"
#include "sim/cost_model.h"

namespace sparseloom::sim {
namespace {

// A stage as the simulator holds it: bytes in the cache, no computation.
class SimulatedStage final : public engine::LoadedStage {
 public:
  explicit SimulatedStage(std::int64_t bytes) : bytes_(bytes) {}
  engine::Tensor Run(const engine::Tensor&, std::span<const engine::Tensor>) override {
    throw UsageError("a simulated stage has no computation to run");
  }
  std::int64_t ResidentBytes() const override { return bytes_; }
  const std::filesystem::path& File() const override { return file_; }

 private:
  std::int64_t bytes_;
  std::filesystem::path file_;
};

std::int64_t BytesOf(const std::vector<SimTask>& tasks, const preload::StageKey& key) {
  const plan::TaskProfile& p = *tasks[static_cast<std::size_t>(key.task)].profile;
  return p.StageBytes(key.stage, key.variant);
}

}  // namespace

Simulator::Simulator(std::vector<SimTask> tasks, std::vector<std::string> processors,
                     std::int64_t cache_budget_bytes, preload::CachePolicy cache_policy)
    : tasks_(std::move(tasks)), processors_(std::move(processors)) {
  if (tasks_.empty())
    throw UsageError("simulator: expected at least one task, got none");
  if (processors_.empty())
    throw UsageError("simulator: expected at least one processor, got none");
  if (cache_budget_bytes < 0)
    throw UsageError("simulator: the cache budget must be >= 0 bytes, got " +
                     std::to_string(cache_budget_bytes));
  for (const SimTask& t : tasks_) {
    if (t.profile == nullptr)
      throw UsageError("simulator: task '" + t.name + "' has no profile");
    if (t.profile->processors != processors_)
      throw UsageError("simulator: task '" + t.name +
                       "': its profile's processors differ from the simulator's");
    const std::size_t K = static_cast<std::size_t>(t.profile->num_stages);
    const std::size_t V = static_cast<std::size_t>(t.profile->num_variants());
    if (K == 0 || V == 0 || t.profile->stage_latency_ms.size() != K * V * processors_.size() ||
        t.profile->stage_bytes.size() != K * V ||
        t.profile->handover_ms.size() != processors_.size() * processors_.size())
      throw UsageError("simulator: task '" + t.name +
                       "': its profile's stage latencies, bytes or hand-overs have the wrong size");
    if (!(t.rate_per_s >= 0.0) || !std::isfinite(t.rate_per_s))
      throw UsageError("simulator: task '" + t.name + "': rate_per_s must be finite and >= 0");
    if (t.num_samples < 1)
      throw UsageError("simulator: task '" + t.name + "': num_samples must be >= 1");
    served_.push_back(
        runtime::ServedTask{t.name, t.profile, nullptr, t.rate_per_s, t.true_accuracy});
  }
  preload::StageSource source;
  source.load = [this](const preload::StageKey& key) -> std::unique_ptr<engine::LoadedStage> {
    return std::make_unique<SimulatedStage>(BytesOf(tasks_, key));
  };
  source.expected_bytes = [this](const preload::StageKey& key) { return BytesOf(tasks_, key); };
  cache_ =
      std::make_unique<preload::StageCache>(std::move(source), cache_budget_bytes, cache_policy);
  plans_ahead_ = std::make_unique<runtime::PlanBook>();
}

Simulator::~Simulator() = default;

std::vector<plan::Plan> Simulator::PlanPhases(const plan::Planner& planner,
                                              const runtime::Episode& episode,
                                              const runtime::PlanningOptions& options) const {
  std::vector<plan::Plan> plans;
  for (runtime::PlannedState& planned : runtime::PlanEpisode(
           served_, static_cast<int>(processors_.size()), planner, episode, options)) {
    if (planned.state.change < 0)  // a phase's join
      plans.push_back(std::move(planned.plan.plan));
  }
  return plans;
}

int Simulator::Warm(const plan::Planner& planner, const std::vector<runtime::Episode>& episodes,
                    const runtime::PlanningOptions& options) {
  return cache_->Preload(runtime::KeysOfEpisodes(served_, static_cast<int>(processors_.size()),
                                                 planner, episodes, options));
}

int Simulator::PreloadHottest(const std::vector<runtime::Episode>& episodes,
                              const runtime::PlanningOptions& options) {
  if (cache_->policy() != preload::CachePolicy::kHotness)
    return 0;
  const auto hotness =
      runtime::HotnessOfEpisodes(served_, static_cast<int>(processors_.size()), episodes, options);
  cache_->SetHotness(preload::ScoresOf(hotness));
  return cache_->Preload(preload::PreloadSet(
      hotness, [this](const preload::StageKey& key) { return BytesOf(tasks_, key); },
      cache_->budget_bytes()));
}

preload::StageCacheStats Simulator::CacheStats() const {
  preload::StageCacheStats stats = cache_->Stats();
  stats.load_ms = load_ms_;
  return stats;
}

int Simulator::PlanAhead(const plan::Planner& planner,
                         const std::vector<runtime::Episode>& episodes,
                         const runtime::PlanningOptions& options) {
  return runtime::PlanAheadInto(*plans_ahead_, served_, static_cast<int>(processors_.size()),
                                planner, episodes, options);
}

runtime::EpisodeReport Simulator::RunEpisode(const plan::Planner& planner,
                                             const runtime::Episode& episode,
                                             const SimOptions& options) {
  const runtime::ServeOptions& serve = options.serve;
  runtime::CheckEpisodeOptions(episode, serve, tasks_.size());
  runtime::VirtualExecutorOptions executor_options;
  executor_options.flow.max_in_flight = serve.pipeline.max_in_flight;
  executor_options.flow.max_attempts = serve.pipeline.max_attempts;
  executor_options.flow.earliest_deadline_first = serve.pipeline.earliest_deadline_first;
  executor_options.flow.keep_stage_spans = options.keep_stage_spans;

  // A stage keeps its processor busy for its time in the chain's one cost rule (plan::ChainCostOf:
  // computation, the hand-over from another processor, the stitch gap on the last stage), plus
  // the storage read of a stage that was not resident.
  runtime::StageCostModel cost;
  cost.stage_ms = [this, chain = plan::ChainCost{}](const runtime::StageWork& work, int,
                                                    double) mutable {
    const plan::TaskProfile& profile = *tasks_[static_cast<std::size_t>(work.task)].profile;
    plan::ChainCostOf(profile, work.route->variant_of_stage, work.route->placement, chain);
    return chain.BusyMs(static_cast<std::size_t>(work.stage));
  };
  cost.load_ms = [this, &options](const preload::StageKey& key) {
    const double ms = LoadTimeMs(options.storage, BytesOf(tasks_, key));
    load_ms_ += ms;
    return ms;
  };
  runtime::CheckFault(serve.fault, processors_.size());
  if (serve.fault.active())
    cost = runtime::FailingStages(std::move(cost), serve.fault);
  runtime::VirtualServingClock clock;
  runtime::VirtualExecutor executor(processors_, *cache_, clock, std::move(cost), executor_options);
  std::vector<std::int64_t> set_sizes;
  for (const SimTask& t : tasks_)
    set_sizes.push_back(t.num_samples);
  const runtime::EpisodeSeams seams{executor,
                                    clock,
                                    [](int, std::int64_t) { return runtime::RequestInput{}; },
                                    set_sizes,
                                    plans_ahead_.get(),
                                    0};
  return runtime::DriveEpisode(served_, seams, planner, episode, serve.workload, serve.planning);
}

}  // namespace sparseloom::sim
