#include "eval/platforms.h"

#include <cmath>
#include <cstddef>
#include <utility>

#include "common/error.h"
#include "sim/cost_model.h"
#include "sim/device_task_profile.h"

namespace sparseloom::eval {

std::vector<BenchTask> LoadBenchTasks(const Inputs& in, const std::string& task_file) {
  std::vector<BenchTask> data;
  for (std::size_t t = 0; t < in.file.tasks.size(); ++t) {
    const plan::TaskSpec& spec = in.file.tasks[t];
    BenchTask d;
    d.name = spec.name;
    d.zoo = zoo::LoadZoo(spec.zoo_dir);
    d.host_profile = &in.profiles[in.table_of_task[t]];
    d.table = &in.tables[in.table_of_task[t]];
    d.rate_per_s = spec.rate_per_s;
    d.true_accuracy = TrueAccuracyOf(in, t);
    data.push_back(std::move(d));
  }
  if (data.empty())
    throw UsageError(task_file + ": no tasks to bench");
  return data;
}

double ReferenceLoad(const std::deque<plan::TaskProfile>& profiles,
                     const std::vector<BenchTask>& tasks) {
  double load = 0.0;
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    const plan::TaskProfile& p = profiles[t];
    const int K = p.num_stages;
    const int V = p.num_variants();
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
    for (int q = 0; q < p.num_processors(); ++q) {
      double ms = p.StitchGapMs(static_cast<std::int64_t>(best_s));
      for (int k = 0; k < K; ++k)
        ms += p.StageLatencyMs(k, best, q);
      if (ms > 0.0 && ms < sim::kUnsupportedStageMs)
        capacity_rps += 1000.0 / ms;
    }
    if (capacity_rps > 0.0)
      load += tasks[t].rate_per_s / capacity_rps;
  }
  return load;
}

BenchPlatforms MakePlatforms(const Inputs& in, const std::string& task_file,
                             const std::vector<BenchTask>& tasks,
                             const std::deque<sim::DeviceProfile>& devices,
                             const sim::DeviceProfile& host_device, const BenchSettings& settings) {
  BenchPlatforms out;
  std::vector<Platform>& platforms = out.platforms;
  Platform host;
  host.name = "host";
  host.description = "this machine's processors (" + profile::ToString(in.setup) +
                     "): the measured performance tables, no cost model";
  host.source = task_file;
  host.host = true;
  for (const auto& p : in.setup)
    host.processors.push_back(p.name);
  host.storage = host_device.storage;
  host.device = &host_device;
  for (const BenchTask& d : tasks)
    host.profiles.push_back(*d.host_profile);
  const double host_load = ReferenceLoad(host.profiles, tasks);
  const double target_load = settings.offered_load > 0.0 ? settings.offered_load : host_load;
  out.host_load = host_load;
  out.target_load = target_load;
  if (settings.host)
    platforms.push_back(std::move(host));
  for (const sim::DeviceProfile& device : devices) {
    Platform p;
    p.name = device.name;
    p.description = device.description;
    p.source = device.file.string();
    p.processors = device.ProcessorNames(/*include_optional=*/false);
    p.storage = device.storage;
    p.device = &device;
    for (const BenchTask& d : tasks) {
      p.profiles.push_back(sim::DeviceTaskProfile(d.zoo, *d.host_profile, device, p.processors));
      for (const std::string& line : sim::UnsupportedStages(d.zoo, device, p.processors))
        p.notes.push_back("task '" + d.name + "': " + line);
    }
    platforms.push_back(std::move(p));
  }
  for (Platform& p : platforms) {
    if (settings.placements == "orders") {
      for (const plan::TaskProfile& profile : p.profiles) {
        if (profile.num_stages > static_cast<int>(p.processors.size()))
          throw UsageError("--placements orders puts every stage on its own processor, but task '" +
                           profile.task + "' has K = " + std::to_string(profile.num_stages) +
                           " stages and platform " + p.name + " " +
                           std::to_string(p.processors.size()) + " processors");
      }
    }
    const double load = ReferenceLoad(p.profiles, tasks);
    p.rate_scale = load > 0.0 ? target_load / load : 1.0;
    p.offered_load = target_load;
    p.host_load = host_load;
    if (settings.host_load_check && std::abs(target_load - host_load) > 1e-9)
      p.host_rate_scale = load > 0.0 ? host_load / load : 1.0;
  }
  return out;
}

}  // namespace sparseloom::eval
