#pragma once
// The profiler's output for one task on one processor setup (docs/profiler.md): per-stage
// latencies, hand-over costs, and the accuracy and latency of every stitched variant, each marked
// measured or estimated, with the estimators' expected error. Persisted as JSON keyed by a hash of
// the zoo and the processor setup, so a changed zoo or setup is never served a stale table.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "plan/problem.h"
#include "profile/processor_setup.h"
#include "zoo/zoo.h"

namespace sparseloom::profile {

// Bumped whenever what the profiler measures or how it estimates changes: old tables go stale.
// 4: stage bytes are measured allocations (engine.h, ResidentBytes), not counted tensors.
inline constexpr const char* kProfilerVersion = "4";
inline constexpr int kTableVersion = 1;
inline constexpr const char* kTableFile = "performance_table.json";

// A table is about 30 bytes per stitched variant and placement (240 KB for 10 variants, 3 stages,
// 2 processors); 64 MiB holds about 2 million of them (10 variants, 4 stages, 4 processors).
inline constexpr std::uintmax_t kMaxTableBytes = std::uintmax_t{64} << 20;

// Hex hash (64-bit FNV-1a) of the profiler version, the zoo manifest's bytes, every stage file's
// path and content hash (the SHA-256 the manifest records and LoadZoo checked), the validation and
// reference sets' hashes, and each processor's name, device, cores and threads. Not a security
// hash itself: it tells a stale table from a fresh one; the SHA-256s make a changed file a stale
// table, not a fresh one.
std::string ProfileKey(const zoo::Zoo& zoo, const ProcessorSetup& processors);

// Expected error of an estimator, from k-fold cross-validation on the measured sample.
struct EstimatorError {
  std::string metric;  // "mae" (accuracy, in [0,1] units) or "mape" (latency, fraction)
  double value = 0.0;
  int samples = 0;    // measured points it was trained and cross-validated on
  std::string model;  // the candidate model chosen by that cross-validation
  // Accuracy: the chosen model's held-out estimate minus the measured accuracy on each randomly
  // drawn point (signed; what `value` averages the magnitude of). Empty in tables made before
  // they were kept, and for latency.
  std::vector<double> residuals = {};
};

// The margin an estimated accuracy is lowered by so that the true accuracy is at least the
// estimate less the margin with probability `coverage` (split conformal, one-sided, on the
// cross-validated residuals r_i = estimate - measured of n drawn points): the ceil((n + 1) *
// coverage)-th smallest r_i (the largest when that rank passes n), and never below 0.
// `coverage` 0: no margin. UsageError when coverage is outside [0, 1) or there are no residuals.
double ConformalMargin(const std::vector<double>& residuals, double coverage);

// Estimated against measured on stitched variants the estimators never saw (`--exhaustive` only).
struct HeldOutCheck {
  int accuracy_points = 0;
  double accuracy_mae = 0.0;           // estimator, [0,1] units
  double accuracy_baseline_mae = 0.0;  // sum of single-substitution drops
  int latency_points = 0;
  double latency_mape = 0.0;           // estimator, fraction
  double latency_baseline_mape = 0.0;  // sum of stage latencies + hand-overs
};

// Wall seconds per phase.
struct ProfilingTime {
  double stages_s = 0.0;      // per-stage latency on every processor, hand-over costs
  double chains_s = 0.0;      // the sample of whole stitched chains
  double accuracy_s = 0.0;    // the accuracy sample
  double estimators_s = 0.0;  // training, cross-validation, prediction
  double exhaustive_s = 0.0;  // every stitched variant measured (`--exhaustive` only)
  double Estimated() const { return stages_s + chains_s + accuracy_s + estimators_s; }
};

struct PerformanceTable {
  std::string key;  // ProfileKey
  std::string profiler_version = kProfilerVersion;
  std::string task;
  std::string zoo_dir;
  int num_stages = 0;                    // K
  std::vector<std::string> variant_ids;  // V
  ProcessorSetup processors;             // P
  bool exhaustive = false;               // every accuracy and latency below is measured

  // [(k * V + v) * P + p]: batch-1 latency of stage k of variant v on processor p.
  std::vector<double> stage_latency_ms;      // median
  std::vector<double> stage_latency_p90_ms;  // spread
  std::vector<std::int64_t> stage_bytes;     // [k * V + v]: resident weight bytes
  std::vector<double> handover_ms;           // [p * P + q]; 0 on the diagonal

  // [s], s in zoo::StitchedAt order.
  std::vector<double> accuracy;
  std::vector<std::uint8_t> accuracy_measured;  // 1: measured on the validation set
  // [s * P^K + placement], placement in mixed radix over P with stage 1 most significant.
  std::vector<double> latency_ms;
  std::vector<std::uint8_t> latency_measured;

  EstimatorError accuracy_error;
  EstimatorError latency_error;
  std::optional<HeldOutCheck> held_out;
  ProfilingTime time;

  int num_variants() const { return static_cast<int>(variant_ids.size()); }
  int num_processors() const { return static_cast<int>(processors.size()); }
  std::int64_t num_stitched() const;    // V^K
  std::int64_t num_placements() const;  // P^K
  double StageLatency(int k, int v, int p) const;
  // Σ stage latencies + Σ hand-overs of stitched variant s under placement (the additive model).
  double AdditiveLatency(std::int64_t s, std::int64_t placement) const;
  std::vector<int> PlacementAt(std::int64_t placement) const;  // processor of each stage
  // Lowest latency over placements of s, and which placement gives it.
  double BestLatency(std::int64_t s, std::int64_t* placement = nullptr) const;

  // Throws UsageError when a vector's size does not match K, V and P.
  void CheckShape() const;
};

// Writes the table as JSON, atomically.
void SavePerformanceTable(const PerformanceTable& table, const std::filesystem::path& file);

// Reads a table; a missing, truncated or malformed file is an InputError naming the file and field.
PerformanceTable LoadPerformanceTable(const std::filesystem::path& file);

// The table at `file` when it exists and was made for `key`; nothing when there is none or it is
// stale (another zoo, processor setup or profiler version). A corrupt file is an InputError.
std::optional<PerformanceTable> LoadFreshTable(const std::filesystem::path& file,
                                               const std::string& key);

// Whether a fresh table already holds the ground truth `sparseloom profile` was asked for: any
// table when none was asked; with `exhaustive`, one checked against a ground truth (held_out) that
// measured every accuracy, or, with `latency_only`, any checked one.
bool HoldsGroundTruth(const PerformanceTable& table, bool exhaustive, bool latency_only);

// What the planner consumes. stitch_gap_ms[s] is the mean over placements of
// latency - (Σ stages + Σ hand-overs), so the planner's additive model reproduces the table on
// average over placements.
plan::TaskProfile ToTaskProfile(const PerformanceTable& table);

// Indices of the stitched variants on the accuracy/latency Pareto front (best placement each):
// none is both slower and less accurate than another. Sorted by latency.
std::vector<std::int64_t> ParetoFront(const PerformanceTable& table);

}  // namespace sparseloom::profile
