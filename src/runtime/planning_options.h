#pragma once
// How a serving phase is planned (docs/runtime.md, "Planning a phase"): the options phase planning
// (runtime/phase_planning.h), the serving core (runtime/serving_core.h) and plans made ahead read,
// and nothing of how requests arrive or run.

#include <cstdint>

#include "plan/planner.h"

namespace sparseloom::runtime {

class AccuracyVerification;  // runtime/accuracy_verification.h

struct PlanningOptions {
  std::int64_t memory_budget_bytes = 0;  // the planner's budget (0 = unlimited)
  plan::PlacementSpace placements = plan::PlacementSpace::kAnyMapping;
  // The most latency headroom a plan keeps per task: the profile's stage latencies are a low
  // percentile of batch-1 runs on an idle processor, while a request also meets hand-overs,
  // queueing and noise. Each task is planned against max_latency_ms / h with h stepping down from
  // this value (2, 1.5, 1.25, 1.1, 1) for the tasks whose tightened SLO no plan meets, until the
  // plan meets as many true SLOs as a plan made without headroom. 1 = no headroom.
  double latency_headroom = 2.0;
  // Also subtract each task's expected queueing wait under the plan (M/G/1 per processor, from the
  // rates and stage latencies) from its latency budget, re-planning until the waits settle
  // (at most 3 rounds).
  bool queueing_aware = true;
  // > 0: the wait subtracted is this quantile of the wait instead of its mean (an SLO is a bound
  // on every request, not on the average): the M/G/1 mean scaled by ln(rho / (1 - q)) / rho, the
  // exponential tail of an M/M/1 queue, on each processor (0 where rho <= 1 - q).
  double wait_quantile = 0.0;
  // Queueing-aware planning ranks its candidate plans by the requests expected to miss their SLO
  // as if every stage took this many times its (calibrated) latency: the serving calibration's
  // factors moved by up to 0.2 between runs, and a plan that loads a processor to 0.9 at the
  // factors measured is overloaded at factors 15% higher.
  double rank_slowdown = 1.2;
  // Verify on selection (runtime/accuracy_verification.h): each plan's chosen stitched variants
  // whose accuracy is estimated are measured, and a plan whose variant measures below its SLO is
  // made again. Not owned; none: plans are served on the profile's accuracies as they are.
  AccuracyVerification* verification = nullptr;
};

// UsageError unless wait_quantile is in [0, 1).
void CheckPlanningOptions(const PlanningOptions& options);

}  // namespace sparseloom::runtime
