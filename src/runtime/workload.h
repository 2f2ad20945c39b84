#pragma once
// The workload of DESIGN.md's evaluation protocol, seedable: SLO configurations drawn from a
// tight / medium / loose grid that spans each task's zoo, task arrival orders, and request
// arrivals (closed-loop saturation or Poisson). Pure logic on performance profiles: no engine.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "plan/problem.h"

namespace sparseloom::runtime {

enum class Tightness { kTight, kMedium, kLoose };
std::string ToString(Tightness tightness);  // "tight", "medium", "loose"

// One task's SLO at a grid point (docs/runtime.md "Workload" gives the formulas): accuracy from
// the quantiles of the task's stitched-variant accuracies, latency from the best single-processor
// latency of its fastest variant that meets that accuracy and of its most accurate original
// variant. Every grid point is met by some stitched variant alone. Throws UsageError on a
// malformed profile.
plan::Slo SloAt(const plan::TaskProfile& profile, Tightness accuracy, Tightness latency);

// Per stitched variant: the sum of its stages on its fastest single processor plus its stitch
// gap (lat[s] of the SLO grid). Throws UsageError unless every one is positive.
std::vector<double> BestSingleProcessorLatencies(const plan::TaskProfile& profile);

struct SloConfiguration {
  std::vector<plan::Slo> slos;     // per task, in the profiles' order
  std::vector<std::string> names;  // per task, "tight-acc/loose-lat"
};

// `count` configurations: each task's (accuracy, latency) tightness drawn uniformly from the 3x3
// grid with `seed`; the first is all-medium. Same seed, same configurations.
std::vector<SloConfiguration> SloConfigurations(
    const std::vector<const plan::TaskProfile*>& profiles, int count, std::uint64_t seed);

// Task arrival orders (permutations of 0..num_tasks-1): all of them when count >= num_tasks!,
// otherwise `count` distinct ones drawn with `seed`, the identity first.
std::vector<std::vector<int>> ArrivalOrders(int num_tasks, int count, std::uint64_t seed);

enum class ArrivalKind { kClosedLoop, kPoisson };
std::string ToString(ArrivalKind kind);  // "closed", "poisson"

// How an episode's requests arrive: the episode driver's options (runtime/episode_driver.h). A
// task's Poisson rate is its own (ServedTask::rate_per_s), which the planner weighs its load by.
struct WorkloadOptions {
  ArrivalKind arrivals = ArrivalKind::kPoisson;
  double phase_s = 2.0;        // how long each phase admits requests
  int closed_loop_window = 4;  // requests each present task keeps in flight, closed loop
  std::uint64_t seed = 0;      // arrivals and samples (runtime/phase_planning.h, Mix)
};

// Exponential inter-arrival gaps of a Poisson process; one per task, seeded per task.
class PoissonArrivals {
 public:
  PoissonArrivals(double rate_per_s, std::uint64_t seed);
  double NextGapS();  // seconds until the next arrival
  double rate_per_s() const { return rate_per_s_; }

 private:
  double rate_per_s_;
  std::mt19937_64 rng_;
};

// Request samples of one task: a seeded walk over its input set, so every policy of one run is
// given the same requests.
class SampleSequence {
 public:
  SampleSequence(std::int64_t set_size, std::uint64_t seed);
  std::int64_t Next();

 private:
  std::int64_t set_size_;
  std::mt19937_64 rng_;
};

}  // namespace sparseloom::runtime
