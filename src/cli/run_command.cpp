#include "cli/run_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/table.h"
#include "cli/task_inputs.h"
#include "common/error.h"
#include "common/json_reader.h"
#include "engine/torchscript_engine.h"
#include "preload/hotness.h"
#include "preload/stage_cache.h"
#include "runtime/evaluation.h"
#include "runtime/latency_calibration.h"
#include "runtime/phase_planning.h"
#include "runtime/serving.h"
#include "runtime/trace.h"
#include "runtime/workload.h"
#include "sim/device_profile.h"
#include "sim/simulator.h"
#include "zoo/zoo.h"

namespace sparseloom::cli {
namespace {

struct RunOptions {
  std::string tasks;
  std::string planner = "sparseloom";
  std::string arrivals = "poisson";
  double phase_s = 2.0;
  int slo_configs = 0;  // 0: the task file's SLOs
  int orders = 1;
  double rate_scale = 1.0;
  int window = 4;
  std::string cache_budget;
  int max_in_flight = 64;
  std::string fail_processor;
  double fail_after_s = -1.0;
  double latency_headroom = 2.0;
  bool calibrate_handovers = true;
  bool calibrate_latencies = true;
  std::string latency_scale;  // "" (measure), one factor, or one per task
  double calibration_s = 1.0;
  double stitch_margin = -1.0;  // < 0: each table's latency estimator error
  bool queueing_aware = true;
  bool plan_ahead = true;
  double wait_quantile = 0.0;
  int realtime_priority = 10;
  std::uint64_t seed = 0;
  std::string json;
  std::string trace;
  bool simulate = false;
  std::string storage = "devices/host.json";
};

std::int64_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

std::string Percent(double fraction) {
  return Fixed(100.0 * fraction, 1) + "%";
}

// "" (the task file's memory_budget_bytes), "55%" of the full zoo set, or a byte count.
std::int64_t ParseCacheBudget(const std::string& text, std::int64_t from_file,
                              std::int64_t full_set_bytes) {
  if (text.empty())
    return from_file;
  try {
    std::size_t used = 0;
    const double value = std::stod(text, &used);
    if (used + 1 == text.size() && text.back() == '%' && value > 0.0 && value <= 100.0)
      return static_cast<std::int64_t>(value / 100.0 * static_cast<double>(full_set_bytes));
    // Below 2^63: a larger (or infinite) count would not convert to a byte count at all.
    if (used == text.size() && value >= 0.0 && value < 9.2e18)
      return static_cast<std::int64_t>(value);
  } catch (const std::exception&) {
  }
  throw UsageError(
      "--cache-budget: expected a percentage of the full zoo set (\"55%\") or a byte "
      "count, got \"" +
      text + "\"");
}

std::string PlacementText(const std::string& placement) {
  return placement.empty() ? "-" : placement;
}

struct PlannerRun {
  std::string planner;
  std::vector<runtime::EpisodeReport> episodes;
  std::vector<runtime::TaskSummary> summaries;
  std::vector<runtime::ThroughputCheck> throughput;  // closed loop: the last phase of each episode
  int warmed = 0;
  double wall_s = 0.0;  // serving its episodes (warming excluded)
};

struct Totals {
  std::int64_t requests = 0, violations = 0, completed = 0, dropped = 0, failed = 0;
  std::int64_t task_episodes = 0, episodes_violated = 0;
  double throughput = 0.0;
  double worst_p99 = 0.0;
};

Totals TotalsOf(const PlannerRun& run) {
  Totals t;
  for (const runtime::TaskSummary& s : run.summaries) {
    t.requests += s.requests;
    t.violations += s.violations;
    t.completed += s.completed;
    t.dropped += s.dropped;
    t.failed += s.failed;
    t.task_episodes += s.task_episodes;
    t.episodes_violated += s.episodes_violated;
    t.throughput += s.throughput_rps;
    t.worst_p99 = std::max(t.worst_p99, s.p99_ms);
  }
  return t;
}

double Ratio(std::int64_t a, std::int64_t b) {
  return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
}

void PrintRun(const PlannerRun& run, const std::vector<runtime::ServedTask>& tasks) {
  std::cout << "\n== " << run.planner << ": " << run.episodes.size() << " episode"
            << (run.episodes.size() == 1 ? "" : "s") << " in " << Fixed(run.wall_s, 1) << " s\n";
  Table table({"task", "requests", "done", "dropped", "failed", "throughput", "p50", "p95", "p99",
               "SLO viol.", "episodes viol.", "accuracy (measured)", "last variant",
               "last placement"});
  for (std::size_t t = 0; t < run.summaries.size(); ++t) {
    const runtime::TaskSummary& s = run.summaries[t];
    table.AddRow(
        {s.task, std::to_string(s.requests), std::to_string(s.completed), std::to_string(s.dropped),
         std::to_string(s.failed), Fixed(s.throughput_rps, 1) + "/s", Fixed(s.p50_ms, 2) + " ms",
         Fixed(s.p95_ms, 2) + " ms", Fixed(s.p99_ms, 2) + " ms", Percent(s.violation_rate()),
         std::to_string(s.episodes_violated) + "/" + std::to_string(s.task_episodes),
         Percent(s.planned_accuracy) + " (" +
             (s.completed && tasks[t].inputs != nullptr ? Percent(Ratio(s.correct, s.completed))
                                                        : std::string("-")) +
             ")",
         s.stitched.empty() ? "-" : s.stitched, PlacementText(s.placement)});
  }
  table.Print(std::cout);
  double plan_ms = 0.0, worst_plan_ms = 0.0;
  std::size_t phases = 0, ahead = 0;
  for (const runtime::EpisodeReport& e : run.episodes) {
    for (const runtime::PhaseReport& ph : e.phases) {
      plan_ms += ph.plan_ms;
      worst_plan_ms = std::max(worst_plan_ms, ph.plan_ms);
      ++phases;
      ahead += ph.planned_ahead;
    }
  }
  if (phases > 0 && plan_ms > 0.0)
    std::cout << "planning each phase: " << Fixed(plan_ms / static_cast<double>(phases), 2)
              << " ms mean, " << Fixed(worst_plan_ms, 2) << " ms at most; " << ahead << " of "
              << phases
              << " phases had a plan made ahead (the others were planned in the background: "
                 "only the joining task's requests wait for it)\n";
  if (!run.throughput.empty()) {
    double measured = 0.0, bound = 0.0;
    for (const runtime::ThroughputCheck& c : run.throughput) {
      measured += c.measured_rps;
      bound += c.bound_rps;
    }
    std::cout << "closed loop, all tasks present: "
              << Fixed(measured / static_cast<double>(run.throughput.size()), 1)
              << " requests/s measured, planner's bound "
              << Fixed(bound / static_cast<double>(run.throughput.size()), 1) << "/s ("
              << Percent(bound > 0 ? measured / bound : 0.0) << ")\n";
  }
}

void PrintComparison(const std::vector<PlannerRun>& runs) {
  std::cout << "\n== comparison (same episodes, SLOs, arrivals and samples for every planner)\n";
  Table table({"planner", "requests", "SLO violations", "task-episodes violated", "dropped",
               "failed", "throughput", "worst p99"});
  for (const PlannerRun& run : runs) {
    const Totals t = TotalsOf(run);
    table.AddRow({run.planner, std::to_string(t.requests), Percent(Ratio(t.violations, t.requests)),
                  std::to_string(t.episodes_violated) + "/" + std::to_string(t.task_episodes) +
                      " (" + Percent(Ratio(t.episodes_violated, t.task_episodes)) + ")",
                  std::to_string(t.dropped), std::to_string(t.failed),
                  Fixed(t.throughput, 1) + "/s", Fixed(t.worst_p99, 2) + " ms"});
  }
  table.Print(std::cout);
  std::cout << "(SLO violations: share of requests late, on a variant below min_accuracy, dropped "
               "or failed; a task-episode is violated when more than "
            << Percent(runtime::kEpisodeViolationShare) << " of its requests are)\n";
}

nlohmann::ordered_json SloJson(const plan::Slo& slo) {
  return {{"min_accuracy", slo.min_accuracy}, {"max_latency_ms", slo.max_latency_ms}};
}

nlohmann::ordered_json RunJson(const PlannerRun& run,
                               const std::vector<runtime::ServedTask>& tasks) {
  nlohmann::ordered_json summaries = nlohmann::ordered_json::array();
  for (std::size_t t = 0; t < run.summaries.size(); ++t) {
    const runtime::TaskSummary& s = run.summaries[t];
    summaries.push_back(
        {{"task", s.task},
         {"requests", s.requests},
         {"completed", s.completed},
         {"dropped", s.dropped},
         {"failed", s.failed},
         {"violations", s.violations},
         {"violation_rate", s.violation_rate()},
         {"task_episodes", s.task_episodes},
         {"episodes_violated", s.episodes_violated},
         {"served_s", s.served_s},
         {"throughput_rps", s.throughput_rps},
         {"p50_ms", s.p50_ms},
         {"p95_ms", s.p95_ms},
         {"p99_ms", s.p99_ms},
         {"measured_accuracy", tasks[t].inputs != nullptr
                                   ? nlohmann::ordered_json(Ratio(s.correct, s.completed))
                                   : nlohmann::ordered_json()},
         {"planned_accuracy", s.planned_accuracy},
         {"last_stitched_variant", s.stitched},
         {"last_placement", s.placement}});
  }
  nlohmann::ordered_json episodes = nlohmann::ordered_json::array();
  for (std::size_t e = 0; e < run.episodes.size(); ++e) {
    const runtime::EpisodeReport& ep = run.episodes[e];
    nlohmann::ordered_json slos = nlohmann::ordered_json::object();
    for (std::size_t t = 0; t < tasks.size(); ++t)
      slos[tasks[t].name] = SloJson(ep.episode.slos[t]);
    nlohmann::ordered_json phases = nlohmann::ordered_json::array();
    for (const runtime::PhaseReport& ph : ep.phases) {
      // Per task of the phase: its requests, violations and latencies (completed requests).
      std::map<std::string, std::pair<std::int64_t, std::int64_t>> counts;
      std::map<std::string, std::vector<double>> latencies;
      for (std::size_t i = 0; i < ep.records.size(); ++i) {
        if (ep.phase_of_record[i] != ph.phase)
          continue;
        const runtime::RequestRecord& r = ep.records[i];
        const std::string& name = tasks[static_cast<std::size_t>(r.task)].name;
        ++counts[name].first;
        counts[name].second += !r.SloMet();
        if (r.outcome == runtime::Outcome::kCompleted)
          latencies[name].push_back(r.latency_ms());
      }
      nlohmann::ordered_json chosen = nlohmann::ordered_json::array();
      for (const plan::TaskPlan& tp : ph.plan.tasks) {
        std::vector<std::string> placement;
        for (int p : tp.placement)
          placement.push_back(ph.plan.processors[static_cast<std::size_t>(p)]);
        chosen.push_back(
            {{"task", tp.task},
             {"stitched_index", tp.stitched_variant},
             {"placement", placement},
             {"planned_latency_ms", tp.latency_ms},
             {"accuracy", tp.accuracy},
             {"slo_met", tp.slo_met},
             {"requests", counts[tp.task].first},
             {"violations", counts[tp.task].second},
             {"p95_ms", latencies[tp.task].empty() ? nlohmann::ordered_json()
                                                   : nlohmann::ordered_json(runtime::Percentile(
                                                         latencies[tp.task], 0.95))}});
      }
      std::int64_t requests = 0, violations = 0;
      for (const auto& [name, count] : counts) {
        requests += count.first;
        violations += count.second;
      }
      phases.push_back({{"phase", ph.phase},
                        {"tasks", ph.tasks},
                        {"start_ms", ph.start_ms},
                        {"end_ms", ph.end_ms},
                        {"replans", ph.replans},
                        {"plan_ms", ph.plan_ms},
                        {"planned_ahead", ph.planned_ahead},
                        {"requests", requests},
                        {"violations", violations},
                        {"processor_load", ph.plan.processor_load},
                        {"plan", chosen}});
    }
    episodes.push_back({{"name", ep.episode.name},
                        {"order", ep.episode.order},
                        {"slos", slos},
                        {"duration_ms", ep.duration_ms},
                        {"submitted", ep.counters.submitted},
                        {"completed", ep.counters.completed},
                        {"dropped", ep.counters.dropped},
                        {"failed", ep.counters.failed},
                        {"rerun", ep.counters.rerun},
                        {"phases", phases}});
  }
  nlohmann::ordered_json throughput = nlohmann::ordered_json::array();
  for (const runtime::ThroughputCheck& c : run.throughput)
    throughput.push_back({{"measured_rps", c.measured_rps}, {"bound_rps", c.bound_rps}});
  const Totals t = TotalsOf(run);
  return {{"planner", run.planner},
          {"wall_s", run.wall_s},
          {"stages_warmed", run.warmed},
          {"requests", t.requests},
          {"violations", t.violations},
          {"violation_rate", Ratio(t.violations, t.requests)},
          {"task_episodes", t.task_episodes},
          {"episodes_violated", t.episodes_violated},
          {"throughput_rps", t.throughput},
          {"closed_loop", throughput},
          {"tasks", summaries},
          {"episodes", episodes}};
}

// Per task: the first task that reads the same table (itself when none before it does).
std::vector<std::size_t> FirstTaskOfTable(const Inputs& in) {
  std::vector<std::size_t> first(in.table_of_task.size());
  for (std::size_t t = 0; t < first.size(); ++t) {
    first[t] = t;
    for (std::size_t u = 0; u < t && first[t] == t; ++u) {
      if (in.table_of_task[u] == in.table_of_task[t])
        first[t] = u;
    }
  }
  return first;
}

// --latency-scale: one factor for every task or one per task (tasks that read the same table
// must agree). Empty: none given.
std::vector<double> GivenLatencyScale(const RunOptions& o, const Inputs& in,
                                      const std::vector<runtime::ServedTask>& tasks) {
  if (o.latency_scale.empty())
    return {};
  const std::size_t T = tasks.size();
  std::vector<double> given;
  std::stringstream list(o.latency_scale);
  for (std::string item; std::getline(list, item, ',');) {
    std::size_t used = 0;
    double value = 0.0;
    try {
      value = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || !(value > 0.0) || !std::isfinite(value))
      throw UsageError("--latency-scale: expected numbers > 0 separated by commas, got \"" + item +
                       "\" in \"" + o.latency_scale + "\"");
    given.push_back(value);
  }
  if (given.size() != 1 && given.size() != T)
    throw UsageError("--latency-scale: expected one factor or one per task (" + std::to_string(T) +
                     "), got " + std::to_string(given.size()));
  std::vector<double> per_task(T, given.front());
  if (given.size() == T)
    per_task = given;
  const std::vector<std::size_t> first = FirstTaskOfTable(in);
  for (std::size_t t = 0; t < T; ++t) {
    if (per_task[first[t]] != per_task[t])
      throw UsageError("--latency-scale: tasks '" + tasks[first[t]].name + "' and '" +
                       tasks[t].name + "' read the same table; give them the same factor");
  }
  return per_task;
}

// Scales every table once, by the factor of the first task that reads it
// (runtime::ScaleStageLatencies).
void ApplyLatencyScale(Inputs& in, const std::vector<double>& per_task) {
  const std::vector<std::size_t> first = FirstTaskOfTable(in);
  for (std::size_t t = 0; t < per_task.size(); ++t) {
    if (first[t] == t)
      runtime::ScaleStageLatencies(in.profiles[in.table_of_task[t]], per_task[t]);
  }
}

// Sets every table's stitch margin once (runtime::SetStitchMargin): `margin` < 0 takes each
// table's latency estimator error (MAPE). Returns the margin of each task.
std::vector<double> ApplyStitchMargin(Inputs& in, double margin,
                                      const std::vector<runtime::ServedTask>& tasks) {
  const std::vector<std::size_t> first = FirstTaskOfTable(in);
  std::vector<double> margins;
  std::cout << "stitched variants that are not originals planned with a latency margin of";
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    const profile::PerformanceTable& table = in.tables[in.table_of_task[t]];
    const double m = margin >= 0.0                          ? margin
                     : table.latency_error.metric == "mape" ? table.latency_error.value
                                                            : 0.0;
    if (first[t] == t)
      runtime::SetStitchMargin(in.profiles[in.table_of_task[t]], m);
    std::cout << (t == 0 ? " " : ", ") << Percent(m) << " (" << tasks[t].name << ")";
    margins.push_back(m);
  }
  std::cout << (margin >= 0.0 ? " (--stitch-margin)"
                              : " (their latency estimator's cross-validated error; "
                                "--stitch-margin sets it)")
            << "\n";
  return margins;
}

// Serves one calibration episode (every task in order, `seconds` a phase, the task file's SLOs,
// SparseLoom's plans) and returns per task how much longer its requests' stages took than the
// tables say in the last phase, all tasks present (docs/runtime.md, "Serving calibration"). Tasks
// that read the same table get the factor of the first of them.
std::vector<double> MeasureLatencyScale(runtime::Server& server, const Inputs& in,
                                        const std::vector<runtime::ServedTask>& tasks,
                                        runtime::ServeOptions serve, double seconds) {
  const std::size_t T = tasks.size();
  runtime::Episode episode;
  episode.name = "calibration";
  for (std::size_t t = 0; t < T; ++t) {
    episode.slos.push_back(in.file.tasks[t].slo);
    episode.order.push_back(static_cast<int>(t));
  }
  serve.phase_s = seconds;
  serve.arrivals = runtime::ArrivalKind::kPoisson;
  serve.pipeline.fault_processor = -1;
  const auto planner = plan::MakeSparseLoomPlanner();
  std::cout << "serving calibration: " << Fixed(seconds * static_cast<double>(T), 1)
            << " s of requests on SparseLoom's plans for the task file's SLOs ...\n"
            << std::flush;
  server.Warm(*planner, {episode}, serve);
  const runtime::EpisodeReport report = server.RunEpisode(*planner, episode, serve);
  std::vector<const plan::TaskProfile*> profiles;
  for (const runtime::ServedTask& t : tasks)
    profiles.push_back(t.profile);
  // The last phase only: every task present, as the phases that miss most SLOs have them.
  std::vector<runtime::RequestRecord> last;
  for (std::size_t i = 0; i < report.records.size(); ++i) {
    if (report.phase_of_record[i] == static_cast<int>(T) - 1)
      last.push_back(report.records[i]);
  }
  const runtime::LatencyScale c = runtime::ServingLatencyScale(last, profiles);
  std::vector<double> per_task = c.scale;
  const std::vector<std::size_t> first = FirstTaskOfTable(in);
  for (std::size_t t = 0; t < T; ++t)
    per_task[t] = per_task[first[t]];
  std::cout << "serving calibration: stages ran";
  for (std::size_t t = 0; t < T; ++t)
    std::cout << (t == 0 ? " " : ", ") << Fixed(per_task[t], 2) << "x (" << tasks[t].name << ", "
              << c.requests[t] << " requests)";
  std::cout << " their tables' latencies with every task present; planning and the SLO grid use "
               "these (--table-latencies: the tables')\n";
  return per_task;
}

void RunServe(const RunOptions& o) {
  Inputs in = LoadInputs(o.tasks);
  runtime::ArrivalKind arrivals = runtime::ArrivalKind::kPoisson;
  if (o.arrivals == "closed")
    arrivals = runtime::ArrivalKind::kClosedLoop;
  else if (o.arrivals != "poisson")
    throw UsageError("--arrivals: expected \"poisson\" or \"closed\", got \"" + o.arrivals + "\"");
  const auto planners = PlannersNamed(o.planner);
  const std::int64_t rss_start = RssBytes();

  engine::TorchScriptEngine engine;
  std::vector<zoo::Zoo> zoos;
  std::vector<runtime::LabelledSet> inputs;
  zoos.reserve(in.file.tasks.size());
  inputs.reserve(in.file.tasks.size());
  if (o.simulate) {
    // No zoo is loaded: the simulator needs the tables only (every task's input set is empty).
    inputs.resize(in.file.tasks.size());
    std::cout << "simulating on a virtual clock (docs/simulation.md): stage times are the tables' "
                 "latencies, no model runs\n";
  } else {
    std::cout << "loading " << in.file.tasks.size() << " zoos and their validation sets ...\n"
              << std::flush;
    for (const plan::TaskSpec& spec : in.file.tasks) {
      zoos.push_back(zoo::LoadZoo(spec.zoo_dir));
      inputs.push_back(runtime::LoadValidationSet(zoos.back(), engine));
    }
  }
  if (o.calibrate_handovers && !o.simulate) {
    // The table's hand-over cost is a back-to-back dispatch to a busy worker; a request mostly
    // meets an idle one, whose wake-up costs more (much more on a virtual machine).
    const std::vector<double> idle = runtime::MeasureIdleHandoversMs(in.setup);
    double worst = 0.0, table = 0.0;
    for (plan::TaskProfile& profile : in.profiles) {
      for (std::size_t i = 0; i < idle.size() && i < profile.handover_ms.size(); ++i) {
        table = std::max(table, profile.handover_ms[i]);
        profile.handover_ms[i] = std::max(profile.handover_ms[i], idle[i]);
      }
    }
    for (double ms : idle)
      worst = std::max(worst, ms);
    std::cout << "hand-over to an idle worker: " << Fixed(worst, 3)
              << " ms measured now (tables: " << Fixed(table, 3)
              << " ms to a busy one); planning with the larger\n";
  }
  std::vector<runtime::ServedTask> tasks;
  std::vector<const plan::TaskProfile*> profiles;
  std::int64_t full_set_bytes = 0;
  for (std::size_t t = 0; t < in.file.tasks.size(); ++t) {
    const plan::TaskProfile& profile = in.profiles[in.table_of_task[t]];
    profiles.push_back(&profile);
    // Simulated requests carry no input, so no measured accuracy.
    tasks.push_back({in.file.tasks[t].name, &profile, o.simulate ? nullptr : &inputs[t],
                     in.file.tasks[t].rate_per_s});
    for (std::int64_t bytes : profile.stage_bytes)
      full_set_bytes += bytes * static_cast<std::int64_t>(in.setup.size());
  }
  const std::int64_t budget =
      ParseCacheBudget(o.cache_budget, in.file.memory_budget_bytes, full_set_bytes);

  preload::StageSource source;
  source.load = [&](const preload::StageKey& key) {
    const zoo::Zoo& z = zoos[static_cast<std::size_t>(key.task)];
    engine::StageLoadOptions load;
    load.file = z.variants[static_cast<std::size_t>(key.variant)]
                    .stages[static_cast<std::size_t>(key.stage)]
                    .file;
    load.signature = z.Signature(key.stage + 1);
    load.processor = in.setup[static_cast<std::size_t>(key.processor)];
    return engine.LoadStage(load);
  };
  source.expected_bytes = [&](const preload::StageKey& key) {
    const plan::TaskProfile& p = *profiles[static_cast<std::size_t>(key.task)];
    return p.stage_bytes[static_cast<std::size_t>(key.stage * p.num_variants() + key.variant)];
  };
  preload::StageCache cache(source, budget);

  const auto argmax = [&](const engine::Tensor& out) { return engine.ArgmaxLastDim(out).front(); };
  const auto sample = [&](const engine::Tensor& set, std::int64_t i) {
    return engine.SliceBatch(set, i, i + 1);
  };

  runtime::ServeOptions serve;
  serve.arrivals = arrivals;
  serve.phase_s = o.phase_s;
  serve.closed_loop_window = o.window;
  serve.rate_scale = o.rate_scale;
  serve.memory_budget_bytes = in.file.memory_budget_bytes;
  serve.placements = in.file.placements;
  serve.seed = o.seed;
  serve.latency_headroom = o.latency_headroom;
  serve.queueing_aware = o.queueing_aware;
  serve.wait_quantile = o.wait_quantile;
  serve.pipeline.max_in_flight = o.max_in_flight;
  serve.pipeline.realtime_priority = o.realtime_priority;
  if (!o.fail_processor.empty()) {
    const auto it = std::find_if(in.setup.begin(), in.setup.end(),
                                 [&](const auto& p) { return p.name == o.fail_processor; });
    if (it == in.setup.end())
      throw UsageError("--fail-processor: no processor named '" + o.fail_processor +
                       "' in the setup " + profile::ToString(in.setup));
    serve.pipeline.fault_processor = static_cast<int>(it - in.setup.begin());
    serve.pipeline.fault_after_ms = 1000.0 * std::max(0.0, o.fail_after_s);
  }

  // The stage latencies become those this host serves at, for the planners and for the SLO grid
  // (which spans the latencies the device delivers, DESIGN.md "Evaluation protocol").
  std::vector<double> latency_scale = GivenLatencyScale(o, in, tasks);
  if (latency_scale.empty() && o.calibrate_latencies && !o.simulate) {
    // Its own cache and server: the run's cache starts empty, with clean statistics.
    preload::StageCache calibration_cache(source, 0);
    runtime::Server calibration(tasks, in.setup, calibration_cache, argmax, sample);
    latency_scale = MeasureLatencyScale(calibration, in, tasks, serve, o.calibration_s);
  }
  const bool calibrated = !latency_scale.empty();
  if (calibrated)
    ApplyLatencyScale(in, latency_scale);
  else
    latency_scale.assign(tasks.size(), 1.0);  // the tables' latencies and gaps, as they are

  // The workload: SLO configurations x arrival orders, the same for every planner.
  std::vector<runtime::SloConfiguration> configs;
  if (o.slo_configs == 0) {
    runtime::SloConfiguration c;
    for (const plan::TaskSpec& spec : in.file.tasks) {
      c.slos.push_back(spec.slo);
      c.names.push_back("task-file");
    }
    configs.push_back(c);
  } else {
    configs = runtime::SloConfigurations(profiles, o.slo_configs, o.seed);
  }
  const auto orders =
      runtime::ArrivalOrders(static_cast<int>(tasks.size()), std::max(1, o.orders), o.seed);
  // After the SLO grid, which stays what the device delivers: the margin is a planning policy.
  std::vector<double> stitch_margins(tasks.size(), 0.0);
  if (calibrated)
    stitch_margins = ApplyStitchMargin(in, o.stitch_margin, tasks);
  std::vector<runtime::Episode> episodes;
  for (std::size_t c = 0; c < configs.size(); ++c) {
    for (std::size_t r = 0; r < orders.size(); ++r) {
      runtime::Episode e;
      e.name = "slo" + std::to_string(c) + "-order" + std::to_string(r);
      e.slos = configs[c].slos;
      e.order = orders[r];
      episodes.push_back(std::move(e));
    }
  }

  // Served for real on worker threads, or simulated on a virtual clock through the same planning,
  // request flow and stage cache policy.
  std::optional<runtime::Server> server;
  std::unique_ptr<sim::Simulator> simulator;
  sim::SimOptions sim_options;
  sim_options.serve = serve;
  if (o.simulate) {
    std::vector<sim::SimTask> sim_tasks;
    for (const runtime::ServedTask& t : tasks)
      sim_tasks.push_back(sim::SimTask{t.name, t.profile, t.rate_per_s, 1000});
    std::vector<std::string> names;
    for (const auto& p : in.setup)
      names.push_back(p.name);
    simulator = std::make_unique<sim::Simulator>(sim_tasks, names, budget);
    if (budget > 0) {
      // Loads of cold stages cost what this host's storage takes (a device profile's "storage").
      sim_options.storage = sim::LoadDeviceProfile(o.storage).storage;
    }
  } else {
    server.emplace(tasks, in.setup, cache, argmax, sample);
  }

  std::cout << episodes.size() << " episode" << (episodes.size() == 1 ? "" : "s") << " ("
            << configs.size() << " SLO configuration" << (configs.size() == 1 ? "" : "s") << " x "
            << orders.size() << " arrival order" << (orders.size() == 1 ? "" : "s") << "), "
            << tasks.size() << " phases of " << o.phase_s << " s each, "
            << runtime::ToString(arrivals) << " arrivals, " << planners.size() << " planner"
            << (planners.size() == 1 ? "" : "s") << "; processors " << profile::ToString(in.setup)
            << "\n";
  std::cout << "stage cache: "
            << (budget > 0 ? HumanBytes(static_cast<double>(budget)) + " (" +
                                 Percent(Ratio(budget, full_set_bytes)) + " of the full zoo set, " +
                                 HumanBytes(static_cast<double>(full_set_bytes)) + ")"
                           : std::string("unlimited"))
            << "\n"
            << std::flush;

  if (budget > 0) {
    // Hot stages first: frequency over the plans SparseLoom makes for every phase of every
    // episode of this run (docs/runtime.md, "The hot-subgraph preloader").
    int loaded = 0;
    std::int64_t resident = 0;
    if (simulator) {
      loaded = simulator->PreloadHottest(episodes, serve);
      resident = simulator->CacheStats().resident_bytes;
    } else {
      const auto hotness =
          runtime::HotnessOfEpisodes(tasks, static_cast<int>(in.setup.size()), episodes, serve);
      cache.SetHotness(preload::ScoresOf(hotness));
      loaded = cache.Preload(preload::PreloadSet(hotness, source.expected_bytes, budget));
      resident = cache.ResidentBytes();
    }
    std::cout << "preloaded the " << loaded << " hottest stages ("
              << HumanBytes(static_cast<double>(resident)) << ") of "
              << episodes.size() * tasks.size() << " expected plans\n";
  }

  // Every episode is served by every planner back to back, the first of them rotating from episode
  // to episode, so that a slow spell of the shared machine falls on all planners alike.
  std::vector<PlannerRun> runs(planners.size());
  for (std::size_t p = 0; p < planners.size(); ++p) {
    runs[p].planner = planners[p]->Name();
    if (budget == 0) {
      std::cout << runs[p].planner << ": loading the stages its plans use ...\n" << std::flush;
      runs[p].warmed = simulator ? simulator->Warm(*planners[p], episodes, serve)
                                 : server->Warm(*planners[p], episodes, serve);
    }
    if (o.plan_ahead && !simulator) {
      const int made = server->PlanAhead(*planners[p], episodes, serve);
      std::cout << runs[p].planner << ": " << made
                << " plans made ahead for the expected SLO configurations\n"
                << std::flush;
    }
  }
  for (std::size_t e = 0; e < episodes.size(); ++e) {
    for (std::size_t i = 0; i < planners.size(); ++i) {
      const std::size_t p = (e + i) % planners.size();
      PlannerRun& run = runs[p];
      std::cout << "episode " << e + 1 << "/" << episodes.size() << " (" << episodes[e].name
                << "): " << run.planner << "\n"
                << std::flush;
      const auto start = std::chrono::steady_clock::now();
      if (simulator) {
        sim_options.keep_stage_spans = !o.trace.empty() && p == 0 && e == 0;
        run.episodes.push_back(simulator->RunEpisode(*planners[p], episodes[e], sim_options));
      } else {
        run.episodes.push_back(server->RunEpisode(*planners[p], episodes[e], serve));
      }
      run.wall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (e == 0 && i == 0 && o.realtime_priority > 0 && !simulator) {
        const int rt = run.episodes.back().realtime_workers;
        std::cout << "workers at SCHED_FIFO priority " << o.realtime_priority << ": " << rt
                  << " of " << in.setup.size()
                  << (rt < static_cast<int>(in.setup.size())
                          ? " (not permitted: run as root or grant CAP_SYS_NICE; the others use "
                            "the normal policy and background work can delay their stages)"
                          : "")
                  << "\n";
        if (arrivals == runtime::ArrivalKind::kPoisson)
          std::cout << "request driver at SCHED_FIFO priority " << o.realtime_priority + 1 << ": "
                    << (run.episodes.back().realtime_driver ? "yes" : "no (not permitted)") << "\n";
      }
      if (arrivals == runtime::ArrivalKind::kClosedLoop) {
        const runtime::EpisodeReport& ep = run.episodes.back();
        run.throughput.push_back(
            runtime::CheckThroughput(ep, tasks, static_cast<int>(ep.phases.size()) - 1));
      }
    }
  }
  for (PlannerRun& run : runs) {
    run.summaries = runtime::Summarize(run.episodes, tasks);
    PrintRun(run, tasks);
  }
  if (runs.size() > 1)
    PrintComparison(runs);

  const preload::StageCacheStats stats = simulator ? simulator->CacheStats() : cache.Stats();
  const std::int64_t rss_end = RssBytes();
  std::cout << "\nmemory: " << HumanBytes(static_cast<double>(stats.resident_bytes))
            << " of stages resident (peak "
            << HumanBytes(static_cast<double>(stats.peak_resident_bytes))
            << (budget > 0 ? ", budget " + HumanBytes(static_cast<double>(budget)) : std::string())
            << "); process RSS " << HumanBytes(static_cast<double>(rss_end)) << " ("
            << HumanBytes(static_cast<double>(rss_end - rss_start))
            << " more than before loading zoos, validation sets included)\n"
            << "stage cache: " << stats.hits << " hits, " << stats.misses << " on-demand loads ("
            << Fixed(stats.load_ms, 0) << " ms), " << stats.evictions << " evictions, "
            << stats.preloaded << " preloaded\n";
  // The accounted bytes must be memory the process really holds: more than its RSS growth would
  // mean the engine's count (weights, buffers, packed int8) is wrong.
  if (!simulator && stats.peak_resident_bytes > rss_end - rss_start) {
    std::cout << "warning: the stage cache accounts "
              << HumanBytes(static_cast<double>(stats.peak_resident_bytes))
              << " at its peak, more than the process grew ("
              << HumanBytes(static_cast<double>(rss_end - rss_start))
              << "): the engine's resident-bytes count is off\n";
  }

  if (!o.trace.empty()) {
    runtime::TraceNames names;
    for (std::size_t t = 0; t < tasks.size(); ++t) {
      names.tasks.push_back(tasks[t].name);
      names.variant_ids.push_back(profiles[t]->variant_ids);
    }
    for (const auto& p : in.setup)
      names.processors.push_back(p.name);
    runtime::WriteChromeTrace(o.trace, runs.front().episodes.front().records, names,
                              runs.front().planner + " " + episodes.front().name);
    std::cout << "trace of " << runs.front().planner << "'s first episode written to " << o.trace
              << " (open in ui.perfetto.dev)\n";
  }
  if (!o.json.empty()) {
    nlohmann::ordered_json processors = nlohmann::ordered_json::array();
    for (const auto& p : in.setup)
      processors.push_back({{"name", p.name}, {"cores", p.cores}, {"threads", p.threads}});
    nlohmann::ordered_json planner_runs = nlohmann::ordered_json::array();
    for (const PlannerRun& run : runs)
      planner_runs.push_back(RunJson(run, tasks));
    const nlohmann::ordered_json out = {
        {"format", "sparseloom-run"},
        {"simulated", o.simulate},
        {"version", 1},
        {"task_file", in.file.file.string()},
        {"processors", processors},
        {"arrivals", runtime::ToString(arrivals)},
        {"phase_s", o.phase_s},
        {"rate_scale", o.rate_scale},
        {"seed", o.seed},
        {"plans_made_ahead", o.plan_ahead && !o.simulate},
        {"latency_scale", latency_scale},
        {"stitch_margin", stitch_margins},
        {"cache_budget_bytes", budget},
        {"full_zoo_set_bytes", full_set_bytes},
        {"memory",
         {{"resident_stage_bytes", stats.resident_bytes},
          {"peak_resident_stage_bytes", stats.peak_resident_bytes},
          {"rss_bytes", rss_end},
          {"rss_start_bytes", rss_start},
          {"on_demand_loads", stats.misses},
          {"on_demand_load_ms", stats.load_ms},
          {"evictions", stats.evictions}}},
        {"runs", planner_runs},
    };
    WriteFileAtomically(o.json, out.dump(2) + "\n");
    std::cout << "results written to " << o.json << "\n";
  }
}

}  // namespace

