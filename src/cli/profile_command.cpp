#include "cli/profile_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "cli/table.h"
#include "common/error.h"
#include "common/json_reader.h"
#include "engine/torchscript_engine.h"
#include "profile/performance_table.h"
#include "profile/processor_setup.h"
#include "profile/profiler.h"
#include "zoo/stitched_variant.h"
#include "zoo/zoo.h"

namespace sparseloom::cli {
namespace {

struct ProfileCommandOptions {
  std::vector<std::string> zoos;
  bool exhaustive = false;
  bool force = false;
  double budget_minutes = 5.0;
  std::string processors;
  std::string out;
  int stage_runs = 30;
  int chain_runs = 9;
  int latency_rounds = 5;
  std::int64_t exhaustive_chains = -1;
  bool exhaustive_latency_only = false;
  std::uint64_t seed = 0;
};

std::string Clock(double seconds) {
  const auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%lld:%02lld", s / 60, s % 60);
  return buffer;
}

// "task  phase  [#######.......]  12/37  ETA 0:04", redrawn in place at most 10 times a second.
class ProgressBar {
 public:
  explicit ProgressBar(std::string task) : task_(std::move(task)) {}
  ~ProgressBar() { Finish(); }

  void Update(const std::string& phase, std::int64_t done, std::int64_t total) {
    using C = std::chrono::steady_clock;
    const auto now = C::now();
    if (phase != phase_) {
      Finish();
      phase_ = phase;
      phase_start_ = now;
      last_draw_ = {};
    }
    const bool complete = done >= total;
    // On a terminal redraw in place; in a log, write each phase's last line only.
    if (!complete && (!tty_ || now - last_draw_ < std::chrono::milliseconds(100)))
      return;
    last_draw_ = now;
    const double elapsed = std::chrono::duration<double>(now - phase_start_).count();
    const double fraction = total > 0 ? double(done) / double(total) : 1.0;
    const int width = 28;
    const int filled = static_cast<int>(fraction * width);
    std::string eta = done > 0 ? "ETA " + Clock(elapsed / fraction - elapsed) : "ETA ?";
    if (complete)
      eta = "took " + Clock(elapsed);
    std::cerr << (tty_ ? "\r" : "") << task_ << "  " << phase << "  ["
              << std::string(std::size_t(filled), '#')
              << std::string(std::size_t(width - filled), '.') << "]  " << done << "/" << total
              << "  " << eta << "   " << std::flush;
    drawn_ = true;
  }

  void Finish() {
    if (drawn_)
      std::cerr << "\n";
    drawn_ = false;
  }

