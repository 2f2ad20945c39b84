#pragma once
// What `sparseloom bench` runs on every platform (docs/results.md): the workload, the comparisons'
// sizes and the seed.

#include <cstdint>
#include <string>
#include <vector>

namespace sparseloom::eval {

struct BenchSettings {
  bool host = true;                // the host platform (its measured tables) besides the devices
  std::string placements = "any";  // "any" or "orders" (each stage on its own processor)
  int slo_configs = 6;
  int orders = 24;
  double phase_s = 1.0;
  double offered_load = 0.7;    // 0: as the task file's rates load the host
  bool host_load_check = true;  // (a) again at the load the task file's rates put on the host
  int max_in_flight = 64;
  int closed_configs = 2;
  int window = 4;
  int placement_configs = 2;
  // From where on-demand loads are many (a few percent) to where they stop.
  std::vector<double> memory_budgets = {2,  3,  4,  5,  6,  8,  10, 12, 15,
                                        20, 25, 30, 40, 55, 70, 85, 100};
  int memory_configs = 2;
  double slo_changes = 2.0;  // (f): SLO changes per phase on average
  int change_configs = 2;    // (f): SLO configurations (x every order) with changes
  bool plan_cache = true;
  double accuracy_coverage = 0.9;  // plan on the estimate less its conformal margin; 0: none
  bool verify = true;              // verify chosen estimated variants (from the ground truth)
  std::uint64_t seed = 0;
  int jobs = 2;  // platforms simulated at once
};

}  // namespace sparseloom::eval