void AddRunCommand(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* c = app.add_subcommand(
      "run",
      "Serve the tasks of a task file for real: requests flow stage by stage through one pinned "
      "worker per processor on the plan's stitched variants; tasks arrive one after another "
      "(episodes), every request's latency and accuracy are checked against its SLO "
      "(docs/runtime.md)");
  c->add_option("--tasks", o->tasks, "the task file (docs/planner.md, \"The task file\")")
      ->required();
  c->add_option("--planner", o->planner,
                "sparseloom, a baseline (SV-AO-NP, SV-AO-P, SV-LO-NP, SV-LO-P, AV-NP, AV-P), a "
                "comma-separated list of them, or all (each serves the same workload: every "
                "episode by every planner back to back, the "
                "first of them rotating, so that a slow spell of the machine falls on all alike)")
      ->capture_default_str();
  c->add_option("--arrivals", o->arrivals,
                "poisson (each task at its rate_per_s x --rate-scale) or closed (each task keeps "
                "--window requests in flight: saturation throughput)")
      ->capture_default_str();
  c->add_option("--phase-s", o->phase_s, "seconds each arrival phase admits requests")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 3600.0));
  c->add_option(
       "--slo-configs", o->slo_configs,
       "0: the task file's SLOs; N: N SLO configurations drawn from the tight/medium/loose "
       "grid of each task's zoo (docs/runtime.md)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  c->add_option("--orders", o->orders, "task arrival orders per SLO configuration")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  c->add_option("--rate-scale", o->rate_scale, "multiplies every task's Poisson rate")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 1e6));
  c->add_option("--window", o->window, "closed loop: requests each task keeps in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  c->add_option("--cache-budget", o->cache_budget,
                "stage memory: \"55%\" of the full zoo set (every stage on every processor) or "
                "bytes; the hottest stages are preloaded, the rest loaded on demand. Default: the "
                "task file's memory_budget_bytes (0: unlimited, every planned stage preloaded)");
  c->add_option("--max-in-flight", o->max_in_flight,
                "admission bound: requests in the pipeline at once; more are dropped (counted)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  c->add_option("--fail-processor", o->fail_processor,
                "fault injection: this processor's engine throws from --fail-after-s on (each "
                "episode); its requests are re-planned and re-run");
  c->add_option("--fail-after-s", o->fail_after_s, "when the injected fault starts")
      ->capture_default_str();
  c->add_option("--latency-headroom", o->latency_headroom,
                "the most latency headroom per task: plan against max_latency_ms / h, h stepping "
                "down (2, 1.5, 1.25, 1.1, 1) for tasks no plan can give that much; each step's "
                "plan is a candidate (profiled latencies are idle-processor figures; requests also "
                "meet hand-overs, queueing and noise). 1: none")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 10.0));
  c->add_option("--realtime-priority", o->realtime_priority,
                "SCHED_FIFO priority of the processor workers (needs root or CAP_SYS_NICE; "
                "without it they run at the normal policy, as the output says); 0: normal policy")
      ->capture_default_str()
      ->check(CLI::Range(0, 99));
  c->add_flag("!--ignore-queueing", o->queueing_aware,
              "plan without queueing waits: by default a request's expected wait at every "
              "processor it enters (priority M/G/1 under the plan's own load) counts in its "
              "latency, and the candidate plans are ranked by the requests expected to miss their "
              "SLO (docs/runtime.md)");
  c->add_flag("!--plan-online", o->plan_ahead,
              "plan every phase when it starts (while the joining task's requests wait) instead "
              "of installing the plan made ahead, before serving, for each phase of the expected "
              "SLO configurations (docs/runtime.md, \"Plans made ahead\"); the simulator always "
              "plans on its virtual clock, where planning takes no time");
  c->add_option("--wait-quantile", o->wait_quantile,
                "count this quantile of each queueing wait instead of its mean (M/M/1 tail on "
                "each processor); 0: the mean")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.999));
  c->add_flag("!--table-handovers", o->calibrate_handovers,
              "plan with the tables' hand-over costs instead of measuring the wake-up of an idle "
              "worker at start");
  c->add_flag("!--table-latencies", o->calibrate_latencies,
              "plan with the tables' stage latencies instead of serving a short calibration "
              "episode first and using how much longer its stages took than the tables say "
              "(docs/runtime.md, \"Serving calibration\")");
  c->add_option("--calibration-s", o->calibration_s,
                "seconds each phase of the calibration episode admits requests")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 60.0));
  c->add_option("--stitch-margin", o->stitch_margin,
                "with calibrated or given latency factors: plan every stitched variant that is not "
                "an original as this fraction slower than its stages' sum (its transitions were "
                "never timed; choosing the fastest of many estimates favours the ones estimated "
                "low). Default (-1): each table's latency estimator error; 0: none")
      ->capture_default_str()
      ->check(CLI::Range(-1.0, 10.0));
  c->add_option("--latency-scale", o->latency_scale,
                "multiply the tables' stage latencies by this factor instead of measuring it: one "
                "number for every task or one per task, comma-separated (\"1.6,1.8,1.5,1.7\"); "
                "with --simulate, replays the factors a real run printed")
      ->check([](const std::string& text) { return text.empty() ? "empty" : ""; });
  c->add_flag("--simulate", o->simulate,
              "serve on a virtual clock instead (docs/simulation.md): the same plans, request "
              "flow and stage cache policy, each stage taking its table latency; no zoo is "
              "loaded and no model runs, so accuracy is the tables' only");
  c->add_option("--storage", o->storage,
                "--simulate with a cache budget: the device profile whose \"storage\" prices "
                "the on-demand loads of cold stages")
      ->capture_default_str();
  c->add_option("--seed", o->seed, "seed of the SLO configurations, orders, arrivals and samples")
      ->capture_default_str();
  c->add_option("--json", o->json, "write the results as JSON (atomically)");
  c->add_option("--trace", o->trace,
                "write a Chrome/Perfetto trace of the first planner's first episode");
  c->callback([o] { RunServe(*o); });
}

}  // namespace sparseloom::cli
