#include "profile/accuracy_truth.h"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_reader.h"
#include "zoo/stitched_variant.h"

namespace sparseloom::profile {
namespace {

class Fnv1a {
 public:
  void Add(const std::string& bytes) {
    for (unsigned char c : bytes)
      Byte(c);
    Add8(bytes.size());  // length-delimited
  }
  void Add8(std::uint64_t value) {
    for (int i = 0; i < 8; ++i)
      Byte(static_cast<unsigned char>((value >> (8 * i)) & 0xff));
  }
  std::string Hex() const {
    char buffer[17];
    std::snprintf(buffer, sizeof(buffer), "%016llx", static_cast<unsigned long long>(hash_));
    return buffer;
  }

 private:
  void Byte(unsigned char c) {
    hash_ ^= c;
    hash_ *= 1099511628211ULL;
  }
  std::uint64_t hash_ = 14695981039346656037ULL;
};

std::string Exact(double value) {
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "%.17g", value);
  return buffer;
}

}  // namespace

std::string AccuracyTruthKey(const zoo::Zoo& zoo) {
  Fnv1a h;
  h.Add("sparseloom-accuracy-truth-" + std::to_string(kTruthVersion));
  h.Add(zoo.task);
  h.Add8(static_cast<std::uint64_t>(zoo.seed));
  h.Add8(static_cast<std::uint64_t>(zoo.num_stages));
  for (const zoo::Variant& v : zoo.variants) {
    h.Add(v.id);
    h.Add(Exact(v.accuracy));
    for (const zoo::StageInfo& stage : v.stages) {
      h.Add(stage.file_field);
      h.Add8(static_cast<std::uint64_t>(stage.bytes));
    }
  }
  h.Add8(static_cast<std::uint64_t>(zoo.validation_samples));
  return h.Hex();
}

double AccuracyTruth::Accuracy(std::int64_t s) const {
  return validation_samples > 0 ? static_cast<double>(correct.at(static_cast<std::size_t>(s))) /
                                      static_cast<double>(validation_samples)
                                : 0.0;
}

std::vector<double> AccuracyTruth::Accuracies() const {
  std::vector<double> out;
  out.reserve(correct.size());
  for (std::int64_t s = 0; s < num_stitched(); ++s)
    out.push_back(Accuracy(s));
  return out;
}

void AccuracyTruth::CheckShape() const {
  double expected = 1.0;
  for (int k = 0; k < num_stages; ++k)
    expected *= static_cast<double>(variant_ids.size());
  if (num_stages < 1 || variant_ids.empty() || static_cast<double>(correct.size()) != expected)
    throw UsageError("accuracy truth: expected V^K = " + Exact(expected) + " counts, got " +
                     std::to_string(correct.size()));
  if (validation_samples < 1)
    throw UsageError("accuracy truth: no validation samples");
  for (std::int64_t c : correct) {
    if (c < 0 || c > validation_samples)
      throw UsageError("accuracy truth: a count of " + std::to_string(c) + " correct out of " +
                       std::to_string(validation_samples) + " samples");
  }
}

AccuracyTruth MeasureAccuracyTruth(const zoo::Zoo& zoo, engine::Engine& engine,
                                   const ProfileOptions& options) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(zoo.StitchedCount()));
  for (std::size_t s = 0; s < all.size(); ++s)
    all[s] = static_cast<std::int64_t>(s);
  const AccuracyPass pass = MeasureStitchedAccuracy(zoo, engine, options, std::move(all));
  AccuracyTruth truth;
  truth.key = AccuracyTruthKey(zoo);
  truth.task = zoo.task;
  truth.num_stages = zoo.num_stages;
  for (const zoo::Variant& v : zoo.variants)
    truth.variant_ids.push_back(v.id);
  truth.validation_samples = pass.samples;
  truth.correct = pass.correct;  // every point, in order
  truth.source = "measured";
  truth.wall_s = pass.wall_s;
  truth.stage_passes = pass.stage_passes;
  truth.CheckShape();
  return truth;
}

