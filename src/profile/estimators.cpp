#include "profile/estimators.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include "common/error.h"

namespace sparseloom::profile {
namespace {

float PrecisionCode(zoo::Precision p) {
  switch (p) {
    case zoo::Precision::kFp32:
      return 0.0f;
    case zoo::Precision::kBf16:
      return 1.0f;
    case zoo::Precision::kInt8:
      return 2.0f;
  }
  return 0.0f;
}

float SparsityCode(zoo::SparsityKind k) {
  switch (k) {
    case zoo::SparsityKind::kNone:
      return 0.0f;
    case zoo::SparsityKind::kUnstructured:
      return 1.0f;
    case zoo::SparsityKind::kStructured:
      return 2.0f;
  }
  return 0.0f;
}

double Ratio(double a, double b) {
  return b > 0.0 ? a / b : 1.0;
}

double MeasuredAt(const zoo::Zoo& zoo, const AccuracyTraining& training,
                  const zoo::StitchedVariant& s) {
  auto it = training.measured.find(zoo::IndexOf(zoo, s));
  if (it == training.measured.end()) {
    throw UsageError("accuracy estimator: needs the measured accuracy of " + ToString(zoo, s) +
                     " (every original and every single substitution into '" +
                     zoo.variants[training.reference].id + "')");
  }
  return it->second;
}

// Single-substitution drops: acc(reference with stage k from v_k) - acc(reference).
std::vector<double> Drops(const zoo::Zoo& zoo, const AccuracyTraining& training,
                          const zoo::StitchedVariant& s, double reference_accuracy) {
  std::vector<double> drops;
  for (std::size_t k = 0; k < s.variant_of_stage.size(); ++k) {
    zoo::StitchedVariant single = zoo::Original(zoo, training.reference);
    single.variant_of_stage[k] = s.variant_of_stage[k];
    drops.push_back(MeasuredAt(zoo, training, single) - reference_accuracy);
  }
  return drops;
}

// Accuracy models built from the single-substitution accuracies alone (docs/profiler.md).
// Additive: drops add up. Multiplicative: each stage keeps a fraction of the accuracy above
// chance. Logit: drops add up in log-odds of the accuracy above chance, so several damaged
// stages approach chance instead of going below it.
double BaseAccuracy(AccuracyBase base, double chance, double ref,
                    const std::vector<double>& drops) {
  switch (base) {
    case AccuracyBase::kAdditive: {
      double total = ref;
      for (double d : drops)
        total += d;
      return total;
    }
    case AccuracyBase::kMultiplicative: {
      const double above = ref - chance;
      if (above <= 0.0)
        return ref;
      double total = above;
      for (double d : drops)
        total *= std::max(0.0, (above + d) / above);
      return chance + total;
    }
    case AccuracyBase::kLogit: {
      const auto logit = [chance](double a) {
        const double x = std::clamp((a - chance) / (1.0 - chance), 1e-4, 1.0 - 1e-4);
        return std::log(x / (1.0 - x));
      };
      const double ref_logit = logit(ref);
      double total = ref_logit;
      for (double d : drops)
        total += logit(ref + d) - ref_logit;
      return chance + (1.0 - chance) / (1.0 + std::exp(-total));
    }
  }
  return ref;
}

// Predictions for `eval_rows` by models that never saw them (k folds over eval_rows; the other
// rows always train), and the mean absolute error of `to_value(row, prediction)` against truth.
std::vector<double> HeldOutPredictions(const FeatureMatrix& x, const std::vector<float>& y,
                                       const std::vector<std::size_t>& eval_rows,
                                       const BoostingOptions& options) {
  const std::size_t folds = std::min<std::size_t>(5, eval_rows.size());
  std::vector<double> predicted(eval_rows.size());
  for (std::size_t f = 0; f < folds; ++f) {
    std::vector<char> held(x.rows(), 0);
    for (std::size_t j = f; j < eval_rows.size(); j += folds)
      held[eval_rows[j]] = 1;
    FeatureMatrix train, test;
    train.cols = test.cols = x.cols;
    std::vector<float> train_y;
    for (std::size_t i = 0; i < x.rows(); ++i) {
      if (held[i])
        continue;
      train.AddRow(std::span<const float>(x.values.data() + i * x.cols, x.cols));
      train_y.push_back(y[i]);
    }
    for (std::size_t j = f; j < eval_rows.size(); j += folds)
      test.AddRow(std::span<const float>(x.values.data() + eval_rows[j] * x.cols, x.cols));
    if (train_y.empty())
      throw UsageError("estimator: too few measured points to cross-validate");
    const auto p = GradientBoostedTrees::Train(train, train_y, options).Predict(test);
    std::size_t i = 0;
    for (std::size_t j = f; j < eval_rows.size(); j += folds)
      predicted[j] = p[i++];
  }
  return predicted;
}

}  // namespace

std::vector<std::string> AccuracyFeatureNames(int num_stages) {
  std::vector<std::string> names;
  for (int k = 1; k <= num_stages; ++k) {
    const std::string p = "stage" + std::to_string(k) + ".";
    for (const char* n : {"substitution_drop", "variant_drop", "precision", "sparsity_kind",
                          "sparsity_level", "nonzeros_ratio", "flops_ratio"})
      names.push_back(p + n);
  }
  for (int k = 1; k < num_stages; ++k)
    names.push_back("drop_product_" + std::to_string(k) + "_" + std::to_string(k + 1));
  for (const char* n :
       {"additive_accuracy", "multiplicative_accuracy", "logit_accuracy", "sum_drops", "min_drop",
        "substituted_stages", "distinct_variants", "same_variant_neighbours"})
    names.push_back(n);
  return names;
}

double AdditiveAccuracy(const zoo::Zoo& zoo, const AccuracyTraining& training,
                        const zoo::StitchedVariant& s) {
  const double ref = MeasuredAt(zoo, training, zoo::Original(zoo, training.reference));
  return BaseAccuracy(AccuracyBase::kAdditive, 0.0, ref, Drops(zoo, training, s, ref));
}

std::vector<float> AccuracyFeatures(const zoo::Zoo& zoo, const AccuracyTraining& training,
                                    const zoo::StitchedVariant& s) {
  const double ref = MeasuredAt(zoo, training, zoo::Original(zoo, training.reference));
  const std::vector<double> drops = Drops(zoo, training, s, ref);
  std::vector<float> f;
  double sum = 0.0, product = ref, min_drop = 0.0;
  int substituted = 0, same_neighbours = 0;
  for (std::size_t k = 0; k < drops.size(); ++k) {
    const std::size_t v = s.variant_of_stage[k];
    const zoo::StageInfo& info = zoo.variants[v].stages[k];
    const zoo::StageInfo& base = zoo.variants[training.reference].stages[k];
    f.push_back(static_cast<float>(drops[k]));
    f.push_back(static_cast<float>(MeasuredAt(zoo, training, zoo::Original(zoo, v)) - ref));
    f.push_back(PrecisionCode(info.precision));
    f.push_back(SparsityCode(info.sparsity_kind));
    f.push_back(static_cast<float>(info.sparsity_level));
    f.push_back(static_cast<float>(Ratio(double(info.nonzeros), double(base.nonzeros))));
    f.push_back(static_cast<float>(Ratio(double(info.flops), double(base.flops))));
    sum += drops[k];
    product *= ref > 0.0 ? std::max(0.0, 1.0 + drops[k] / ref) : 1.0;
    min_drop = std::min(min_drop, drops[k]);
    substituted += v != training.reference;
    if (k > 0)
      same_neighbours += v == s.variant_of_stage[k - 1];
  }
  for (std::size_t k = 0; k + 1 < drops.size(); ++k)
    f.push_back(static_cast<float>(drops[k] * drops[k + 1]));
  const std::set<std::size_t> distinct(s.variant_of_stage.begin(), s.variant_of_stage.end());
  f.push_back(static_cast<float>(ref + sum));
  f.push_back(static_cast<float>(product));
  f.push_back(
      static_cast<float>(BaseAccuracy(AccuracyBase::kLogit, ChanceAccuracy(zoo), ref, drops)));
  f.push_back(static_cast<float>(sum));
  f.push_back(static_cast<float>(min_drop));
  f.push_back(static_cast<float>(substituted));
  f.push_back(static_cast<float>(distinct.size()));
  f.push_back(static_cast<float>(same_neighbours));
  return f;
}

std::string ToString(const AccuracyModel& model) {
  std::string name;
  switch (model.base) {
    case AccuracyBase::kAdditive:
      name = "additive";
      break;
    case AccuracyBase::kMultiplicative:
      name = "multiplicative";
      break;
    case AccuracyBase::kLogit:
      name = "logit";
      break;
  }
  return model.boosted ? name + "+xgboost" : name;
}

std::vector<AccuracyModel> AccuracyModels() {
  std::vector<AccuracyModel> out;
  for (AccuracyBase base :
       {AccuracyBase::kAdditive, AccuracyBase::kMultiplicative, AccuracyBase::kLogit}) {
    out.push_back({base, false});
    out.push_back({base, true});
  }
  return out;
}

double ChanceAccuracy(const zoo::Zoo& zoo) {
  if (zoo.output.shape.size() < 2 || zoo.output.shape.back() < 2)
    return 0.0;
  return 1.0 / static_cast<double>(zoo.output.shape.back());
}

Estimate EstimateAccuracy(const zoo::Zoo& zoo, const AccuracyTraining& training,
                          const std::vector<std::int64_t>& points, const BoostingOptions& options,
                          const std::vector<AccuracyModel>& only) {
  const double chance = ChanceAccuracy(zoo);
  const double ref = MeasuredAt(zoo, training, zoo::Original(zoo, training.reference));
  const auto base_of = [&](AccuracyBase base, const zoo::StitchedVariant& s) {
    return BaseAccuracy(base, chance, ref, Drops(zoo, training, s, ref));
  };
  FeatureMatrix x;
  std::vector<double> truth;
  std::vector<zoo::StitchedVariant> rows;
  std::vector<std::size_t> eval_rows;
  std::vector<char> representative;  // per eval row: drawn at random (else an original)
  for (const auto& [index, accuracy] : training.measured) {
    rows.push_back(zoo::StitchedAt(zoo, index));
    x.AddRow(AccuracyFeatures(zoo, training, rows.back()));
    truth.push_back(accuracy);
    const bool drawn = std::find(training.representative.begin(), training.representative.end(),
                                 index) != training.representative.end();
    // Originals other than the reference are free test points for choosing a model: no base
    // model uses them (only the reference and the single substitutions).
    const bool original =
        rows.back().IsOriginal() && rows.back().variant_of_stage[0] != training.reference;
    if (drawn || original) {
      eval_rows.push_back(x.rows() - 1);
      representative.push_back(drawn ? 1 : 0);
    }
  }
  if (std::count(representative.begin(), representative.end(), 1) < 3) {
    // too few random points: cross-validate on everything measured
    eval_rows.clear();
    representative.clear();
    for (std::size_t i = 0; i < x.rows(); ++i) {
      eval_rows.push_back(i);
      representative.push_back(1);
    }
  }

  // Choosing the model, each point predicted by a model that never saw it (the single
  // substitutions always train). The base: lowest error on the random points plus the originals
  // (no base uses the originals). The XGBoost correction: kept only when it beats that base by
  // 10% on the random points alone (the originals leak their own accuracy into it through
  // `variant_drop`, and on 10-20 points a correction that merely fits noise can look better).
  const std::vector<AccuracyModel> candidates = only.empty() ? AccuracyModels() : only;
  struct Scored {
    AccuracyModel model;
    double error = 0.0;                  // random points and originals
    double representative_error = 0.0;   // random points alone
    std::vector<double> residuals = {};  // random points: held-out estimate - measured
  };
  int representative_count = 0;
  const auto score = [&](const AccuracyModel& candidate) {
    std::vector<double> base;
    std::vector<float> y;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      base.push_back(base_of(candidate.base, rows[r]));
      y.push_back(static_cast<float>(truth[r] - base.back()));
    }
    std::vector<double> held(eval_rows.size(), 0.0);
    if (candidate.boosted)
      held = HeldOutPredictions(x, y, eval_rows, options);
    Scored out{candidate};
    representative_count = 0;
    for (std::size_t j = 0; j < eval_rows.size(); ++j) {
      const std::size_t r = eval_rows[j];
      const double signed_error = std::clamp(base[r] + held[j], 0.0, 1.0) - truth[r];
      const double e = std::abs(signed_error);
      out.error += e;
      if (representative[j]) {
        out.representative_error += e;
        out.residuals.push_back(signed_error);
        ++representative_count;
      }
    }
    out.error /= static_cast<double>(eval_rows.size());
    out.representative_error /= std::max(1, representative_count);
    return out;
  };
  std::optional<Scored> best;
  for (const AccuracyModel& candidate : candidates) {
    if (candidate.boosted && candidates.size() > 1)
      continue;
    const Scored scored = score(candidate);
    if (!best || scored.error < best->error)
      best = scored;
  }
  for (const AccuracyModel& candidate : candidates) {
    if (!candidate.boosted || (candidates.size() > 1 && candidate.base != best->model.base))
      continue;
    const Scored scored = score(candidate);
    if (candidates.size() == 1 || scored.representative_error < 0.9 * best->representative_error)
      best = scored;
  }
  if (!best)
    throw UsageError("accuracy estimator: no candidate model");
  Estimate out;
  out.error = {"mae", best->representative_error, representative_count, ToString(best->model),
               best->residuals};

