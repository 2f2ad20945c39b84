#pragma once
// Gradient-boosted regression trees through XGBoost's C API (the paper's estimator). The only
// code that includes XGBoost; every call's return code is checked and a failure is an EngineError
// carrying XGBoost's message.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sparseloom::profile {

// Row-major float features.
struct FeatureMatrix {
  std::size_t cols = 0;
  std::vector<float> values;

  std::size_t rows() const { return cols == 0 ? 0 : values.size() / cols; }
  void AddRow(std::span<const float> row);
};

struct BoostingOptions {
  int rounds = 200;
  int max_depth = 3;
  double learning_rate = 0.05;
  double min_child_weight = 1.0;
  double subsample = 1.0;
  double lambda = 1.0;
  int seed = 0;
};

class GradientBoostedTrees {
 public:
  // Trains on `x` (one row per sample) against `y`. Throws UsageError on mismatched sizes.
  static GradientBoostedTrees Train(const FeatureMatrix& x, std::span<const float> y,
                                    const BoostingOptions& options);
  ~GradientBoostedTrees();
  GradientBoostedTrees(GradientBoostedTrees&& other) noexcept;
  GradientBoostedTrees& operator=(GradientBoostedTrees&& other) noexcept;
  GradientBoostedTrees(const GradientBoostedTrees&) = delete;
  GradientBoostedTrees& operator=(const GradientBoostedTrees&) = delete;

  std::vector<double> Predict(const FeatureMatrix& x) const;

  // The model in XGBoost's JSON format, and back.
  std::string Save() const;
  static GradientBoostedTrees Load(const std::string& model);

 private:
  explicit GradientBoostedTrees(void* booster) : booster_(booster) {}
  void* booster_ = nullptr;  // BoosterHandle
};

}  // namespace sparseloom::profile
