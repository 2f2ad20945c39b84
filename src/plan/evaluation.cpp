#include "plan/evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <utility>

#include "common/error.h"
#include "plan/choice_costing.h"

namespace sparseloom::plan {
namespace {

// Larger spaces are refused rather than searched for minutes.
constexpr std::int64_t kMaxStitched = 10'000'000;
constexpr std::int64_t kMaxChoicesPerTask = 20'000'000;

std::string Num(double value, const char* format = "%.4g") {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

std::string Mib(std::int64_t bytes) {
  return Num(static_cast<double>(bytes) / (1024.0 * 1024.0), "%.1f") + " MiB";
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out = "[";
  for (std::size_t i = 0; i < names.size(); ++i)
    out += (i ? ", " : "") + names[i];
  return out + "]";
}

[[noreturn]] void Fail(const std::string& where, const std::string& field,
                       const std::string& expected, const std::string& got) {
  throw UsageError("plan request: " + where + ": " + field + ": expected " + expected + ", got " +
                   got);
}

void CheckSize(const std::string& where, const std::string& field, std::size_t size,
               std::int64_t expected, const std::string& formula) {
  if (static_cast<std::int64_t>(size) != expected)
    Fail(where, field, formula + " = " + std::to_string(expected) + " entries",
         std::to_string(size));
}

void CheckValues(const std::string& where, const std::string& field,
                 const std::vector<double>& values, double low, double high,
                 const std::string& expected) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double x = values[i];
    if (!std::isfinite(x) || x < low || x > high)
      Fail(where, field + "[" + std::to_string(i) + "]", expected, Num(x));
  }
}

void ValidateProfile(const std::string& where, const TaskProfile& profile,
                     const PlanRequest& request) {
  const int K = profile.num_stages;
  const int V = profile.num_variants();
  const int P = profile.num_processors();
  if (K < 1)
    Fail(where, "profile.num_stages", "at least 1", std::to_string(K));
  if (V < 1)
    Fail(where, "profile.variant_ids", "at least one variant", "none");
  if (profile.processors != request.processors)
    Fail(where, "profile.processors", "the request's processors " + JoinNames(request.processors),
         JoinNames(profile.processors));
  std::int64_t stitched = 1;
  for (int k = 0; k < K; ++k) {
    stitched *= V;
    if (stitched > kMaxStitched)
      Fail(where, "profile", "at most " + std::to_string(kMaxStitched) + " stitched variants (V^K)",
           std::to_string(V) + "^" + std::to_string(K));
  }
  const std::int64_t kvp = std::int64_t{K} * V * P;
  CheckSize(where, "profile.stage_latency_ms", profile.stage_latency_ms.size(), kvp, "K*V*P");
  CheckValues(where, "profile.stage_latency_ms", profile.stage_latency_ms, 0.0,
              std::numeric_limits<double>::max(), "a finite latency >= 0 ms");
  CheckSize(where, "profile.stage_bytes", profile.stage_bytes.size(), std::int64_t{K} * V, "K*V");
  for (std::size_t i = 0; i < profile.stage_bytes.size(); ++i)
    if (profile.stage_bytes[i] < 0)
      Fail(where, "profile.stage_bytes[" + std::to_string(i) + "]", "bytes >= 0",
           std::to_string(profile.stage_bytes[i]));
  CheckSize(where, "profile.accuracy", profile.accuracy.size(), stitched, "V^K");
  CheckValues(where, "profile.accuracy", profile.accuracy, 0.0, 1.0, "an accuracy in [0, 1]");
  if (!profile.accuracy_measured.empty())
    CheckSize(where, "profile.accuracy_measured", profile.accuracy_measured.size(), stitched,
              "V^K (or none)");
  if (!std::isfinite(profile.accuracy_margin) || profile.accuracy_margin < 0.0 ||
      profile.accuracy_margin > 1.0)
    Fail(where, "profile.accuracy_margin", "a margin in [0, 1]", Num(profile.accuracy_margin));
  CheckSize(where, "profile.handover_ms", profile.handover_ms.size(), std::int64_t{P} * P, "P*P");
  CheckValues(where, "profile.handover_ms", profile.handover_ms, 0.0,
              std::numeric_limits<double>::max(), "a finite hand-over cost >= 0 ms");
  if (!profile.stitch_gap_ms.empty()) {
    CheckSize(where, "profile.stitch_gap_ms", profile.stitch_gap_ms.size(), stitched,
              "V^K (or none)");
    CheckValues(where, "profile.stitch_gap_ms", profile.stitch_gap_ms,
                std::numeric_limits<double>::lowest(), std::numeric_limits<double>::max(),
                "a finite number of ms");
  }
  if (request.placements == PlacementSpace::kOrders && K > P)
    Fail(where, "placements", "K <= P for placement orders (one processor per stage)",
         "K = " + std::to_string(K) + ", P = " + std::to_string(P));
  std::int64_t placements = 1;
  for (int k = 0; k < K && placements <= kMaxChoicesPerTask; ++k)
    placements *= P;
  if (placements > kMaxChoicesPerTask || stitched * placements > kMaxChoicesPerTask)
    Fail(where, "profile",
         "at most " + std::to_string(kMaxChoicesPerTask) + " (stitched variant, placement) pairs",
         std::to_string(V) + "^" + std::to_string(K) + " variants x " + std::to_string(P) + "^" +
             std::to_string(K) + " mappings");
}

// The cheapest way, within the task's space, to meet its SLO as far as it can be met; explains
// why the chosen choice does not.
std::string ReasonFor(const PlanTask& task, const TaskSpace& space, const ChoiceCost& chosen,
                      const PlanRequest& request) {
  const TaskProfile& profile = task.profile.get();
  double best_accuracy = -1.0;
  bool best_estimated = false;
  double fastest_accurate = std::numeric_limits<double>::infinity();
  std::int64_t smallest_meeting = std::numeric_limits<std::int64_t>::max();
  // In bulk, with CostOf's figures (choice_costing.h): a task that misses its SLO is often one
  // whose every choice is costed here, and none of their loads are needed.
  CostChoices(
      task, space,
      [&](const StitchedFigures& f) {
        if (profile.AccuracyBound(f.s) > best_accuracy) {
          best_accuracy = profile.AccuracyBound(f.s);
          best_estimated = !profile.AccuracyMeasured(f.s);
        }
        return f.accurate;
      },
      [&](const StitchedFigures& f, double latency_ms) {
        fastest_accurate = std::min(fastest_accurate, latency_ms);
        if (latency_ms <= task.slo.max_latency_ms)
          smallest_meeting = std::min(smallest_meeting, f.bytes);
        return false;
      },
      [](const StitchedFigures&, std::size_t, double, const double*) {});
  if (best_accuracy < task.slo.min_accuracy)
    return "no " + space.variant_noun + " reaches " + Num(task.slo.min_accuracy) +
           " accuracy (best " + Num(best_accuracy) +
           (best_estimated && profile.accuracy_margin > 0.0
                ? ", an estimate less its margin of " + Num(profile.accuracy_margin) + ")"
                : ")");
  if (fastest_accurate > task.slo.max_latency_ms)
    return "fastest " + space.variant_noun + " meeting " + Num(task.slo.min_accuracy) +
           " accuracy takes " + Num(fastest_accurate, "%.3g") + " ms > " +
           Num(task.slo.max_latency_ms, "%.3g") + " ms";
  if (request.memory_budget_bytes > 0 && smallest_meeting > chosen.bytes)
    return "memory budget " + Mib(request.memory_budget_bytes) + ": meeting the SLO needs " +
           Mib(smallest_meeting) + " of stages for this task, the plan leaves it " +
           Mib(chosen.bytes);
  return "the search stopped at its node limit before meeting this SLO";
}

}  // namespace

