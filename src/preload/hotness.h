#pragma once
// Which stages are "hot" (DESIGN.md "runtime", docs/runtime.md "Hotness"): a stage is hot when
// the plans the expected SLO configurations call for use it often (frequency) and when no other
// variant's stage at the same position could stand in for it with similar accuracy and latency
// (uniqueness). The preloader keeps the hottest stages resident under the memory budget.

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "plan/planner.h"
#include "preload/stage_cache.h"

namespace sparseloom::preload {

struct StageHotness {
  StageKey key;
  double frequency = 0.0;   // share of the expected plans that run this stage here, in [0, 1]
  double uniqueness = 0.0;  // distance to the nearest substitute stage, in [0, 1]
  double score = 0.0;       // frequency * (1 + uniqueness) + kUniquenessWeight * uniqueness
};

inline constexpr double kUniquenessWeight = 0.01;  // orders stages no expected plan uses

// Plans `request` once per SLO configuration (configurations[c][t] is task t's SLO; the request's
// own SLOs are replaced) with `planner`, and scores every (task, stage, variant, processor).
// Returned hottest first; every key of every task on every processor is listed.
std::vector<StageHotness> ComputeHotness(const plan::PlanRequest& request,
                                         const std::vector<std::vector<plan::Slo>>& configurations,
                                         const plan::Planner& planner);

// Uniqueness of stage k of variant v on processor p within one task: the smallest, over the other
// variants w, of |a(k,v) - a(k,w)| / accuracy range + |l(k,v,p) - l(k,w,p)| / latency range,
// clipped to [0, 1], where a(k,v) is the accuracy of v substituted alone into the most accurate
// original variant at stage k, and the ranges are over the task's stage k.
double Uniqueness(const plan::TaskProfile& profile, int stage, int variant, int processor);

// The same scores from the plans a run will use (e.g. every phase of every episode, where fewer
// tasks are present than in the full configuration): plans[i] lists the stage keys plan i runs;
// frequency = the share of plans that run the key.
std::vector<StageHotness> HotnessOfPlans(const std::vector<const plan::TaskProfile*>& profiles,
                                         int num_processors,
                                         const std::vector<std::vector<StageKey>>& plans);

std::map<StageKey, double> ScoresOf(const std::vector<StageHotness>& hotness);

// The keys to preload: hottest first, in order, whose expected bytes sum to at most
// `budget_bytes` (0 = all), skipping any that would not fit.
std::vector<StageKey> PreloadSet(const std::vector<StageHotness>& hotness,
                                 const std::function<std::int64_t(const StageKey&)>& bytes,
                                 std::int64_t budget_bytes);

}  // namespace sparseloom::preload
