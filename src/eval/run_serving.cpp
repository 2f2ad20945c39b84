#include "eval/run_serving.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <string>
#include <utility>

#include "common/error.h"
#include "eval/calibration.h"
#include "preload/hotness.h"
#include "runtime/phase_planning.h"
#include "runtime/stitched_chain.h"
#include "runtime/trace.h"
#include "sim/device_profile.h"
#include "zoo/stitched_variant.h"

namespace sparseloom::eval {

std::int64_t ProcessRssBytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

RunServing::RunServing(const Inputs& in, engine::Engine& engine, bool simulate, double rate_scale)
    : in_(in), engine_(engine), simulate_(simulate) {
  if (!(rate_scale > 0.0) || !std::isfinite(rate_scale))
    throw UsageError("rate scale: expected a finite factor > 0, got " + std::to_string(rate_scale));
  const std::size_t T = in.file.tasks.size();
  zoos_.reserve(T);
  inputs_.reserve(T);
  if (simulate_) {
    // No zoo is loaded: the simulator needs the tables only (every task's input set is empty).
    inputs_.resize(T);
  } else {
    for (const plan::TaskSpec& spec : in.file.tasks) {
      zoos_.push_back(zoo::LoadZoo(spec.zoo_dir));
      inputs_.push_back(runtime::LoadValidationSet(zoos_.back(), engine_));
    }
  }
  for (std::size_t t = 0; t < T; ++t) {
    const plan::TaskProfile& profile = in.profiles[in.table_of_task[t]];
    profiles_.push_back(&profile);
    // Simulated requests carry no input, so no measured accuracy.
    tasks_.push_back({in.file.tasks[t].name, &profile, simulate_ ? nullptr : &inputs_[t],
                      in.file.tasks[t].rate_per_s * rate_scale, TrueAccuracyOf(in, t)});
    for (std::int64_t bytes : profile.stage_bytes)
      full_set_bytes_ += bytes * static_cast<std::int64_t>(in.setup.size());
  }
  source_.load = [this](const preload::StageKey& key) {
    const zoo::Zoo& z = zoos_[static_cast<std::size_t>(key.task)];
    engine::StageLoadOptions load =
        z.StageLoad(static_cast<std::size_t>(key.variant), key.stage + 1);
    load.processor = in_.setup[static_cast<std::size_t>(key.processor)];
    return engine_.LoadStage(load);
  };
  source_.expected_bytes = [this](const preload::StageKey& key) {
    return profiles_[static_cast<std::size_t>(key.task)]->StageBytes(key.stage, key.variant);
  };
}

RunServing::~RunServing() = default;

runtime::AccuracyVerification* RunServing::EnableVerification(Inputs& in) {
  if (&in != &in_)
    throw UsageError("verification: the Inputs this run serves are the ones it writes");
  std::vector<plan::TaskProfile*> profiles;
  for (std::size_t t = 0; t < tasks_.size(); ++t)
    profiles.push_back(&in.profiles[in.table_of_task[t]]);
  verification_ = std::make_unique<runtime::AccuracyVerification>(
      std::move(profiles), [this](int task, std::int64_t s) -> std::optional<double> {
        const auto t = static_cast<std::size_t>(task);
        if (const std::vector<double>* truth = tasks_[t].true_accuracy)
          return truth->at(static_cast<std::size_t>(s));
        if (simulate_)
          return std::nullopt;
        // The whole validation set through the engine, its stages loaded for this alone.
        const auto start = std::chrono::steady_clock::now();
        runtime::ZooStages stages(zoos_[t], engine_, in_.setup.front());
        const runtime::StitchedChain chain(stages, zoo::StitchedAt(zoos_[t], s));
        const double accuracy = runtime::EvaluateAccuracy(chain, engine_, inputs_[t], 250);
        verification_measure_s_ +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return accuracy;
      });
  sim_options_.serve.planning.verification = verification_.get();  // simulated episodes
  return verification_.get();
}

void RunServing::SetCacheBudget(std::int64_t budget_bytes, preload::CachePolicy policy) {
  budget_ = budget_bytes;
  policy_ = policy;
  cache_ = std::make_unique<preload::StageCache>(source_, budget_, policy_);
}

namespace {

std::int64_t Argmax(engine::Engine& engine, const engine::Tensor& out) {
  return engine.ArgmaxLastDim(out).front();
}

}  // namespace

runtime::LatencyScale RunServing::MeasureLatencyScale(const runtime::ServeOptions& serve,
                                                      double seconds) {
  preload::StageCache calibration_cache(source_, 0);
  runtime::Server calibration(
      tasks_, in_.setup, calibration_cache,
      [this](const engine::Tensor& out) { return Argmax(engine_, out); },
      [this](const engine::Tensor& set, std::int64_t i) {
        return engine_.SliceBatch(set, i, i + 1);
      });
  return eval::MeasureLatencyScale(calibration, in_, tasks_, serve, seconds);
}

void RunServing::Start(const runtime::ServeOptions& serve, const std::string& storage) {
  sim_options_.serve = serve;
  if (simulate_) {
    std::vector<sim::SimTask> sim_tasks;
    for (const runtime::ServedTask& t : tasks_)
      sim_tasks.push_back(sim::SimTask{t.name, t.profile, t.rate_per_s, 1000, t.true_accuracy});
    std::vector<std::string> names;
    for (const auto& p : in_.setup)
      names.push_back(p.name);
    simulator_ = std::make_unique<sim::Simulator>(sim_tasks, names, budget_, policy_);
    if (budget_ > 0) {
      // Loads of cold stages cost what this host's storage takes (a device profile's "storage").
      sim_options_.storage = sim::LoadDeviceProfile(storage).storage;
    }
  } else {
    server_.emplace(
        tasks_, in_.setup, *cache_,
        [this](const engine::Tensor& out) { return Argmax(engine_, out); },
        [this](const engine::Tensor& set, std::int64_t i) {
          return engine_.SliceBatch(set, i, i + 1);
        });
  }
}

RunServing::Preloaded RunServing::PreloadHottest(const std::vector<runtime::Episode>& episodes,
                                                 const runtime::PlanningOptions& planning) {
  Preloaded out;
  if (simulator_) {
    out.stages = simulator_->PreloadHottest(episodes, planning);
    out.resident_bytes = simulator_->CacheStats().resident_bytes;
  } else if (policy_ == preload::CachePolicy::kHotness) {
    const auto hotness =
        runtime::HotnessOfEpisodes(tasks_, static_cast<int>(in_.setup.size()), episodes, planning);
    cache_->SetHotness(preload::ScoresOf(hotness));
    out.stages = cache_->Preload(preload::PreloadSet(hotness, source_.expected_bytes, budget_));
    out.resident_bytes = cache_->ResidentBytes();
  }
  return out;
}

int RunServing::Warm(const plan::Planner& planner, const std::vector<runtime::Episode>& episodes,
                     const runtime::PlanningOptions& planning) {
  return simulator_ ? simulator_->Warm(planner, episodes, planning)
                    : server_->Warm(planner, episodes, planning);
}

int RunServing::PlanAhead(const plan::Planner& planner,
                          const std::vector<runtime::Episode>& episodes,
                          const runtime::PlanningOptions& planning) {
  return server_->PlanAhead(planner, episodes, planning);
}

runtime::EpisodeReport RunServing::RunEpisode(const plan::Planner& planner,
                                              const runtime::Episode& episode,
                                              const runtime::ServeOptions& serve,
                                              bool keep_stage_spans) {
  if (simulator_) {
    sim_options_.keep_stage_spans = keep_stage_spans;
    return simulator_->RunEpisode(planner, episode, sim_options_);
  }
  return server_->RunEpisode(planner, episode, serve);
}

preload::StageCacheStats RunServing::CacheStats() const {
  return simulator_ ? simulator_->CacheStats() : cache_->Stats();
}

std::vector<PlannerRun> ServeEveryPlanner(
    RunServing& serving, const std::vector<std::unique_ptr<plan::Planner>>& planners,
    const std::vector<runtime::Episode>& episodes, const runtime::ServeOptions& serve,
    const ServePolicy& policy, ServeObserver& observer) {
  std::vector<PlannerRun> runs(planners.size());
  for (std::size_t p = 0; p < planners.size(); ++p) {
    runs[p].planner = planners[p]->Name();
    if (serving.cache_budget() == 0) {
      observer.Warming(runs[p].planner);
      runs[p].warmed = serving.Warm(*planners[p], episodes, serve.planning);
    }
    if (policy.plan_ahead && !serving.simulated())
      observer.PlannedAhead(runs[p].planner,
                            serving.PlanAhead(*planners[p], episodes, serve.planning));
  }
  for (std::size_t e = 0; e < episodes.size(); ++e) {
    for (std::size_t i = 0; i < planners.size(); ++i) {
      const std::size_t p = (e + i) % planners.size();
      PlannerRun& run = runs[p];
      observer.EpisodeStarts(e, episodes.size(), episodes[e], run.planner);
      const auto start = std::chrono::steady_clock::now();
      run.episodes.push_back(serving.RunEpisode(*planners[p], episodes[e], serve,
                                                policy.trace_first_episode && p == 0 && e == 0));
      run.wall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      observer.EpisodeServed(e, i, run.episodes.back());
      if (serve.workload.arrivals == runtime::ArrivalKind::kClosedLoop) {
        const runtime::EpisodeReport& ep = run.episodes.back();
        run.throughput.push_back(
            runtime::CheckThroughput(ep, serving.tasks(), static_cast<int>(ep.phases.size()) - 1));
      }
    }
  }
  for (PlannerRun& run : runs)
    run.summaries = runtime::Summarize(run.episodes, serving.tasks());
  return runs;
}

void WriteFirstEpisodeTrace(const std::string& file, const std::vector<PlannerRun>& runs,
                            const std::vector<runtime::Episode>& episodes,
                            const std::vector<runtime::ServedTask>& tasks,
                            const profile::ProcessorSetup& setup) {
  runtime::TraceNames names;
  for (const runtime::ServedTask& t : tasks) {
    names.tasks.push_back(t.name);
    names.variant_ids.push_back(t.profile->variant_ids);
  }
  for (const auto& p : setup)
    names.processors.push_back(p.name);
  runtime::WriteChromeTrace(file, runs.front().episodes.front().records, names,
                            runs.front().planner + " " + episodes.front().name);
}

}  // namespace sparseloom::eval