bool Plan::Sustainable() const {
  return std::all_of(processor_load.begin(), processor_load.end(),
                     [](double u) { return u <= 1.0; });
}

void ValidateRequest(const PlanRequest& request) {
  if (request.processors.empty())
    Fail("request", "processors", "at least one processor", "none");
  std::set<std::string> processor_names;
  for (const std::string& name : request.processors) {
    if (name.empty())
      Fail("request", "processors", "non-empty processor names", "an empty name");
    if (!processor_names.insert(name).second)
      Fail("request", "processors", "distinct processor names", "'" + name + "' twice");
  }
  if (request.memory_budget_bytes < 0)
    Fail("request", "memory_budget_bytes", "bytes >= 0 (0 = unlimited)",
         std::to_string(request.memory_budget_bytes));
  std::set<std::string> task_names;
  for (std::size_t t = 0; t < request.tasks.size(); ++t) {
    const PlanTask& task = request.tasks[t];
    const std::string where = "tasks[" + std::to_string(t) + "] '" + task.name + "'";
    if (task.name.empty())
      Fail(where, "name", "a non-empty task name", "an empty name");
    if (!task_names.insert(task.name).second)
      Fail(where, "name", "distinct task names", "'" + task.name + "' twice");
    const double a = task.slo.min_accuracy;
    if (!std::isfinite(a) || a < 0.0 || a > 1.0)
      Fail(where, "slo.min_accuracy", "an accuracy in [0, 1]", Num(a));
    const double l = task.slo.max_latency_ms;
    if (!std::isfinite(l) || l <= 0.0)
      Fail(where, "slo.max_latency_ms", "a finite latency > 0 ms", Num(l));
    if (!std::isfinite(task.rate_per_s) || task.rate_per_s < 0.0)
      Fail(where, "rate_per_s", "a finite request rate >= 0 per second", Num(task.rate_per_s));
    if (!task.entry_wait_ms.empty() && task.entry_wait_ms.size() != request.processors.size())
      Fail(where, "entry_wait_ms",
           "none or one wait per processor (" + std::to_string(request.processors.size()) + ")",
           std::to_string(task.entry_wait_ms.size()) + " waits");
    for (const double w : task.entry_wait_ms)
      if (!std::isfinite(w) || w < 0.0)
        Fail(where, "entry_wait_ms", "finite waits >= 0 ms", Num(w));
    ValidateProfile(where, task.profile.get(), request);
  }
}