  FeatureMatrix query;
  std::vector<double> base;
  for (std::int64_t index : points) {
    const zoo::StitchedVariant s = zoo::StitchedAt(zoo, index);
    query.AddRow(AccuracyFeatures(zoo, training, s));
    base.push_back(base_of(best->model.base, s));
    out.baseline.push_back(std::clamp(base_of(AccuracyBase::kAdditive, s), 0.0, 1.0));
  }
  std::vector<double> residual(points.size(), 0.0);
  if (best->model.boosted) {
    std::vector<float> y;
    for (std::size_t r = 0; r < rows.size(); ++r)
      y.push_back(static_cast<float>(truth[r] - base_of(best->model.base, rows[r])));
    residual = GradientBoostedTrees::Train(x, y, options).Predict(query);
  }
  for (std::size_t i = 0; i < points.size(); ++i)
    out.value.push_back(std::clamp(base[i] + residual[i], 0.0, 1.0));
  return out;
}

std::vector<std::string> LatencyFeatureNames(int num_stages) {
  std::vector<std::string> names;
  for (int k = 1; k <= num_stages; ++k) {
    const std::string p = "stage" + std::to_string(k) + ".";
    for (const char* n : {"latency_ms", "latency_share", "precision", "log10_flops", "processor",
                          "precision_change", "processor_change"})
      names.push_back(p + n);
  }
  for (const char* n :
       {"additive_ms", "stages_ms", "handover_ms", "processor_changes", "distinct_variants"})
    names.push_back(n);
  return names;
}

