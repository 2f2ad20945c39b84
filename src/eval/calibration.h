#pragma once
// Serving calibration for `sparseloom run` (docs/runtime.md, "Serving calibration"): the tables'
// hand-over costs and stage latencies replaced by what this host serves at, measured or given,
// and the stitch margin of the stitched variants that are not originals. Tasks that read the same
// table share its profile, so each table is changed once, by its first task's figure.

#include <cstddef>
#include <string>
#include <vector>

#include "eval/task_inputs.h"
#include "runtime/latency_calibration.h"
#include "runtime/serving.h"

namespace sparseloom::eval {

// Per task: the first task that reads the same table (itself when none before it does).
std::vector<std::size_t> FirstTaskOfTable(const Inputs& in);

struct HandoverCalibration {
  double idle_ms = 0.0;   // the slowest wake-up of an idle worker, measured now
  double table_ms = 0.0;  // the tables' largest hand-over (a dispatch to a busy worker)
};

// The table's hand-over cost is a back-to-back dispatch to a busy worker; a request mostly meets
// an idle one, whose wake-up costs more (much more on a virtual machine). Raises every table's
// hand-over to the idle wake-up measured on `in.setup`.
HandoverCalibration CalibrateHandovers(Inputs& in);

// --latency-scale: one factor for every task or one per task (tasks that read the same table
// must agree). Empty text: none given, an empty result. UsageError naming the option otherwise.
std::vector<double> GivenLatencyScale(const std::string& text, const Inputs& in,
                                      const std::vector<runtime::ServedTask>& tasks);

// Serves one calibration episode on `server` (every task in order, `seconds` a phase, the task
// file's SLOs, SparseLoom's plans) and returns per task how much longer its requests' stages took
// than the tables say in the last phase, all tasks present. Tasks that read the same table get
// the factor of the first of them.
runtime::LatencyScale MeasureLatencyScale(runtime::Server& server, const Inputs& in,
                                          const std::vector<runtime::ServedTask>& tasks,
                                          runtime::ServeOptions serve, double seconds);

// Scales every table once, by the factor of the first task that reads it
// (runtime::ScaleStageLatencies).
void ApplyLatencyScale(Inputs& in, const std::vector<double>& per_task);

// Per task, the stitch margin: `margin` when >= 0, else its table's latency estimator error
// (MAPE; 0 when the table has none).
std::vector<double> StitchMargins(const Inputs& in, double margin);

// Sets every table's stitch margin once, to its first task's (runtime::SetStitchMargin).
void ApplyStitchMargin(Inputs& in, const std::vector<double>& per_task);

}  // namespace sparseloom::eval