AccuracyTruth TruthFromTable(const zoo::Zoo& zoo, const PerformanceTable& table) {
  std::vector<std::string> ids;
  for (const zoo::Variant& v : zoo.variants)
    ids.push_back(v.id);
  if (table.task != zoo.task || table.num_stages != zoo.num_stages || table.variant_ids != ids ||
      table.num_stitched() != zoo.StitchedCount())
    throw UsageError("accuracy truth: the table of task '" + table.task + "' (" + table.zoo_dir +
                     ") is not of zoo " + zoo.dir.string() + " (task, stages or variants differ)");
  const std::int64_t n = zoo.validation_samples;
  AccuracyTruth truth;
  truth.key = AccuracyTruthKey(zoo);
  truth.task = zoo.task;
  truth.num_stages = zoo.num_stages;
  truth.variant_ids = ids;
  truth.validation_samples = n;
  truth.source = "exhaustive table";
  std::vector<std::int64_t> all;
  for (std::int64_t s = 0; s < table.num_stitched(); ++s) {
    const auto us = static_cast<std::size_t>(s);
    if (!table.accuracy_measured[us])
      throw UsageError("accuracy truth: stitched variant " +
                       zoo::ToString(zoo, zoo::StitchedAt(zoo, s)) +
                       " is estimated in the table, not measured (needs an exhaustive table)");
    const double count = table.accuracy[us] * static_cast<double>(n);
    const auto rounded = static_cast<std::int64_t>(std::llround(count));
    if (std::abs(count - static_cast<double>(rounded)) > 1e-6)
      throw UsageError("accuracy truth: accuracy " + Exact(table.accuracy[us]) + " of " +
                       zoo::ToString(zoo, zoo::StitchedAt(zoo, s)) + " is no count out of " +
                       std::to_string(n) + " validation samples");
    truth.correct.push_back(rounded);
    all.push_back(s);
  }
  // The originals the builder measured on the same validation set must agree (half a sample).
  for (std::size_t v = 0; v < zoo.variants.size(); ++v) {
    const std::int64_t s = zoo::IndexOf(zoo, zoo::Original(zoo, v));
    if (std::abs(truth.Accuracy(s) - zoo.variants[v].accuracy) * static_cast<double>(n) > 0.5)
      throw UsageError("accuracy truth: the table's accuracy of '" + zoo.variants[v].id + "' (" +
                       Exact(truth.Accuracy(s)) + ") is not the manifest's (" +
                       Exact(zoo.variants[v].accuracy) + "): another zoo's table");
  }
  truth.stage_passes = StagePasses(zoo, all);
  truth.CheckShape();
  return truth;
}

void SaveAccuracyTruth(const AccuracyTruth& t, const std::filesystem::path& file) {
  t.CheckShape();
  const nlohmann::json out = {
      {"format", "sparseloom-accuracy-truth"},
      {"version", kTruthVersion},
      {"key", t.key},
      {"task", t.task},
      {"num_stages", t.num_stages},
      {"variant_ids", t.variant_ids},
      {"validation_samples", t.validation_samples},
      {"source", t.source},
      {"wall_s", t.wall_s},
      {"stage_passes", t.stage_passes},
      {"correct", t.correct},
  };
  WriteFileAtomically(file, out.dump(1) + "\n");
}

AccuracyTruth LoadAccuracyTruth(const std::filesystem::path& file) {
  nlohmann::json storage;
  const JsonField root = JsonField::ParseFile(file, storage);
  if (root.At("format").String() != "sparseloom-accuracy-truth")
    root.At("format").Fail("\"sparseloom-accuracy-truth\"");
  if (root.At("version").Int() != kTruthVersion)
    root.At("version").Fail(std::to_string(kTruthVersion));
  AccuracyTruth t;
  t.key = root.At("key").String();
  t.task = root.At("task").String();
  const JsonField k = root.At("num_stages");
  if (k.Int() < 1 || k.Int() > 64)
    k.Fail("a stage count in 1..64");
  t.num_stages = static_cast<int>(k.Int());
  const JsonField ids = root.At("variant_ids");
  for (std::size_t i = 0; i < ids.Size(); ++i)
    t.variant_ids.push_back(ids.At(i).String());
  if (t.variant_ids.empty())
    ids.Fail("at least one variant id");
  const JsonField n = root.At("validation_samples");
  if (n.Int() < 1)
    n.Fail("at least one validation sample");
  t.validation_samples = n.Int();
  t.source = root.At("source").String();
  t.wall_s = root.At("wall_s").Number();
  t.stage_passes = root.At("stage_passes").NonNegativeInt();
  double expected = 1.0;
  for (int i = 0; i < t.num_stages; ++i)
    expected *= static_cast<double>(t.variant_ids.size());
  const JsonField correct = root.At("correct");
  if (static_cast<double>(correct.Size()) != expected)
    correct.Fail("V^K = " + Exact(expected) + " counts", std::to_string(correct.Size()));
  for (std::size_t i = 0; i < correct.Size(); ++i) {
    const std::int64_t c = correct.At(i).NonNegativeInt();
    if (c > t.validation_samples)
      correct.At(i).Fail("a count of at most " + std::to_string(t.validation_samples) + " samples",
                         std::to_string(c));
    t.correct.push_back(c);
  }
  return t;
}

std::optional<AccuracyTruth> LoadFreshTruth(const std::filesystem::path& file,
                                            const std::string& key) {
  if (!std::filesystem::exists(file))
    return std::nullopt;
  AccuracyTruth truth = LoadAccuracyTruth(file);
  if (truth.key != key)
    return std::nullopt;
  return truth;
}

Interval WilsonInterval(std::int64_t correct, std::int64_t samples) {
  if (samples <= 0)
    return {0.0, 1.0};
  const double z = 1.96;
  const double n = static_cast<double>(samples);
  const double p = static_cast<double>(correct) / n;
  const double denominator = 1.0 + z * z / n;
  const double centre = (p + z * z / (2.0 * n)) / denominator;
  const double half = z * std::sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denominator;
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

}  // namespace sparseloom::profile