std::int64_t StitchedCount(const TaskProfile& profile) {
  std::int64_t count = 1;
  for (int k = 0; k < profile.num_stages; ++k)
    count *= profile.num_variants();
  return count;
}

void DigitsOf(const TaskProfile& profile, std::int64_t s, std::span<int> digits) {
  const int V = profile.num_variants();
  for (int k = profile.num_stages - 1; k >= 0; --k) {
    digits[static_cast<std::size_t>(k)] = static_cast<int>(s % V);
    s /= V;
  }
}

std::int64_t OriginalStitched(const TaskProfile& profile, int variant) {
  std::int64_t s = 0;
  for (int k = 0; k < profile.num_stages; ++k)
    s = s * profile.num_variants() + variant;
  return s;
}

std::vector<Placement> PlacementsOf(PlacementSpace space, int num_stages, int num_processors) {
  std::vector<Placement> out;
  Placement current(static_cast<std::size_t>(num_stages), 0);
  // Odometer over all P^K mappings, stage 0 most significant; orders keep the injective ones.
  while (true) {
    bool keep = true;
    if (space == PlacementSpace::kOrders) {
      std::vector<bool> used(static_cast<std::size_t>(num_processors), false);
      for (const int p : current) {
        if (used[static_cast<std::size_t>(p)])
          keep = false;
        used[static_cast<std::size_t>(p)] = true;
      }
    }
    if (keep)
      out.push_back(current);
    int k = num_stages - 1;
    while (k >= 0 && ++current[static_cast<std::size_t>(k)] == num_processors)
      current[static_cast<std::size_t>(k--)] = 0;
    if (k < 0)
      return out;
  }
}