std::vector<float> LatencyFeatures(const zoo::Zoo& zoo, const PerformanceTable& table,
                                   const ChainPoint& point) {
  const zoo::StitchedVariant s = zoo::StitchedAt(zoo, point.first);
  const std::vector<int> on = table.PlacementAt(point.second);
  const double additive = table.AdditiveLatency(point.first, point.second);
  double stages = 0.0;
  for (int k = 0; k < table.num_stages; ++k) {
    stages +=
        table.StageLatency(k, static_cast<int>(s.variant_of_stage[static_cast<std::size_t>(k)]),
                           on[static_cast<std::size_t>(k)]);
  }
  std::vector<float> f;
  int changes = 0;
  for (std::size_t k = 0; k < s.variant_of_stage.size(); ++k) {
    const zoo::StageInfo& info = zoo.variants[s.variant_of_stage[k]].stages[k];
    const double l =
        table.StageLatency(static_cast<int>(k), static_cast<int>(s.variant_of_stage[k]), on[k]);
    f.push_back(static_cast<float>(l));
    f.push_back(static_cast<float>(Ratio(l, stages)));
    f.push_back(PrecisionCode(info.precision));
    f.push_back(static_cast<float>(std::log10(1.0 + double(info.flops))));
    f.push_back(static_cast<float>(on[k]));
    const bool precision_change =
        k > 0 && zoo.variants[s.variant_of_stage[k - 1]].stages[k - 1].precision != info.precision;
    f.push_back(precision_change ? 1.0f : 0.0f);
    const bool processor_change = k > 0 && on[k] != on[k - 1];
    f.push_back(processor_change ? 1.0f : 0.0f);
    changes += processor_change;
  }
  const std::set<std::size_t> distinct(s.variant_of_stage.begin(), s.variant_of_stage.end());
  f.push_back(static_cast<float>(additive));
  f.push_back(static_cast<float>(stages));
  f.push_back(static_cast<float>(additive - stages));
  f.push_back(static_cast<float>(changes));
  f.push_back(static_cast<float>(distinct.size()));
  return f;
}

