#include "cli/run_output.h"

#include <algorithm>
#include <iostream>

#include "cli/table.h"
#include "profile/accuracy_truth.h"

namespace sparseloom::cli {
namespace {

std::string PlacementText(const std::string& placement) {
  return placement.empty() ? "-" : placement;
}

// "88.1% [87.4, 88.7]": the accuracy on the requests served, with its 95% Wilson interval.
std::string MeasuredAccuracy(const runtime::TaskSummary& s, bool labelled) {
  if (!labelled || s.completed == 0)
    return "-";
  const profile::Interval i = profile::WilsonInterval(s.correct, s.completed);
  return Percent(eval::Ratio(s.correct, s.completed)) + " [" + Fixed(100.0 * i.low, 1) + ", " +
         Fixed(100.0 * i.high, 1) + "]";
}

}  // namespace

std::string Percent(double fraction) {
  return Fixed(100.0 * fraction, 1) + "%";
}

void PrintLatencyScale(const runtime::LatencyScale& c,
                       const std::vector<runtime::ServedTask>& tasks) {
  std::cout << "serving calibration: stages ran";
  for (std::size_t t = 0; t < tasks.size(); ++t)
    std::cout << (t == 0 ? " " : ", ") << Fixed(c.scale[t], 2) << "x (" << tasks[t].name << ", "
              << c.requests[t] << " requests)";
  std::cout << " their tables' latencies with every task present; planning and the SLO grid use "
               "these (--table-latencies: the tables')\n";
}

void PrintStitchMargins(const std::vector<double>& margins, bool given,
                        const std::vector<runtime::ServedTask>& tasks) {
  std::cout << "stitched variants that are not originals planned with a latency margin of";
  for (std::size_t t = 0; t < tasks.size(); ++t)
    std::cout << (t == 0 ? " " : ", ") << Percent(margins[t]) << " (" << tasks[t].name << ")";
  std::cout << (given ? " (--stitch-margin)"
                      : " (their latency estimator's cross-validated error; "
                        "--stitch-margin sets it)")
            << "\n";
}

void PrintWorkload(const eval::Workload& workload, std::size_t tasks, double phase_s,
                   runtime::ArrivalKind arrivals, std::size_t planners,
                   const profile::ProcessorSetup& setup) {
  const std::size_t episodes = workload.episodes.size();
  const std::size_t configs = workload.configs.size(), orders = workload.orders.size();
  std::cout << episodes << " episode" << (episodes == 1 ? "" : "s") << " (" << configs
            << " SLO configuration" << (configs == 1 ? "" : "s") << " x " << orders
            << " arrival order" << (orders == 1 ? "" : "s") << "), " << tasks << " phases of "
            << phase_s << " s each, " << runtime::ToString(arrivals) << " arrivals, " << planners
            << " planner" << (planners == 1 ? "" : "s") << "; processors "
            << profile::ToString(setup) << "\n";
}

void PrintPreloaded(const eval::RunServing::Preloaded& preloaded, std::size_t plans) {
  std::cout << "preloaded the " << preloaded.stages << " hottest stages ("
            << HumanBytes(static_cast<double>(preloaded.resident_bytes)) << ") of " << plans
            << " expected plans\n";
}

void WriteMemoryTrace(eval::MemoryTrace& trace, const std::string& file) {
  eval::WriteMemoryTrace(file, trace.Stop());
  std::cout << "resident stage bytes and RSS every 50 ms written to " << file
            << " (python3 scripts/plot_memory.py " << file << ")\n";
}

void PrintCacheBudget(std::int64_t budget, std::int64_t full_set_bytes,
                      preload::CachePolicy policy) {
  std::cout << "stage cache: "
            << (budget > 0
                    ? HumanBytes(static_cast<double>(budget)) + " (" +
                          Percent(eval::Ratio(budget, full_set_bytes)) + " of the full zoo set, " +
                          HumanBytes(static_cast<double>(full_set_bytes)) + ")"
                    : std::string("unlimited"))
            << ", policy " << preload::ToString(policy) << "\n"
            << std::flush;
}

void PrintAccuracyPolicy(const eval::Inputs& in, const std::vector<double>& margins,
                         double coverage, bool verify, bool simulate) {
  std::vector<std::string> planned, judged;
  for (std::size_t t = 0; t < in.file.tasks.size(); ++t) {
    const std::size_t i = in.table_of_task[t];
    planned.push_back(in.file.tasks[t].name + " " + Fixed(100.0 * margins[i], 2) + " pp");
    judged.push_back(in.file.tasks[t].name + " " +
                     (in.truths[i] ? "ground truth" : "no ground truth"));
  }
  if (coverage > 0.0)
    std::cout << "planning on a lower bound: an estimated accuracy less its estimator's conformal "
                 "margin at "
              << Percent(coverage) << " coverage (" << Join(planned, ", ")
              << "); measured accuracies as they are\n";
  else
    std::cout << "planning on the estimated accuracies themselves (--accuracy-coverage 0)\n";
  std::cout << "accuracy SLOs judged against the measured accuracy on the whole validation set ("
            << Join(judged, ", ") << "; without one: what verification measured, else the "
            << "estimate, as each summary's accuracy source says)\n";
  if (verify)
    std::cout << "verify on selection: every chosen stitched variant whose accuracy is estimated "
                 "is "
              << (simulate ? "looked up in its zoo's ground truth (where there is none, it stays "
                             "an estimate)"
                           : "measured on its validation set (or looked up in its ground truth)")
              << " before it is served; one below its SLO is re-planned\n";
}

void PrintVerification(const runtime::AccuracyVerification::Counts& c, double measure_s) {
  std::cout << "\nverified on selection: " << c.verified << " chosen stitched variants measured ("
            << Fixed(measure_s, 1) << " s through the engine), " << c.below_slo
            << " below the SLO they were chosen for, " << c.replans << " plans made again";
  if (c.unavailable > 0)
    std::cout << "; " << c.unavailable << " could not be measured (served on the estimate)";
  std::cout << "\n";
}

void PrintRun(const eval::PlannerRun& run, const std::vector<runtime::ServedTask>& tasks) {
  std::cout << "\n== " << run.planner << ": " << run.episodes.size() << " episode"
            << (run.episodes.size() == 1 ? "" : "s") << " in " << Fixed(run.wall_s, 1) << " s\n";
  Table table({"task", "requests", "done", "dropped", "failed", "throughput", "p50", "p95", "p99",
               "SLO viol.", "episodes viol.", "accuracy planned / judged (source)",
               "measured [95%]", "last variant", "last placement"});
  for (std::size_t t = 0; t < run.summaries.size(); ++t) {
    const runtime::TaskSummary& s = run.summaries[t];
    table.AddRow(
        {s.task, std::to_string(s.requests), std::to_string(s.completed), std::to_string(s.dropped),
         std::to_string(s.failed), Fixed(s.throughput_rps, 1) + "/s", Fixed(s.p50_ms, 2) + " ms",
         Fixed(s.p95_ms, 2) + " ms", Fixed(s.p99_ms, 2) + " ms", Percent(s.violation_rate()),
         std::to_string(s.episodes_violated) + "/" + std::to_string(s.task_episodes),
         Percent(s.planned_accuracy) + " / " + Percent(s.judged_accuracy) + " (" +
             s.accuracy_source + ")",
         MeasuredAccuracy(s, tasks[t].inputs != nullptr), s.stitched.empty() ? "-" : s.stitched,
         PlacementText(s.placement)});
  }
  table.Print(std::cout);
  const eval::PlanningTimes planning = eval::PlanningTimesOf(run);
  if (planning.phases > 0 && planning.total_ms > 0.0)
    std::cout << "planning each phase: "
              << Fixed(planning.total_ms / static_cast<double>(planning.phases), 2) << " ms mean, "
              << Fixed(planning.worst_ms, 2) << " ms at most; " << planning.planned_ahead << " of "
              << planning.phases
              << " phases had a plan made ahead (the others were planned in the background: "
                 "only the joining task's requests wait for it)\n";
  const eval::SloChangeFigures changes = eval::SloChangeFiguresOf(run);
  if (changes.changes > 0) {
    const auto rate = [](const runtime::RequestWindow& w) {
      return Percent(eval::Ratio(w.violations, w.requests)) + " of " + std::to_string(w.requests);
    };
    std::cout << "SLO changes: " << changes.changes << ", " << changes.replanned
              << " re-planned before their episode ended (" << changes.planned_ahead
              << " from plans made ahead; " << changes.plans_met << " plans meet the new SLO), "
              << Fixed(changes.replan_mean_ms, 2) << " ms mean / "
              << Fixed(changes.replan_max_ms, 2)
              << " ms at most from the change to the new plan in place\n"
              << "  the changed task's requests violating the SLO asked when they arrived: before "
              << rate(changes.before) << ", during the re-plan " << rate(changes.during)
              << ", after " << rate(changes.after) << "\n";
  }
  if (!run.throughput.empty()) {
    const eval::ClosedLoopFigures c = eval::ClosedLoopOf(run);
    std::cout << "closed loop, all tasks present: " << Fixed(c.measured_rps, 1)
              << " requests/s measured, planner's bound " << Fixed(c.bound_rps, 1) << "/s ("
              << Percent(c.share_of_bound) << ")\n";
  }
}

void PrintComparison(const std::vector<eval::PlannerRun>& runs) {
  std::cout << "\n== comparison (same episodes, SLOs, arrivals and samples for every planner)\n";
  Table table({"planner", "requests", "SLO violations", "task-episodes violated", "dropped",
               "failed", "throughput", "worst p99"});
  for (const eval::PlannerRun& run : runs) {
    const eval::Totals t = eval::TotalsOf(run);
    table.AddRow({run.planner, std::to_string(t.requests),
                  Percent(eval::Ratio(t.violations, t.requests)),
                  std::to_string(t.episodes_violated) + "/" + std::to_string(t.task_episodes) +
                      " (" + Percent(eval::Ratio(t.episodes_violated, t.task_episodes)) + ")",
                  std::to_string(t.dropped), std::to_string(t.failed),
                  Fixed(t.throughput, 1) + "/s", Fixed(t.worst_p99, 2) + " ms"});
  }
  table.Print(std::cout);
  std::cout << "(SLO violations: share of requests late, on a variant below min_accuracy, dropped "
               "or failed; a task-episode is violated when more than "
            << Percent(runtime::kEpisodeViolationShare) << " of its requests are)\n";
}

void PrintMemory(const preload::StageCacheStats& stats, std::int64_t budget, std::int64_t rss_start,
                 std::int64_t rss_end, bool real) {
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
  if (real && stats.peak_resident_bytes > rss_end - rss_start) {
    std::cout << "warning: the stage cache accounts "
              << HumanBytes(static_cast<double>(stats.peak_resident_bytes))
              << " at its peak, more than the process grew ("
              << HumanBytes(static_cast<double>(rss_end - rss_start))
              << "): the engine's resident-bytes count is off\n";
  }
}

void ServeProgress::Warming(const std::string& planner) {
  std::cout << planner << ": loading the stages its plans use ...\n" << std::flush;
}

void ServeProgress::PlannedAhead(const std::string& planner, int plans) {
  std::cout << planner << ": " << plans << " plans made ahead for the expected SLO configurations\n"
            << std::flush;
}

void ServeProgress::EpisodeStarts(std::size_t e, std::size_t count, const runtime::Episode& episode,
                                  const std::string& planner) {
  std::cout << "episode " << e + 1 << "/" << count << " (" << episode.name << "): " << planner
            << "\n"
            << std::flush;
}

void ServeProgress::EpisodeServed(std::size_t e, std::size_t i,
                                  const runtime::EpisodeReport& report) {
  if (e != 0 || i != 0 || realtime_priority_ <= 0)
    return;
  const int rt = report.realtime_workers;
  std::cout << "workers at SCHED_FIFO priority " << realtime_priority_ << ": " << rt << " of "
            << processors_
            << (rt < static_cast<int>(processors_)
                    ? " (not permitted: run as root or grant CAP_SYS_NICE; the others use "
                      "the normal policy and background work can delay their stages)"
                    : "")
            << "\n";
  if (arrivals_ == runtime::ArrivalKind::kPoisson)
    std::cout << "request driver at SCHED_FIFO priority " << realtime_priority_ + 1 << ": "
              << (report.realtime_driver ? "yes" : "no (not permitted)") << "\n";
}

}  // namespace sparseloom::cli
