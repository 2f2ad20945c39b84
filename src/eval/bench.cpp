#include "eval/bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "eval/episodes.h"
#include "eval/format.h"
#include "eval/memoized_planner.h"
#include "eval/workbench.h"
#include "runtime/accuracy_verification.h"
#include "runtime/serving.h"
#include "runtime/workload.h"
#include "sim/device_task_profile.h"

namespace sparseloom::eval {
namespace {

// Verify on selection over `profiles` (written in place): a chosen estimated variant is looked
// up in its zoo's ground truth; without one it stays an estimate.
std::unique_ptr<runtime::AccuracyVerification> VerificationOf(
    std::deque<plan::TaskProfile>& profiles, const std::vector<BenchTask>& data) {
  std::vector<plan::TaskProfile*> pointers;
  for (plan::TaskProfile& p : profiles)
    pointers.push_back(&p);
  return std::make_unique<runtime::AccuracyVerification>(
      std::move(pointers), [&data](int task, std::int64_t s) -> std::optional<double> {
        const std::vector<double>* truth = data.at(static_cast<std::size_t>(task)).true_accuracy;
        if (truth == nullptr)
          return std::nullopt;
        return truth->at(static_cast<std::size_t>(s));
      });
}

void AddCounts(const runtime::AccuracyVerification& v, AccuracyFigures& out) {
  const runtime::AccuracyVerification::Counts c = v.counts();
  out.verified_variants += c.verified;
  out.below_slo += c.below_slo;
  out.replans += c.replans;
  out.unavailable += c.unavailable;
}

}  // namespace

std::string PlacementName(const plan::Placement& placement,
                          const std::vector<std::string>& processors) {
  std::string out;
  for (int p : placement) {
    out += out.empty() ? "" : "-";
    out += processors[static_cast<std::size_t>(p)];
  }
  return out;
}

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

PlatformResults RunPlatform(const Platform& platform, const std::vector<BenchTask>& data,
                            const BenchSettings& o, const BenchProgress& progress) {
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
  // The planners read, and verification writes, this platform's own copy of its profiles.
  std::deque<plan::TaskProfile> profiles = platform.profiles;
  std::set<const plan::TaskProfile*> owned;
  for (const plan::TaskProfile& p : profiles) {
    profile_ptrs.push_back(&p);
    owned.insert(&p);
  }
  const auto configs = runtime::SloConfigurations(profile_ptrs, o.slo_configs, o.seed);
  const auto orders = runtime::ArrivalOrders(static_cast<int>(data.size()), o.orders, o.seed);
  out.slo_configs = static_cast<int>(configs.size());
  out.orders = static_cast<int>(orders.size());
  const auto episodes = MakeEpisodes(configs, orders, configs.size(), orders.size());

  runtime::ServeOptions serve;
  serve.workload.arrivals = runtime::ArrivalKind::kPoisson;
  serve.workload.phase_s = o.phase_s;
  serve.workload.closed_loop_window = o.window;
  serve.workload.seed = o.seed;
  serve.planning.placements =
      o.placements == "orders" ? plan::PlacementSpace::kOrders : plan::PlacementSpace::kAnyMapping;
  serve.pipeline.max_in_flight = o.max_in_flight;
  const std::unique_ptr<runtime::AccuracyVerification> verification =
      o.verify ? VerificationOf(profiles, data) : nullptr;
  serve.planning.verification = verification.get();
  out.accuracy.verified = o.verify;
  for (std::size_t t = 0; t < data.size(); ++t) {
    out.accuracy.tasks.push_back(data[t].name);
    out.accuracy.margin.push_back(profiles[t].accuracy_margin);
    out.accuracy.truth.push_back(data[t].true_accuracy != nullptr);
  }
  const Workbench bench = MakeWorkbench(platform, profiles, data, serve);

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
    progress(platform.name, "violations: " + planner->Name() + " " +
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
    const Workbench hw = MakeWorkbench(at_host_load, profiles, data, serve);
    for (const auto& planner : planners)
      out.violations_at_host_load.push_back(CountViolations(hw, *planner, episodes));
    progress(platform.name,
             "violations at the host's load (rates x" + Fixed(platform.host_rate_scale, 3) +
                 "): SparseLoom " +
                 Fixed(100.0 * out.violations_at_host_load.front().RequestRate(), 1) + "% (" +
                 Fixed(SecondsSince(t0), 1) + " s)");
  }

  // (b) Closed-loop throughput with every task present.
  {
    const auto t0 = std::chrono::steady_clock::now();
    runtime::ServeOptions closed = serve;
    closed.workload.arrivals = runtime::ArrivalKind::kClosedLoop;
    const Workbench cw = MakeWorkbench(platform, profiles, data, closed);
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
    progress(platform.name, "closed-loop throughput: " + std::to_string(planners.size()) +
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
        for (const plan::TaskProfile& p : profiles) {
          pinned.push_back(sim::PinnedToPlacement(p, fixed));
          pinned_owned.insert(&pinned.back());
        }
        const MemoizedPlanner planner(plan::MakeSparseLoomPlanner(), pinned_owned, o.plan_cache);
        const std::unique_ptr<runtime::AccuracyVerification> pinned_verification =
            o.verify ? VerificationOf(pinned, data) : nullptr;
        runtime::ServeOptions pinned_serve = serve;
        pinned_serve.planning.verification = pinned_verification.get();
        const Workbench pw = MakeWorkbench(platform, pinned, data, pinned_serve);
        PlacementFigures f;
        f.placement = PlacementName(fixed, platform.processors);
        f.figures = CountViolations(pw, planner, subset);
        out.placement.push_back(f);
        if (pinned_verification)
          AddCounts(*pinned_verification, out.accuracy);
      }
      progress(platform.name, "placement: free choice and " +
                                  std::to_string(out.placement.size() - 1) + " fixed orders x " +
                                  std::to_string(placement_n) + " episodes (" +
                                  Fixed(SecondsSince(t0), 1) + " s)");
    }
  }

