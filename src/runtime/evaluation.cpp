#include "runtime/evaluation.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace sparseloom::runtime {
namespace {

engine::Tensor Require(const engine::TensorDict& dict, const std::filesystem::path& file,
                       const engine::TensorSpec& spec, const std::string& key) {
  auto it = dict.find(key);
  if (it == dict.end())
    throw InputError(file.string(), key, "a tensor named '" + key + "'", "missing");
  const engine::Tensor& t = it->second;
  if (t.Type() != spec.dtype || !spec.Accepts(t.Shape())) {
    throw InputError(file.string(), key,
                     ToString(spec.dtype) + " " + engine::ShapeToString(spec.shape),
                     ToString(t.Type()) + " " + engine::ShapeToString(t.Shape()));
  }
  return t;
}

LabelledSet LoadInputs(const zoo::Zoo& zoo, engine::Engine& engine,
                       const std::filesystem::path& file, engine::TensorDict& dict) {
  dict = engine.LoadTensorDict(file);
  LabelledSet set;
  set.input = Require(dict, file, zoo.input, "input");
  set.size = set.input.BatchSize();
  for (const auto& spec : zoo.side_inputs) {
    set.side.push_back(Require(dict, file, spec, spec.name));
    if (set.side.back().BatchSize() != set.size) {
      throw InputError(file.string(), spec.name, std::to_string(set.size) + " samples (as input)",
                       std::to_string(set.side.back().BatchSize()));
    }
  }
  return set;
}

}  // namespace

LabelledSet LoadValidationSet(const zoo::Zoo& zoo, engine::Engine& engine) {
  engine::TensorDict dict;
  LabelledSet set = LoadInputs(zoo, engine, zoo.validation_file, dict);
  engine::TensorSpec label_spec{"labels", engine::DType::kInt64, {-1}};
  set.labels = engine.ToInt64(Require(dict, zoo.validation_file, label_spec, "labels"));
  if (static_cast<std::int64_t>(set.labels.size()) != set.size) {
    throw InputError(zoo.validation_file.string(), "labels",
                     std::to_string(set.size) + " labels (one per input)",
                     std::to_string(set.labels.size()));
  }
  if (set.size != zoo.validation_samples) {
    throw InputError(zoo.validation_file.string(), "input",
                     std::to_string(zoo.validation_samples) +
                         " samples (validation.num_samples in the manifest)",
                     std::to_string(set.size));
  }
  return set;
}

LabelledSet LoadReferenceSet(const zoo::Zoo& zoo, engine::Engine& engine) {
  engine::TensorDict dict;
  LabelledSet set = LoadInputs(zoo, engine, zoo.reference_file, dict);
  for (const auto& variant : zoo.variants) {
    const std::string key = "output/" + variant.id;
    set.extra.emplace(key, Require(dict, zoo.reference_file, zoo.output, key));
  }
  return set;
}

double EvaluateAccuracy(const StitchedChain& chain, engine::Engine& engine, const LabelledSet& set,
                        std::int64_t batch_size, std::int64_t limit) {
  if (set.labels.empty())
    throw UsageError("accuracy needs a labelled set");
  const std::int64_t n = limit > 0 ? std::min(limit, set.size) : set.size;
  std::int64_t correct = 0;
  std::vector<engine::Tensor> side(set.side.size());
  for (std::int64_t begin = 0; begin < n; begin += batch_size) {
    const std::int64_t end = std::min(n, begin + batch_size);
    for (std::size_t i = 0; i < side.size(); ++i)
      side[i] = engine.SliceBatch(set.side[i], begin, end);
    auto predicted =
        engine.ArgmaxLastDim(chain.Run(engine.SliceBatch(set.input, begin, end), side));
    for (std::int64_t i = begin; i < end; ++i) {
      correct +=
          predicted[static_cast<std::size_t>(i - begin)] == set.labels[static_cast<std::size_t>(i)];
    }
  }
  return n == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(n);
}

LatencyStats MeasureLatency(const StitchedChain& chain, engine::Engine& engine,
                            const LabelledSet& set, int runs, int warmup) {
  const auto k = static_cast<std::size_t>(chain.num_stages());
  std::vector<std::vector<double>> per_stage(k);
  std::vector<double> totals;
  std::vector<double> stage_ms(k);
  std::vector<engine::Tensor> side(set.side.size());
  for (int r = -warmup; r < runs; ++r) {
    const std::int64_t i = (r + warmup) % std::max<std::int64_t>(1, set.size);
    for (std::size_t s = 0; s < side.size(); ++s)
      side[s] = engine.SliceBatch(set.side[s], i, i + 1);
    chain.RunTimed(engine.SliceBatch(set.input, i, i + 1), side, stage_ms);
    if (r < 0)
      continue;
    double total = 0.0;
    for (std::size_t s = 0; s < k; ++s) {
      per_stage[s].push_back(stage_ms[s]);
      total += stage_ms[s];
    }
    totals.push_back(total);
  }
  LatencyStats stats;
  stats.runs = runs;
  for (const auto& samples : per_stage) {
    stats.stage_median_ms.push_back(Median(samples));
    stats.stage_p90_ms.push_back(Percentile(samples, 0.9));
  }
  stats.total_median_ms = Median(totals);
  stats.total_p90_ms = Percentile(totals, 0.9);
  return stats;
}

double MaxReferenceError(ZooStages& stages, std::size_t variant, const LabelledSet& reference) {
  const zoo::Zoo& zoo = stages.zoo();
  zoo::StitchedVariant whole;
  whole.variant_of_stage.assign(static_cast<std::size_t>(zoo.num_stages), variant);
  StitchedChain chain(stages, whole);
  engine::Tensor out = chain.Run(reference.input, reference.side);
  return stages.engine().MaxAbsDiff(out, reference.extra.at("output/" + zoo.variants[variant].id));
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty())
    throw UsageError("percentile of no samples");
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double Median(std::vector<double> values) {
  if (values.empty())
    throw UsageError("median of no samples");
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace sparseloom::runtime
