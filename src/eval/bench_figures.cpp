#include "eval/bench_figures.h"

namespace sparseloom::eval {

const ViolationFigures* FindViolations(const PlatformResults& p, const std::string& planner) {
  for (const ViolationFigures& v : p.violations)
    if (v.planner == planner)
      return &v;
  return nullptr;
}

const ViolationFigures* WorstBaseline(const PlatformResults& p) {
  const ViolationFigures* worst = nullptr;
  for (std::size_t i = 1; i < p.violations.size(); ++i)
    if (worst == nullptr || p.violations[i].RequestRate() > worst->RequestRate())
      worst = &p.violations[i];
  return worst;
}

double ThroughputOf(const PlatformResults& p, const std::string& planner) {
  for (const ThroughputFigures& t : p.throughput)
    if (t.planner == planner)
      return t.measured_rps;
  return 0.0;
}

double BoundOf(const PlatformResults& p, const std::string& planner) {
  for (const ThroughputFigures& t : p.throughput)
    if (t.planner == planner)
      return t.bound_rps;
  return 0.0;
}

double Reduction(double ours, double theirs) {
  return theirs > 0.0 ? 1.0 - ours / theirs : 0.0;
}

ProfilingTotals ProfilingTotalsOf(const PlatformResults& p) {
  ProfilingTotals t;
  for (const ProfilingFigures& f : p.profiling) {
    t.sampled_s += f.sampled.total_s();
    t.exhaustive_s += f.exhaustive.total_s();
    t.accuracy_s += f.sampled.accuracy_s;
    t.chains_s += f.sampled.chains_s;
    t.stages_s += f.sampled.stages_s;
    t.loads_s += f.sampled.loads_s;
    t.estimators_s += f.sampled.estimators_s;
    t.exhaustive_accuracy_s += f.exhaustive.accuracy_s;
    t.exhaustive_chains_s += f.exhaustive.chains_s;
    if (f.measured_s >= 0.0) {
      t.has_measured = true;
      t.measured_s += f.measured_s;
      t.modelled_measured_s += f.modelled_measured_s;
    }
  }
  return t;
}

const MemoryFigures* SmallestEquivalentBudget(const PlatformResults& platform,
                                              double tolerance_pp) {
  if (platform.memory.empty() || platform.memory.back().fraction < 1.0)
    return nullptr;
  return SmallestBudgetWithin(platform.memory, platform.memory.back().figures.RequestRate(),
                              tolerance_pp);
}

const MemoryFigures* SmallestBudgetWithin(const std::vector<MemoryFigures>& sweep,
                                          double reference_rate, double tolerance_pp) {
  const MemoryFigures* smallest = nullptr;
  for (auto it = sweep.rbegin(); it != sweep.rend(); ++it) {
    if (100.0 * (it->figures.RequestRate() - reference_rate) > tolerance_pp)
      break;
    smallest = &*it;
  }
  return smallest;
}

std::vector<MemoryFigures> MemorySweepOf(const PlatformResults& p, const std::string& policy) {
  if (policy == "hotness")
    return p.memory;
  std::vector<MemoryFigures> out;
  for (const MemoryFigures& m : p.memory_policies)
    if (m.policy == policy)
      out.push_back(m);
  return out;
}

PlatformHeadline HeadlineOf(const PlatformResults& p, double memory_tolerance_pp) {
  PlatformHeadline h;
  h.sparseloom = &p.violations.front();
  h.worst = WorstBaseline(p);
  h.avp = FindViolations(p, "AV-P");
  const double ao = ThroughputOf(p, "SV-AO-NP");
  if (ao > 0.0)
    h.throughput_ratio = ThroughputOf(p, h.sparseloom->planner) / ao;
  if (const MemoryFigures* equal = SmallestEquivalentBudget(p, memory_tolerance_pp))
    h.memory_saving = 1.0 - equal->fraction;
  const ProfilingTotals t = ProfilingTotalsOf(p);
  h.sampled_s = t.sampled_s;
  h.exhaustive_s = t.exhaustive_s;
  return h;
}

}  // namespace sparseloom::eval