Estimate EstimateLatency(const zoo::Zoo& zoo, const PerformanceTable& table,
                         const LatencyTraining& training, const std::vector<ChainPoint>& points,
                         const BoostingOptions& options) {
  // Learn measured / additive - 1 (the relative stitching gap).
  FeatureMatrix x;
  std::vector<float> y;
  std::vector<double> truth, additive;
  std::vector<std::size_t> eval_rows;
  for (const auto& [point, ms] : training.measured) {
    x.AddRow(LatencyFeatures(zoo, table, point));
    additive.push_back(table.AdditiveLatency(point.first, point.second));
    truth.push_back(ms);
    y.push_back(static_cast<float>(ms / additive.back() - 1.0));
    eval_rows.push_back(x.rows() - 1);
  }
  if (eval_rows.size() < 2)
    throw UsageError("latency estimator: needs at least 2 measured chains");
  // Candidates: the additive model alone; scaled by the median measured/additive ratio (a chain
  // is slower than its stages timed alone: caches, dispatch); or corrected by XGBoost. The one
  // with the lowest cross-validated error estimates (on noisy chains a correction can only add
  // noise).
  const auto median_ratio = [&](const std::vector<std::size_t>& rows) {
    std::vector<double> ratios;
    for (std::size_t r : rows)
      ratios.push_back(1.0 + static_cast<double>(y[r]));
    std::sort(ratios.begin(), ratios.end());
    return ratios.empty() ? 1.0 : ratios[ratios.size() / 2];
  };
  const std::vector<double> held = HeldOutPredictions(x, y, eval_rows, options);
  const std::size_t folds = std::min<std::size_t>(5, eval_rows.size());
  double errors[3] = {0.0, 0.0, 0.0};  // additive, scaled, boosted
  for (std::size_t j = 0; j < eval_rows.size(); ++j) {
    const std::size_t r = eval_rows[j];
    std::vector<std::size_t> others;
    for (std::size_t i = 0; i < eval_rows.size(); ++i) {
      if (i % folds != j % folds)
        others.push_back(eval_rows[i]);
    }
    errors[0] += std::abs(additive[r] - truth[r]) / truth[r];
    errors[1] += std::abs(additive[r] * median_ratio(others) - truth[r]) / truth[r];
    errors[2] += std::abs(additive[r] * std::max(0.05, 1.0 + held[j]) - truth[r]) / truth[r];
  }
  const int best = static_cast<int>(std::min_element(errors, errors + 3) - errors);
  Estimate out;
  out.error = {"mape", errors[best] / static_cast<double>(eval_rows.size()),
               static_cast<int>(eval_rows.size()),
               best == 0   ? "additive"
               : best == 1 ? "additive*median_ratio"
                           : "additive+xgboost"};
  FeatureMatrix query;
  for (const ChainPoint& p : points) {
    query.AddRow(LatencyFeatures(zoo, table, p));
    out.baseline.push_back(table.AdditiveLatency(p.first, p.second));
  }
  std::vector<double> relative(points.size(), 0.0);
  if (best == 1)
    relative.assign(points.size(), median_ratio(eval_rows) - 1.0);
  if (best == 2)
    relative = GradientBoostedTrees::Train(x, y, options).Predict(query);
  for (std::size_t i = 0; i < points.size(); ++i)
    out.value.push_back(out.baseline[i] * std::max(0.05, 1.0 + relative[i]));
  return out;
}

}  // namespace sparseloom::profile
