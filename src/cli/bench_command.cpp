#include "cli/bench_command.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <exception>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/bench_report.h"
#include "cli/table.h"
#include "common/error.h"
#include "common/json_reader.h"
#include "eval/task_inputs.h"
#include "profile/sample_design.h"
#include "runtime/serving.h"
#include "runtime/workload.h"
#include "sim/cost_model.h"
#include "sim/device_profile.h"
#include "sim/device_task_profile.h"
#include "sim/profiling_model.h"
#include "sim/simulator.h"
#include "zoo/zoo.h"

namespace sparseloom::cli {
namespace {

namespace fs = std::filesystem;

struct BenchOptions {
  std::string tasks;
  std::vector<std::string> devices = {"devices/intel-core-ultra-7-265k.json",
                                      "devices/intel-core-ultra-5-135u.json",
                                      "devices/jetson-agx-orin.json"};
  std::string host_device = "devices/host.json";
  bool host = true;
  std::string out = "results/bench";
  std::string doc = "docs/results.md";
  std::string placements = "any";
  int slo_configs = 6;
  int orders = 24;
  double phase_s = 1.0;
  double offered_load = 0.7;    // 0: as the task file's rates load the host
  bool host_load_check = true;  // (a) again at the load the task file's rates put on the host
  int max_in_flight = 64;
  int closed_configs = 2;
  int window = 4;
  int placement_configs = 2;
  std::vector<double> memory_budgets = {15, 20, 25, 30, 35, 40, 45, 50, 55,
                                        60, 65, 70, 75, 80, 85, 90, 95, 100};
  int memory_configs = 2;
  double memory_tolerance_pp = 1.0;
  bool plan_cache = true;
  std::uint64_t seed = 0;
  int jobs = 2;
  std::string python = "/usr/bin/python3";
  std::string plot_script = "scripts/plot_bench.py";
  bool plots = true;
  std::string regenerate = "make results";
};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Plans are a pure function of the request (the planners keep no state), and the bench asks the
// same questions many times: every budget of the memory sweep, every planner's warm-up and run,
// and every arrival order that reaches the same set of tasks in the same order. Answers are kept
// per request; a request whose profiles the bench does not own (none today) is not cached.
class MemoizedPlanner final : public plan::Planner {
 public:
  MemoizedPlanner(std::unique_ptr<plan::Planner> inner, std::set<const plan::TaskProfile*> owned,
                  bool enabled)
      : inner_(std::move(inner)), owned_(std::move(owned)), enabled_(enabled) {}

  std::string Name() const override { return inner_->Name(); }

  plan::Plan Solve(const plan::PlanRequest& request) const override {
    std::string key;
    if (!enabled_ || !KeyOf(request, key))
      return inner_->Solve(request);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto it = plans_.find(key); it != plans_.end())
        return it->second;
    }
    plan::Plan plan = inner_->Solve(request);
    std::lock_guard<std::mutex> lock(mutex_);
    plans_.emplace(std::move(key), plan);
    return plan;
  }

 private:
  template <typename T>
  static void Append(std::string& key, const T& value) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    key.append(bytes, sizeof(T));
  }
  bool KeyOf(const plan::PlanRequest& request, std::string& key) const {
    for (const std::string& p : request.processors)
      key += p + '\n';
    Append(key, request.memory_budget_bytes);
    Append(key, static_cast<int>(request.placements));
    for (const plan::PlanTask& t : request.tasks) {
      if (!owned_.count(&t.profile.get()))
        return false;
      key += t.name + '\n';
      Append(key, &t.profile.get());
      Append(key, t.slo.min_accuracy);
      Append(key, t.slo.max_latency_ms);
      Append(key, t.rate_per_s);
    }
    return true;
  }

  std::unique_ptr<plan::Planner> inner_;
  std::set<const plan::TaskProfile*> owned_;
  bool enabled_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, plan::Plan> plans_;
};

// One platform: its processors, storage and, per task, the planner's profile on it.
struct Platform {
  std::string name;
  std::string description;
  std::string source;
  bool host = false;
  std::vector<std::string> processors;
  sim::StorageProfile storage;
  const sim::DeviceProfile* device = nullptr;  // the SoC's, or the host's fitted profile
  std::deque<plan::TaskProfile> profiles;      // per task
  std::vector<std::string> notes;
  double rate_scale = 1.0;
  double offered_load = 0.0;
  double host_rate_scale = 0.0;  // the rates' scale at the host's load; 0: no such run
  double host_load = 0.0;
};

struct TaskData {
  std::string name;
  zoo::Zoo zoo;
  const plan::TaskProfile* host_profile = nullptr;
  const profile::PerformanceTable* table = nullptr;
  double rate_per_s = 0.0;
};

