#pragma once
// The two estimators of docs/profiler.md, trained with XGBoost on the measured sample:
// stitched-variant accuracy from per-stage features and single-substitution accuracies, and
// stitched-chain latency per placement from measured per-stage latencies and hand-over costs.
// Both learn a correction to an additive model (sum of single-substitution drops; sum of stage
// latencies and hand-overs), so with few measurements they fall back to that model.
// Pure functions of measured figures: no engine, no model files.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "profile/gradient_boosting.h"
#include "profile/performance_table.h"
#include "zoo/stitched_variant.h"
#include "zoo/zoo.h"

namespace sparseloom::profile {

struct AccuracyTraining {
  std::size_t reference = 0;                 // the variant single substitutions are made into
  std::map<std::int64_t, double> measured;   // stitched index -> measured accuracy
  std::vector<std::int64_t> representative;  // measured points drawn at random (for the error)
};

struct Estimate {
  std::vector<double> value;     // one per point asked for
  std::vector<double> baseline;  // the additive model's value for the same points
  EstimatorError error;  // cross-validated on the representative points; names the model chosen
};

// How single-substitution accuracies combine (docs/profiler.md): drops add up, multiply (as
// fractions of the accuracy above chance), or add up in log-odds of the accuracy above chance.
enum class AccuracyBase { kAdditive, kMultiplicative, kLogit };

// A candidate accuracy model: a base, optionally corrected by XGBoost trained on its residual.
struct AccuracyModel {
  AccuracyBase base = AccuracyBase::kLogit;
  bool boosted = true;
};
std::string ToString(const AccuracyModel& model);
std::vector<AccuracyModel> AccuracyModels();  // every candidate

// 1 / number of classes of the zoo's output (its last dimension); 0 when it has none.
double ChanceAccuracy(const zoo::Zoo& zoo);

// The measured set must hold every original variant and every single-stage substitution into
// `reference` (UsageError naming the first missing one otherwise). Every candidate of `only` (all
// of AccuracyModels() when empty) is cross-validated on the representative points; the best one
// estimates.
Estimate EstimateAccuracy(const zoo::Zoo& zoo, const AccuracyTraining& training,
                          const std::vector<std::int64_t>& points, const BoostingOptions& options,
                          const std::vector<AccuracyModel>& only = {});

// Accuracy features of stitched variant s (names: AccuracyFeatureNames).
std::vector<float> AccuracyFeatures(const zoo::Zoo& zoo, const AccuracyTraining& training,
                                    const zoo::StitchedVariant& s);
std::vector<std::string> AccuracyFeatureNames(int num_stages);
// acc(reference) + Σ_k (acc(reference with stage k from v_k) - acc(reference)).
double AdditiveAccuracy(const zoo::Zoo& zoo, const AccuracyTraining& training,
                        const zoo::StitchedVariant& s);

// (stitched index, placement index) as in PerformanceTable::latency_ms.
using ChainPoint = std::pair<std::int64_t, std::int64_t>;

struct LatencyTraining {
  std::map<ChainPoint, double> measured;  // whole-chain median latency, ms
};

// `table` supplies the per-stage latencies, hand-over costs and shape (its accuracy and latency
// vectors are not read).
Estimate EstimateLatency(const zoo::Zoo& zoo, const PerformanceTable& table,
                         const LatencyTraining& training, const std::vector<ChainPoint>& points,
                         const BoostingOptions& options);
std::vector<float> LatencyFeatures(const zoo::Zoo& zoo, const PerformanceTable& table,
                                   const ChainPoint& point);
std::vector<std::string> LatencyFeatureNames(int num_stages);

}  // namespace sparseloom::profile
