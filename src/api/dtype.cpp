#include "api/dtype.h"

#include "common/error.h"

namespace sparseloom::api {

DType Public(engine::DType dtype) {
  switch (dtype) {
    case engine::DType::kFloat32:
      return DType::kFloat32;
    case engine::DType::kBFloat16:
      return DType::kBFloat16;
    case engine::DType::kInt64:
      return DType::kInt64;
    case engine::DType::kInt32:
      return DType::kInt32;
    case engine::DType::kBool:
      return DType::kBool;
    case engine::DType::kOther:
      break;
  }
  throw EngineError("an output tensor of a dtype the API does not know");
}

engine::DType Internal(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return engine::DType::kFloat32;
    case DType::kBFloat16:
      return engine::DType::kBFloat16;
    case DType::kInt64:
      return engine::DType::kInt64;
    case DType::kInt32:
      return engine::DType::kInt32;
    case DType::kBool:
      return engine::DType::kBool;
  }
  return engine::DType::kOther;
}

}  // namespace sparseloom::api
