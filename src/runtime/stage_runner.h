#pragma once
// How the pipeline runs one stage: the seam that fault injection (runtime/injected_fault.h, a test
// and demo hook) wraps, so that no serving option knows about faults.

#include <functional>
#include <span>

#include "engine/engine.h"
#include "runtime/request_flow.h"

namespace sparseloom::runtime {

// Runs `stage` for `work` on `processor` at `now_ms` on the executor's clock; throws to fail the
// processor.
using StageRunner = std::function<engine::Tensor(
    engine::LoadedStage& stage, const StageWork& work, int processor, double now_ms,
    const engine::Tensor& x, std::span<const engine::Tensor> side)>;

// stage.Run(x, side).
StageRunner RunAsIs();

// A processor that fails every stage it starts from `after_ms` on (runtime/injected_fault.h).
struct InjectedFault {
  int processor = -1;      // none when negative
  double after_ms = -1.0;  // on the executor's clock; never when negative
  bool active() const { return processor >= 0 && after_ms >= 0.0; }
};

}  // namespace sparseloom::runtime
