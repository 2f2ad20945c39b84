// The application API (include/sparseloom/runtime.h) on the serving core: the real executor
// (pinned workers running stages through the TorchScript engine), the steady clock, a stage cache
// under the memory budget, and per-request results assembled from the executor's records.

#include "sparseloom/runtime.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "api/conversions.h"
#include "common/error.h"
#include "engine/torchscript_engine.h"
#include "plan/planner.h"
#include "preload/stage_cache.h"
#include "profile/performance_table.h"
#include "profile/processor_setup.h"
#include "runtime/evaluation.h"
#include "runtime/pipeline.h"
#include "runtime/serving_core.h"
#include "zoo/zoo.h"

namespace sparseloom {
namespace {

constexpr std::size_t kLatencyWindow = 4096;  // latencies kept per task for the quantiles

struct TaskEntry {
  std::string name;
  zoo::Zoo zoo;
  plan::TaskProfile profile;
  TaskOptions options;
  bool served = true;  // false once removed
  TaskStats stats;
  std::deque<double> latencies;
};

struct Pending {
  std::function<void(Result)> done;
};

plan::Slo ToPlan(const Slo& slo) {
  return plan::Slo{slo.min_accuracy, slo.max_latency_ms};
}

void CheckSlo(const std::string& task, const Slo& slo) {
  if (!(slo.min_accuracy >= 0.0 && slo.min_accuracy <= 1.0))
    throw UsageError("task '" + task + "': min_accuracy must be in [0, 1], got " +
                     std::to_string(slo.min_accuracy));
  if (!(slo.max_latency_ms > 0.0) || !std::isfinite(slo.max_latency_ms))
    throw UsageError("task '" + task + "': max_latency_ms must be > 0 and finite, got " +
                     std::to_string(slo.max_latency_ms));
}

}  // namespace

struct Runtime::Impl {
  explicit Impl(RuntimeOptions o)
      : options(std::move(o)),
        setup(options.processors.empty() ? profile::DefaultProcessorSetup()
                                         : profile::ParseProcessorSetup(options.processors)),
        planner(api::PlannerNamed(options.planner)),
        cache(preload::StageSource{[this](const preload::StageKey& key) { return Load(key); },
                                   [this](const preload::StageKey& key) { return Bytes(key); }},
              options.memory_budget_bytes),
        pipeline(
            setup, cache, [](const engine::Tensor&) { return std::int64_t{-1}; },
            PipelineOptionsOf(options)),
        clock(pipeline.start()),
        core({}, pipeline, clock, *planner, PlanningOptionsOf(options), &book) {
    pipeline.OnDone([this](const runtime::RequestRecord& record) { Finish(record); });
  }

  static runtime::PipelineOptions PipelineOptionsOf(const RuntimeOptions& o) {
    runtime::PipelineOptions p;
    p.max_in_flight = o.max_in_flight;
    p.spin_us = o.worker_spin_us;
    p.keep_outputs = true;
    p.keep_records = false;  // each record is taken from OnDone: memory stays bounded
    return p;
  }
  static runtime::PlanningOptions PlanningOptionsOf(const RuntimeOptions& o) {
    runtime::PlanningOptions s;
    s.memory_budget_bytes = o.memory_budget_bytes;
    return s;
  }

  std::unique_ptr<engine::LoadedStage> Load(const preload::StageKey& key) {
    const TaskEntry& task = Entry(key.task);
    engine::StageLoadOptions load =
        task.zoo.StageLoad(static_cast<std::size_t>(key.variant), key.stage + 1);
    load.processor = setup.at(static_cast<std::size_t>(key.processor));
    return engine.LoadStage(load);
  }
  std::int64_t Bytes(const preload::StageKey& key) {
    return Entry(key.task).profile.StageBytes(key.stage, key.variant);
  }
  const TaskEntry& Entry(int task) {
    std::lock_guard lock(mutex);
    return tasks.at(static_cast<std::size_t>(task));  // a deque: entries never move
  }
  int IndexOf(const std::string& name) const {  // mutex held
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      if (tasks[i].name == name && tasks[i].served)
        return static_cast<int>(i);
    }
    return -1;
  }
  int ServedIndex(const std::string& name) {
    std::lock_guard lock(mutex);
    const int t = IndexOf(name);
    if (t < 0)
      throw UsageError("no task named '" + name + "' is served");
    return t;
  }

