#include "plan/task_file.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_reader.h"

namespace sparseloom::plan {
namespace {

const std::set<std::string> kTopLevelKeys = {"version",    "processors",  "memory_budget_mb",
                                             "placements", "profile_dir", "tasks"};
const std::set<std::string> kTaskKeys = {
    "name", "zoo", "profile_dir", "min_accuracy", "max_latency_ms", "rate_per_s"};

std::string JoinKeys(const std::set<std::string>& keys) {
  std::string out;
  for (const std::string& key : keys)
    out += (out.empty() ? "" : ", ") + key;
  return out;
}

// An unknown key is most likely a typo ("max_latency" for "max_latency_ms"): ignoring it would
// plan without the constraint the user meant, so it is an error.
void RejectUnknownKeys(const JsonField& object, const std::set<std::string>& known) {
  if (!object.raw().is_object())
    object.Fail("an object");
  for (const auto& [key, value] : object.raw().items()) {
    if (!known.contains(key)) {
      throw InputError(object.file(), object.path().empty() ? key : object.path() + "." + key,
                       "one of the known fields (" + JoinKeys(known) + ")", "an unknown field");
    }
  }
}

constexpr double kNoLimit = std::numeric_limits<double>::infinity();

std::string Num(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

// A number in [low, high] (high = infinity for none); `low_open` excludes low itself.
double NumberIn(const JsonField& field, double low, bool low_open, double high,
                const std::string& expected) {
  if (!field.raw().is_number())
    field.Fail(expected);
  const double value = field.Number();
  if ((low_open ? value <= low : value < low) || value > high)
    field.Fail(expected, Num(value));
  return value;
}

std::filesystem::path Resolve(const std::filesystem::path& folder, const std::string& path) {
  const std::filesystem::path p(path);
  return (p.is_absolute() ? p : folder / p).lexically_normal();
}

std::string NonEmptyString(const JsonField& field, const std::string& expected) {
  if (!field.raw().is_string() || field.raw().get<std::string>().empty())
    field.Fail(expected);
  return field.String();
}

TaskSpec ParseTask(const JsonField& f, const std::filesystem::path& folder,
                   const std::filesystem::path& default_profile_dir) {
  RejectUnknownKeys(f, kTaskKeys);
  TaskSpec task;
  task.name = NonEmptyString(f.At("name"), "a non-empty task name");

  const JsonField zoo = f.At("zoo");
  task.zoo_dir = Resolve(folder, NonEmptyString(zoo,
                                                "a zoo directory (relative to the task "
                                                "file's folder or absolute)"));
  std::error_code ec;
  const auto status = std::filesystem::status(task.zoo_dir, ec);
  if (status.type() != std::filesystem::file_type::directory) {
    zoo.Fail("an existing zoo directory",
             (status.type() == std::filesystem::file_type::not_found ? "no such directory: "
              : status.type() == std::filesystem::file_type::regular ? "a file, not a directory: "
                                                                     : "not a directory: ") +
                 task.zoo_dir.string());
  }

  task.profile_dir = default_profile_dir;
  if (f.Has("profile_dir"))
    task.profile_dir = Resolve(folder, NonEmptyString(f.At("profile_dir"), "a folder"));

  task.slo.min_accuracy = NumberIn(f.At("min_accuracy"), 0.0, false, 1.0,
                                   "an accuracy in [0, 1] (a fraction: 0.9 for 90%)");
  task.slo.max_latency_ms =
      NumberIn(f.At("max_latency_ms"), 0.0, true, kNoLimit, "a finite latency > 0 in milliseconds");
  task.rate_per_s =
      NumberIn(f.At("rate_per_s"), 0.0, false, kNoLimit, "a finite request rate >= 0 per second");
  return task;
}

}  // namespace

TaskFile LoadTaskFile(const std::filesystem::path& file) {
  nlohmann::json storage;
  JsonLimits limits;  // about 150 bytes per task
  limits.kind = "task file";
  const JsonField root = JsonField::ParseFile(file, storage, limits);
  RejectUnknownKeys(root, kTopLevelKeys);
  const std::filesystem::path folder = file.parent_path().empty() ? "." : file.parent_path();

  TaskFile out;
  out.file = file;
  const JsonField version = root.At("version");
  if (!version.raw().is_number_integer() || version.Int() != kTaskFileVersion)
    version.Fail("version " + std::to_string(kTaskFileVersion));

  if (root.Has("processors")) {
    const JsonField processors = root.At("processors");
    const std::string text =
        NonEmptyString(processors, "a processor setup: \"NAME:CORES:THREADS,...\" or a JSON file");
    // A file is named relative to the task file, like the zoos; a list is kept as written.
    out.processors = text.ends_with(".json") ? Resolve(folder, text).string() : text;
  }
  if (root.Has("memory_budget_mb")) {
    const double mib = NumberIn(root.At("memory_budget_mb"), 0.0, false, 1e12,
                                "a memory budget >= 0 in MiB (0 = unlimited)");
    out.memory_budget_bytes = std::llround(mib * 1024.0 * 1024.0);
  }
  if (root.Has("placements")) {
    const JsonField placements = root.At("placements");
    const std::string expected =
        "\"any\" (any mapping of stages to processors) or \"orders\" (one processor per stage)";
    if (!placements.raw().is_string())
      placements.Fail(expected);
    const std::string text = placements.String();
    if (text == "any")
      out.placements = PlacementSpace::kAnyMapping;
    else if (text == "orders")
      out.placements = PlacementSpace::kOrders;
    else
      placements.Fail(expected);
  }
  std::filesystem::path default_profile_dir;
  if (root.Has("profile_dir"))
    default_profile_dir = Resolve(folder, NonEmptyString(root.At("profile_dir"), "a folder"));

  const JsonField tasks = root.At("tasks");
  if (!tasks.raw().is_array() || tasks.Size() == 0)
    tasks.Fail("an array of at least one task");
  std::set<std::string> names;
  for (std::size_t i = 0; i < tasks.Size(); ++i) {
    const JsonField f = tasks.At(i);
    TaskSpec task = ParseTask(f, folder, default_profile_dir);
    if (!names.insert(task.name).second)
      f.At("name").Fail("a task name not used by an earlier task", "'" + task.name + "' again");
    out.tasks.push_back(std::move(task));
  }
  return out;
}

std::string ToString(PlacementSpace placements) {
  return placements == PlacementSpace::kOrders ? "orders" : "any";
}

}  // namespace sparseloom::plan