// The load the most accurate original variants put on a platform at the task file's rates: each
// request of task t served whole by one processor, the processors pooled, so that processor p
// adds 1000 / d_tp requests per second of capacity for t (d_tp: the variant's latency on p):
// Σ_t λ_t / Σ_p (1000 / d_tp). On identical processors this is Σ_t λ_t d_t / (1000 P); on a SoC
// whose processors differ, a slow processor adds little.
double ReferenceLoad(const std::deque<plan::TaskProfile>& profiles,
                     const std::vector<TaskData>& tasks) {
  double load = 0.0;
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    const plan::TaskProfile& p = profiles[t];
    const int K = p.num_stages;
    const int V = p.num_variants();
    const std::size_t P = p.processors.size();
    int best = 0;
    std::size_t best_s = 0;
    for (int v = 0; v < V; ++v) {
      std::size_t s = 0;
      for (int k = 0; k < K; ++k)
        s = s * static_cast<std::size_t>(V) + static_cast<std::size_t>(v);
      if (v == 0 || p.accuracy[s] > p.accuracy[best_s]) {
        best = v;
        best_s = s;
      }
    }
    double capacity_rps = 0.0;
    for (std::size_t q = 0; q < P; ++q) {
      double ms = p.stitch_gap_ms.empty() ? 0.0 : p.stitch_gap_ms[best_s];
      for (int k = 0; k < K; ++k)
        ms += p.stage_latency_ms[static_cast<std::size_t>(k * V + best) * P + q];
      if (ms > 0.0 && ms < sim::kUnsupportedStageMs)
        capacity_rps += 1000.0 / ms;
    }
    if (capacity_rps > 0.0)
      load += tasks[t].rate_per_s / capacity_rps;
  }
  return load;
}

std::vector<runtime::Episode> MakeEpisodes(const std::vector<runtime::SloConfiguration>& configs,
                                           const std::vector<std::vector<int>>& orders,
                                           std::size_t num_configs, std::size_t num_orders) {
  std::vector<runtime::Episode> out;
  for (std::size_t c = 0; c < std::min(num_configs, configs.size()); ++c) {
    for (std::size_t r = 0; r < std::min(num_orders, orders.size()); ++r) {
      runtime::Episode e;
      e.name = "slo" + std::to_string(c) + "-order" + std::to_string(r);
      e.slos = configs[c].slos;
      e.order = orders[r];
      out.push_back(std::move(e));
    }
  }
  return out;
}

// Counts SLO violations episode by episode (runtime::Summarize per episode, summed), so that a
// run of many episodes never holds all of its request records at once.
class ViolationCounter {
 public:
  ViolationCounter(std::string planner, const std::vector<runtime::ServedTask>& served)
      : served_(served), completed_(served.size(), 0), served_s_(served.size(), 0.0) {
    f_.planner = std::move(planner);
  }

  void Add(const runtime::EpisodeReport& e) {
    const std::vector<runtime::TaskSummary> summaries = runtime::Summarize({e}, served_);
    for (std::size_t t = 0; t < summaries.size(); ++t) {
      const runtime::TaskSummary& s = summaries[t];
      f_.requests += s.requests;
      f_.violations += s.violations;
      f_.dropped += s.dropped + s.failed;
      f_.task_episodes += s.task_episodes;
      f_.episodes_violated += s.episodes_violated;
      completed_[t] += s.completed;
      served_s_[t] += s.served_s;
    }
    for (std::size_t i = 0; i < e.records.size(); ++i) {
      const runtime::RequestRecord& r = e.records[i];
      if (r.SloMet())
        continue;
      // The episode's SLO, not the record's: a dropped request never had a route to copy it from.
      const plan::Slo& slo = e.episode.slos[static_cast<std::size_t>(r.task)];
      if (r.outcome == runtime::Outcome::kCompleted)
        ++(r.accuracy < slo.min_accuracy ? f_.inaccurate : f_.late);
      if (PlanMissed(e, i, slo))
        ++f_.planned_miss;
    }
  }

  ViolationFigures Figures() const {
    ViolationFigures out = f_;
    for (std::size_t t = 0; t < completed_.size(); ++t)
      if (served_s_[t] > 0.0)
        out.completed_rps += static_cast<double>(completed_[t]) / served_s_[t];
    return out;
  }

