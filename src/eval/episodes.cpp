#include "eval/episodes.h"

#include <algorithm>
#include <string>
#include <utility>

#include "runtime/phase_planning.h"
#include "runtime/slo_changes.h"

namespace sparseloom::eval {

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

runtime::SloConfiguration TaskFileConfiguration(const plan::TaskFile& file) {
  runtime::SloConfiguration c;
  for (const plan::TaskSpec& spec : file.tasks) {
    c.slos.push_back(spec.slo);
    c.names.push_back("task-file");
  }
  return c;
}

void AddSloChanges(std::vector<runtime::Episode>& episodes,
                   const std::vector<const plan::TaskProfile*>& profiles, double phase_s,
                   double per_phase, std::uint64_t seed) {
  for (runtime::Episode& e : episodes)
    e.changes = runtime::DrawSloChanges(profiles, e, phase_s, per_phase,
                                        runtime::Mix(seed, runtime::HashOf("changes " + e.name)));
}

Workload RunWorkload(const plan::TaskFile& file,
                     const std::vector<const plan::TaskProfile*>& profiles, int slo_configs,
                     int orders, std::uint64_t seed, double phase_s, double slo_changes_per_phase) {
  Workload w;
  if (slo_configs == 0)
    w.configs.push_back(TaskFileConfiguration(file));
  else
    w.configs = runtime::SloConfigurations(profiles, slo_configs, seed);
  w.orders = runtime::ArrivalOrders(static_cast<int>(profiles.size()), std::max(1, orders), seed);
  w.episodes = MakeEpisodes(w.configs, w.orders, w.configs.size(), w.orders.size());
  AddSloChanges(w.episodes, profiles, phase_s, slo_changes_per_phase, seed);
  return w;
}

}  // namespace sparseloom::eval
