#include <cstring>
#include <stdexcept>
#include <utility>

#include "api/dtype.h"
#include "engine/tensor.h"
#include "sparseloom/runtime.h"

namespace sparseloom {
namespace {

template <typename T>
constexpr DType DTypeOf();
template <>
constexpr DType DTypeOf<float>() {
  return DType::kFloat32;
}
template <>
constexpr DType DTypeOf<std::int64_t>() {
  return DType::kInt64;
}
template <>
constexpr DType DTypeOf<std::int32_t>() {
  return DType::kInt32;
}
template <>
constexpr DType DTypeOf<std::uint8_t>() {
  return DType::kBool;
}

std::int64_t ElementsOf(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0)
      throw std::invalid_argument("tensor shape: expected sizes >= 0, got " + std::to_string(d));
    n *= d;
  }
  return n;
}

}  // namespace

std::string ToString(DType dtype) {
  return engine::ToString(api::Internal(dtype));
}

std::size_t ElementBytes(DType dtype) {
  return engine::ElementBytes(api::Internal(dtype));
}

Tensor Tensor::View(DType dtype, std::vector<std::int64_t> shape, std::shared_ptr<const void> owner,
                    const void* data, std::size_t bytes) {
  const std::size_t expected = static_cast<std::size_t>(ElementsOf(shape)) * ElementBytes(dtype);
  if (bytes != expected || data == nullptr)
    throw std::invalid_argument("tensor of " + ToString(dtype) + " with " +
                                std::to_string(ElementsOf(shape)) + " elements: expected " +
                                std::to_string(expected) + " bytes, got " + std::to_string(bytes) +
                                (data == nullptr ? " (no data)" : ""));
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.owner_ = std::move(owner);
  t.data_ = data;
  t.bytes_ = bytes;
  return t;
}

template <typename T>
Tensor Tensor::Of(std::vector<std::int64_t> shape, const std::vector<T>& values) {
  if (static_cast<std::int64_t>(values.size()) != ElementsOf(shape))
    throw std::invalid_argument("tensor: " + std::to_string(values.size()) +
                                " values for a shape of " + std::to_string(ElementsOf(shape)) +
                                " elements");
  auto owned = std::make_shared<std::vector<T>>(values);
  const void* data = owned->data();
  return View(DTypeOf<T>(), std::move(shape), std::move(owned), data ? data : owned.get(),
              values.size() * sizeof(T));
}

std::int64_t Tensor::elements() const {
  return ElementsOf(shape_);
}

template <typename T>
std::span<const T> Tensor::values() const {
  if (dtype_ != DTypeOf<T>())
    throw std::invalid_argument("tensor of " + ToString(dtype_) + ": read as " +
                                ToString(DTypeOf<T>()));
  return {static_cast<const T*>(data_), bytes_ / sizeof(T)};
}

template Tensor Tensor::Of<float>(std::vector<std::int64_t>, const std::vector<float>&);
template Tensor Tensor::Of<std::int64_t>(std::vector<std::int64_t>,
                                         const std::vector<std::int64_t>&);
template Tensor Tensor::Of<std::int32_t>(std::vector<std::int64_t>,
                                         const std::vector<std::int32_t>&);
template Tensor Tensor::Of<std::uint8_t>(std::vector<std::int64_t>,
                                         const std::vector<std::uint8_t>&);
template std::span<const float> Tensor::values<float>() const;
template std::span<const std::int64_t> Tensor::values<std::int64_t>() const;
template std::span<const std::int32_t> Tensor::values<std::int32_t>() const;
template std::span<const std::uint8_t> Tensor::values<std::uint8_t>() const;

}  // namespace sparseloom