std::vector<Placement> SingleProcessorPlacements(int num_stages, int num_processors) {
  std::vector<Placement> out;
  for (int p = 0; p < num_processors; ++p)
    out.emplace_back(static_cast<std::size_t>(num_stages), p);
  return out;
}

TaskSpace SpaceOf(const PlanTask& task, const PlanRequest& request, Policy policy) {
  const TaskProfile& profile = task.profile.get();
  const int K = profile.num_stages;
  const int V = profile.num_variants();
  const int P = profile.num_processors();
  TaskSpace space;
  space.placements = policy.placements == PlacementPolicy::kRequested
                         ? PlacementsOf(request.placements, K, P)
                         : SingleProcessorPlacements(K, P);
  switch (policy.variants) {
    case VariantPolicy::kStitched: {
      const std::int64_t count = StitchedCount(profile);
      space.stitched.resize(static_cast<std::size_t>(count));
      for (std::int64_t s = 0; s < count; ++s)
        space.stitched[static_cast<std::size_t>(s)] = s;
      space.variant_noun = "stitched variant";
      return space;
    }
    case VariantPolicy::kOriginal:
      for (int v = 0; v < V; ++v)
        space.stitched.push_back(OriginalStitched(profile, v));
      space.variant_noun = "original variant";
      return space;
    case VariantPolicy::kMostAccurateOriginal: {
      int best = 0;
      for (int v = 1; v < V; ++v)
        if (profile.accuracy[static_cast<std::size_t>(OriginalStitched(profile, v))] >
            profile.accuracy[static_cast<std::size_t>(OriginalStitched(profile, best))])
          best = v;
      space.stitched = {OriginalStitched(profile, best)};
      space.variant_noun = "variant allowed (the most accurate original, '" +
                           profile.variant_ids[static_cast<std::size_t>(best)] + "')";
      return space;
    }
    case VariantPolicy::kFastestOriginal: {
      // Fastest whole on its best processor, so the choice does not depend on the placement policy
      // (nor on the queueing waits of the moment: the same variant in every phase).
      PlanTask bare = task;
      bare.entry_wait_ms.clear();
      std::vector<int> digits(static_cast<std::size_t>(K));
      std::vector<double> loads(static_cast<std::size_t>(P));
      int best = 0;
      double best_ms = std::numeric_limits<double>::infinity();
      for (int v = 0; v < V; ++v) {
        const std::int64_t s = OriginalStitched(profile, v);
        DigitsOf(profile, s, digits);
        for (const Placement& placement : SingleProcessorPlacements(K, P)) {
          const double ms = CostOf(bare, s, digits, placement, loads).latency_ms;
          if (ms < best_ms) {
            best_ms = ms;
            best = v;
          }
        }
      }
      space.stitched = {OriginalStitched(profile, best)};
      space.variant_noun = "variant allowed (the fastest original, '" +
                           profile.variant_ids[static_cast<std::size_t>(best)] + "')";
      return space;
    }
  }
  throw UsageError("plan: unknown variant policy");
}