  // (e) Violations against the stage memory budget under each cache policy (the hotness preloader:
  // hottest stages preloaded, the rest loaded on demand from the platform's storage; LRU and LFU
  // on demand; none kept), SparseLoom's plans, on episodes whose SLOs change so the hot set moves.
  {
    const auto t0 = std::chrono::steady_clock::now();
    for (const plan::TaskProfile& p : platform.profiles)
      for (std::int64_t bytes : p.stage_bytes)
        out.full_set_bytes += bytes * static_cast<std::int64_t>(platform.processors.size());
    auto memory_episodes =
        MakeEpisodes(configs, orders, static_cast<std::size_t>(o.memory_configs), orders.size());
    AddSloChanges(memory_episodes, profile_ptrs, o.phase_s, o.slo_changes, o.seed);
    out.memory_episodes = static_cast<int>(memory_episodes.size());
    std::vector<double> budgets = o.memory_budgets;
    if (std::find(budgets.begin(), budgets.end(), 100.0) == budgets.end())
      budgets.push_back(100.0);
    std::sort(budgets.begin(), budgets.end());
    for (const preload::CachePolicy policy :
         {preload::CachePolicy::kHotness, preload::CachePolicy::kLru, preload::CachePolicy::kLfu,
          preload::CachePolicy::kNone}) {
      for (double percent : budgets) {
        MemoryFigures m;
        m.policy = preload::ToString(policy);
        m.fraction = percent / 100.0;
        m.budget_bytes = std::max<std::int64_t>(
            1, static_cast<std::int64_t>(m.fraction * static_cast<double>(out.full_set_bytes)));
        try {
          m.figures =
              CountViolations(bench, sparseloom, memory_episodes, m.budget_bytes, &m.cache, policy);
        } catch (const UsageError& e) {
          // A stage larger than the whole budget: the budget cannot serve at all.
          if (policy == preload::CachePolicy::kHotness)
            out.notes.push_back("memory budget " + Num(percent) + "%: " + e.what());
          continue;
        }
        (policy == preload::CachePolicy::kHotness ? out.memory : out.memory_policies).push_back(m);
      }
    }
    for (const auto& planner : planners)
      if (planner->Name() == "AV-P")
        out.memory_av_all = CountViolations(bench, *planner, memory_episodes);
    progress(platform.name, "memory: " + std::to_string(out.memory.size()) +
                                " budgets x 4 policies x " +
                                std::to_string(memory_episodes.size()) + " episodes (" +
                                Fixed(SecondsSince(t0), 1) + " s)");
  }
  // (f) SLO changes while served: every planner on the same episodes with the same changes.
  if (o.slo_changes > 0.0) {
    const auto t0 = std::chrono::steady_clock::now();
    auto change_episodes =
        MakeEpisodes(configs, orders, static_cast<std::size_t>(o.change_configs), orders.size());
    AddSloChanges(change_episodes, profile_ptrs, o.phase_s, o.slo_changes, o.seed);
    out.change_episodes = static_cast<int>(change_episodes.size());
    for (const auto& planner : planners) {
      SloChangeBenchFigures f;
      f.planner = planner->Name();
      ViolationCounter counter(planner->Name(), bench.served);
      RunEpisodes(bench, *planner, change_episodes, 0,
                  [&](std::size_t, const runtime::EpisodeReport& e) {
                    counter.Add(e);
                    for (const runtime::SloChangeReport& c : e.slo_changes) {
                      ++f.changes;
                      f.before_requests += c.before.requests;
                      f.before_violations += c.before.violations;
                      // The virtual clock installs a plan when its change comes: nothing runs
                      // during a re-plan, so "after" is all the requests past the change.
                      f.after_requests += c.during.requests + c.after.requests;
                      f.after_violations += c.during.violations + c.after.violations;
                      f.plans_met += c.plan_meets_slo;
                    }
                  });
      f.figures = counter.Figures();
      out.slo_changes.push_back(f);
    }
    progress(platform.name, "SLO changes: " + std::to_string(out.slo_changes.front().changes) +
                                " changes x " + std::to_string(planners.size()) + " planners (" +
                                Fixed(SecondsSince(t0), 1) + " s)");
  }
  if (verification)
    AddCounts(*verification, out.accuracy);
  out.wall_s = SecondsSince(start);
  return out;
}

std::vector<PlatformResults> RunPlatforms(const std::vector<Platform>& platforms,
                                          const std::vector<BenchTask>& data,
                                          const BenchSettings& settings,
                                          const BenchProgress& progress) {
  std::vector<PlatformResults> results(platforms.size());
  std::vector<std::exception_ptr> errors(platforms.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < platforms.size(); i = next++) {
      const Platform& p = platforms[i];
      progress(p.name, std::to_string(p.processors.size()) + " processors (" +
                           Join(p.processors, ", ") + "), rates x" + Fixed(p.rate_scale, 3));
      try {
        results[i] = RunPlatform(p, data, settings, progress);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int j = 1; j < std::min<int>(settings.jobs, static_cast<int>(platforms.size())); ++j)
    threads.emplace_back(worker);
  worker();
  for (std::thread& t : threads)
    t.join();
  for (const std::exception_ptr& e : errors)
    if (e)
      std::rethrow_exception(e);
  return results;
}

}  // namespace sparseloom::eval