 private:
  std::string task_;
  bool tty_ = isatty(STDERR_FILENO) != 0;
  std::string phase_;
  std::chrono::steady_clock::time_point phase_start_{};
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
};

std::filesystem::path OutputDir(const ProfileCommandOptions& o, const zoo::Zoo& z) {
  if (o.out.empty())
    return z.dir / "profile";
  return std::filesystem::path(o.out) / z.task;
}

// One row per stitched variant at its best placement, for scripts/plot_profile.py.
void WriteStitchedCsv(const profile::PerformanceTable& t, const zoo::Zoo& z,
                      const std::filesystem::path& file) {
  const std::vector<std::int64_t> front = profile::ParetoFront(t);
  const std::set<std::int64_t> on_front(front.begin(), front.end());
  std::ostringstream csv;
  csv << "index,stitched,original,accuracy,accuracy_measured,latency_ms,placement,"
         "latency_measured,on_front\n";
  for (std::int64_t s = 0; s < t.num_stitched(); ++s) {
    std::int64_t placement = 0;
    const double latency = t.BestLatency(s, &placement);
    std::string where;
    for (int p : t.PlacementAt(placement)) {
      where += where.empty() ? "" : "-";
      where += t.processors[static_cast<std::size_t>(p)].name;
    }
    const zoo::StitchedVariant sv = zoo::StitchedAt(z, s);
    const auto us = static_cast<std::size_t>(s);
    std::string name = zoo::ToString(z, sv);
    std::replace(name.begin(), name.end(), ',', '/');  // one CSV field
    csv << s << "," << name << "," << (sv.IsOriginal() ? 1 : 0) << "," << Fixed(t.accuracy[us], 5)
        << "," << int(t.accuracy_measured[us]) << "," << Fixed(latency, 4) << "," << where << ","
        << int(t.latency_measured[static_cast<std::size_t>(s * t.num_placements() + placement)])
        << "," << (on_front.contains(s) ? 1 : 0) << "\n";
  }
  WriteFileAtomically(file, csv.str());
}

struct TaskSummary {
  profile::PerformanceTable table;
  bool reused = false;
  int front = 0;
  int stitched_on_front = 0;
  std::filesystem::path dir;
};

std::string Percent(double fraction, int decimals) {
  return Fixed(100.0 * fraction, decimals) + "%";
}

void PrintSummary(const std::vector<TaskSummary>& tasks) {
  Table table({"task", "V", "stitched", "accuracy meas/est", "latency meas/est", "acc est. error",
               "lat est. error", "front (stitched)", "time"});
  for (const auto& t : tasks) {
    const auto& p = t.table;
    std::int64_t acc_measured = 0, lat_measured = 0;
    for (auto m : p.accuracy_measured)
      acc_measured += m;
    for (auto m : p.latency_measured)
      lat_measured += m;
    table.AddRow(
        {p.task, std::to_string(p.num_variants()), std::to_string(p.num_stitched()),
         std::to_string(acc_measured) + "/" + std::to_string(p.num_stitched() - acc_measured),
         std::to_string(lat_measured) + "/" +
             std::to_string(p.num_stitched() * p.num_placements() - lat_measured),
         Fixed(100.0 * p.accuracy_error.value, 2) + " pp MAE (" + p.accuracy_error.model + ")",
         Percent(p.latency_error.value, 1) + " MAPE (" + p.latency_error.model + ")",
         std::to_string(t.front) + " (" + std::to_string(t.stitched_on_front) + ")",
         t.reused ? "reused" : Clock(p.time.Estimated() + p.time.exhaustive_s)});
  }
  table.Print(std::cout);
  std::cout << "\n(estimator errors: cross-validated on the randomly drawn measured points; "
               "latency counts every placement of every stitched variant)\n";

  bool any_check = false;
  for (const auto& t : tasks)
    any_check = any_check || t.table.held_out.has_value();
  if (any_check) {
    Table check({"task", "acc. points", "acc. MAE", "sum-of-drops MAE", "lat. points", "lat. MAPE",
                 "sum-of-stages MAPE", "profile time", "exhaustive time", "ratio"});
    for (const auto& t : tasks) {
      if (!t.table.held_out)
        continue;
      const auto& h = *t.table.held_out;
      const auto& time = t.table.time;
      const bool accuracy = h.accuracy_points > 0;  // not with --exhaustive-latency-only
      check.AddRow(
          {t.table.task, std::to_string(h.accuracy_points),
           accuracy ? Fixed(100.0 * h.accuracy_mae, 2) + " pp" : "-",
           accuracy ? Fixed(100.0 * h.accuracy_baseline_mae, 2) + " pp" : "-",
           std::to_string(h.latency_points), Percent(h.latency_mape, 2),
           Percent(h.latency_baseline_mape, 2), Fixed(time.Estimated(), 1) + " s",
           accuracy ? Fixed(time.exhaustive_s, 1) + " s" : "-",
           accuracy ? Percent(time.Estimated() / std::max(1e-9, time.exhaustive_s), 1) : "-"});
    }
    std::cout << "\nestimators against --exhaustive ground truth, on the points they never saw:\n";
    check.Print(std::cout);
  }
  for (const auto& t : tasks) {
    std::cout << "\n"
              << t.table.task << ": table " << (t.dir / profile::kTableFile).string()
              << ", plot data " << (t.dir / "stitched.csv").string() << "\n";
  }
}

void RunProfile(const ProfileCommandOptions& o) {
  const profile::ProcessorSetup processors = o.processors.empty()
                                                 ? profile::DefaultProcessorSetup()
                                                 : profile::ParseProcessorSetup(o.processors);
  std::cerr << "processors: " << profile::ToString(processors) << " (name:cores:threads)\n";
  std::unique_ptr<engine::TorchScriptEngine> engine;
  std::vector<TaskSummary> summaries;
  for (const std::string& dir : o.zoos) {
    const zoo::Zoo z = zoo::LoadZoo(dir);
    TaskSummary summary;
    summary.dir = OutputDir(o, z);
    const std::filesystem::path file = summary.dir / profile::kTableFile;
    const std::string key = profile::ProfileKey(z, processors);
    std::optional<profile::PerformanceTable> fresh;
    if (!o.force)
      fresh = profile::LoadFreshTable(file, key);
    if (fresh && profile::HoldsGroundTruth(*fresh, o.exhaustive, o.exhaustive_latency_only)) {
      std::cerr << z.task << ": " << file.string() << " is up to date (key " << key << ")\n";
      summary.table = std::move(*fresh);
      summary.reused = true;
    } else {
      if (!engine)
        engine = std::make_unique<engine::TorchScriptEngine>();
      profile::ProfileOptions options;
      options.processors = processors;
      options.exhaustive = o.exhaustive;
      options.budget_minutes = o.budget_minutes;
      options.stage_runs = o.stage_runs;
      options.chain_runs = o.chain_runs;
      options.latency_rounds = o.latency_rounds;
      options.exhaustive_chains = o.exhaustive_chains;
      options.exhaustive_accuracy = !o.exhaustive_latency_only;
      options.seed = o.seed;
      ProgressBar bar(z.task);
      options.progress = [&bar](const std::string& phase, std::int64_t done, std::int64_t total) {
        bar.Update(phase, done, total);
      };
      summary.table = profile::ProfileZoo(z, *engine, options);
      bar.Finish();
      std::filesystem::create_directories(summary.dir);
      profile::SavePerformanceTable(summary.table, file);
    }
    WriteStitchedCsv(summary.table, z, summary.dir / "stitched.csv");
    for (std::int64_t s : profile::ParetoFront(summary.table)) {
      ++summary.front;
      summary.stitched_on_front += !zoo::StitchedAt(z, s).IsOriginal();
    }
    summaries.push_back(std::move(summary));
  }
  PrintSummary(summaries);
}

}  // namespace

void AddProfileCommand(CLI::App& app) {
  auto o = std::make_shared<ProfileCommandOptions>();
  CLI::App* c = app.add_subcommand(
      "profile",
      "Build each zoo's performance table on this host's processors: stage latencies, a "
      "measured sample of stitched variants and XGBoost estimates for the rest (docs/profiler.md)");
  c->add_option("ZOO", o->zoos, "zoo directories")->required();
  CLI::Option* exhaustive =
      c->add_flag("--exhaustive", o->exhaustive,
                  "also measure every stitched variant and placement (ground truth) and check the "
                  "estimators on the points they never saw");
  c->add_option("--budget-minutes", o->budget_minutes,
                "wall-time budget per zoo for the sampled profile (more random accuracy points "
                "while it lasts)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  c->add_option("--processors", o->processors,
                "NAME:CORES:THREADS,... (e.g. cpu0:0:1,cpu1:1:1; cores 0+1 or 0-3) or a JSON file; "
                "default: one 1-thread processor on each of the first two cores");
  c->add_option("--out", o->out,
                "write tables to DIR/<task>/ (default: ZOO/profile/); a fresh table there is "
                "reused");
  c->add_flag("--force", o->force, "profile again even when the table is up to date");
  c->add_option("--stage-runs", o->stage_runs, "timed runs per (stage, variant, processor)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  c->add_option("--chain-runs", o->chain_runs, "timed runs per whole stitched chain")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  c->add_option("--latency-rounds", o->latency_rounds,
                "interleaved rounds the timed runs are spread over")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  c->add_option("--exhaustive-chains", o->exhaustive_chains,
                "with --exhaustive: measure only this many (stitched variant, placement) chains, "
                "drawn at random, as latency ground truth, and extrapolate the exhaustive time "
                "(-1: all)")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{-1}, std::int64_t{1} << 40));
  c->add_flag("--exhaustive-latency-only", o->exhaustive_latency_only,
              "with --exhaustive: measure only the latency ground truth, not every stitched "
              "variant's accuracy (minutes instead of most of an hour; the accuracy estimator and "
              "the time ratio are not checked)")
      ->needs(exhaustive);
  c->add_option("--seed", o->seed, "seed of the random samples")->capture_default_str();
  c->callback([o] { RunProfile(*o); });
}

}  // namespace sparseloom::cli
