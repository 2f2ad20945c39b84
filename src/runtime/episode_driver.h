#pragma once
// The one episode driver (DESIGN.md "Evaluation protocol"; docs/runtime.md): the tasks of an
// episode join the serving core one after another, each phase for a fixed time on the clock, and
// requests arrive (Poisson or closed loop) through the executor. The same code serves a real run
// (the pipeline and the steady clock) and a simulated one (the virtual executor and clock).

#include <cstdint>
#include <functional>
#include <vector>

#include "plan/planner.h"
#include "runtime/executor.h"
#include "runtime/phase_planning.h"
#include "runtime/planning_options.h"
#include "runtime/serving.h"
#include "runtime/serving_clock.h"
#include "runtime/workload.h"

namespace sparseloom::runtime {

struct EpisodeSeams {
  Executor& executor;
  ServingClock& clock;
  // Request `sample` of task t's input set (the simulator's requests carry no data).
  std::function<RequestInput(int task, std::int64_t sample)> make_input;
  std::vector<std::int64_t> set_sizes;  // per task: the input set the sample walk draws from
  PlanBook* ahead = nullptr;            // plans made ahead, or none
  // > 0: Poisson arrivals are submitted at this SCHED_FIFO priority where the process may (the
  // real executor's: above its workers', so that a request is submitted when it arrives instead
  // of when a busy or spinning worker leaves a core free). 0: the normal policy.
  int driver_priority = 0;
};

// Serves `episode` under `workload` on the seams' executor and clock (both started at 0 ms),
// each phase planned under `planning`, and reports it. The executor's callbacks are set here.
// Throws what a re-plan after a fault threw.
EpisodeReport DriveEpisode(const std::vector<ServedTask>& tasks, const EpisodeSeams& seams,
                           const plan::Planner& planner, const Episode& episode,
                           const WorkloadOptions& workload, const PlanningOptions& planning);

}  // namespace sparseloom::runtime
