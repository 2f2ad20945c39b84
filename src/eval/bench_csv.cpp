#include "eval/bench_report.h"

#include <sstream>
#include <utility>

#include "common/json_reader.h"
#include "eval/format.h"

namespace sparseloom::eval {
namespace {

namespace fs = std::filesystem;

std::string Csv(const std::string& field) {
  if (field.find_first_of(",\"\n") == std::string::npos)
    return field;
  std::string out = "\"";
  for (char c : field)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string Row(const std::vector<std::string>& fields) {
  std::string out;
  for (const std::string& f : fields) {
    out += out.empty() ? "" : ",";
    out += Csv(f);
  }
  return out + "\n";
}

std::string Number(double x, int decimals = 6) {
  std::ostringstream out;
  out.precision(decimals);
  out << x;
  return out.str();
}

}  // namespace

std::vector<fs::path> WriteBenchCsvs(const BenchReport& report, const fs::path& dir) {
  std::vector<fs::path> written;
  auto write = [&](const std::string& name, const std::string& text) {
    WriteFileAtomically(dir / name, text);
    written.push_back(dir / name);
  };
  std::string v = Row({"platform", "planner", "requests", "violations", "violation_rate",
                       "task_episodes", "episodes_violated", "episode_violation_rate", "dropped",
                       "late", "inaccurate", "planned_miss", "completed_rps"});
  std::string t =
      Row({"platform", "planner", "measured_rps", "bound_rps", "ratio_to_sv_ao_np", "episodes"});
  std::string pr = Row({"platform", "task", "mode", "minutes", "loads_s", "stages_s", "chains_s",
                        "accuracy_s", "estimators_s", "stage_runs", "chains", "accuracy_points",
                        "accuracy_prefixes", "accuracy_processor", "measured_s"});
  std::string pl = Row({"platform", "placement", "free", "requests", "violations", "violation_rate",
                        "episode_violation_rate", "episodes"});
  std::string m =
      Row({"platform", "budget_percent", "budget_bytes", "full_set_bytes", "requests", "violations",
           "violation_rate", "episode_violation_rate", "on_demand_loads", "evictions", "preloaded",
           "peak_resident_bytes", "episodes", "policy", "on_demand_load_ms"});
  for (const PlatformResults& p : report.platforms) {
    for (const ViolationFigures& f : p.violations) {
      v += Row({p.name, f.planner, std::to_string(f.requests), std::to_string(f.violations),
                Number(f.RequestRate()), std::to_string(f.task_episodes),
                std::to_string(f.episodes_violated), Number(f.EpisodeRate()),
                std::to_string(f.dropped), std::to_string(f.late), std::to_string(f.inaccurate),
                std::to_string(f.planned_miss), Number(f.completed_rps)});
    }
    const double ao = ThroughputOf(p, "SV-AO-NP");
    for (const ThroughputFigures& f : p.throughput) {
      t += Row({p.name, f.planner, Number(f.measured_rps), Number(f.bound_rps),
                ao > 0.0 ? Number(f.measured_rps / ao) : "", std::to_string(p.closed_episodes)});
    }
    for (const ProfilingFigures& f : p.profiling) {
      for (const auto& [mode, model] :
           {std::pair<std::string, const sim::ProfilingTimeModel*>{"sampled", &f.sampled},
            {"exhaustive", &f.exhaustive}}) {
        pr += Row({p.name, f.task, mode, Number(model->total_s() / 60.0), Number(model->loads_s),
                   Number(model->stages_s), Number(model->chains_s), Number(model->accuracy_s),
                   Number(model->estimators_s), std::to_string(model->stage_runs),
                   std::to_string(model->chains), std::to_string(model->accuracy_points),
                   std::to_string(model->accuracy_prefixes), f.accuracy_processor,
                   mode == "sampled" && f.measured_s >= 0.0 ? Number(f.measured_s) : ""});
      }
    }
    for (const PlacementFigures& f : p.placement) {
      pl += Row({p.name, f.placement, f.free ? "1" : "0", std::to_string(f.figures.requests),
                 std::to_string(f.figures.violations), Number(f.figures.RequestRate()),
                 Number(f.figures.EpisodeRate()), std::to_string(p.placement_episodes)});
    }
    for (const auto* sweep : {&p.memory, &p.memory_policies}) {
      for (const MemoryFigures& f : *sweep) {
        m += Row({p.name, Number(100.0 * f.fraction), std::to_string(f.budget_bytes),
                  std::to_string(p.full_set_bytes), std::to_string(f.figures.requests),
                  std::to_string(f.figures.violations), Number(f.figures.RequestRate()),
                  Number(f.figures.EpisodeRate()), std::to_string(f.cache.misses),
                  std::to_string(f.cache.evictions), std::to_string(f.cache.preloaded),
                  std::to_string(f.cache.peak_resident_bytes), std::to_string(p.memory_episodes),
                  f.policy, Number(f.cache.load_ms)});
      }
    }
  }
  write("violations.csv", v);
  std::string vh =
      Row({"platform", "planner", "offered_load", "requests", "violations", "violation_rate",
           "episode_violation_rate", "dropped", "late", "inaccurate", "planned_miss"});
  for (const PlatformResults& p : report.platforms) {
    for (const ViolationFigures& f : p.violations_at_host_load) {
      vh += Row({p.name, f.planner, Number(p.host_load), std::to_string(f.requests),
                 std::to_string(f.violations), Number(f.RequestRate()), Number(f.EpisodeRate()),
                 std::to_string(f.dropped), std::to_string(f.late), std::to_string(f.inaccurate),
                 std::to_string(f.planned_miss)});
    }
  }
  write("violations_at_host_load.csv", vh);
  write("throughput.csv", t);
  write("profiling.csv", pr);
  write("placement.csv", pl);
  write("memory.csv", m);
  return written;
}

}  // namespace sparseloom::eval
