#pragma once
// Fault injection for tests and demos (`sparseloom run --fail-processor`): a failing-stage wrapper
// around how an executor runs or charges a stage, so that one processor fails every stage it
// starts from a given time on. The executors themselves know nothing of it: the fault reaches
// them as a stage that throws, as a real one would.

#include <cstddef>

#include "runtime/stage_runner.h"
#include "runtime/virtual_executor.h"

namespace sparseloom::runtime {

// UsageError when the fault names a processor out of range.
void CheckFault(const InjectedFault& fault, std::size_t num_processors);
// `inner`, except that the fault's processor throws EngineError("injected fault") from after_ms.
StageRunner FailingStages(StageRunner inner, InjectedFault fault);
StageCostModel FailingStages(StageCostModel inner, InjectedFault fault);

}  // namespace sparseloom::runtime
