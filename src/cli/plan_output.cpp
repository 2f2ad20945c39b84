#include "cli/plan_output.h"

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/table.h"
#include "common/json_reader.h"
#include "profile/performance_table.h"
#include "profile/processor_setup.h"

namespace sparseloom::cli {
namespace {

using eval::Inputs;

std::string Num(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

std::string Percent(double fraction) {
  return Fixed(100.0 * fraction, 1) + "%";
}

std::string JoinPlacement(const plan::Plan& plan, const plan::TaskPlan& task) {
  std::vector<std::string> names;
  for (int p : task.placement)
    names.push_back(plan.processors[static_cast<std::size_t>(p)]);
  return Join(names, ",");
}

bool AccuracyMeasured(const Inputs& in, std::size_t t, std::int64_t s) {
  return in.tables[in.table_of_task[t]].accuracy_measured[static_cast<std::size_t>(s)] != 0;
}

// The profiler's own latency for the task's chosen stitched variant and placement (measured or
// estimated). The planner's model (stage sum + hand-overs + the mean stitch gap over placements)
// should stay close to it; a large gap means a noisy or inconsistent table.
double TableLatency(const Inputs& in, std::size_t t, const plan::TaskPlan& tp) {
  const profile::PerformanceTable& table = in.tables[in.table_of_task[t]];
  std::int64_t placement = 0;
  for (int p : tp.placement)
    placement = placement * table.num_processors() + p;
  return table.latency_ms[static_cast<std::size_t>(tp.stitched_variant * table.num_placements() +
                                                   placement)];
}

std::string BudgetText(std::int64_t bytes) {
  return bytes > 0 ? HumanBytes(static_cast<double>(bytes)) : "unlimited";
}

nlohmann::ordered_json PlanJson(const Inputs& in, const SolvedPlan& solved) {
  const plan::Plan& plan = solved.plan;
  nlohmann::ordered_json tasks = nlohmann::ordered_json::array();
  for (std::size_t t = 0; t < plan.tasks.size(); ++t) {
    const plan::TaskPlan& tp = plan.tasks[t];
    const plan::TaskSpec& spec = in.file.tasks[t];
    const plan::TaskProfile& profile = in.profiles[in.table_of_task[t]];
    nlohmann::ordered_json variants = nlohmann::ordered_json::array();
    for (int v : tp.variant_of_stage)
      variants.push_back(profile.variant_ids[static_cast<std::size_t>(v)]);
    nlohmann::ordered_json placement = nlohmann::ordered_json::array();
    for (int p : tp.placement)
      placement.push_back(plan.processors[static_cast<std::size_t>(p)]);
    tasks.push_back({
        {"name", tp.task},
        {"zoo", spec.zoo_dir.string()},
        {"performance_table", in.table_files[t].string()},
        {"slo",
         {{"min_accuracy", spec.slo.min_accuracy}, {"max_latency_ms", spec.slo.max_latency_ms}}},
        {"rate_per_s", spec.rate_per_s},
        {"stitched_variant", plan::StitchedVariantName(profile, tp.stitched_variant)},
        {"stitched_index", tp.stitched_variant},
        {"variant_of_stage", variants},
        {"placement", placement},
        {"latency_ms", tp.latency_ms},
        {"table_latency_ms", TableLatency(in, t, tp)},
        {"accuracy", tp.accuracy},
        {"accuracy_measured", AccuracyMeasured(in, t, tp.stitched_variant)},
        {"resident_bytes", tp.resident_bytes},
        {"slo_met", tp.slo_met},
        {"reason", tp.reason},
    });
  }
  nlohmann::ordered_json load = nlohmann::ordered_json::object();
  for (std::size_t p = 0; p < plan.processors.size(); ++p)
    load[plan.processors[p]] = plan.processor_load[p];
  return {
      {"planner", plan.planner},
      {"decision_ms", solved.decision_ms},
      {"slos_met", plan.objective.violations == 0},
      {"sustainable", plan.Sustainable()},
      {"objective",
       {{"bytes_over_budget", plan.objective.bytes_over_budget},
        {"violations", plan.objective.violations},
        {"max_load", plan.objective.max_load},
        {"resident_bytes", plan.objective.resident_bytes}}},
      {"processor_load", load},
      {"search",
       {{"choices_evaluated", plan.search.choices_evaluated},
        {"candidates_kept", plan.search.candidates_kept},
        {"nodes", plan.search.nodes},
        {"complete", plan.search.complete}}},
      {"tasks", tasks},
  };
}

}  // namespace

void PrintPlan(const Inputs& in, const SolvedPlan& solved) {
  const plan::Plan& plan = solved.plan;
  std::cout << plan.planner << " plan for " << plan.tasks.size() << " task"
            << (plan.tasks.size() == 1 ? "" : "s") << " on " << profile::ToString(in.setup)
            << " (name:cores:threads); placements: "
            << (in.file.placements == plan::PlacementSpace::kOrders
                    ? "orders (every stage on its own processor)"
                    : "any mapping")
            << "; memory budget: " << BudgetText(plan.memory_budget_bytes) << "\n\n";

  Table tasks({"task", "SLO (accuracy, latency)", "rate", "stitched variant", "placement",
               "latency", "accuracy", "resident", "SLO met"});
  bool any_estimated = false;
  for (std::size_t t = 0; t < plan.tasks.size(); ++t) {
    const plan::TaskPlan& tp = plan.tasks[t];
    const plan::TaskSpec& spec = in.file.tasks[t];
    const bool measured = AccuracyMeasured(in, t, tp.stitched_variant);
    any_estimated = any_estimated || !measured;
    tasks.AddRow(
        {tp.task,
         ">=" + Percent(spec.slo.min_accuracy) + ", <=" + Num(spec.slo.max_latency_ms) + " ms",
         Num(spec.rate_per_s) + "/s",
         plan::StitchedVariantName(in.profiles[in.table_of_task[t]], tp.stitched_variant),
         JoinPlacement(plan, tp), Fixed(tp.latency_ms, 2) + " ms",
         Fixed(100.0 * tp.accuracy, 1) + "%" + (measured ? "" : " (est.)"),
         HumanBytes(static_cast<double>(tp.resident_bytes)),
         tp.slo_met ? "yes" : "NO: " + tp.reason});
  }
  tasks.Print(std::cout);
  std::cout << "(latency: expected batch-1 latency of the stitched variant on its placement, "
               "hand-overs included, no queueing"
            << (any_estimated ? "; est.: accuracy estimated by the profiler, not measured" : "")
            << ")\n\n";

  Table processors({"processor", "cores", "threads", "load", "stages (task[stage,...])"});
  for (std::size_t p = 0; p < plan.processors.size(); ++p) {
    std::vector<std::string> cores, stages;
    for (int c : in.setup[p].cores)
      cores.push_back(std::to_string(c));
    for (const plan::TaskPlan& tp : plan.tasks) {
      std::vector<std::string> here;
      for (std::size_t k = 0; k < tp.placement.size(); ++k) {
        if (static_cast<std::size_t>(tp.placement[k]) == p)
          here.push_back(std::to_string(k + 1));
      }
      if (!here.empty())
        stages.push_back(tp.task + "[" + Join(here, ",") + "]");
    }
    processors.AddRow({plan.processors[p], Join(cores, "+"), std::to_string(in.setup[p].threads),
                       Percent(plan.processor_load[p]), stages.empty() ? "-" : Join(stages, " ")});
  }
  processors.Print(std::cout);

  const plan::Objective& o = plan.objective;
  std::cout << "\nobjective: " << o.violations << " of " << plan.tasks.size()
            << " SLOs not met; busiest processor at " << Percent(o.max_load) << " load; "
            << HumanBytes(static_cast<double>(o.resident_bytes)) << " of stages resident";
  if (plan.memory_budget_bytes > 0) {
    std::cout << " (budget " << BudgetText(plan.memory_budget_bytes) << ")";
    if (o.bytes_over_budget > 0)
      std::cout << ", " << HumanBytes(static_cast<double>(o.bytes_over_budget))
                << " OVER THE BUDGET: no plan fits it";
  }
  std::cout << "\nsearch: " << plan.search.choices_evaluated << " choices costed, "
            << plan.search.candidates_kept << " kept after pruning, " << plan.search.nodes
            << " nodes, "
            << (plan.search.complete ? "exact" : "cut short by the node limit (best plan found)")
            << "; decided in " << Fixed(solved.decision_ms, 2) << " ms\n";
  for (std::size_t t = 0; t < plan.tasks.size(); ++t) {
    const plan::TaskPlan& tp = plan.tasks[t];
    const double table_ms = TableLatency(in, t, tp);
    if (tp.latency_ms <= 0.0 || tp.latency_ms > 2.0 * table_ms || 2.0 * tp.latency_ms < table_ms) {
      std::cout << "warning: task '" << tp.task << "': the planner expects "
                << Fixed(tp.latency_ms, 3) << " ms for its choice, the performance table says "
                << Fixed(table_ms, 3)
                << " ms: the table is noisy or inconsistent (profiled under load?); consider "
                   "`sparseloom profile --force` on a quieter machine\n";
    }
  }
  for (std::size_t p = 0; p < plan.processors.size(); ++p) {
    if (plan.processor_load[p] > 1.0) {
      std::cout << "warning: " << plan.processors[p] << " is loaded "
                << Percent(plan.processor_load[p])
                << " (> 100%): at these rates its requests queue without bound and the "
                   "latencies above will not hold\n";
    }
  }
}

void PrintComparison(const std::vector<SolvedPlan>& solved) {
  Table table({"planner", "SLOs met", "violations", "max load", "resident", "over budget",
               "decision", "SLOs not met"});
  for (const SolvedPlan& s : solved) {
    const plan::Plan& plan = s.plan;
    std::vector<std::string> unmet;
    for (const plan::TaskPlan& tp : plan.tasks) {
      if (!tp.slo_met)
        unmet.push_back(tp.task);
    }
    table.AddRow(
        {plan.planner,
         std::to_string(plan.tasks.size() - static_cast<std::size_t>(plan.objective.violations)) +
             "/" + std::to_string(plan.tasks.size()),
         std::to_string(plan.objective.violations), Percent(plan.objective.max_load),
         HumanBytes(static_cast<double>(plan.objective.resident_bytes)),
         plan.objective.bytes_over_budget > 0
             ? HumanBytes(static_cast<double>(plan.objective.bytes_over_budget))
             : "-",
         Fixed(s.decision_ms, 2) + " ms", unmet.empty() ? "-" : Join(unmet, ", ")});
  }
  table.Print(std::cout);
  std::cout << "(one plan per planner on the same tables and SLOs; `--planner NAME` shows one "
               "plan in full, `--json` writes them all)\n";
}

void WriteJson(const Inputs& in, const std::vector<SolvedPlan>& solved, const std::string& file) {
  nlohmann::ordered_json processors = nlohmann::ordered_json::array();
  for (const auto& p : in.setup)
    processors.push_back({{"name", p.name}, {"cores", p.cores}, {"threads", p.threads}});
  nlohmann::ordered_json plans = nlohmann::ordered_json::array();
  for (const SolvedPlan& s : solved)
    plans.push_back(PlanJson(in, s));
  const nlohmann::ordered_json out = {
      {"format", "sparseloom-plan"},
      {"version", 1},
      {"task_file", in.file.file.string()},
      {"processors", processors},
      {"placements", plan::ToString(in.file.placements)},
      {"memory_budget_bytes", in.file.memory_budget_bytes},
      {"plans", plans},
  };
  WriteFileAtomically(file, out.dump(2) + "\n");
}

}  // namespace sparseloom::cli
