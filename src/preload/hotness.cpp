#include "preload/hotness.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "plan/evaluation.h"

namespace sparseloom::preload {
namespace {

std::size_t Index(std::int64_t i) {
  return static_cast<std::size_t>(i);
}

void CheckProfile(const plan::TaskProfile& profile, int stage, int variant, int processor) {
  const int K = profile.num_stages;
  const int V = profile.num_variants();
  const int P = profile.num_processors();
  const std::string where = "profile '" + profile.task + "'";
  if (stage < 0 || stage >= K || variant < 0 || variant >= V || processor < 0 || processor >= P)
    throw UsageError(where + ": stage " + std::to_string(stage) + ", variant " +
                     std::to_string(variant) + ", processor " + std::to_string(processor) +
                     ": expected indices below " + std::to_string(K) + ", " + std::to_string(V) +
                     ", " + std::to_string(P));
  if (profile.stage_latency_ms.size() != Index(std::int64_t{K} * V * P))
    throw UsageError(where + ": stage_latency_ms: expected " + std::to_string(K * V * P) +
                     " entries, got " + std::to_string(profile.stage_latency_ms.size()));
  if (profile.accuracy.size() != Index(plan::StitchedCount(profile)))
    throw UsageError(where + ": accuracy: expected " +
                     std::to_string(plan::StitchedCount(profile)) + " entries, got " +
                     std::to_string(profile.accuracy.size()));
}

// |x - y| / range, 0 when the range is empty (every stage alike in that respect).
double Scaled(double x, double y, double range) {
  return range > 0.0 ? std::abs(x - y) / range : 0.0;
}

}  // namespace

double Uniqueness(const plan::TaskProfile& profile, int stage, int variant, int processor) {
  CheckProfile(profile, stage, variant, processor);
  const int K = profile.num_stages;
  const int V = profile.num_variants();
  const int P = profile.num_processors();
  if (V == 1)
    return 1.0;  // nothing could stand in for it

  int best = 0;
  for (int v = 1; v < V; ++v)
    if (profile.accuracy[Index(plan::OriginalStitched(profile, v))] >
        profile.accuracy[Index(plan::OriginalStitched(profile, best))])
      best = v;
  // Accuracy of variant w swapped alone into the best original at `stage`: a per-stage accuracy
  // that the profile's whole-chain accuracies can give.
  std::int64_t place = 1;
  for (int k = stage + 1; k < K; ++k)
    place *= V;
  const std::int64_t base = plan::OriginalStitched(profile, best) - std::int64_t{best} * place;
  auto accuracy = [&](int w) { return profile.accuracy[Index(base + std::int64_t{w} * place)]; };
  auto latency = [&](int w, int p) { return profile.StageLatencyMs(stage, w, p); };

  double a_low = accuracy(0), a_high = a_low;
  double l_low = latency(0, 0), l_high = l_low;
  for (int w = 0; w < V; ++w) {
    a_low = std::min(a_low, accuracy(w));
    a_high = std::max(a_high, accuracy(w));
    // The latency range spans every processor of the stage, not just `processor`: on a processor
    // where all variants run alike, measurement noise must not read as uniqueness.
    for (int p = 0; p < P; ++p) {
      l_low = std::min(l_low, latency(w, p));
      l_high = std::max(l_high, latency(w, p));
    }
  }

  double nearest = 1.0;
  for (int w = 0; w < V; ++w) {
    if (w == variant)
      continue;
    const double distance =
        Scaled(accuracy(variant), accuracy(w), a_high - a_low) +
        Scaled(latency(variant, processor), latency(w, processor), l_high - l_low);
    nearest = std::min(nearest, distance);
  }
  return std::clamp(nearest, 0.0, 1.0);
}

namespace {

// Scores every (task, stage, variant, processor) from how many of `num_plans` plans use it.
std::vector<StageHotness> HotnessOfUses(const std::vector<const plan::TaskProfile*>& profiles,
                                        int P, const std::map<StageKey, int>& uses, int num_plans) {
  std::vector<StageHotness> out;
  for (std::size_t t = 0; t < profiles.size(); ++t) {
    const plan::TaskProfile& profile = *profiles[t];
    for (int k = 0; k < profile.num_stages; ++k)
      for (int v = 0; v < profile.num_variants(); ++v)
        for (int p = 0; p < P; ++p) {
          StageHotness h;
          h.key = {static_cast<int>(t), k, v, p};
          auto it = uses.find(h.key);
          // No plan: nothing is expected to run, so only uniqueness orders the stages.
          h.frequency = it == uses.end() || num_plans == 0
                            ? 0.0
                            : static_cast<double>(it->second) / static_cast<double>(num_plans);
          h.uniqueness = Uniqueness(profile, k, v, p);
          h.score = h.frequency * (1.0 + h.uniqueness) + kUniquenessWeight * h.uniqueness;
          out.push_back(h);
        }
  }
  std::sort(out.begin(), out.end(), [](const StageHotness& a, const StageHotness& b) {
    if (a.score != b.score)
      return a.score > b.score;
    return a.key < b.key;
  });
  return out;
}

}  // namespace

std::vector<StageHotness> ComputeHotness(const plan::PlanRequest& request,
                                         const std::vector<std::vector<plan::Slo>>& configurations,
                                         const plan::Planner& planner) {
  const std::size_t T = request.tasks.size();
  std::map<StageKey, int> uses;
  for (std::size_t c = 0; c < configurations.size(); ++c) {
    if (configurations[c].size() != T)
      throw UsageError("hotness: configurations[" + std::to_string(c) + "]: expected " +
                       std::to_string(T) + " SLOs (one per task), got " +
                       std::to_string(configurations[c].size()));
    plan::PlanRequest configured = request;
    for (std::size_t t = 0; t < T; ++t)
      configured.tasks[t].slo = configurations[c][t];
    const plan::Plan plan = planner.Solve(configured);
    for (std::size_t t = 0; t < plan.tasks.size(); ++t) {
      const plan::TaskPlan& task = plan.tasks[t];
      for (std::size_t k = 0; k < task.variant_of_stage.size(); ++k)
        ++uses[{static_cast<int>(t), static_cast<int>(k), task.variant_of_stage[k],
                task.placement[k]}];
    }
  }

  std::vector<const plan::TaskProfile*> profiles;
  for (const plan::PlanTask& task : request.tasks)
    profiles.push_back(&task.profile.get());
  return HotnessOfUses(profiles, static_cast<int>(request.processors.size()), uses,
                       static_cast<int>(configurations.size()));
}

std::vector<StageHotness> HotnessOfPlans(const std::vector<const plan::TaskProfile*>& profiles,
                                         int num_processors,
                                         const std::vector<std::vector<StageKey>>& plans) {
  std::map<StageKey, int> uses;
  for (const std::vector<StageKey>& keys : plans) {
    for (const StageKey& key : std::set<StageKey>(keys.begin(), keys.end()))
      ++uses[key];
  }
  return HotnessOfUses(profiles, num_processors, uses, static_cast<int>(plans.size()));
}

std::map<StageKey, double> ScoresOf(const std::vector<StageHotness>& hotness) {
  std::map<StageKey, double> scores;
  for (const StageHotness& h : hotness)
    scores[h.key] = h.score;
  return scores;
}

std::vector<StageKey> PreloadSet(const std::vector<StageHotness>& hotness,
                                 const std::function<std::int64_t(const StageKey&)>& bytes,
                                 std::int64_t budget_bytes) {
  std::vector<StageKey> keys;
  std::int64_t used = 0;
  for (const StageHotness& h : hotness) {
    const std::int64_t b = bytes(h.key);
    if (b < 0)
      throw UsageError("hotness: expected bytes >= 0 for stage (task " +
                       std::to_string(h.key.task) + ", stage " + std::to_string(h.key.stage) +
                       ", variant " + std::to_string(h.key.variant) + ", processor " +
                       std::to_string(h.key.processor) + "), got " + std::to_string(b));
    if (budget_bytes > 0 && used + b > budget_bytes)
      continue;  // a smaller, colder stage may still fit
    used += b;
    keys.push_back(h.key);
  }
  return keys;
}

}  // namespace sparseloom::preload
