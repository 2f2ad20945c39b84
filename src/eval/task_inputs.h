#pragma once
// What `sparseloom plan`, `run` and `bench` work from: a task file, its processor setup and, per
// task, its zoo's fresh performance table and the planner's profile made of it. A missing or stale
// table is a UsageError that prints the exact `sparseloom profile` commands that make it.

#include <cstddef>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "plan/planner.h"
#include "plan/task_file.h"
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
};

Inputs LoadInputs(const std::string& task_file);
plan::PlanRequest RequestOf(const Inputs& in);

}  // namespace sparseloom::eval
