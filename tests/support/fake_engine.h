#pragma once
// An engine with no inference library: a stage adds a constant to its input, so a chain's output
// tells which stages ran, in which order. Lets chain and zoo logic be tested without model files.

#include <map>
#include <string>

#include "common/error.h"
#include "engine/engine.h"
#include "zoo/zoo.h"

namespace sparseloom::testing {

class FakeTensor final : public engine::Tensor::Impl {
 public:
  FakeTensor(std::vector<std::int64_t> shape, double value)
      : shape_(std::move(shape)), value_(value) {}
  std::vector<std::int64_t> Shape() const override { return shape_; }
  engine::DType Type() const override { return engine::DType::kFloat32; }
  double value() const { return value_; }

 private:
  std::vector<std::int64_t> shape_;
  double value_;
};

inline double ValueOf(const engine::Tensor& t) {
  return dynamic_cast<const FakeTensor&>(t.impl()).value();
}

inline engine::Tensor MakeFake(std::vector<std::int64_t> shape, double value) {
  return engine::Tensor(std::make_shared<const FakeTensor>(std::move(shape), value));
}

// Stage files are named "<offset>.stage": running adds <offset> to the input's value.
class FakeEngine final : public engine::Engine {
 public:
  std::string Name() const override { return "fake"; }

  std::unique_ptr<engine::LoadedStage> LoadStage(const engine::StageLoadOptions& options) override {
    ++loads;
    return std::make_unique<Stage>(options.file, std::stod(options.file.stem().string()),
                                   options.signature.output.shape);
  }
  engine::TensorDict LoadTensorDict(const std::filesystem::path& file) override {
    throw EngineError("fake engine cannot read " + file.string());
  }
  engine::Tensor SliceBatch(const engine::Tensor& t, std::int64_t begin,
                            std::int64_t end) override {
    auto shape = t.Shape();
    shape[0] = end - begin;
    return MakeFake(shape, ValueOf(t));
  }
  engine::Tensor Filled(const engine::TensorSpec& spec, std::int64_t batch, double value) override {
    auto shape = spec.shape;
    shape[0] = batch;
    return MakeFake(shape, value);
  }
  std::vector<std::int64_t> ArgmaxLastDim(const engine::Tensor& t) override {
    return std::vector<std::int64_t>(static_cast<std::size_t>(t.BatchSize()),
                                     static_cast<std::int64_t>(ValueOf(t)));
  }
  std::vector<std::int64_t> ToInt64(const engine::Tensor& t) override {
    return std::vector<std::int64_t>(static_cast<std::size_t>(t.BatchSize()),
                                     static_cast<std::int64_t>(ValueOf(t)));
  }
  double MaxAbsDiff(const engine::Tensor& a, const engine::Tensor& b) override {
    return std::abs(ValueOf(a) - ValueOf(b));
  }
  // A fake tensor is one value: the host tensor's first float (0 when it has none) going in, every
  // element of a float32 buffer of its shape coming out.
  engine::Tensor FromHost(const engine::HostTensor& host) override {
    double value = 0.0;
    if (host.dtype == engine::DType::kFloat32 && host.bytes >= sizeof(float))
      value = static_cast<const float*>(host.data)[0];
    return MakeFake(host.shape, value);
  }
  engine::HostTensor ToHost(const engine::Tensor& t) override {
    std::int64_t n = 1;
    for (std::int64_t d : t.Shape())
      n *= d;
    auto values = std::make_shared<std::vector<float>>(static_cast<std::size_t>(n),
                                                       static_cast<float>(ValueOf(t)));
    engine::HostTensor host;
    host.shape = t.Shape();
    host.data = values->data();
    host.bytes = values->size() * sizeof(float);
    host.owner = std::move(values);
    return host;
  }

  int loads = 0;

 private:
  class Stage final : public engine::LoadedStage {
   public:
    Stage(std::filesystem::path file, double offset, std::vector<std::int64_t> out_shape)
        : file_(std::move(file)), offset_(offset), out_shape_(std::move(out_shape)) {}
    engine::Tensor Run(const engine::Tensor& x, std::span<const engine::Tensor>) override {
      auto shape = out_shape_;
      shape[0] = x.BatchSize();
      return MakeFake(shape, ValueOf(x) + offset_);
    }
    std::int64_t ResidentBytes() const override { return 100; }
    const std::filesystem::path& File() const override { return file_; }

   private:
    std::filesystem::path file_;
    double offset_;
    std::vector<std::int64_t> out_shape_;
  };
};

// A zoo held in memory: V variants x K stages; stage k of variant v adds 10^(K-k) * (v+1).
inline zoo::Zoo MakeFakeZoo(int variants, int stages) {
  zoo::Zoo z;
  z.dir = "/fake";
  z.task = "fake";
  z.num_stages = stages;
  z.input = {"x", engine::DType::kFloat32, {-1, 4}};
  for (int k = 0; k + 1 < stages; ++k)
    z.boundaries.push_back({"b", engine::DType::kFloat32, {-1, 4}});
  z.output = {"y", engine::DType::kFloat32, {-1, 2}};
  for (int v = 0; v < variants; ++v) {
    zoo::Variant variant;
    variant.id = "v";  // appended, not "v" + ...: GCC 12 -Wrestrict false positive (PR 105651)
    variant.id += std::to_string(v);
    for (int k = 1; k <= stages; ++k) {
      zoo::StageInfo s;
      s.index = k;
      double offset = (v + 1);
      for (int p = k; p < stages; ++p)
        offset *= 10;
      s.file = std::to_string(static_cast<long long>(offset)) + ".stage";
      variant.stages.push_back(s);
    }
    z.variants.push_back(variant);
  }
  return z;
}

}  // namespace sparseloom::testing