  // Loads the stages of `task`'s route, so that its first requests do not wait for them.
  void Warm(int task) {
    const std::optional<plan::TaskPlan> tp = core.PlanOf(task);
    if (!tp)
      return;
    const std::vector<std::string> names = core.ProcessorsOfPlan();
    std::vector<preload::StageKey> keys;
    for (std::size_t k = 0; k < tp->variant_of_stage.size(); ++k) {
      const std::string& name = names.at(static_cast<std::size_t>(tp->placement[k]));
      const auto p = std::find_if(setup.begin(), setup.end(),
                                  [&](const engine::ProcessorConfig& c) { return c.name == name; });
      keys.push_back(preload::StageKey{task, static_cast<int>(k), tp->variant_of_stage[k],
                                       static_cast<int>(p - setup.begin())});
    }
    cache.Preload(keys);
  }

  // Runs `work` on a thread of its own and returns its future; the threads are joined by the
  // destructor (a caller that drops the future does not wait for the plan).
  std::future<void> InBackground(std::function<void()> work) {
    auto promise = std::make_shared<std::promise<void>>();
    std::future<void> future = promise->get_future();
    auto finished = std::make_shared<std::atomic<bool>>(false);
    std::lock_guard lock(changes_mutex);
    for (auto it = changes.begin(); it != changes.end();) {
      if (it->second->load()) {
        it->first.join();
        it = changes.erase(it);
      } else {
        ++it;
      }
    }
    changes.emplace_back(std::thread([promise, finished, work = std::move(work)] {
                           try {
                             work();
                             promise->set_value();
                           } catch (...) {
                             promise->set_exception(std::current_exception());
                           }
                           finished->store(true);
                         }),
                         finished);
    return future;
  }
  std::future<void> WhenPlanned(std::unique_ptr<runtime::BackgroundWork> work) {
    std::shared_ptr<runtime::BackgroundWork> shared = std::move(work);
    return InBackground([this, shared] {
      shared->Wait();
      // A re-plan may have moved every task: load what the routes now run.
      for (int t : core.Present())
        Warm(t);
    });
  }
  void JoinChanges() {
    std::lock_guard lock(changes_mutex);
    for (auto& [thread, finished] : changes)
      thread.join();
    changes.clear();
  }

  void Finish(const runtime::RequestRecord& record);

  RuntimeOptions options;
  profile::ProcessorSetup setup;
  engine::TorchScriptEngine engine;
  std::unique_ptr<plan::Planner> planner;
  runtime::PlanBook book;
  mutable std::mutex mutex;  // tasks, pending, stats
  std::deque<TaskEntry> tasks;
  std::unordered_map<std::int64_t, Pending> pending;  // by ticket (the record's sample)
  std::int64_t next_ticket = 0;
  std::vector<double> busy_ms;
  std::mutex changes_mutex;
  std::vector<std::pair<std::thread, std::shared_ptr<std::atomic<bool>>>> changes;
  preload::StageCache cache;
  runtime::Pipeline pipeline;
  runtime::SteadyServingClock clock;
  runtime::ServingCore core;
};

void Runtime::Impl::Finish(const runtime::RequestRecord& record) {
  Result result = api::ResultOf(record, engine, setup);
  std::function<void(Result)> done;
  {
    std::lock_guard lock(mutex);
    TaskEntry& task = tasks.at(static_cast<std::size_t>(record.task));
    result.stitched = api::StitchedOf(record, task.zoo);
    api::Account(result, record, task.stats, task.latencies, kLatencyWindow);
    busy_ms.resize(setup.size(), 0.0);
    for (const runtime::StageSpan& span : record.stages)
      busy_ms[static_cast<std::size_t>(span.processor)] += span.end_ms - span.start_ms;
    const auto it = pending.find(record.sample);
    if (it != pending.end()) {
      done = std::move(it->second.done);
      pending.erase(it);
    }
  }
  if (done)
    done(std::move(result));
}

