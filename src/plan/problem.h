#pragma once
// What the planner is given (shared/DESIGN.md, "Formal problem"): per task a profile of its zoo
// on this processor setup, an SLO and a request rate. Produced by the profiler from measured and
// estimated figures, or written by hand in tests; no model files or inference library needed.

#include <cstdint>
#include <string>
#include <vector>

namespace sparseloom::plan {

// Everything the planner knows of one task's zoo on one processor setup.
// Indices: stage k in 0..K-1, variant v in 0..V-1, processor p in 0..P-1, stitched variant s in
// 0..V^K-1 in mixed-radix order with stage 0 the most significant digit (zoo::StitchedAt).
struct TaskProfile {
  std::string task;
  int num_stages = 0;                     // K
  std::vector<std::string> variant_ids;   // V
  std::vector<std::string> processors;    // P processor names
  std::vector<double> stage_latency_ms;   // [(k * V + v) * P + p]: batch-1 median latency
  std::vector<std::int64_t> stage_bytes;  // [k * V + v]: resident weight bytes of the stage
  std::vector<double> accuracy;           // [s]: measured or estimated, in [0, 1]
  std::vector<double> handover_ms;        // [p * P + q]: cost of handing a boundary from p to q
  // [s]: measured/estimated stitched latency minus the sum of its stages on one processor (casts,
  // caches); empty means 0. Added to every placement of s.
  std::vector<double> stitch_gap_ms;

  int num_variants() const { return static_cast<int>(variant_ids.size()); }
  int num_processors() const { return static_cast<int>(processors.size()); }
};

struct Slo {
  double min_accuracy = 0.0;    // in [0, 1]
  double max_latency_ms = 0.0;  // > 0
};

}  // namespace sparseloom::plan
