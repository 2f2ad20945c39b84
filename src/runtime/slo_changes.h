#pragma once
// SLOs that move while a task is served (DESIGN.md "Evaluation protocol"; docs/runtime.md, "SLO
// changes"): seeded changes drawn from each task's tight / medium / loose grid, the states an
// episode is served in (each join, then each change), the SLO asked of a request when it arrived,
// and the requests around each change.

#include <cstdint>
#include <vector>

#include "plan/problem.h"
#include "runtime/serving.h"

namespace sparseloom::runtime {

// UsageError unless every change is in time order, inside its phase (0 <= after_ms < phase_ms),
// names a task present in that phase, and asks a valid SLO.
void CheckSloChanges(const Episode& episode, double phase_ms);

// In each phase, changes at Poisson times (a mean of `per_phase` per phase), each moving a task
// present then (drawn uniformly) to another point of its 3x3 grid (SloAt), drawn uniformly among
// the points whose SLO differs from the one it has. Same seed, same changes; none when per_phase
// is 0. UsageError when per_phase is negative or not finite.
std::vector<SloChange> DrawSloChanges(const std::vector<const plan::TaskProfile*>& profiles,
                                      const Episode& episode, double phase_s, double per_phase,
                                      std::uint64_t seed);

// One state an episode is served in: the tasks present (in arrival order) and the SLO of each.
struct ServingState {
  int phase = 0;
  int change = -1;  // index into Episode::changes; -1 for the phase's join
  std::vector<int> present;
  std::vector<plan::Slo> slos;  // per task
};
// Every state of the episode in time order: each phase's join, then each change in that phase.
std::vector<ServingState> StatesOf(const Episode& episode);

// The SLO asked of task `task`'s requests arriving at `ms` (since the episode's start).
plan::Slo SloAskedAt(const Episode& episode, double phase_ms, int task, double ms);

// A plan put in place during an episode: when, for which SLOs, and made ahead or not.
struct PlanInstall {
  double at_ms = 0.0;
  std::vector<plan::Slo> slos;  // per task: those it was planned for
  std::vector<int> present;     // the tasks it plans, in its order
  std::vector<plan::TaskPlan> plans;
  bool planned_ahead = false;
};

// Per change of `episode`: the re-plan (the first install at or after it planned for the new SLO)
// and the changed task's requests before, during and after it, judged against their own `slo`.
// `records` and `phase_of_record` as EpisodeReport has them; `end_ms` the episode's end.
std::vector<SloChangeReport> SloChangeReports(const Episode& episode, double phase_ms,
                                              const std::vector<PlanInstall>& installs,
                                              const std::vector<RequestRecord>& records,
                                              double end_ms);

}  // namespace sparseloom::runtime
