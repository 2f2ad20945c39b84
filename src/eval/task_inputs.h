#pragma once
// What `sparseloom plan`, `run` and `bench` work from: a task file, its processor setup and, per
// task, its zoo's fresh performance table and the planner's profile made of it. A missing or stale
// table is a UsageError that prints the exact `sparseloom profile` commands that make it.

#include <cstddef>
#include <deque>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "plan/planner.h"
#include "plan/task_file.h"
#include "profile/accuracy_truth.h"
#include "profile/performance_table.h"
#include "profile/processor_setup.h"

namespace sparseloom::eval {

// What the command works from: the task file, the processors, and per task its zoo's table and
// the planner's profile made of it.
struct Inputs {
  plan::TaskFile file;
  profile::ProcessorSetup setup;
  std::deque<profile::PerformanceTable> tables;  // one per distinct table file
  std::deque<plan::TaskProfile> profiles;        // parallel to tables
  std::vector<std::size_t> table_of_task;        // task index -> index in tables/profiles
  std::vector<std::filesystem::path> table_files;
  // Parallel to tables: the zoo's accuracy ground truth next to its table
  // (profile/accuracy_truth.h) when a fresh one is there, and its accuracies (empty when none).
  std::deque<std::optional<profile::AccuracyTruth>> truths;
  std::deque<std::vector<double>> true_accuracy;
};

Inputs LoadInputs(const std::string& task_file);

// The ground truth's accuracies of task t's zoo, or nullptr when it has none.
const std::vector<double>* TrueAccuracyOf(const Inputs& in, std::size_t task);

// Plans on a lower bound (docs/profiler.md, "Planning on a lower bound"): sets every profile's
// accuracy_margin to its table's conformal margin at `coverage` (profile::ConformalMargin; 0: no
// margin) and returns them, per table. A table holding estimated accuracies but no
// cross-validated residuals is a UsageError naming the command that re-profiles it.
std::vector<double> ApplyAccuracyMargins(Inputs& in, double coverage);
plan::PlanRequest RequestOf(const Inputs& in);

}  // namespace sparseloom::eval
