#pragma once
// The accuracy ground truth of one zoo (docs/profiler.md, "Accuracy ground truth"): every stitched
// variant's correct predictions on the whole validation set, measured once (`sparseloom truth`,
// which `make results` runs for the demo zoos) and kept next to the performance table. It is what
// `run`, `run --simulate` and `bench` judge accuracy SLOs against, and what plans made from the
// estimated table are checked against; the planner never plans on it. It depends on the zoo alone
// (not on the processors), so its key hashes what decides a stitched variant's predictions.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "profile/performance_table.h"
#include "profile/processor_setup.h"
#include "profile/profiler.h"
#include "zoo/zoo.h"

namespace sparseloom::profile {

inline constexpr int kTruthVersion = 1;
inline constexpr const char* kTruthFile = "accuracy_truth.json";

// Hex hash (64-bit FNV-1a) of the zoo's task, seed, K, every variant's id and manifest accuracy,
// every stage file's manifest path and size, and the validation set's sample count. Not a security
// hash: it tells a truth measured on another zoo (rebuilt, retrained, other variants) from a fresh
// one.
std::string AccuracyTruthKey(const zoo::Zoo& zoo);

struct AccuracyTruth {
  std::string key;  // AccuracyTruthKey
  std::string task;
  int num_stages = 0;
  std::vector<std::string> variant_ids;
  std::int64_t validation_samples = 0;
  std::vector<std::int64_t> correct;  // [s], zoo::StitchedAt order: correct predictions
  // How it was made: "measured" (every stitched variant run, prefix-shared) or "exhaustive table"
  // (the accuracies of a `sparseloom profile --exhaustive` table of the same zoo).
  std::string source;
  double wall_s = 0.0;            // the measurement's wall time (0 when taken from a table)
  std::int64_t stage_passes = 0;  // stage runs over the whole validation set it took

  std::int64_t num_stitched() const { return static_cast<std::int64_t>(correct.size()); }
  double Accuracy(std::int64_t s) const;  // correct / validation_samples
  // Every stitched variant's accuracy, in [0, 1].
  std::vector<double> Accuracies() const;
  // UsageError unless correct has V^K entries, each in [0, validation_samples].
  void CheckShape() const;
};

// Measures every stitched variant of `zoo` on its whole validation set on every processor of
// options.processors at once (the profiler's prefix-shared accuracy pass, MeasureStitchedAccuracy).
AccuracyTruth MeasureAccuracyTruth(const zoo::Zoo& zoo, engine::Engine& engine,
                                   const ProfileOptions& options);

// The truth a table of the same zoo holds when every accuracy in it is measured (an exhaustive
// table). UsageError when the table has an estimated accuracy or was made for another zoo
// (task, variants or stitched count differ).
AccuracyTruth TruthFromTable(const zoo::Zoo& zoo, const PerformanceTable& table);

// Writes the truth as JSON, atomically.
void SaveAccuracyTruth(const AccuracyTruth& truth, const std::filesystem::path& file);
// Reads a truth file; a missing, truncated or malformed one is an InputError naming the field.
AccuracyTruth LoadAccuracyTruth(const std::filesystem::path& file);
// The truth at `file` when it exists and was made for `key`; nothing when there is none or it is
// stale. A corrupt file is an InputError.
std::optional<AccuracyTruth> LoadFreshTruth(const std::filesystem::path& file,
                                            const std::string& key);

// Wilson score interval of `correct` successes in `samples` at 95% (z = 1.96): [low, high].
struct Interval {
  double low = 0.0;
  double high = 0.0;
};
Interval WilsonInterval(std::int64_t correct, std::int64_t samples);

}  // namespace sparseloom::profile
