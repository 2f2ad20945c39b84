#pragma once
// Measuring a stitched variant for real: accuracy on the zoo's validation set, batch-1 latency
// per stage, and agreement with the builder's PyTorch reference outputs.

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/stitched_chain.h"

namespace sparseloom::runtime {

// Inputs in the zoo's order (input, then side inputs) plus labels or reference outputs.
struct LabelledSet {
  engine::Tensor input;
  std::vector<engine::Tensor> side;
  std::vector<std::int64_t> labels;  // empty for the reference set
  engine::TensorDict extra;          // the reference set's "output/<variant>" tensors
  std::int64_t size = 0;
};

LabelledSet LoadValidationSet(const zoo::Zoo& zoo, engine::Engine& engine);
LabelledSet LoadReferenceSet(const zoo::Zoo& zoo, engine::Engine& engine);

// Top-1 accuracy in [0, 1] over the first `limit` samples (all when limit <= 0).
double EvaluateAccuracy(const StitchedChain& chain, engine::Engine& engine, const LabelledSet& set,
                        std::int64_t batch_size, std::int64_t limit = 0);

struct LatencyStats {
  int runs = 0;
  std::vector<double> stage_median_ms;
  std::vector<double> stage_p90_ms;
  double total_median_ms = 0.0;
  double total_p90_ms = 0.0;
};

// Batch-1 latency over `runs` requests cycling through the set, after `warmup` unmeasured runs.
LatencyStats MeasureLatency(const StitchedChain& chain, engine::Engine& engine,
                            const LabelledSet& set, int runs, int warmup);

// Largest |stitched (v,..,v) output - PyTorch output of v| over the reference inputs.
double MaxReferenceError(ZooStages& stages, std::size_t variant, const LabelledSet& reference);

double Median(std::vector<double> values);
double Percentile(std::vector<double> values, double q);  // q in [0, 1], nearest rank

}  // namespace sparseloom::runtime
