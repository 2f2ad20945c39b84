#include "engine/tensor.h"

#include "common/error.h"

namespace sparseloom::engine {

std::string ToString(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kBFloat16:
      return "bfloat16";
    case DType::kInt64:
      return "int64";
    case DType::kInt32:
      return "int32";
    case DType::kBool:
      return "bool";
    case DType::kOther:
      return "other";
  }
  return "other";
}

DType ParseDType(const std::string& name) {
  for (DType d : {DType::kFloat32, DType::kBFloat16, DType::kInt64, DType::kInt32, DType::kBool}) {
    if (ToString(d) == name)
      return d;
  }
  throw UsageError("unknown dtype '" + name +
                   "' (expected float32, bfloat16, int64, int32 or bool)");
}

std::size_t ElementBytes(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
    case DType::kInt32:
      return 4;
    case DType::kBFloat16:
      return 2;
    case DType::kInt64:
      return 8;
    case DType::kBool:
      return 1;
    case DType::kOther:
      break;
  }
  throw UsageError("a tensor of dtype 'other' has no element size");
}

bool TensorSpec::Accepts(const std::vector<std::int64_t>& actual_shape) const {
  if (actual_shape.size() != shape.size())
    return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] != -1 && shape[i] != actual_shape[i])
      return false;
  }
  return true;
}

std::string ShapeToString(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

const Tensor::Impl& Tensor::impl() const {
  if (!impl_)
    throw EngineError("use of an undefined tensor");
  return *impl_;
}

std::vector<std::int64_t> Tensor::Shape() const {
  return impl().Shape();
}
DType Tensor::Type() const {
  return impl().Type();
}

std::int64_t Tensor::BatchSize() const {
  auto shape = Shape();
  if (shape.empty())
    throw EngineError("a scalar tensor has no batch dimension");
  return shape[0];
}

}  // namespace sparseloom::engine