 private:
  // Whether the plan of record i's phase already missed its SLO in the planner's own model.
  static bool PlanMissed(const runtime::EpisodeReport& e, std::size_t i, const plan::Slo& slo) {
    const runtime::RequestRecord& r = e.records[i];
    if (i >= e.phase_of_record.size())
      return false;
    const int phase = e.phase_of_record[i];
    if (phase < 0 || phase >= static_cast<int>(e.phases.size()))
      return false;
    const runtime::PhaseReport& ph = e.phases[static_cast<std::size_t>(phase)];
    if (r.task < 0 || r.task >= static_cast<int>(ph.plan_task_of.size()))
      return false;
    const int at = ph.plan_task_of[static_cast<std::size_t>(r.task)];
    if (at < 0 || at >= static_cast<int>(ph.plan.tasks.size()))
      return false;
    const plan::TaskPlan& tp = ph.plan.tasks[static_cast<std::size_t>(at)];
    return tp.latency_ms > slo.max_latency_ms || tp.accuracy < slo.min_accuracy;
  }

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

Workbench MakeWorkbench(const Platform& platform, const std::deque<plan::TaskProfile>& profiles,
                        const std::vector<TaskData>& data, const runtime::ServeOptions& serve) {
  Workbench w{platform, {}, {}, {}};
  for (std::size_t t = 0; t < data.size(); ++t) {
    sim::SimTask task;
    task.name = data[t].name;
    task.profile = &profiles[t];
    task.rate_per_s = data[t].rate_per_s * platform.rate_scale;
    task.num_samples = std::max<std::int64_t>(1, data[t].zoo.validation_samples);
    w.tasks.push_back(task);
    w.served.push_back(runtime::ServedTask{task.name, task.profile, nullptr, task.rate_per_s});
  }
  w.options.serve = serve;
  w.options.storage = platform.storage;
  return w;
}

// Runs `episodes` under `planner` on a fresh simulator; with a budget, the hottest stages are
// preloaded first, otherwise every stage the plans use. `each` sees every episode's report.
void RunEpisodes(const Workbench& w, const plan::Planner& planner,
                 const std::vector<runtime::Episode>& episodes, std::int64_t budget_bytes,
                 const std::function<void(std::size_t, const runtime::EpisodeReport&)>& each,
                 preload::StageCacheStats* stats = nullptr) {
  sim::Simulator simulator(w.tasks, w.platform.processors, budget_bytes);
  if (budget_bytes > 0)
    simulator.PreloadHottest(episodes, w.options.serve);
  else
    simulator.Warm(planner, episodes, w.options.serve);
  for (std::size_t i = 0; i < episodes.size(); ++i)
    each(i, simulator.RunEpisode(planner, episodes[i], w.options));
  if (stats != nullptr)
    *stats = simulator.CacheStats();
}

// The violation figures of `planner` over `episodes`.
ViolationFigures CountViolations(const Workbench& w, const plan::Planner& planner,
                                 const std::vector<runtime::Episode>& episodes,
                                 std::int64_t budget_bytes = 0,
                                 preload::StageCacheStats* stats = nullptr) {
  ViolationCounter counter(planner.Name(), w.served);
  RunEpisodes(
      w, planner, episodes, budget_bytes,
      [&](std::size_t, const runtime::EpisodeReport& e) { counter.Add(e); }, stats);
  return counter.Figures();
}

std::string PlacementName(const plan::Placement& placement,
                          const std::vector<std::string>& processors) {
  std::string out;
  for (int p : placement) {
    out += out.empty() ? "" : "-";
    out += processors[static_cast<std::size_t>(p)];
  }
  return out;
}

// The fixed placements compared with the planner's free choice: every stage on its own processor
// when K <= P (the paper's placement orders), otherwise every mapping that uses every processor.
std::vector<plan::Placement> FixedPlacements(int K, int P) {
  std::vector<plan::Placement> out;
  plan::Placement current(static_cast<std::size_t>(K), 0);
  while (true) {
    std::set<int> used(current.begin(), current.end());
    if (static_cast<int>(used.size()) == std::min(K, P))
      out.push_back(current);
    int k = K - 1;
    while (k >= 0 && ++current[static_cast<std::size_t>(k)] == P)
      current[static_cast<std::size_t>(k--)] = 0;
    if (k < 0)
      return out;
  }
}

// The batch-B work of a stage: B samples' compute and activations, its weights read once.
sim::StageWork Batched(sim::StageWork work, std::int64_t batch) {
  work.flops *= batch;
  work.activation_bytes *= batch;
  return work;
}

ProfilingFigures ModelProfiling(const Platform& platform, const plan::TaskProfile& profile,
                                const TaskData& task) {
  const zoo::Zoo& z = task.zoo;
  const int K = z.num_stages;
  const int V = static_cast<int>(z.variants.size());
  const sim::ProfilerDesign design;
  ProfilingFigures f;
  f.task = task.name;
  // Accuracy runs on one processor (the profiler's first; on a device the one that runs the
  // whole validation pass fastest): the batch time of each stage there, by the cost model.
  const std::vector<std::string> candidates =
      platform.host ? std::vector<std::string>{platform.device->processors.front().name}
                    : platform.processors;
  std::vector<double> best_batch;
  double best_total = std::numeric_limits<double>::infinity();
  for (const std::string& name : candidates) {
    const sim::ProcessorProfile& processor = platform.device->Processor(name);
    std::vector<double> batch_ms;
    double total = 0.0;
    bool supported = true;
    for (int k = 0; k < K && supported; ++k) {
      for (int v = 0; v < V && supported; ++v) {
        const sim::StageWork work =
            Batched(sim::WorkOf(z, static_cast<std::size_t>(v), k + 1), design.accuracy_batch);
        if (sim::WhyUnsupported(processor, work)) {
          supported = false;
          break;
        }
        batch_ms.push_back(sim::StageLatencyMs(processor, work));
        total += batch_ms.back();
      }
    }
    if (supported && total < best_total) {
      best_total = total;
      best_batch = batch_ms;
      f.accuracy_processor = name;
    }
  }
  if (best_batch.empty())
    throw UsageError(platform.name + ": no processor runs every stage of task '" + task.name +
                     "' for the accuracy evaluation");
  sim::ProfilingWork work;
  work.accuracy_batch_ms = best_batch;
  work.validation_samples = z.validation_samples;
  const std::size_t P = platform.processors.size();
  for (int k = 0; k < K; ++k)
    for (int v = 0; v < V; ++v)
      for (std::size_t p = 0; p < P; ++p)
        work.load_ms.push_back(sim::LoadTimeMs(
            platform.storage, profile.stage_bytes[static_cast<std::size_t>(k * V + v)]));
  work.estimators_s = task.table->time.estimators_s;
  // The design's sample: originals, single substitutions into the reference, then random
  // stitched variants up to 2% of V^K (the profiler's seeds; its wall-time budget may stop it
  // earlier on a slow machine).
  std::vector<std::int64_t> points =
      profile::StructuredAccuracySample(z, profile::ReferenceVariant(z));
  const auto random_count =
      static_cast<std::int64_t>(std::ceil(0.02 * static_cast<double>(z.StitchedCount())));
  for (std::int64_t s : profile::RandomStitched(z, random_count, points, 1))
    points.push_back(s);
  work.accuracy_points = points;
  f.sampled = sim::ModelProfilingTime(profile, work, design);
  work.exhaustive = true;
  f.exhaustive = sim::ModelProfilingTime(profile, work, design);
  if (platform.host) {
    const profile::PerformanceTable& table = *task.table;
    f.measured_s = table.time.Estimated();
    work.exhaustive = false;
    work.accuracy_points.clear();
    for (std::size_t s = 0; s < table.accuracy_measured.size(); ++s)
      if (table.accuracy_measured[s])
        work.accuracy_points.push_back(static_cast<std::int64_t>(s));
    f.modelled_measured_s = sim::ModelProfilingTime(profile, work, design).total_s();
  }
  return f;
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M UTC", &tm);
  return text;
}

std::string Num(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

std::string CommandLine(const BenchOptions& o) {
  std::string c = "sparseloom bench --tasks " + o.tasks;
  if (!o.devices.empty()) {
    c += " --devices";
    for (const std::string& d : o.devices)
      c += " " + d;
  }
  if (!o.host)
    c += " --no-host";
  c += " --out " + o.out + " --doc " + o.doc + " --slo-configs " + std::to_string(o.slo_configs) +
       " --orders " + std::to_string(o.orders) + " --phase-s " + Num(o.phase_s);
  c += " --offered-load " + Num(o.offered_load);
  if (!o.host_load_check)
    c += " --no-host-load-check";
  if (o.placements != "any")
    c += " --placements " + o.placements;
  c += " --closed-configs " + std::to_string(o.closed_configs) + " --placement-configs " +
       std::to_string(o.placement_configs) + " --memory-configs " +
       std::to_string(o.memory_configs);
  std::string budgets;
  for (double b : o.memory_budgets) {
    budgets += budgets.empty() ? "" : ",";
    budgets += Num(b);
  }
  c += " --memory-budgets " + budgets + " --seed " + std::to_string(o.seed);
  return c;
}

std::mutex progress_mutex;

void Progress(const std::string& platform, const std::string& what) {
  std::lock_guard<std::mutex> lock(progress_mutex);
  std::cerr << "[bench] " << platform << ": " << what << "\n" << std::flush;
}

PlatformResults RunPlatform(const Platform& platform, const std::vector<TaskData>& data,
                            const BenchOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  PlatformResults out;
  out.name = platform.name;
  out.description = platform.description;
  out.source = platform.source;
  out.host = platform.host;
  out.processors = platform.processors;
  out.notes = platform.notes;
  out.rate_scale = platform.rate_scale;
  out.offered_load = platform.offered_load;
  out.host_load = platform.host_load;

  std::vector<const plan::TaskProfile*> profile_ptrs;
  std::set<const plan::TaskProfile*> owned;
  for (const plan::TaskProfile& p : platform.profiles) {
    profile_ptrs.push_back(&p);
    owned.insert(&p);
  }
  const auto configs = runtime::SloConfigurations(profile_ptrs, o.slo_configs, o.seed);
  const auto orders = runtime::ArrivalOrders(static_cast<int>(data.size()), o.orders, o.seed);
  out.slo_configs = static_cast<int>(configs.size());
  out.orders = static_cast<int>(orders.size());
  const auto episodes = MakeEpisodes(configs, orders, configs.size(), orders.size());

  runtime::ServeOptions serve;
  serve.arrivals = runtime::ArrivalKind::kPoisson;
  serve.phase_s = o.phase_s;
  serve.closed_loop_window = o.window;
  serve.placements =
      o.placements == "orders" ? plan::PlacementSpace::kOrders : plan::PlacementSpace::kAnyMapping;
  serve.seed = o.seed;
  serve.pipeline.max_in_flight = o.max_in_flight;
  const Workbench bench = MakeWorkbench(platform, platform.profiles, data, serve);

  std::vector<std::unique_ptr<plan::Planner>> planners;
  for (auto& p : plan::MakeAllPlanners())
    planners.push_back(std::make_unique<MemoizedPlanner>(std::move(p), owned, o.plan_cache));
  const plan::Planner& sparseloom = *planners.front();

  // (a) SLO violations, Poisson arrivals, every planner on the same episodes. SparseLoom's first
  // episodes are also the free choice of (d).
  const std::size_t placement_n = std::min<std::size_t>(
      static_cast<std::size_t>(o.placement_configs) * orders.size(), episodes.size());
  ViolationCounter free_choice(sparseloom.Name(), bench.served);
  for (const auto& planner : planners) {
    const auto t0 = std::chrono::steady_clock::now();
    ViolationCounter counter(planner->Name(), bench.served);
    const bool is_sparseloom = planner.get() == &sparseloom;
    RunEpisodes(bench, *planner, episodes, 0, [&](std::size_t i, const runtime::EpisodeReport& e) {
      counter.Add(e);
      if (is_sparseloom && i < placement_n)
        free_choice.Add(e);
    });
    out.violations.push_back(counter.Figures());
    Progress(platform.name, "violations: " + planner->Name() + " " +
                                Fixed(100.0 * out.violations.back().RequestRate(), 1) + "% of " +
                                std::to_string(out.violations.back().requests) + " requests, " +
                                std::to_string(episodes.size()) + " episodes (" +
                                Fixed(SecondsSince(t0), 1) + " s)");
  }

  // (a') The same comparison at the load the task file's rates put on the host.
  if (platform.host_rate_scale > 0.0) {
    const auto t0 = std::chrono::steady_clock::now();
    Platform at_host_load = platform;
    at_host_load.rate_scale = platform.host_rate_scale;
    const Workbench hw = MakeWorkbench(at_host_load, platform.profiles, data, serve);
    for (const auto& planner : planners)
      out.violations_at_host_load.push_back(CountViolations(hw, *planner, episodes));
    Progress(platform.name,
             "violations at the host's load (rates x" + Fixed(platform.host_rate_scale, 3) +
                 "): SparseLoom " +
                 Fixed(100.0 * out.violations_at_host_load.front().RequestRate(), 1) + "% (" +
                 Fixed(SecondsSince(t0), 1) + " s)");
  }

  // (b) Closed-loop throughput with every task present.
  {
    const auto t0 = std::chrono::steady_clock::now();
    runtime::ServeOptions closed = serve;
    closed.arrivals = runtime::ArrivalKind::kClosedLoop;
    const Workbench cw = MakeWorkbench(platform, platform.profiles, data, closed);
    const auto closed_episodes =
        MakeEpisodes(configs, orders, static_cast<std::size_t>(o.closed_configs), 1);
    out.closed_episodes = static_cast<int>(closed_episodes.size());
    for (const auto& planner : planners) {
      ThroughputFigures f;
      f.planner = planner->Name();
      const double n = static_cast<double>(closed_episodes.size());
      RunEpisodes(
          cw, *planner, closed_episodes, 0, [&](std::size_t, const runtime::EpisodeReport& e) {
            const runtime::ThroughputCheck c =
                runtime::CheckThroughput(e, cw.served, static_cast<int>(e.phases.size()) - 1);
            f.measured_rps += c.measured_rps / n;
            f.bound_rps += c.bound_rps / n;
          });
      out.throughput.push_back(f);
    }
    Progress(platform.name, "closed-loop throughput: " + std::to_string(planners.size()) +
                                " planners x " + std::to_string(closed_episodes.size()) +
                                " episodes (" + Fixed(SecondsSince(t0), 1) + " s)");
  }

  // (c) Profiling time, modelled.
  for (std::size_t t = 0; t < data.size(); ++t)
    out.profiling.push_back(ModelProfiling(platform, platform.profiles[t], data[t]));

  // (d) Fixed placement orders against SparseLoom's free choice, on the first configurations.
  {
    const auto t0 = std::chrono::steady_clock::now();
    const int K = platform.profiles.front().num_stages;
    const bool same_k = std::all_of(platform.profiles.begin(), platform.profiles.end(),
                                    [&](const plan::TaskProfile& p) { return p.num_stages == K; });
    const std::vector<runtime::Episode> subset(episodes.begin(),
                                               episodes.begin() + static_cast<long>(placement_n));
    out.placement_episodes = static_cast<int>(placement_n);
    PlacementFigures free;
    free.placement = "free choice";
    free.free = true;
    free.figures = free_choice.Figures();
    out.placement.push_back(free);
    if (!same_k) {
      out.notes.push_back("fixed placement orders skipped: the tasks have different K");
    } else {
      const int P = static_cast<int>(platform.processors.size());
      for (const plan::Placement& fixed : FixedPlacements(K, P)) {
        std::deque<plan::TaskProfile> pinned;
        std::set<const plan::TaskProfile*> pinned_owned;
        for (const plan::TaskProfile& p : platform.profiles) {
          pinned.push_back(sim::PinnedToPlacement(p, fixed));
          pinned_owned.insert(&pinned.back());
        }
        const MemoizedPlanner planner(plan::MakeSparseLoomPlanner(), pinned_owned, o.plan_cache);
        const Workbench pw = MakeWorkbench(platform, pinned, data, serve);
        PlacementFigures f;
        f.placement = PlacementName(fixed, platform.processors);
        f.figures = CountViolations(pw, planner, subset);
        out.placement.push_back(f);
      }
      Progress(platform.name, "placement: free choice and " +
                                  std::to_string(out.placement.size() - 1) + " fixed orders x " +
                                  std::to_string(placement_n) + " episodes (" +
                                  Fixed(SecondsSince(t0), 1) + " s)");
    }
  }

  // (e) Violations against the stage memory budget (hottest stages preloaded, the rest loaded on
  // demand from the platform's storage), SparseLoom.
  {
    const auto t0 = std::chrono::steady_clock::now();
    for (const plan::TaskProfile& p : platform.profiles)
      for (std::int64_t bytes : p.stage_bytes)
        out.full_set_bytes += bytes * static_cast<std::int64_t>(platform.processors.size());
    const auto memory_episodes =
        MakeEpisodes(configs, orders, static_cast<std::size_t>(o.memory_configs), orders.size());
    out.memory_episodes = static_cast<int>(memory_episodes.size());
    std::vector<double> budgets = o.memory_budgets;
    if (std::find(budgets.begin(), budgets.end(), 100.0) == budgets.end())
      budgets.push_back(100.0);
    std::sort(budgets.begin(), budgets.end());
    for (double percent : budgets) {
      MemoryFigures m;
      m.fraction = percent / 100.0;
      m.budget_bytes = std::max<std::int64_t>(
          1, static_cast<std::int64_t>(m.fraction * static_cast<double>(out.full_set_bytes)));
      try {
        m.figures = CountViolations(bench, sparseloom, memory_episodes, m.budget_bytes, &m.cache);
      } catch (const UsageError& e) {
        // A stage larger than the whole budget: the budget cannot serve at all.
        out.notes.push_back("memory budget " + Num(percent) + "%: " + e.what());
        continue;
      }
      out.memory.push_back(m);
    }
    Progress(platform.name, "memory: " + std::to_string(out.memory.size()) + " budgets x " +
                                std::to_string(memory_episodes.size()) + " episodes (" +
                                Fixed(SecondsSince(t0), 1) + " s)");
  }
  out.wall_s = SecondsSince(start);
  return out;
}

void RunBench(const BenchOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  // Device profiles first: a malformed one is reported before any long work.
  std::deque<sim::DeviceProfile> devices;
  for (const std::string& file : o.devices)
    devices.push_back(sim::LoadDeviceProfile(file));
  const sim::DeviceProfile host_device = sim::LoadDeviceProfile(o.host_device);
  if (o.placements != "any" && o.placements != "orders")
    throw UsageError("--placements: expected any or orders, got \"" + o.placements + "\"");
  for (double b : o.memory_budgets)
    if (!(b > 0.0 && b <= 100.0))
      throw UsageError("--memory-budgets: expected percentages in (0, 100], got " + Num(b));

  const eval::Inputs in = eval::LoadInputs(o.tasks);
  std::vector<TaskData> data;
  for (std::size_t t = 0; t < in.file.tasks.size(); ++t) {
    const plan::TaskSpec& spec = in.file.tasks[t];
    TaskData d;
    d.name = spec.name;
    d.zoo = zoo::LoadZoo(spec.zoo_dir);
    d.host_profile = &in.profiles[in.table_of_task[t]];
    d.table = &in.tables[in.table_of_task[t]];
    d.rate_per_s = spec.rate_per_s;
    data.push_back(std::move(d));
  }
  if (data.empty())
    throw UsageError(o.tasks + ": no tasks to bench");

  std::vector<Platform> platforms;
  Platform host;
  host.name = "host";
  host.description = "this machine's processors (" + profile::ToString(in.setup) +
                     "): the measured performance tables, no cost model";
  host.source = o.tasks;
  host.host = true;
  for (const auto& p : in.setup)
    host.processors.push_back(p.name);
  host.storage = host_device.storage;
  host.device = &host_device;
  for (const TaskData& d : data)
    host.profiles.push_back(*d.host_profile);
  const double host_load = ReferenceLoad(host.profiles, data);
  const double target_load = o.offered_load > 0.0 ? o.offered_load : host_load;
  if (o.host)
    platforms.push_back(std::move(host));
  for (const sim::DeviceProfile& device : devices) {
    Platform p;
    p.name = device.name;
    p.description = device.description;
    p.source = device.file.string();
    p.processors = device.ProcessorNames(/*include_optional=*/false);
    p.storage = device.storage;
    p.device = &device;
    for (const TaskData& d : data) {
      p.profiles.push_back(sim::DeviceTaskProfile(d.zoo, *d.host_profile, device, p.processors));
      for (const std::string& line : sim::UnsupportedStages(d.zoo, device, p.processors))
        p.notes.push_back("task '" + d.name + "': " + line);
    }
    platforms.push_back(std::move(p));
  }
  for (Platform& p : platforms) {
    if (o.placements == "orders") {
      for (const plan::TaskProfile& profile : p.profiles) {
        if (profile.num_stages > static_cast<int>(p.processors.size()))
          throw UsageError("--placements orders puts every stage on its own processor, but task '" +
                           profile.task + "' has K = " + std::to_string(profile.num_stages) +
                           " stages and platform " + p.name + " " +
                           std::to_string(p.processors.size()) + " processors");
      }
    }
    const double load = ReferenceLoad(p.profiles, data);
    p.rate_scale = load > 0.0 ? target_load / load : 1.0;
    p.offered_load = target_load;
    p.host_load = host_load;
    if (o.host_load_check && std::abs(target_load - host_load) > 1e-9)
      p.host_rate_scale = load > 0.0 ? host_load / load : 1.0;
  }

  BenchReport report;
  report.command = CommandLine(o);
  report.regenerate = o.regenerate;
  report.task_file = o.tasks;
  report.memory_tolerance_pp = o.memory_tolerance_pp;
  report.generated_at = UtcNow();
  {
    std::ostringstream s;
    s << data.size() << " tasks (";
    for (std::size_t t = 0; t < data.size(); ++t)
      s << (t ? ", " : "") << data[t].name << ": " << data[t].zoo.task << ", " << data[t].rate_per_s
        << "/s in the task file";
    s << "); " << o.slo_configs << " SLO configurations from each platform's tight/medium/loose "
      << "grid x " << o.orders << " arrival orders requested (all T! orders when >= T!); "
      << "Poisson arrivals, " << o.phase_s << " s per phase (virtual time), admission bound "
      << o.max_in_flight << "; rates scaled per platform so that the most accurate original "
      << "variants would load its pooled processors to " << Fixed(100.0 * target_load, 1) << "% ("
      << (o.offered_load > 0.0 ? "--offered-load" : "what the task file's rates give the host")
      << "); placement space: " << o.placements << "; seed " << o.seed << ".";
    report.settings = s.str();
  }

  // Platforms are independent (each its own simulators and planners): `--jobs` run at once.
  report.platforms.resize(platforms.size());
  std::vector<std::exception_ptr> errors(platforms.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < platforms.size(); i = next++) {
      const Platform& p = platforms[i];
      Progress(p.name, std::to_string(p.processors.size()) + " processors (" +
                           Join(p.processors, ", ") + "), rates x" + Fixed(p.rate_scale, 3));
      try {
        report.platforms[i] = RunPlatform(p, data, o);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int j = 1; j < std::min<int>(o.jobs, static_cast<int>(platforms.size())); ++j)
    threads.emplace_back(worker);
  worker();
  for (std::thread& t : threads)
    t.join();
  for (const std::exception_ptr& e : errors)
    if (e)
      std::rethrow_exception(e);

  fs::create_directories(o.out);
  const auto csvs = WriteBenchCsvs(report, o.out);
  std::string plots_dir;
  if (o.plots) {
    const std::string command = o.python + " " + o.plot_script + " " + o.out;
    Progress("plots", command);
    if (std::system(command.c_str()) != 0)
      throw UsageError("plotting failed: `" + command + "` exited non-zero (run it to see why)");
    plots_dir = fs::relative(fs::absolute(o.out), fs::absolute(o.doc).parent_path()).string();
  }
  const fs::path doc_dir = fs::path(o.doc).parent_path();
  if (!doc_dir.empty())
    fs::create_directories(doc_dir);
  WriteFileAtomically(o.doc, BenchMarkdown(report, plots_dir));

  std::cout << "bench: " << report.platforms.size() << " platforms in "
            << Fixed(SecondsSince(start), 1) << " s\n";
  Table table({"platform", "SparseLoom viol.", "worst baseline", "AV-P", "throughput vs SV-AO-NP",
               "memory saving", "profiling (est. / exh.)"});
  for (const PlatformResults& r : report.platforms) {
    const ViolationFigures& sl = r.violations.front();
    const auto worst = std::max_element(
        r.violations.begin() + 1, r.violations.end(),
        [](const auto& a, const auto& b) { return a.RequestRate() < b.RequestRate(); });
    const auto avp = std::find_if(r.violations.begin(), r.violations.end(),
                                  [](const auto& v) { return v.planner == "AV-P"; });
    double sl_tp = 0.0, ao_tp = 0.0;
    for (const ThroughputFigures& t : r.throughput) {
      if (t.planner == sl.planner)
        sl_tp = t.measured_rps;
      if (t.planner == "SV-AO-NP")
        ao_tp = t.measured_rps;
    }
    double sampled = 0.0, exhaustive = 0.0;
    for (const ProfilingFigures& f : r.profiling) {
      sampled += f.sampled.total_s();
      exhaustive += f.exhaustive.total_s();
    }
    const MemoryFigures* equal = SmallestEquivalentBudget(r, o.memory_tolerance_pp);
    table.AddRow({r.name, Fixed(100.0 * sl.RequestRate(), 1) + "%",
                  worst == r.violations.end()
                      ? "-"
                      : worst->planner + " " + Fixed(100.0 * worst->RequestRate(), 1) + "%",
                  avp == r.violations.end() ? "-" : Fixed(100.0 * avp->RequestRate(), 1) + "%",
                  ao_tp > 0.0 ? Fixed(sl_tp / ao_tp, 2) + "x" : "-",
                  equal ? Fixed(100.0 * (1.0 - equal->fraction), 0) + "%" : "-",
                  Fixed(sampled / 60.0, 1) + " / " + Fixed(exhaustive / 60.0, 1) + " min"});
  }
  table.Print(std::cout);
  for (const auto& f : csvs)
    std::cout << "wrote " << f.string() << "\n";
  std::cout << "wrote " << o.doc << "\n";
}

}  // namespace

void AddBenchCommand(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* c = app.add_subcommand(
      "bench",
      "Regenerate the paper's comparisons by simulation, per platform: the SoC device profiles "
      "(cost model on each zoo's manifest; accuracy and stage bytes from the host tables) and "
      "this host (its measured tables). (a) SLO violations of SparseLoom vs the six baselines "
      "over SLO configurations x arrival orders, per request and per task-episode; (b) "
      "closed-loop throughput vs SV-AO-NP; (c) profiling time with and without estimators "
      "(a model of the profiler's runs, not a measurement); (d) fixed vs optimized placement "
      "order; (e) violations vs stage memory budget. Writes CSV files and PNG plots to --out "
      "and the report to --doc (docs/results.md). Progress on stderr.");
  c->add_option("--tasks", o->tasks,
                "task file whose zoos have fresh performance tables (e.g. results/demo_tasks.json "
                "after `make demo`); its rates and processors define the host platform")
      ->required();
  c->add_option("--devices", o->devices,
                "device profiles to simulate (their non-optional processors); none: host only")
      ->capture_default_str();
  c->add_option("--host-device", o->host_device,
                "the host's device profile: its storage (on-demand loads) and cost model (the "
                "profiling model's accuracy batches)")
      ->capture_default_str();
  c->add_flag("!--no-host", o->host, "leave the host platform out");
  c->add_option("--out", o->out, "folder for the CSV files and plots")->capture_default_str();
  c->add_option("--doc", o->doc, "the report, written atomically")->capture_default_str();
  c->add_option("--slo-configs", o->slo_configs,
                "SLO configurations per platform (tight/medium/loose grid; the first all-medium)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  c->add_option("--orders", o->orders,
                "task arrival orders per configuration; >= T! gives all of them (24 for 4 tasks)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  c->add_option("--phase-s", o->phase_s, "virtual seconds each arrival phase admits requests")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 3600.0));
  c->add_option("--offered-load", o->offered_load,
                "scale each platform's rates so that every task's most accurate original variant, "
                "each request whole on one processor, would load the platform's processors "
                "(pooled: Σ_t rate_t / Σ_p 1000/latency_tp) to this fraction: below 1 that "
                "reference is sustainable, so violations measure how well plans fit the SLOs, not "
                "overload; 0: the load the task file's rates put on the host")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  c->add_flag("!--no-host-load-check", o->host_load_check,
              "skip running (a) a second time at the load the task file's rates put on the host");
  c->add_option("--placements", o->placements,
                "placement space of the P planners: any (every stage->processor mapping) or "
                "orders (each stage on its own processor; needs K <= P)")
      ->capture_default_str();
  c->add_option("--max-in-flight", o->max_in_flight, "admission bound, as `sparseloom run`")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  c->add_option("--closed-configs", o->closed_configs,
                "SLO configurations of the closed-loop throughput runs (first arrival order)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  c->add_option("--window", o->window, "closed loop: requests each task keeps in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  c->add_option("--placement-configs", o->placement_configs,
                "SLO configurations (x every order) of the fixed-placement comparison")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  c->add_option("--memory-budgets", o->memory_budgets,
                "stage memory budgets, % of the full zoo set (every stage on every processor); "
                "100 (preload everything) is always added")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--memory-configs", o->memory_configs,
                "SLO configurations (x every order) of the memory sweep")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  c->add_option("--memory-tolerance-pp", o->memory_tolerance_pp,
                "'equal violation rate': within this many percentage points of preloading all")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  c->add_flag("!--no-plan-cache", o->plan_cache,
              "re-plan identical requests instead of reusing the plan (same results, slower)");
  c->add_option("--seed", o->seed, "seed of the SLO configurations, orders, arrivals, samples")
      ->capture_default_str();
  c->add_option("--jobs", o->jobs,
                "platforms simulated at once (threads); results do not depend on it")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  c->add_option("--python", o->python, "Python with matplotlib, for the plots")
      ->capture_default_str();
  c->add_option("--plot-script", o->plot_script, "the plotting script")->capture_default_str();
  c->add_flag("!--no-plots", o->plots, "write no PNG plots");
  c->add_option("--regenerate", o->regenerate,
                "what the report says regenerates it (the Makefile passes its target)")
      ->capture_default_str();
  c->callback([o] { RunBench(*o); });
}

}  // namespace sparseloom::cli
