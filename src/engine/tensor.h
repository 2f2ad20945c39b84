#pragma once
// Tensors as the rest of SparseLoom sees them: an opaque, cheaply copied handle whose contents
// only an engine understands. Keeps every inference library behind engine/.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sparseloom::engine {

enum class DType { kFloat32, kBFloat16, kInt64, kInt32, kBool, kOther };

std::string ToString(DType dtype);
// Parses a manifest dtype name ("float32", "int64", "bool", ...); throws UsageError if unknown.
DType ParseDType(const std::string& name);

// What a tensor must look like: dimension 0 is the batch and is written -1 (dynamic).
struct TensorSpec {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<std::int64_t> shape;

  // True when `shape` matches, treating -1 in the spec as any size.
  bool Accepts(const std::vector<std::int64_t>& actual_shape) const;
  bool operator==(const TensorSpec&) const = default;
};

std::string ShapeToString(const std::vector<std::int64_t>& shape);

class Tensor {
 public:
  // Engines derive from Impl to carry their own tensor type.
  class Impl {
   public:
    virtual ~Impl() = default;
    virtual std::vector<std::int64_t> Shape() const = 0;
    virtual DType Type() const = 0;
  };

  Tensor() = default;
  explicit Tensor(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

  bool Defined() const { return impl_ != nullptr; }
  std::vector<std::int64_t> Shape() const;
  DType Type() const;
  std::int64_t BatchSize() const;  // Shape()[0]
  const Impl& impl() const;

 private:
  std::shared_ptr<const Impl> impl_;
};

// Dense row-major bytes on the host, kept alive by `owner`: how tensors cross the application API
// (include/sparseloom/runtime.h) in both directions without a copy.
struct HostTensor {
  DType dtype = DType::kFloat32;
  std::vector<std::int64_t> shape;
  std::shared_ptr<const void> owner;
  const void* data = nullptr;
  std::size_t bytes = 0;
};

// Bytes of one element of `dtype` (UsageError for kOther).
std::size_t ElementBytes(DType dtype);

// Named tensors, e.g. a validation set {"input", "attention_mask", "labels"}.
using TensorDict = std::map<std::string, Tensor>;

}  // namespace sparseloom::engine
