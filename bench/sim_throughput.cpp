// The simulator's speed (docs/simulation.md; issue 7: at least one million simulated requests per
// second on this machine).
//
//   sim_throughput [--requests N] [--seed S]
//
// Four synthetic tasks (V = 10, K = 3) on three processors, SparseLoom's plans, Poisson arrivals
// at 85% of what the busiest processor of the last phase can serve, long phases so that planning
// is a small share; reported: simulated requests (every record: completed, dropped or failed) per
// second of wall time, with and without per-stage spans kept, and the wall time spent planning.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "plan/planner.h"
#include "plan/synthetic_profiles.h"
#include "runtime/workload.h"
#include "sim/simulator.h"

namespace {

using namespace sparseloom;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t target_requests = 2'000'000;
  std::uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--requests" && i + 1 < argc) {
      target_requests = std::atoll(argv[++i]);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr,
                   "usage: sim_throughput [--requests N] [--seed S]\n"
                   "  simulated requests per second of wall time (docs/simulation.md)\n");
      return arg == "--help" ? 0 : 2;
    }
  }
  std::mt19937_64 rng(seed);
  const plan::testing::Shape shape{3, 10, 3};
  const std::vector<plan::TaskProfile> profiles = plan::testing::MakeProfiles(rng, 4, shape);
  std::vector<const plan::TaskProfile*> pointers;
  for (const auto& p : profiles)
    pointers.push_back(&p);
  const auto configs = runtime::SloConfigurations(pointers, 1, seed);
  runtime::Episode episode;
  episode.name = "throughput";
  episode.slos = configs.front().slos;
  episode.order = {0, 1, 2, 3};
  const auto planner = plan::MakeSparseLoomPlanner();

  // Rates: equal per task, scaled to 85% of the last phase's plan capacity.
  std::vector<sim::SimTask> tasks;
  for (const auto& p : profiles)
    tasks.push_back(sim::SimTask{p.task, &p, 1.0, 1000});
  sim::Simulator probe(tasks, profiles[0].processors, 0);
  sim::SimOptions options;
  options.serve.workload.phase_s = 1.0;
  const plan::Plan last = probe.PlanPhases(*planner, episode, options.serve.planning).back();
  double max_load = 0.0;
  for (double u : last.processor_load)
    max_load = std::max(max_load, u);
  const double rate = 0.85 / max_load;  // per task: every task at rate 1 loads the busiest max_load
  for (auto& t : tasks)
    t.rate_per_s = rate;
  // Phases long enough for the target count (the later phases carry more tasks).
  options.serve.workload.phase_s = static_cast<double>(target_requests) / (rate * (1 + 2 + 3 + 4));
  std::printf(
      "4 tasks x %d stitched variants, %d processors; %.0f requests/s per task "
      "(85%% of the busiest processor's capacity in the last phase); phases of %.0f s "
      "simulated\n",
      shape.variants * shape.variants * shape.variants, shape.processors, rate,
      options.serve.workload.phase_s);

  for (bool spans : {false, true}) {
    sim::Simulator simulator(tasks, profiles[0].processors, 0);
    options.keep_stage_spans = spans;
    const auto w0 = Clock::now();
    simulator.Warm(*planner, {episode}, options.serve.planning);
    const auto w1 = Clock::now();
    const runtime::EpisodeReport report = simulator.RunEpisode(*planner, episode, options);
    const auto w2 = Clock::now();
    const double plan_s = Seconds(w0, w1);  // the run plans the same four phases again
    const double run_s = Seconds(w1, w2);
    std::int64_t met = 0;
    for (const auto& r : report.records)
      met += r.SloMet();
    std::printf(
        "spans %-3s: %lld requests (%lld completed, %lld dropped, %.1f%% SLOs met) in %.3f s "
        "wall (planning ~%.3f s): %.2f million simulated requests/s\n",
        spans ? "on" : "off", static_cast<long long>(report.counters.submitted),
        static_cast<long long>(report.counters.completed),
        static_cast<long long>(report.counters.dropped),
        100.0 * static_cast<double>(met) / static_cast<double>(report.records.size()), run_s,
        plan_s, static_cast<double>(report.counters.submitted) / run_s / 1e6);
  }
  return 0;
}
