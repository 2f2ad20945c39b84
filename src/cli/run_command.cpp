#include "cli/run_command.h"

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/planner_option.h"
#include "cli/run_options.h"
#include "cli/run_output.h"
#include "cli/table.h"
#include "common/error.h"
#include "common/json_reader.h"
#include "engine/torchscript_engine.h"
#include "eval/calibration.h"
#include "eval/episodes.h"
#include "eval/memory_trace.h"
#include "eval/run_report.h"
#include "eval/run_serving.h"
#include "eval/task_inputs.h"
#include "runtime/serving.h"
#include "runtime/workload.h"

namespace sparseloom::cli {
namespace {

void RunServe(const RunOptions& o) {
  if (!o.memory_trace.empty() && o.simulate)
    throw UsageError("--memory-trace: expected a real run (a simulated run holds no stages)");
  eval::Inputs in = eval::LoadInputs(o.tasks);
  const std::vector<double> accuracy_margins = eval::ApplyAccuracyMargins(in, o.accuracy_coverage);
  const runtime::ArrivalKind arrivals = ArrivalsNamed(o.arrivals);
  const auto planners = PlannersNamed(o.planner);
  const std::int64_t rss_start = eval::ProcessRssBytes();

  engine::TorchScriptEngine engine;
  if (o.simulate)
    std::cout << "simulating on a virtual clock (docs/simulation.md): stage times are the tables' "
                 "latencies, no model runs\n";
  else
    std::cout << "loading " << in.file.tasks.size() << " zoos and their validation sets ...\n"
              << std::flush;
  eval::RunServing serving(in, engine, o.simulate, o.rate_scale);
  const std::vector<runtime::ServedTask>& tasks = serving.tasks();
  if (o.calibrate_handovers && !o.simulate) {
    const eval::HandoverCalibration h = eval::CalibrateHandovers(in);
    std::cout << "hand-over to an idle worker: " << Fixed(h.idle_ms, 3)
              << " ms measured now (tables: " << Fixed(h.table_ms, 3)
              << " ms to a busy one); planning with the larger\n";
  }
  const std::int64_t full_set_bytes = serving.full_set_bytes();
  const std::int64_t budget =
      ParseCacheBudget(o.cache_budget, in.file.memory_budget_bytes, full_set_bytes);
  const preload::CachePolicy cache_policy =
      preload::ParseCachePolicy(o.cache_policy, "--cache-policy");
  serving.SetCacheBudget(budget, cache_policy);
  runtime::ServeOptions serve = ServeOptionsOf(o, in, arrivals);
  PrintAccuracyPolicy(in, accuracy_margins, o.accuracy_coverage, o.verify, o.simulate);

  // The stage latencies become those this host serves at, for the planners and for the SLO grid
  // (which spans the latencies the device delivers, DESIGN.md "Evaluation protocol").
  std::vector<double> latency_scale = eval::GivenLatencyScale(o.latency_scale, in, tasks);
  if (latency_scale.empty() && o.calibrate_latencies && !o.simulate) {
    std::cout << "serving calibration: "
              << Fixed(o.calibration_s * static_cast<double>(tasks.size()), 1)
              << " s of requests on SparseLoom's plans for the task file's SLOs ...\n"
              << std::flush;
    const runtime::LatencyScale c = serving.MeasureLatencyScale(serve, o.calibration_s);
    latency_scale = c.scale;
    PrintLatencyScale(c, tasks);
  }
  const bool calibrated = !latency_scale.empty();
  if (calibrated)
    eval::ApplyLatencyScale(in, latency_scale);
  else
    latency_scale.assign(tasks.size(), 1.0);  // the tables' latencies and gaps, as they are

  // The workload: SLO configurations x arrival orders, the same for every planner.
  const eval::Workload workload = eval::RunWorkload(in.file, serving.profiles(), o.slo_configs,
                                                    o.orders, o.seed, o.phase_s, o.slo_changes);
  const std::vector<runtime::Episode>& episodes = workload.episodes;
  // After the SLO grid, which stays what the device delivers: the margin is a planning policy.
  std::vector<double> stitch_margins(tasks.size(), 0.0);
  if (calibrated) {
    stitch_margins = eval::StitchMargins(in, o.stitch_margin);
    eval::ApplyStitchMargin(in, stitch_margins);
    PrintStitchMargins(stitch_margins, o.stitch_margin >= 0.0, tasks);
  }

  serving.Start(serve, o.storage);
  if (o.verify)
    serve.planning.verification = serving.EnableVerification(in);
  PrintWorkload(workload, tasks.size(), o.phase_s, arrivals, planners.size(), in.setup);
  PrintCacheBudget(budget, full_set_bytes, cache_policy);
  if (budget > 0 && cache_policy == preload::CachePolicy::kHotness) {
    PrintPreloaded(serving.PreloadHottest(episodes, serve.planning),
                   episodes.size() * tasks.size());
  }

  ServeProgress progress(o.simulate ? 0 : o.realtime_priority, in.setup.size(), arrivals);
  std::optional<eval::MemoryTrace> memory_trace;
  if (!o.memory_trace.empty())
    memory_trace.emplace([&serving] { return serving.CacheStats().resident_bytes; },
                         eval::ProcessRssBytes, 50.0);
  const std::vector<eval::PlannerRun> runs = eval::ServeEveryPlanner(
      serving, planners, episodes, serve, {o.plan_ahead, !o.trace.empty()}, progress);
  if (memory_trace)
    WriteMemoryTrace(*memory_trace, o.memory_trace);
  for (const eval::PlannerRun& run : runs)
    PrintRun(run, tasks);
  if (runs.size() > 1)
    PrintComparison(runs);

  if (const runtime::AccuracyVerification* v = serving.verification())
    PrintVerification(v->counts(), serving.verification_measure_s());
  const preload::StageCacheStats stats = serving.CacheStats();
  const std::int64_t rss_end = eval::ProcessRssBytes();
  PrintMemory(stats, budget, rss_start, rss_end, !o.simulate);

  if (!o.trace.empty()) {
    eval::WriteFirstEpisodeTrace(o.trace, runs, episodes, tasks, in.setup);
    std::cout << "trace of " << runs.front().planner << "'s first episode written to " << o.trace
              << " (open in ui.perfetto.dev)\n";
  }
  if (!o.json.empty()) {
    eval::RunDescription d;
    d.simulated = o.simulate;
    d.task_file = in.file.file.string();
    d.processors = in.setup;
    d.arrivals = arrivals;
    d.phase_s = o.phase_s;
    d.rate_scale = o.rate_scale;
    d.seed = o.seed;
    d.plans_made_ahead = o.plan_ahead && !o.simulate;
    d.latency_scale = latency_scale;
    d.stitch_margin = stitch_margins;
    d.accuracy_coverage = o.accuracy_coverage;
    for (std::size_t t = 0; t < tasks.size(); ++t) {
      d.accuracy_margin.push_back(accuracy_margins[in.table_of_task[t]]);
      d.accuracy_truth.push_back(tasks[t].true_accuracy != nullptr);
    }
    if (const runtime::AccuracyVerification* v = serving.verification())
      d.verification = v->counts();
    d.verification_measure_s = serving.verification_measure_s();
    d.cache_budget_bytes = budget;
    d.cache_policy = preload::ToString(cache_policy);
    d.full_zoo_set_bytes = full_set_bytes;
    d.cache = stats;
    d.rss_bytes = rss_end;
    d.rss_start_bytes = rss_start;
    WriteFileAtomically(o.json, eval::RunFileJson(d, runs, tasks).dump(2) + "\n");
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
  c->add_option("--slo-changes", o->slo_changes,
                "SLO changes per phase on average: at Poisson times a task present moves to "
                "another point of its tight/medium/loose grid and is re-planned while served; "
                "the report gives the violations before, during and after each re-plan "
                "(docs/runtime.md, \"SLO changes\"). 0: none")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
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
  c->add_option("--cache-policy", o->cache_policy,
                "what the stage cache keeps: hotness (SparseLoom's preloader: hottest stages "
                "preloaded, coldest evicted), lru / lfu (nothing preloaded, loaded on demand, the "
                "least recently / least often used evicted) or none (nothing kept: a stage is "
                "loaded for each use); docs/runtime.md, \"Cache policies\"")
      ->capture_default_str();
  c->add_option("--memory-trace", o->memory_trace,
                "real runs: CSV of the stage cache's resident bytes and the process RSS every "
                "50 ms while serving (plot: scripts/plot_memory.py)");
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
  c->add_option("--accuracy-coverage", o->accuracy_coverage,
                "plan on a lower bound: an estimated accuracy counts as its estimate less the "
                "estimator's conformal margin at this coverage (from its cross-validated "
                "residuals; docs/profiler.md); measured accuracies as they are. 0: the estimates")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.999));
  c->add_flag("!--no-verify", o->verify,
              "serve chosen stitched variants on their estimated accuracy instead of measuring "
              "each on its validation set first (its zoo's accuracy ground truth where there is "
              "one; a simulation without one cannot measure) and re-planning when one measures "
              "below its SLO (docs/runtime.md, \"Verified accuracy\")");
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
