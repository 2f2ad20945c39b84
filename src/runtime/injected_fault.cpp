#include "runtime/injected_fault.h"

#include <string>
#include <utility>

#include "common/error.h"

namespace sparseloom::runtime {
namespace {

bool Fails(const InjectedFault& fault, int processor, double now_ms) {
  return fault.active() && processor == fault.processor && now_ms >= fault.after_ms;
}

}  // namespace

StageRunner RunAsIs() {
  return [](engine::LoadedStage& stage, const StageWork&, int, double, const engine::Tensor& x,
            std::span<const engine::Tensor> side) { return stage.Run(x, side); };
}

void CheckFault(const InjectedFault& fault, std::size_t num_processors) {
  if (fault.processor >= static_cast<int>(num_processors))
    throw UsageError("pipeline: fault_processor " + std::to_string(fault.processor) +
                     " is out of range (" + std::to_string(num_processors) + " processors)");
}

StageRunner FailingStages(StageRunner inner, InjectedFault fault) {
  return [inner = std::move(inner), fault](engine::LoadedStage& stage, const StageWork& work,
                                           int processor, double now_ms, const engine::Tensor& x,
                                           std::span<const engine::Tensor> side) {
    if (Fails(fault, processor, now_ms))
      throw EngineError("injected fault");
    return inner(stage, work, processor, now_ms, x, side);
  };
}

StageCostModel FailingStages(StageCostModel inner, InjectedFault fault) {
  StageCostModel out;
  out.load_ms = std::move(inner.load_ms);
  out.stage_ms = [stage_ms = std::move(inner.stage_ms), fault](const StageWork& work, int processor,
                                                               double now_ms) {
    if (Fails(fault, processor, now_ms))
      throw EngineError("injected fault");
    return stage_ms(work, processor, now_ms);
  };
  return out;
}

}  // namespace sparseloom::runtime
