#include "runtime/stitched_chain.h"

#include <chrono>

#include "common/error.h"

namespace sparseloom::runtime {

ZooStages::ZooStages(const zoo::Zoo& zoo, engine::Engine& engine, engine::ProcessorConfig processor)
    : zoo_(zoo), engine_(engine), processor_(std::move(processor)) {}

std::shared_ptr<engine::LoadedStage> ZooStages::Get(std::size_t variant, int stage) {
  auto key = std::make_pair(variant, stage);
  auto it = loaded_.find(key);
  if (it != loaded_.end())
    return it->second;
  engine::StageLoadOptions options = zoo_.StageLoad(variant, stage);
  options.processor = processor_;
  std::shared_ptr<engine::LoadedStage> loaded = engine_.LoadStage(options);
  loaded_.emplace(key, loaded);
  return loaded;
}

std::int64_t ZooStages::ResidentBytes() const {
  std::int64_t total = 0;
  for (const auto& [key, stage] : loaded_)
    total += stage->ResidentBytes();
  return total;
}

StitchedChain::StitchedChain(ZooStages& stages, zoo::StitchedVariant stitched)
    : stitched_(std::move(stitched)) {
  if (stitched_.variant_of_stage.size() != static_cast<std::size_t>(stages.zoo().num_stages)) {
    throw UsageError("a stitched variant of " + std::to_string(stitched_.variant_of_stage.size()) +
                     " stages for a zoo of " + std::to_string(stages.zoo().num_stages));
  }
  for (std::size_t k = 0; k < stitched_.variant_of_stage.size(); ++k) {
    stages_.push_back(stages.Get(stitched_.variant_of_stage[k], static_cast<int>(k) + 1));
  }
}

engine::Tensor StitchedChain::Run(const engine::Tensor& input,
                                  std::span<const engine::Tensor> side) const {
  engine::Tensor x = input;
  for (const auto& stage : stages_)
    x = stage->Run(x, side);
  return x;
}

engine::Tensor StitchedChain::RunTimed(const engine::Tensor& input,
                                       std::span<const engine::Tensor> side,
                                       std::span<double> stage_ms) const {
  using Clock = std::chrono::steady_clock;
  engine::Tensor x = input;
  for (std::size_t k = 0; k < stages_.size(); ++k) {
    auto start = Clock::now();
    x = stages_[k]->Run(x, side);
    stage_ms[k] = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  }
  return x;
}

}  // namespace sparseloom::runtime
