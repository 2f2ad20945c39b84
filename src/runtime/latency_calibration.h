#pragma once
// Serving calibration: how much longer the stages take when serving than the profile says.
//
// The profiler times each stage in runs that follow one another on an otherwise idle processor
// (docs/profiler.md); a serving processor interleaves the stages of several tasks, hands requests
// between processors and wakes up for each of them. On this host the stages of the four demo
// tasks took 1.5-1.8x their profiled latency when served (docs/runtime.md, "Serving
// calibration"). `sparseloom run` therefore serves a short calibration episode first and gives
// the planners (and the SLO grid) the latencies its last phase, all tasks present, measured.
#include <cstdint>
#include <vector>

#include "plan/problem.h"
#include "runtime/request_flow.h"

namespace sparseloom::runtime {

struct LatencyScale {
  // Per task: the median, over the task's completed requests that kept their stage spans, of the
  // time their stages ran (on-demand loads excluded) over the profile's latency of the same
  // stages on the same processors; 1 for a task with no such request.
  std::vector<double> scale;
  std::vector<std::int64_t> requests;  // per task: how many requests gave it
};

// `profiles[t]` is task t's profile (records name tasks by index). UsageError on a record whose
// task, stage, variant or processor the profiles do not have.
LatencyScale ServingLatencyScale(const std::vector<RequestRecord>& records,
                                 const std::vector<const plan::TaskProfile*>& profiles);

// Multiplies every stage latency of `profile` by `scale` and drops its stitch gaps: the factor
// was measured on whole requests, so it already holds what a chain adds to its stages (the
// table's per-variant gaps are estimates, 10-30% off on the demo zoos). Hand-overs unchanged.
// UsageError unless scale is finite and > 0.
void ScaleStageLatencies(plan::TaskProfile& profile, double scale);

// What one factor cannot hold is how a stitched chain differs from the chains the profile timed:
// each stage was timed after the previous stage of its own variant, so an original chain's sum is
// a measurement, while a stitched chain's transitions (an int8 stage after an fp32 one, say) are
// an estimate whose error the latency estimator's cross-validation gives (`margin`, a fraction:
// the table's latency MAPE). Choosing the fastest of a thousand estimates picks the ones
// estimated too low; so this sets the stitch gap of every stitched variant that is not an
// original to `margin` x its stages' sum on its fastest processor, and of an original to 0: a
// stitched variant is chosen for its speed only when it beats the originals by more than the
// estimate's error. UsageError unless margin is finite and >= 0.
void SetStitchMargin(plan::TaskProfile& profile, double margin);

}  // namespace sparseloom::runtime