ChoiceCost CostOf(const PlanTask& task, std::int64_t s, std::span<const int> digits,
                  std::span<const int> placement, std::span<double> loads) {
  const TaskProfile& profile = task.profile.get();
  const std::size_t K = static_cast<std::size_t>(profile.num_stages);
  // Reused from call to call: ReasonFor costs every choice of a task through here.
  thread_local ChainCost chain;
  ChainCostOf(profile, digits.first(K), placement.first(K), chain,
              EntryWaitMs(task, placement.data(), K));
  std::fill(loads.begin(), loads.end(), 0.0);
  ChoiceCost cost;
  for (std::size_t k = 0; k < K; ++k) {
    loads[static_cast<std::size_t>(placement[k])] += chain.compute_ms[k];
    cost.bytes += profile.StageBytes(static_cast<int>(k), digits[k]);
  }
  // The gap is time the chain's processors spend (caches, casts): the last stage's processor
  // carries it (plan/problem.h, ChainCost).
  loads[static_cast<std::size_t>(placement[K - 1])] += chain.gap_ms;
  for (double& load : loads)
    load = task.rate_per_s * load / 1000.0;
  cost.latency_ms = chain.total_ms;
  cost.accuracy = profile.accuracy[static_cast<std::size_t>(s)];
  cost.accuracy_bound = profile.AccuracyBound(s);
  cost.slo_met =
      cost.accuracy_bound >= task.slo.min_accuracy && cost.latency_ms <= task.slo.max_latency_ms;
  return cost;
}

Plan EvaluatePlan(const PlanRequest& request, const std::vector<TaskSpace>& spaces,
                  const std::vector<Choice>& choices, std::string planner, SearchStats stats) {
  Plan plan;
  plan.planner = std::move(planner);
  plan.processors = request.processors;
  plan.memory_budget_bytes = request.memory_budget_bytes;
  plan.search = stats;
  plan.processor_load.assign(request.processors.size(), 0.0);
  std::vector<double> loads(request.processors.size());
  for (std::size_t t = 0; t < request.tasks.size(); ++t) {
    const PlanTask& task = request.tasks[t];
    const TaskProfile& profile = task.profile.get();
    TaskPlan out;
    out.task = task.name;
    out.stitched_variant = choices[t].stitched_variant;
    out.variant_of_stage.resize(static_cast<std::size_t>(profile.num_stages));
    DigitsOf(profile, out.stitched_variant, out.variant_of_stage);
    out.placement = spaces[t].placements[static_cast<std::size_t>(choices[t].placement)];
    const ChoiceCost cost =
        CostOf(task, out.stitched_variant, out.variant_of_stage, out.placement, loads);
    out.latency_ms = cost.latency_ms;
    out.accuracy = cost.accuracy;
    out.accuracy_measured = profile.AccuracyMeasured(out.stitched_variant);
    out.accuracy_bound = cost.accuracy_bound;
    out.slo_met = cost.slo_met;
    out.resident_bytes = cost.bytes;
    if (!cost.slo_met)
      out.reason = ReasonFor(task, spaces[t], cost, request);
    for (std::size_t p = 0; p < loads.size(); ++p)
      plan.processor_load[p] += loads[p];
    plan.objective.violations += cost.slo_met ? 0 : 1;
    plan.objective.resident_bytes += cost.bytes;
    plan.tasks.push_back(std::move(out));
  }
  for (const double u : plan.processor_load)
    plan.objective.max_load = std::max(plan.objective.max_load, u);
  if (request.memory_budget_bytes > 0)
    plan.objective.bytes_over_budget =
        std::max<std::int64_t>(0, plan.objective.resident_bytes - request.memory_budget_bytes);
  return plan;
}

std::string StitchedVariantName(const TaskProfile& profile, std::int64_t stitched_variant) {
  if (stitched_variant < 0 || stitched_variant >= StitchedCount(profile))
    throw UsageError("stitched variant " + std::to_string(stitched_variant) + " of task '" +
                     profile.task + "': expected an index below " +
                     std::to_string(StitchedCount(profile)));
  std::vector<int> digits(static_cast<std::size_t>(profile.num_stages));
  DigitsOf(profile, stitched_variant, digits);
  std::string name;
  for (std::size_t k = 0; k < digits.size(); ++k)
    name += (k ? "," : "") + profile.variant_ids[static_cast<std::size_t>(digits[k])];
  return name;
}

}  // namespace sparseloom::plan
