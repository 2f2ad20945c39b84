#pragma once
// The task file of `sparseloom plan` (docs/planner.md, "The task file"): which tasks run, each
// with its zoo, SLO and request rate, and the processors, memory budget and placement space to
// plan for. Parsing only: zoos and performance tables are opened by the command, so this part
// needs no model files and no profiler.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "plan/planner.h"
#include "plan/problem.h"

namespace sparseloom::plan {

inline constexpr int kTaskFileVersion = 1;

struct TaskSpec {
  std::string name;
  std::filesystem::path zoo_dir;  // resolved against the task file's folder; an existing folder
  // The `--out` folder of `sparseloom profile` (the table is PROFILE_DIR/<zoo task>/...), resolved
  // like zoo_dir; empty: the profiler's default, ZOO/profile/.
  std::filesystem::path profile_dir;
  Slo slo;
  double rate_per_s = 0.0;
};

struct TaskFile {
  std::filesystem::path file;
  // The processor setup as `sparseloom profile --processors` takes it: "NAME:CORES:THREADS,..."
  // or a JSON file (resolved against the task file's folder). Empty: the profiler's default.
  std::string processors;
  std::int64_t memory_budget_bytes = 0;  // 0 = unlimited
  PlacementSpace placements = PlacementSpace::kAnyMapping;
  std::vector<TaskSpec> tasks;  // at least one, names unique
};

// Reads and validates a task file. Every mistake (missing or unknown field, wrong type, NaN,
// out-of-range SLO or rate, missing zoo folder, duplicate name, unknown version) is an InputError
// naming the file, the JSON path and what was expected.
TaskFile LoadTaskFile(const std::filesystem::path& file);

std::string ToString(PlacementSpace placements);  // "any" or "orders", as the task file spells it

}  // namespace sparseloom::plan
