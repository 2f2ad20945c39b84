#include "cli/truth_command.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/table.h"
#include "common/error.h"
#include "engine/torchscript_engine.h"
#include "plan/task_file.h"
#include "profile/accuracy_truth.h"
#include "profile/processor_setup.h"
#include "zoo/zoo.h"

namespace sparseloom::cli {
namespace {

struct TruthOptions {
  std::vector<std::string> zoos;
  std::string tasks;  // a task file: its zoos, and its profile_dir as --out
  std::string processors;
  std::string out;
  std::string from_table;
  bool force = false;
};

std::filesystem::path OutputDir(const std::string& out, const zoo::Zoo& z) {
  return out.empty() ? z.dir / "profile" : std::filesystem::path(out) / z.task;
}

void RunTruth(const TruthOptions& o) {
  struct Target {
    std::filesystem::path zoo;
    std::string out;
  };
  std::vector<Target> targets;
  for (const std::string& z : o.zoos)
    targets.push_back({z, o.out});
  if (!o.tasks.empty()) {
    const plan::TaskFile file = plan::LoadTaskFile(o.tasks);
    for (const plan::TaskSpec& t : file.tasks)
      targets.push_back({t.zoo_dir, o.out.empty() ? t.profile_dir.string() : o.out});
  }
  if (targets.empty())
    throw UsageError("truth: no zoo given (ZOO... or --tasks FILE)");
  if (!o.from_table.empty() && targets.size() != 1)
    throw UsageError("truth: --from-table makes the truth of one zoo");
  const profile::ProcessorSetup processors = o.processors.empty()
                                                 ? profile::DefaultProcessorSetup()
                                                 : profile::ParseProcessorSetup(o.processors);
  std::unique_ptr<engine::TorchScriptEngine> engine;
  Table table({"task", "stitched", "samples", "source", "stage passes", "time", "file"});
  std::vector<std::string> done;
  for (const Target& target : targets) {
    const zoo::Zoo z = zoo::LoadZoo(target.zoo);
    const std::filesystem::path file = OutputDir(target.out, z) / profile::kTruthFile;
    if (std::find(done.begin(), done.end(), file.string()) != done.end())
      continue;  // two tasks of one zoo
    done.push_back(file.string());
    const std::string key = profile::AccuracyTruthKey(z);
    std::optional<profile::AccuracyTruth> truth;
    bool reused = false;
    if (!o.force && o.from_table.empty()) {
      truth = profile::LoadFreshTruth(file, key);
      reused = truth.has_value();
    }
    if (!truth && !o.from_table.empty()) {
      truth = profile::TruthFromTable(z, profile::LoadPerformanceTable(o.from_table));
    } else if (!truth) {
      if (!engine)
        engine = std::make_unique<engine::TorchScriptEngine>();
      profile::ProfileOptions options;
      options.processors = processors;
      std::cerr << z.task << ": measuring " << z.StitchedCount()
                << " stitched variants on the whole validation set (" << z.validation_samples
                << " samples) on " << profile::ToString(processors) << " ...\n";
      truth = profile::MeasureAccuracyTruth(z, *engine, options);
    }
    if (!reused) {
      std::filesystem::create_directories(file.parent_path());
      profile::SaveAccuracyTruth(*truth, file);
    }
    table.AddRow({truth->task, std::to_string(truth->num_stitched()),
                  std::to_string(truth->validation_samples), truth->source,
                  std::to_string(truth->stage_passes),
                  reused ? "reused" : Fixed(truth->wall_s, 1) + " s", file.string()});
  }
  table.Print(std::cout);
}

}  // namespace

void AddTruthCommand(CLI::App& app) {
  auto o = std::make_shared<TruthOptions>();
  CLI::App* c = app.add_subcommand(
      "truth",
      "Measure each zoo's accuracy ground truth: every stitched variant on the whole validation "
      "set, prefix-shared on every processor at once, kept next to its performance table "
      "(reused while the zoo is the same). `run` and `bench` judge accuracy SLOs against it "
      "where it exists (docs/profiler.md)");
  c->add_option("ZOO", o->zoos, "zoo directories");
  c->add_option("--tasks", o->tasks,
                "a task file: the truth of each of its zoos, next to its table (the task's "
                "profile_dir)");
  c->add_option("--processors", o->processors,
                "NAME:CORES:THREADS,... or a JSON file to measure on (the accuracy does not depend "
                "on them); default: one 1-thread processor on each of the first two cores");
  c->add_option("--out", o->out, "write to DIR/<task>/ (default: next to the zoo's table)");
  c->add_option("--from-table", o->from_table,
                "take the accuracies of this `sparseloom profile --exhaustive` table of the zoo "
                "instead of measuring them");
  c->add_flag("--force", o->force, "measure again even when the truth is up to date");
  c->callback([o] { RunTruth(*o); });
}

}  // namespace sparseloom::cli
