#pragma once
// Hand-made inputs for the evaluation's tests: tiny task profiles (K = 2 stages, V = 2 variants,
// P = 2 processors), the Inputs a task file would give, and episode reports built by hand. No
// model files.

#include <cstddef>
#include <string>
#include <vector>

#include "eval/task_inputs.h"
#include "plan/problem.h"
#include "runtime/serving.h"
#include "support/two_stage_profile.h"

namespace sparseloom::eval::testing {

inline plan::TaskProfile TinyProfile(const std::string& task, double scale = 1.0) {
  return sparseloom::testing::TwoStageProfile(
      task,
      [scale](int, int v, int p) { return scale * (v == 0 ? 4.0 : 2.0) * (p == 0 ? 1.0 : 1.5); },
      {4000, 1000, 4000, 1000});
}

// Inputs of `names.size()` tasks; `table_of_task[t]` says which of the distinct tables task t
// reads (default: one each). Table i's latency estimator error is 0.1 * (i + 1) (MAPE).
inline Inputs TinyInputs(const std::vector<std::string>& names,
                         std::vector<std::size_t> table_of_task = {}) {
  Inputs in;
  in.file.file = "tasks.json";
  for (const std::string& name : names) {
    plan::TaskSpec spec;
    spec.name = name;
    spec.slo = {0.8, 100.0};
    spec.rate_per_s = 20.0;
    in.file.tasks.push_back(spec);
  }
  for (const char* name : {"p0", "p1"}) {
    engine::ProcessorConfig p;
    p.name = name;
    in.setup.push_back(p);
  }
  if (table_of_task.empty())
    for (std::size_t t = 0; t < names.size(); ++t)
      table_of_task.push_back(t);
  std::size_t tables = 0;
  for (std::size_t i : table_of_task)
    tables = std::max(tables, i + 1);
  for (std::size_t i = 0; i < tables; ++i) {
    in.profiles.push_back(TinyProfile("zoo" + std::to_string(i)));
    profile::PerformanceTable table;
    table.task = "zoo" + std::to_string(i);
    table.latency_error.metric = "mape";
    table.latency_error.value = 0.1 * static_cast<double>(i + 1);
    in.tables.push_back(table);
    in.truths.emplace_back();  // no accuracy ground truth
    in.true_accuracy.emplace_back();
  }
  in.table_of_task = table_of_task;
  return in;
}

inline std::vector<runtime::ServedTask> ServedOf(const Inputs& in) {
  std::vector<runtime::ServedTask> tasks;
  for (std::size_t t = 0; t < in.file.tasks.size(); ++t)
    tasks.push_back({in.file.tasks[t].name, &in.profiles[in.table_of_task[t]], nullptr,
                     in.file.tasks[t].rate_per_s});
  return tasks;
}

}  // namespace sparseloom::eval::testing
