#include "cli/bench_command.h"

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "cli/table.h"
#include "common/error.h"
#include "common/json_reader.h"
#include "eval/bench.h"
#include "eval/bench_figures.h"
#include "eval/bench_report.h"
#include "eval/bench_settings.h"
#include "eval/format.h"
#include "eval/platforms.h"
#include "eval/task_inputs.h"
#include "sim/device_profile.h"

namespace sparseloom::cli {
namespace {

namespace fs = std::filesystem;
using eval::Num;
using eval::SecondsSince;

struct BenchOptions {
  std::string tasks;
  std::vector<std::string> devices = {"devices/intel-core-ultra-7-265k.json",
                                      "devices/intel-core-ultra-5-135u.json",
                                      "devices/jetson-agx-orin.json"};
  std::string host_device = "devices/host.json";
  std::string out = "results/bench";
  std::string doc = "docs/results.md";
  eval::BenchSettings settings;
  double memory_tolerance_pp = 1.0;
  std::string python = "/usr/bin/python3";
  std::string plot_script = "scripts/plot_bench.py";
  bool plots = true;
  std::string regenerate = "make results";
};

std::string CommandLine(const BenchOptions& o) {
  std::string c = "sparseloom bench --tasks " + o.tasks;
  if (!o.devices.empty()) {
    c += " --devices";
    for (const std::string& d : o.devices)
      c += " " + d;
  }
  if (!o.settings.host)
    c += " --no-host";
  c += " --out " + o.out + " --doc " + o.doc + " --slo-configs " +
       std::to_string(o.settings.slo_configs) + " --orders " + std::to_string(o.settings.orders) +
       " --phase-s " + Num(o.settings.phase_s);
  c += " --offered-load " + Num(o.settings.offered_load);
  if (!o.settings.host_load_check)
    c += " --no-host-load-check";
  if (o.settings.placements != "any")
    c += " --placements " + o.settings.placements;
  c += " --closed-configs " + std::to_string(o.settings.closed_configs) + " --placement-configs " +
       std::to_string(o.settings.placement_configs) + " --memory-configs " +
       std::to_string(o.settings.memory_configs) + " --slo-changes " + Num(o.settings.slo_changes) +
       " --change-configs " + std::to_string(o.settings.change_configs);
  std::string budgets;
  for (double b : o.settings.memory_budgets) {
    budgets += budgets.empty() ? "" : ",";
    budgets += Num(b);
  }
  c += " --memory-budgets " + budgets + " --accuracy-coverage " + Num(o.settings.accuracy_coverage);
  if (!o.settings.verify)
    c += " --no-verify";
  c += " --seed " + std::to_string(o.settings.seed);
  return c;
}

std::mutex progress_mutex;

void Progress(const std::string& platform, const std::string& what) {
  std::lock_guard<std::mutex> lock(progress_mutex);
  std::cerr << "[bench] " << platform << ": " << what << "\n" << std::flush;
}

void RunBench(const BenchOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  // Device profiles first: a malformed one is reported before any long work.
  std::deque<sim::DeviceProfile> devices;
  const bool host_only = o.devices.size() == 1 && o.devices[0] == "none";
  for (const std::string& file : o.devices) {
    if (file == "none" && !host_only)
      throw UsageError("--devices: none (host only) cannot be listed with device profiles");
    if (!host_only)
      devices.push_back(sim::LoadDeviceProfile(file));
  }
  if (host_only && !o.settings.host)
    throw UsageError("--devices none with --no-host leaves no platform to run");
  const sim::DeviceProfile host_device = sim::LoadDeviceProfile(o.host_device);
  if (o.settings.placements != "any" && o.settings.placements != "orders")
    throw UsageError("--placements: expected any or orders, got \"" + o.settings.placements + "\"");
  for (double b : o.settings.memory_budgets)
    if (!(b > 0.0 && b <= 100.0))
      throw UsageError("--memory-budgets: expected percentages in (0, 100], got " + Num(b));

  eval::Inputs in = eval::LoadInputs(o.tasks);
  eval::ApplyAccuracyMargins(in, o.settings.accuracy_coverage);
  const std::vector<eval::BenchTask> data = eval::LoadBenchTasks(in, o.tasks);
  const eval::BenchPlatforms platforms =
      eval::MakePlatforms(in, o.tasks, data, devices, host_device, o.settings);

  eval::BenchReport report;
  report.command = CommandLine(o);
  report.regenerate = o.regenerate;
  report.task_file = o.tasks;
  report.memory_tolerance_pp = o.memory_tolerance_pp;
  report.generated_at = eval::UtcNow();
  report.settings = eval::WorkloadSettings(data, o.settings, platforms.target_load);
  report.platforms = eval::RunPlatforms(platforms.platforms, data, o.settings, Progress);

  fs::create_directories(o.out);
  const auto csvs = eval::WriteBenchCsvs(report, o.out);
  std::string plots_dir;
  if (o.plots) {
    const std::string command = o.python + " " + o.plot_script + " " + o.out;
    Progress("plots", command);
    if (std::system(command.c_str()) != 0)
      throw UsageError("plotting failed: `" + command + "` exited non-zero (run it to see why)");
    plots_dir = fs::relative(fs::absolute(o.out), fs::absolute(o.doc).parent_path()).string();
  }
  const fs::path doc_dir = fs::path(o.doc).parent_path();
  if (!doc_dir.empty())
    fs::create_directories(doc_dir);
  WriteFileAtomically(o.doc, eval::BenchMarkdown(report, plots_dir));

  std::cout << "bench: " << report.platforms.size() << " platforms in "
            << Fixed(SecondsSince(start), 1) << " s\n";
  Table table({"platform", "SparseLoom viol.", "worst baseline", "AV-P", "throughput vs SV-AO-NP",
               "memory saving", "profiling (est. / exh.)"});
  for (const eval::PlatformResults& r : report.platforms) {
    const eval::PlatformHeadline h = eval::HeadlineOf(r, o.memory_tolerance_pp);
    table.AddRow({r.name, Fixed(100.0 * h.sparseloom->RequestRate(), 1) + "%",
                  h.worst == nullptr
                      ? "-"
                      : h.worst->planner + " " + Fixed(100.0 * h.worst->RequestRate(), 1) + "%",
                  h.avp == nullptr ? "-" : Fixed(100.0 * h.avp->RequestRate(), 1) + "%",
                  h.throughput_ratio ? Fixed(*h.throughput_ratio, 2) + "x" : "-",
                  h.memory_saving ? Fixed(100.0 * *h.memory_saving, 0) + "%" : "-",
                  Fixed(h.sampled_s / 60.0, 1) + " / " + Fixed(h.exhaustive_s / 60.0, 1) + " min"});
  }
  table.Print(std::cout);
  for (const auto& f : csvs)
    std::cout << "wrote " << f.string() << "\n";
  std::cout << "wrote " << o.doc << "\n";
}

}  // namespace

void AddBenchCommand(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* c = app.add_subcommand(
      "bench",
      "Regenerate the paper's comparisons by simulation, per platform: the SoC device profiles "
      "(cost model on each zoo's manifest; accuracy and stage bytes from the host tables) and "
      "this host (its measured tables). (a) SLO violations of SparseLoom vs the six baselines "
      "over SLO configurations x arrival orders, per request and per task-episode; (b) "
      "closed-loop throughput vs SV-AO-NP; (c) profiling time with and without estimators "
      "(a model of the profiler's runs, not a measurement); (d) fixed vs optimized placement "
      "order; (e) violations vs stage memory budget. Writes CSV files and PNG plots to --out "
      "and the report to --doc (docs/results.md). Progress on stderr.");
  c->add_option("--tasks", o->tasks,
                "task file whose zoos have fresh performance tables (e.g. results/demo_tasks.json "
                "after `make demo`); its rates and processors define the host platform")
      ->required();
  c->add_option("--devices", o->devices,
                "device profiles to simulate (their non-optional processors); none: host only")
      ->capture_default_str();
  c->add_option("--host-device", o->host_device,
                "the host's device profile: its storage (on-demand loads) and cost model (the "
                "profiling model's accuracy batches)")
      ->capture_default_str();
  c->add_flag("!--no-host", o->settings.host, "leave the host platform out");
  c->add_option("--out", o->out, "folder for the CSV files and plots")->capture_default_str();
  c->add_option("--doc", o->doc, "the report, written atomically")->capture_default_str();
  c->add_option("--slo-configs", o->settings.slo_configs,
                "SLO configurations per platform (tight/medium/loose grid; the first all-medium)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  c->add_option("--orders", o->settings.orders,
                "task arrival orders per configuration; >= T! gives all of them (24 for 4 tasks)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  c->add_option("--phase-s", o->settings.phase_s,
                "virtual seconds each arrival phase admits requests")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 3600.0));
  c->add_option("--offered-load", o->settings.offered_load,
                "scale each platform's rates so that every task's most accurate original variant, "
                "each request whole on one processor, would load the platform's processors "
                "(pooled: Σ_t rate_t / Σ_p 1000/latency_tp) to this fraction: below 1 that "
                "reference is sustainable, so violations measure how well plans fit the SLOs, not "
                "overload; 0: the load the task file's rates put on the host")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  c->add_flag("!--no-host-load-check", o->settings.host_load_check,
              "skip running (a) a second time at the load the task file's rates put on the host");
  c->add_option("--placements", o->settings.placements,
                "placement space of the P planners: any (every stage->processor mapping) or "
                "orders (each stage on its own processor; needs K <= P)")
      ->capture_default_str();
  c->add_option("--max-in-flight", o->settings.max_in_flight,
                "admission bound, as `sparseloom run`")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  c->add_option("--closed-configs", o->settings.closed_configs,
                "SLO configurations of the closed-loop throughput runs (first arrival order)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  c->add_option("--window", o->settings.window, "closed loop: requests each task keeps in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  c->add_option("--placement-configs", o->settings.placement_configs,
                "SLO configurations (x every order) of the fixed-placement comparison")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  c->add_option("--memory-budgets", o->settings.memory_budgets,
                "stage memory budgets, % of the full zoo set (every stage on every processor); "
                "100 (preload everything) is always added")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--memory-configs", o->settings.memory_configs,
                "SLO configurations (x every order) of the memory sweep")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  c->add_option("--slo-changes", o->settings.slo_changes,
                "(f): SLO changes per phase on average (a task present moves to another point of "
                "its grid and is re-planned while served); 0: skip (f)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  c->add_option("--change-configs", o->settings.change_configs,
                "(f): SLO configurations (x every order) with SLO changes")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  c->add_option("--memory-tolerance-pp", o->memory_tolerance_pp,
                "'equal violation rate': within this many percentage points of preloading all")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  c->add_option("--accuracy-coverage", o->settings.accuracy_coverage,
                "plan on a lower bound: an estimated accuracy counts as its estimate less the "
                "estimator's conformal margin at this coverage; 0: the estimates (as `run`)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.999));
  c->add_flag("!--no-verify", o->settings.verify,
              "serve chosen stitched variants on their estimates instead of verifying them "
              "against their zoo's accuracy ground truth (`sparseloom truth`) and re-planning "
              "those below their SLO");
  c->add_flag("!--no-plan-cache", o->settings.plan_cache,
              "re-plan identical requests instead of reusing the plan (same results, slower)");
  c->add_option("--seed", o->settings.seed,
                "seed of the SLO configurations, orders, arrivals, samples")
      ->capture_default_str();
  c->add_option("--jobs", o->settings.jobs,
                "platforms simulated at once (threads); results do not depend on it")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  c->add_option("--python", o->python, "Python with matplotlib, for the plots")
      ->capture_default_str();
  c->add_option("--plot-script", o->plot_script, "the plotting script")->capture_default_str();
  c->add_flag("!--no-plots", o->plots, "write no PNG plots");
  c->add_option("--regenerate", o->regenerate,
                "what the report says regenerates it (the Makefile passes its target)")
      ->capture_default_str();
  c->callback([o] { RunBench(*o); });
}

}  // namespace sparseloom::cli
