#include "eval/run_report.h"

#include <algorithm>
#include <map>
#include <utility>

#include "profile/accuracy_truth.h"
#include "runtime/evaluation.h"

namespace sparseloom::eval {

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

PlanningTimes PlanningTimesOf(const PlannerRun& run) {
  PlanningTimes out;
  for (const runtime::EpisodeReport& e : run.episodes) {
    for (const runtime::PhaseReport& ph : e.phases) {
      out.total_ms += ph.plan_ms;
      out.worst_ms = std::max(out.worst_ms, ph.plan_ms);
      ++out.phases;
      out.planned_ahead += ph.planned_ahead;
    }
  }
  return out;
}

SloChangeFigures SloChangeFiguresOf(const PlannerRun& run) {
  SloChangeFigures out;
  double sum_ms = 0.0;
  const auto add = [](runtime::RequestWindow& to, const runtime::RequestWindow& w) {
    to.requests += w.requests;
    to.violations += w.violations;
  };
  for (const runtime::EpisodeReport& e : run.episodes) {
    for (const runtime::SloChangeReport& c : e.slo_changes) {
      ++out.changes;
      add(out.before, c.before);
      add(out.during, c.during);
      add(out.after, c.after);
      if (c.replan_ms < 0.0)
        continue;
      ++out.replanned;
      out.planned_ahead += c.planned_ahead;
      out.plans_met += c.plan_meets_slo;
      sum_ms += c.replan_ms;
      out.replan_max_ms = std::max(out.replan_max_ms, c.replan_ms);
    }
  }
  if (out.replanned > 0)
    out.replan_mean_ms = sum_ms / static_cast<double>(out.replanned);
  return out;
}

ClosedLoopFigures ClosedLoopOf(const PlannerRun& run) {
  double measured = 0.0, bound = 0.0;
  for (const runtime::ThroughputCheck& c : run.throughput) {
    measured += c.measured_rps;
    bound += c.bound_rps;
  }
  ClosedLoopFigures out;
  out.measured_rps = measured / static_cast<double>(run.throughput.size());
  out.bound_rps = bound / static_cast<double>(run.throughput.size());
  out.share_of_bound = bound > 0 ? measured / bound : 0.0;
  return out;
}

namespace {

nlohmann::ordered_json SloJson(const plan::Slo& slo) {
  return {{"min_accuracy", slo.min_accuracy}, {"max_latency_ms", slo.max_latency_ms}};
}

nlohmann::ordered_json WindowJson(const runtime::RequestWindow& w) {
  return {{"start_ms", w.start_ms},
          {"end_ms", w.end_ms},
          {"requests", w.requests},
          {"violations", w.violations}};
}

nlohmann::ordered_json SloChangesJson(const runtime::EpisodeReport& e,
                                      const std::vector<runtime::ServedTask>& tasks) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const runtime::SloChangeReport& c : e.slo_changes) {
    out.push_back({{"task", tasks[static_cast<std::size_t>(c.change.task)].name},
                   {"phase", c.change.phase},
                   {"after_ms", c.change.after_ms},
                   {"grid_point", c.change.name},
                   {"from", SloJson(c.from)},
                   {"to", SloJson(c.change.slo)},
                   {"replan_ms", c.replan_ms < 0.0 ? nlohmann::ordered_json()
                                                   : nlohmann::ordered_json(c.replan_ms)},
                   {"planned_ahead", c.planned_ahead},
                   {"plan_meets_slo", c.plan_meets_slo},
                   {"before", WindowJson(c.before)},
                   {"during", WindowJson(c.during)},
                   {"after", WindowJson(c.after)}});
  }
  return out;
}

}  // namespace

nlohmann::ordered_json RunJson(const PlannerRun& run,
                               const std::vector<runtime::ServedTask>& tasks) {
  nlohmann::ordered_json summaries = nlohmann::ordered_json::array();
  for (std::size_t t = 0; t < run.summaries.size(); ++t) {
    const runtime::TaskSummary& s = run.summaries[t];
    // Requests carry labels in real runs only; the interval is Wilson's at 95%.
    const bool measured = tasks[t].inputs != nullptr && s.completed > 0;
    const profile::Interval interval = profile::WilsonInterval(s.correct, s.completed);
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
         {"measured_accuracy", measured ? nlohmann::ordered_json(Ratio(s.correct, s.completed))
                                        : nlohmann::ordered_json()},
         {"measured_accuracy_95", measured
                                      ? nlohmann::ordered_json::array({interval.low, interval.high})
                                      : nlohmann::ordered_json()},
         {"planned_accuracy", s.planned_accuracy},
         {"judged_accuracy", s.judged_accuracy},
         {"accuracy_source", s.accuracy_source},
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
             {"accuracy_measured", tp.accuracy_measured},
             {"accuracy_bound", tp.accuracy_bound},
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
                        {"phases", phases},
                        {"slo_changes", SloChangesJson(ep, tasks)}});
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

nlohmann::ordered_json RunFileJson(const RunDescription& d, const std::vector<PlannerRun>& runs,
                                   const std::vector<runtime::ServedTask>& tasks) {
  nlohmann::ordered_json processors = nlohmann::ordered_json::array();
  for (const auto& p : d.processors)
    processors.push_back({{"name", p.name}, {"cores", p.cores}, {"threads", p.threads}});
  nlohmann::ordered_json planner_runs = nlohmann::ordered_json::array();
  for (const PlannerRun& run : runs)
    planner_runs.push_back(RunJson(run, tasks));
  return {
      {"format", "sparseloom-run"},
      {"simulated", d.simulated},
      {"version", 1},
      {"task_file", d.task_file},
      {"processors", processors},
      {"arrivals", runtime::ToString(d.arrivals)},
      {"phase_s", d.phase_s},
      {"rate_scale", d.rate_scale},
      {"seed", d.seed},
      {"plans_made_ahead", d.plans_made_ahead},
      {"latency_scale", d.latency_scale},
      {"stitch_margin", d.stitch_margin},
      {"accuracy_coverage", d.accuracy_coverage},
      {"accuracy_margin", d.accuracy_margin},
      {"accuracy_truth", d.accuracy_truth},
      {"verification", d.verification
                           ? nlohmann::ordered_json{{"verified", d.verification->verified},
                                                    {"below_slo", d.verification->below_slo},
                                                    {"replans", d.verification->replans},
                                                    {"unavailable", d.verification->unavailable},
                                                    {"measure_s", d.verification_measure_s}}
                           : nlohmann::ordered_json()},
      {"cache_budget_bytes", d.cache_budget_bytes},
      {"cache_policy", d.cache_policy},
      {"full_zoo_set_bytes", d.full_zoo_set_bytes},
      {"memory",
       {{"resident_stage_bytes", d.cache.resident_bytes},
        {"peak_resident_stage_bytes", d.cache.peak_resident_bytes},
        {"rss_bytes", d.rss_bytes},
        {"rss_start_bytes", d.rss_start_bytes},
        {"on_demand_loads", d.cache.misses},
        {"on_demand_load_ms", d.cache.load_ms},
        {"evictions", d.cache.evictions}}},
      {"runs", planner_runs},
  };
}

}  // namespace sparseloom::eval
