#include "cli/plan_command.h"

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/plan_output.h"
#include "cli/planner_option.h"
#include "cli/table.h"
#include "eval/task_inputs.h"
#include "plan/planner.h"

namespace sparseloom::cli {
namespace {

// A plan was made and written, but it leaves an SLO unmet, exceeds the memory budget or loads a
// processor over 100%.
constexpr int kExitPlanFallsShort = 2;

struct PlanCommandOptions {
  std::string tasks;
  std::string planner = "sparseloom";
  std::string json;
  double accuracy_coverage = 0.9;
};

void RunPlan(const PlanCommandOptions& o) {
  eval::Inputs in = eval::LoadInputs(o.tasks);
  const std::vector<double> margins = eval::ApplyAccuracyMargins(in, o.accuracy_coverage);
  std::vector<std::string> named;
  for (std::size_t t = 0; t < in.file.tasks.size(); ++t)
    named.push_back(in.file.tasks[t].name + " " + Fixed(100.0 * margins[in.table_of_task[t]], 2) +
                    " pp");
  if (o.accuracy_coverage > 0.0)
    std::cout << "planning on a lower bound: an estimated accuracy less its estimator's conformal "
                 "margin at "
              << Fixed(100.0 * o.accuracy_coverage, 1) << "% coverage (" << Join(named, ", ")
              << "); measured accuracies as they are\n\n";
  const plan::PlanRequest request = eval::RequestOf(in);
  std::vector<SolvedPlan> solved;
  for (const auto& planner : PlannersNamed(o.planner)) {
    const auto start = std::chrono::steady_clock::now();
    plan::Plan plan = planner->Solve(request);
    const auto end = std::chrono::steady_clock::now();
    solved.push_back(
        {std::move(plan), std::chrono::duration<double, std::milli>(end - start).count()});
  }
  if (solved.size() == 1)
    PrintPlan(in, solved.front());
  else
    PrintComparison(solved);
  if (!o.json.empty()) {
    WriteJson(in, solved, o.json);
    std::cout << "\nplan written to " << o.json << "\n";
  }
  std::cout << std::flush;
  // With --planner all, SparseLoom's plan (the first) decides.
  if (solved.front().FallsShort())
    throw CLI::RuntimeError(kExitPlanFallsShort);
}

}  // namespace

void AddPlanCommand(CLI::App& app) {
  auto o = std::make_shared<PlanCommandOptions>();
  CLI::App* c = app.add_subcommand(
      "plan",
      "Choose for every task of a task file a stitched variant and a placement of its stages on "
      "the processors, meeting as many SLOs as possible, then the lowest busiest-processor load, "
      "then the least resident memory; print the plan and optionally write it as JSON "
      "(docs/planner.md)");
  c->add_option("--tasks", o->tasks, "the task file (JSON, format below)")->required();
  c->add_option("--planner", o->planner,
                "sparseloom (the joint optimizer over stitched variants), a baseline (SV-AO-NP, "
                "SV-AO-P, SV-LO-NP, SV-LO-P, AV-NP, AV-P; DESIGN.md) or all (one summary row per "
                "planner)")
      ->capture_default_str()
      ->check(CLI::IsMember(
          {"sparseloom", "SV-AO-NP", "SV-AO-P", "SV-LO-NP", "SV-LO-P", "AV-NP", "AV-P", "all"}));
  c->add_option("--json", o->json, "also write the plan(s) to this JSON file (atomically)");
  c->add_option("--accuracy-coverage", o->accuracy_coverage,
                "plan on a lower bound: an estimated accuracy counts as its estimate less the "
                "estimator's conformal margin at this coverage (from its cross-validated "
                "residuals; docs/profiler.md); measured accuracies as they are. 0: the estimates")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.999));
  c->footer(
      "Task file (version 1; relative paths are relative to the task file's folder):\n"
      "  {\"version\": 1,\n"
      "   \"processors\": \"cpu0:0:1,cpu1:1:1\",  optional: NAME:CORES:THREADS,... or a JSON\n"
      "                                       file, as `sparseloom profile --processors`;\n"
      "                                       default: the profiler's (first two cores)\n"
      "   \"memory_budget_mb\": 0,              optional: MiB of resident stages, 0 = unlimited\n"
      "   \"placements\": \"any\",                optional: \"any\" mapping of stages to "
      "processors,\n"
      "                                       or \"orders\" (every stage on its own processor)\n"
      "   \"profile_dir\": \"profiles\",          optional: the `sparseloom profile --out` folder\n"
      "                                       (default: each zoo's own ZOO/profile/)\n"
      "   \"tasks\": [{\"name\": \"fmnist\", \"zoo\": \"zoos/fmnist_resnet\",\n"
      "              \"min_accuracy\": 0.88, \"max_latency_ms\": 5.0, \"rate_per_s\": 50,\n"
      "              \"profile_dir\": \"...\"}]}    (profile_dir: optional, for this task)\n"
      "min_accuracy is a fraction in [0, 1], max_latency_ms > 0, rate_per_s >= 0 requests per\n"
      "second; unknown fields are errors. Every zoo needs a fresh performance table from\n"
      "`sparseloom profile` on the same processors: when one is missing or stale the command says\n"
      "which and prints the exact `sparseloom profile` command; it never profiles by itself.\n"
      "Exit status: 0 every SLO met, within the memory budget, no processor over 100% load;\n"
      "2 the plan was made (and written) but falls short of one of these (with --planner all:\n"
      "SparseLoom's plan); 1 an error (task file, zoo, tables); 100 and up: bad command line.");
  c->callback([o] { RunPlan(*o); });
}

}  // namespace sparseloom::cli