Runtime::Runtime(RuntimeOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  impl_->core.OnPlanInstalled([this](const runtime::InstalledPlan& installed) {
    std::lock_guard lock(impl_->mutex);
    for (int t : installed.phase.task_of_plan_task)
      ++impl_->tasks.at(static_cast<std::size_t>(t)).stats.replans;
  });
}

Runtime::~Runtime() {
  impl_->JoinChanges();
  impl_->pipeline.WaitIdle();  // every accepted request is answered before the workers stop
}

std::future<void> Runtime::AddTask(const std::string& name, const std::filesystem::path& zoo_dir,
                                   Slo slo, TaskOptions options) {
  CheckSlo(name, slo);
  if (!(options.rate_per_s >= 0.0) || !std::isfinite(options.rate_per_s))
    throw UsageError("task '" + name + "': rate_per_s must be finite and >= 0");
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->IndexOf(name) >= 0)
      throw UsageError("a task named '" + name + "' is already served");
  }
  TaskEntry entry;
  entry.name = name;
  entry.zoo = zoo::LoadZoo(zoo_dir);
  entry.options = options;
  entry.profile = api::FreshProfile(entry.zoo, impl_->setup, options.profile_dir);
  entry.stats.name = name;
  int index = 0;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->tasks.push_back(std::move(entry));
    index = static_cast<int>(impl_->tasks.size()) - 1;
  }
  const TaskEntry& added = impl_->Entry(index);
  impl_->core.AddToCatalog(runtime::ServedTask{name, &added.profile, nullptr, options.rate_per_s});
  return impl_->WhenPlanned(impl_->core.Join(index, ToPlan(slo)));
}

std::future<void> Runtime::RemoveTask(const std::string& name) {
  const int t = impl_->ServedIndex(name);
  {
    std::lock_guard lock(impl_->mutex);
    impl_->tasks[static_cast<std::size_t>(t)].served = false;
  }
  std::shared_ptr<runtime::BackgroundWork> work = impl_->core.Leave(t);
  return impl_->InBackground([this, work, t] {
    work->Wait();
    // Its stages are no use to anyone now (those still running finish first).
    impl_->cache.EvictUnused([t](const preload::StageKey& key) { return key.task == t; });
  });
}

std::future<void> Runtime::SetSlo(const std::string& name, Slo slo) {
  CheckSlo(name, slo);
  const int t = impl_->ServedIndex(name);
  return impl_->WhenPlanned(impl_->core.ChangeSlo(t, ToPlan(slo)));
}

int Runtime::PlanAhead(const std::vector<std::map<std::string, Slo>>& configurations) {
  // The core's SLOs first, without the runtime's lock: the core calls the runtime's plan observer
  // (which takes that lock) under its own, so the core is never asked while holding it.
  std::vector<plan::Slo> current;
  const std::size_t known = impl_->core.Tasks().size();
  for (std::size_t t = 0; t < known; ++t)  // an absent task's SLO is not planned for
    current.push_back(impl_->core.SloOf(static_cast<int>(t)).value_or(plan::Slo{0.0, 1.0}));
  std::vector<std::vector<plan::Slo>> slos;
  for (const auto& config : configurations) {
    std::vector<plan::Slo> one = current;
    std::lock_guard lock(impl_->mutex);
    for (const auto& [name, slo] : config) {
      CheckSlo(name, slo);
      const int t = impl_->IndexOf(name);
      if (t < 0 || static_cast<std::size_t>(t) >= one.size())
        throw UsageError("PlanAhead: no task named '" + name + "' is served");
      one[static_cast<std::size_t>(t)] = ToPlan(slo);
    }
    slos.push_back(std::move(one));
  }
  return impl_->core.PlanAhead(slos);
}

std::future<Result> Runtime::Submit(const std::string& task, std::vector<Tensor> inputs,
                                    SubmitOptions options) {
  auto promise = std::make_shared<std::promise<Result>>();
  std::future<Result> future = promise->get_future();
  Submit(task, std::move(inputs), options,
         [promise](Result result) { promise->set_value(std::move(result)); });
  return future;
}

