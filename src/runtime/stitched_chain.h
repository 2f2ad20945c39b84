#pragma once
// Real execution of one stitched variant: its K loaded stages run one after another on the
// calling thread. Stages come from a ZooStages cache so that evaluating many stitched variants
// loads each (variant, stage) once.

#include <map>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "zoo/stitched_variant.h"
#include "zoo/zoo.h"

namespace sparseloom::runtime {

// Every stage of a zoo that has been loaded on one processor, loaded on first use.
class ZooStages {
 public:
  ZooStages(const zoo::Zoo& zoo, engine::Engine& engine, engine::ProcessorConfig processor);

  std::shared_ptr<engine::LoadedStage> Get(std::size_t variant, int stage);
  std::int64_t ResidentBytes() const;
  const zoo::Zoo& zoo() const { return zoo_; }
  engine::Engine& engine() const { return engine_; }

 private:
  const zoo::Zoo& zoo_;
  engine::Engine& engine_;
  engine::ProcessorConfig processor_;
  std::map<std::pair<std::size_t, int>, std::shared_ptr<engine::LoadedStage>> loaded_;
};

class StitchedChain {
 public:
  StitchedChain(ZooStages& stages, zoo::StitchedVariant stitched);

  engine::Tensor Run(const engine::Tensor& input, std::span<const engine::Tensor> side) const;
  // Same, recording each stage's wall time in milliseconds into `stage_ms` (size K).
  engine::Tensor RunTimed(const engine::Tensor& input, std::span<const engine::Tensor> side,
                          std::span<double> stage_ms) const;

  const zoo::StitchedVariant& stitched() const { return stitched_; }
  int num_stages() const { return static_cast<int>(stages_.size()); }

 private:
  zoo::StitchedVariant stitched_;
  std::vector<std::shared_ptr<engine::LoadedStage>> stages_;
};

}  // namespace sparseloom::runtime
