#pragma once
// The platforms `sparseloom bench` simulates: this host from its measured tables and each SoC
// device profile (cost model on each zoo's manifest; accuracy and stage bytes from the host
// tables), each with its processors, storage, the planner's profile of every task on it, and the
// rate scale that puts the same pressure on every platform.

#include <deque>
#include <string>
#include <vector>

#include "eval/bench_settings.h"
#include "eval/task_inputs.h"
#include "plan/problem.h"
#include "profile/performance_table.h"
#include "sim/device_profile.h"
#include "zoo/zoo.h"

namespace sparseloom::eval {

// A task of the task file as the bench sees it.
struct BenchTask {
  std::string name;
  zoo::Zoo zoo;
  const plan::TaskProfile* host_profile = nullptr;
  const profile::PerformanceTable* table = nullptr;
  double rate_per_s = 0.0;
  // The zoo's accuracy ground truth, [s], that requests are judged against, or none.
  const std::vector<double>* true_accuracy = nullptr;
};

// The tasks of `in`, their zoos loaded (manifests only). UsageError naming `task_file` when there
// are none.
std::vector<BenchTask> LoadBenchTasks(const Inputs& in, const std::string& task_file);

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

// The load the most accurate original variants put on a platform at the task file's rates: each
// request of task t served whole by one processor, the processors pooled, so that processor p
// adds 1000 / d_tp requests per second of capacity for t (d_tp: the variant's latency on p):
// Σ_t λ_t / Σ_p (1000 / d_tp). On identical processors this is Σ_t λ_t d_t / (1000 P); on a SoC
// whose processors differ, a slow processor adds little.
double ReferenceLoad(const std::deque<plan::TaskProfile>& profiles,
                     const std::vector<BenchTask>& tasks);

struct BenchPlatforms {
  std::vector<Platform> platforms;  // the host first (when asked), then the devices in order
  double host_load = 0.0;           // ReferenceLoad of the task file's rates on the host
  double target_load = 0.0;         // the load every platform's rates are scaled to
};

// The host (`host_device`'s storage and cost model, `in`'s processors and tables; its source
// `task_file`) and every device of `devices`, which must outlive the result. UsageError when
// settings.placements is "orders" and a task has more stages than a platform has processors.
BenchPlatforms MakePlatforms(const Inputs& in, const std::string& task_file,
                             const std::vector<BenchTask>& tasks,
                             const std::deque<sim::DeviceProfile>& devices,
                             const sim::DeviceProfile& host_device, const BenchSettings& settings);

}  // namespace sparseloom::eval