void Runtime::Submit(const std::string& task, std::vector<Tensor> inputs, SubmitOptions options,
                     std::function<void(Result)> done) {
  runtime::RequestInput input;
  int t = -1;
  std::int64_t ticket = 0;
  std::string refused;
  {
    std::lock_guard lock(impl_->mutex);
    t = impl_->IndexOf(task);
    if (t < 0) {
      refused = "no task named '" + task + "' is served";
    } else {
      TaskEntry& entry = impl_->tasks[static_cast<std::size_t>(t)];
      refused = api::CheckInputs(entry.zoo, inputs);
      if (!refused.empty())
        ++entry.stats.submitted, ++entry.stats.rejected;
    }
    if (refused.empty()) {
      ticket = impl_->next_ticket++;
      impl_->pending.emplace(ticket, Pending{std::move(done)});
    }
  }
  if (!refused.empty()) {
    Result result;
    result.error = refused;
    result.slo_miss = "rejected";
    done(std::move(result));
    return;
  }
  input.input = impl_->engine.FromHost(api::ToHost(inputs[0]));
  for (std::size_t i = 1; i < inputs.size(); ++i)
    input.side.push_back(impl_->engine.FromHost(api::ToHost(inputs[i])));
  const double now = impl_->clock.NowMs();
  runtime::AdmitOptions admit;
  admit.priority = options.priority;
  admit.min_accuracy = options.min_accuracy;
  if (options.timeout_ms > 0.0)
    admit.deadline_ms = now + options.timeout_ms;
  // A refusal comes back through OnDone before Submit returns: the ticket is registered first.
  impl_->pipeline.Submit(t, ticket, std::move(input), now, admit);
}

std::vector<TaskInfo> Runtime::Tasks() const {
  std::vector<std::string> names;
  {
    std::lock_guard lock(impl_->mutex);
    for (const TaskEntry& t : impl_->tasks) {
      if (t.served)
        names.push_back(t.name);
    }
  }
  std::vector<TaskInfo> out;
  for (const std::string& name : names) {
    if (std::optional<TaskInfo> info = Task(name))
      out.push_back(std::move(*info));
  }
  return out;
}

std::optional<TaskInfo> Runtime::Task(const std::string& name) const {
  int t = -1;
  TaskInfo info;
  {
    std::lock_guard lock(impl_->mutex);
    t = impl_->IndexOf(name);
    if (t < 0)
      return std::nullopt;
    info = api::InfoOf(impl_->tasks[static_cast<std::size_t>(t)].zoo);
  }
  info.name = name;
  if (const std::optional<plan::Slo> slo = impl_->core.SloOf(t))
    info.slo = Slo{slo->min_accuracy, slo->max_latency_ms};
  if (const std::optional<plan::TaskPlan> tp = impl_->core.PlanOf(t)) {
    const std::vector<std::string> processors = impl_->core.ProcessorsOfPlan();
    info.routed = true;
    info.stitched = plan::StitchedVariantName(impl_->Entry(t).profile, tp->stitched_variant);
    for (int p : tp->placement)
      info.placement.push_back(processors.at(static_cast<std::size_t>(p)));
    info.expected_latency_ms = tp->latency_ms;
    info.expected_accuracy = tp->accuracy;
    info.plan_meets_slo = tp->slo_met;
  }
  return info;
}

Stats Runtime::GetStats() const {
  Stats stats;
  const double uptime_ms = impl_->clock.NowMs();
  stats.uptime_s = uptime_ms / 1000.0;
  stats.resident_bytes = impl_->cache.ResidentBytes();
  stats.memory_budget_bytes = impl_->options.memory_budget_bytes;
  std::lock_guard lock(impl_->mutex);
  for (const TaskEntry& t : impl_->tasks) {
    if (!t.served)
      continue;
    TaskStats s = t.stats;
    api::FillQuantiles(s, t.latencies);
    stats.replans += s.replans;
    stats.tasks.push_back(std::move(s));
  }
  for (std::size_t p = 0; p < impl_->setup.size(); ++p) {
    const double busy = p < impl_->busy_ms.size() ? impl_->busy_ms[p] : 0.0;
    stats.busy_share.emplace_back(impl_->setup[p].name, uptime_ms > 0 ? busy / uptime_ms : 0.0);
  }
  return stats;
}

}  // namespace sparseloom
