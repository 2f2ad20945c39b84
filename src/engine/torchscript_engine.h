#pragma once
// The TorchScript engine (Debian's libtorch 1.13): runs stage files written by tools/zoo.
// Per DESIGN.md: quantized engine onednn, inference mode, explicit threads per processor,
// warm-up on load.

#include "engine/engine.h"

namespace sparseloom::engine {

class TorchScriptEngine final : public Engine {
 public:
  TorchScriptEngine();

  std::string Name() const override { return "torchscript"; }
  std::unique_ptr<LoadedStage> LoadStage(const StageLoadOptions& options) override;
  TensorDict LoadTensorDict(const std::filesystem::path& file) override;
  Tensor SliceBatch(const Tensor& t, std::int64_t begin, std::int64_t end) override;
  Tensor Filled(const TensorSpec& spec, std::int64_t batch, double value) override;
  std::vector<std::int64_t> ArgmaxLastDim(const Tensor& t) override;
  std::vector<std::int64_t> ToInt64(const Tensor& t) override;
  double MaxAbsDiff(const Tensor& a, const Tensor& b) override;
  Tensor FromHost(const HostTensor& host) override;
  HostTensor ToHost(const Tensor& t) override;
};

}  // namespace sparseloom::engine
