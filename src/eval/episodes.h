#pragma once
// The workload of `sparseloom run` and `sparseloom bench` (DESIGN.md "Evaluation protocol"):
// episodes of SLO configurations x task arrival orders, the same for every planner.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "plan/task_file.h"
#include "runtime/serving.h"
#include "runtime/workload.h"

namespace sparseloom::eval {

// The first `num_configs` configurations x the first `num_orders` orders, configuration-major,
// named "slo<c>-order<r>".
std::vector<runtime::Episode> MakeEpisodes(const std::vector<runtime::SloConfiguration>& configs,
                                           const std::vector<std::vector<int>>& orders,
                                           std::size_t num_configs, std::size_t num_orders);

// The task file's own SLOs as one configuration (every name "task-file").
runtime::SloConfiguration TaskFileConfiguration(const plan::TaskFile& file);

// Draws each episode's SLO changes (runtime::DrawSloChanges, a mean of `per_phase` per phase of
// `phase_s`), seeded per episode by its name; none when per_phase is 0.
void AddSloChanges(std::vector<runtime::Episode>& episodes,
                   const std::vector<const plan::TaskProfile*>& profiles, double phase_s,
                   double per_phase, std::uint64_t seed);

struct Workload {
  std::vector<runtime::SloConfiguration> configs;
  std::vector<std::vector<int>> orders;
  std::vector<runtime::Episode> episodes;  // every configuration x every order
};

// `sparseloom run`'s workload: the task file's SLOs (`slo_configs` 0) or that many configurations
// of the tight/medium/loose grid of `profiles`, x `orders` arrival orders (at least one), seeded;
// with `slo_changes_per_phase` SLO changes per phase of `phase_s` on average (AddSloChanges).
Workload RunWorkload(const plan::TaskFile& file,
                     const std::vector<const plan::TaskProfile*>& profiles, int slo_configs,
                     int orders, std::uint64_t seed, double phase_s = 1.0,
                     double slo_changes_per_phase = 0.0);

}  // namespace sparseloom::eval
