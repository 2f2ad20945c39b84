#pragma once
// The public DType and the engine's, one to one (kOther has no public name).

#include "engine/tensor.h"
#include "sparseloom/runtime.h"

namespace sparseloom::api {

engine::DType Internal(DType dtype);
DType Public(engine::DType dtype);  // EngineError for kOther

}  // namespace sparseloom::api
