#include "eval/calibration.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/error.h"

namespace sparseloom::eval {

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

HandoverCalibration CalibrateHandovers(Inputs& in) {
  const std::vector<double> idle = runtime::MeasureIdleHandoversMs(in.setup);
  HandoverCalibration out;
  for (plan::TaskProfile& profile : in.profiles) {
    for (std::size_t i = 0; i < idle.size() && i < profile.handover_ms.size(); ++i) {
      out.table_ms = std::max(out.table_ms, profile.handover_ms[i]);
      profile.handover_ms[i] = std::max(profile.handover_ms[i], idle[i]);
    }
  }
  for (double ms : idle)
    out.idle_ms = std::max(out.idle_ms, ms);
  return out;
}

std::vector<double> GivenLatencyScale(const std::string& text, const Inputs& in,
                                      const std::vector<runtime::ServedTask>& tasks) {
  if (text.empty())
    return {};
  const std::size_t T = tasks.size();
  std::vector<double> given;
  std::stringstream list(text);
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
                       "\" in \"" + text + "\"");
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

runtime::LatencyScale MeasureLatencyScale(runtime::Server& server, const Inputs& in,
                                          const std::vector<runtime::ServedTask>& tasks,
                                          runtime::ServeOptions serve, double seconds) {
  const std::size_t T = tasks.size();
  runtime::Episode episode;
  episode.name = "calibration";
  for (std::size_t t = 0; t < T; ++t) {
    episode.slos.push_back(in.file.tasks[t].slo);
    episode.order.push_back(static_cast<int>(t));
  }
  serve.workload.phase_s = seconds;
  serve.workload.arrivals = runtime::ArrivalKind::kPoisson;
  serve.fault = {};
  const auto planner = plan::MakeSparseLoomPlanner();
  server.Warm(*planner, {episode}, serve.planning);
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
  runtime::LatencyScale c = runtime::ServingLatencyScale(last, profiles);
  std::vector<double> per_task = c.scale;
  const std::vector<std::size_t> first = FirstTaskOfTable(in);
  for (std::size_t t = 0; t < T; ++t)
    per_task[t] = per_task[first[t]];
  c.scale = per_task;
  return c;
}

void ApplyLatencyScale(Inputs& in, const std::vector<double>& per_task) {
  const std::vector<std::size_t> first = FirstTaskOfTable(in);
  for (std::size_t t = 0; t < per_task.size(); ++t) {
    if (first[t] == t)
      runtime::ScaleStageLatencies(in.profiles[in.table_of_task[t]], per_task[t]);
  }
}

std::vector<double> StitchMargins(const Inputs& in, double margin) {
  std::vector<double> margins;
  for (std::size_t t = 0; t < in.table_of_task.size(); ++t) {
    const profile::PerformanceTable& table = in.tables[in.table_of_task[t]];
    margins.push_back(margin >= 0.0                          ? margin
                      : table.latency_error.metric == "mape" ? table.latency_error.value
                                                             : 0.0);
  }
  return margins;
}

void ApplyStitchMargin(Inputs& in, const std::vector<double>& per_task) {
  const std::vector<std::size_t> first = FirstTaskOfTable(in);
  for (std::size_t t = 0; t < per_task.size(); ++t) {
    if (first[t] == t)
      runtime::SetStitchMargin(in.profiles[in.table_of_task[t]], per_task[t]);
  }
}

}  // namespace sparseloom::eval
