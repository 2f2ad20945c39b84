#pragma once
// What the planner is given (shared/DESIGN.md, "Formal problem"): per task a profile of its zoo
// on this processor setup, an SLO and a request rate. Produced by the profiler from measured and
// estimated figures, or written by hand in tests; no model files or inference library needed.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sparseloom::plan {

// Everything the planner knows of one task's zoo on one processor setup.
// Indices: stage k in 0..K-1, variant v in 0..V-1, processor p in 0..P-1, stitched variant s in
// 0..V^K-1 in mixed-radix order with stage 0 the most significant digit (zoo::StitchedAt).
// The vectors are the data the builders fill (profile/, sim/, tests); readers use the accessors.
struct TaskProfile {
  std::string task;
  int num_stages = 0;                     // K
  std::vector<std::string> variant_ids;   // V
  std::vector<std::string> processors;    // P processor names
  std::vector<double> stage_latency_ms;   // [(k * V + v) * P + p]: batch-1 median latency
  std::vector<std::int64_t> stage_bytes;  // [k * V + v]: resident weight bytes of the stage
  std::vector<double> accuracy;           // [s]: measured or estimated, in [0, 1]
  // [s]: 1 when accuracy[s] was measured on the validation set, 0 when it is the estimator's;
  // empty: every accuracy is measured.
  std::vector<std::uint8_t> accuracy_measured;
  // What the planner takes off an estimated accuracy before holding it against min_accuracy: the
  // estimator's conformal margin (docs/profiler.md, "Planning on a lower bound"). Measured
  // accuracies need none. >= 0.
  double accuracy_margin = 0.0;
  std::vector<double> handover_ms;  // [p * P + q]: cost of handing a boundary from p to q
  // [s]: measured/estimated stitched latency minus the sum of its stages on one processor (casts,
  // caches); empty means 0. Charged to the last stage of every placement of s (ChainCostOf).
  std::vector<double> stitch_gap_ms;

  int num_variants() const { return static_cast<int>(variant_ids.size()); }
  int num_processors() const { return static_cast<int>(processors.size()); }

  // Positions in the vectors above.
  std::size_t StageLatencyIndex(int k, int v, int p) const {
    return (static_cast<std::size_t>(k) * static_cast<std::size_t>(num_variants()) +
            static_cast<std::size_t>(v)) *
               static_cast<std::size_t>(num_processors()) +
           static_cast<std::size_t>(p);
  }
  std::size_t StageIndex(int k, int v) const {
    return static_cast<std::size_t>(k) * static_cast<std::size_t>(num_variants()) +
           static_cast<std::size_t>(v);
  }
  // s of the stitched variant whose stage k is variant variant_of_stage[k].
  std::int64_t StitchedIndex(std::span<const int> variant_of_stage) const {
    std::int64_t s = 0;
    for (const int v : variant_of_stage)
      s = s * num_variants() + v;
    return s;
  }

  double StageLatencyMs(int k, int v, int p) const {
    return stage_latency_ms[StageLatencyIndex(k, v, p)];
  }
  std::int64_t StageBytes(int k, int v) const { return stage_bytes[StageIndex(k, v)]; }
  double HandoverMs(int p, int q) const {
    return handover_ms[static_cast<std::size_t>(p) * static_cast<std::size_t>(num_processors()) +
                       static_cast<std::size_t>(q)];
  }
  double StitchGapMs(std::int64_t s) const {
    return stitch_gap_ms.empty() ? 0.0 : stitch_gap_ms[static_cast<std::size_t>(s)];
  }
  bool AccuracyMeasured(std::int64_t s) const {
    return accuracy_measured.empty() || accuracy_measured[static_cast<std::size_t>(s)] != 0;
  }
  // The accuracy every planner holds against min_accuracy: the measured one, or the estimate less
  // accuracy_margin.
  double AccuracyBound(std::int64_t s) const {
    const double a = accuracy[static_cast<std::size_t>(s)];
    return AccuracyMeasured(s) ? a : a - accuracy_margin;
  }
};

// The time of one stitched variant placed on processors: the one cost rule of a placed chain, used
// by the planners, the phase planner's queueing waits, the SLO grid, the profiling-time model and
// the simulator (docs/planner.md).
//
// - Stage k computes for StageLatencyMs(k, v_k, p_k) on its processor p_k.
// - Stage k > 0 on another processor than stage k-1 is handed its input for HandoverMs(p_{k-1},
//   p_k); a stage after one on the same processor is handed nothing (the diagonal is not read).
// - The stitch gap g(s) is charged to the last stage, on its processor, with that stage's time
//   clamped at 0: the gap charged is max(g(s), -StageLatencyMs of the last stage). A negative gap
//   can shorten the last stage's computation away, never a hand-over or another stage.
// - The chain's latency is the stages' computation, plus the hand-overs, plus the gap charged.
//
// A processor's planned load counts the computation and the gap (compute_ms, and gap_ms on the
// last stage's processor); the simulator keeps the receiving processor busy for the hand-over too
// (BusyMs).
struct ChainCost {
  std::vector<double> compute_ms;   // [k]: StageLatencyMs(k, v_k, p_k)
  std::vector<double> handover_ms;  // [k]: the hand-over into stage k; 0 for stage 0
  double gap_ms = 0.0;              // the stitch gap charged to the last stage (see above)
  // Σ compute_ms + Σ handover_ms + queueing_ms + gap_ms, summed in that order (queueing_ms as
  // given to ChainCostOf).
  double total_ms = 0.0;

  // Stage k's time on its processor without its hand-over: compute_ms[k], plus gap_ms for the
  // last stage (so never below 0).
  double StageMs(std::size_t k) const {
    return k + 1 == compute_ms.size() ? compute_ms[k] + gap_ms : compute_ms[k];
  }
  // Stage k's time on its processor when that processor also receives the hand-over:
  // compute_ms[k] + handover_ms[k], plus gap_ms for the last stage.
  double BusyMs(std::size_t k) const {
    const double ms = compute_ms[k] + handover_ms[k];
    return k + 1 == compute_ms.size() ? ms + gap_ms : ms;
  }
};

// Fills `out` (reusing its storage) with the cost of stages variant_of_stage (K entries) placed on
// processors placement (K entries). `queueing_ms` is what the caller expects the chain to wait in
// queues (the planner's plan::EntryWaitMs; none for the simulator, whose event loop queues).
// Sizes are the caller's to check (plan::ValidateRequest does).
inline void ChainCostOf(const TaskProfile& profile, std::span<const int> variant_of_stage,
                        std::span<const int> placement, ChainCost& out, double queueing_ms = 0.0) {
  const std::size_t K = variant_of_stage.size();
  out.compute_ms.resize(K);
  out.handover_ms.resize(K);
  double stages_ms = 0.0;
  double handovers_ms = 0.0;
  for (std::size_t k = 0; k < K; ++k) {
    const int p = placement[k];
    const double ms = profile.StageLatencyMs(static_cast<int>(k), variant_of_stage[k], p);
    out.compute_ms[k] = ms;
    stages_ms += ms;
    const double handover =
        k > 0 && placement[k - 1] != p ? profile.HandoverMs(placement[k - 1], p) : 0.0;
    out.handover_ms[k] = handover;
    handovers_ms += handover;
  }
  out.gap_ms = 0.0;
  if (K > 0 && !profile.stitch_gap_ms.empty())
    out.gap_ms = std::max(profile.StitchGapMs(profile.StitchedIndex(variant_of_stage)),
                          -out.compute_ms[K - 1]);
  out.total_ms = stages_ms + handovers_ms + queueing_ms + out.gap_ms;
}

inline ChainCost ChainCostOf(const TaskProfile& profile, std::span<const int> variant_of_stage,
                             std::span<const int> placement, double queueing_ms = 0.0) {
  ChainCost out;
  ChainCostOf(profile, variant_of_stage, placement, out, queueing_ms);
  return out;
}

struct Slo {
  double min_accuracy = 0.0;    // in [0, 1]
  double max_latency_ms = 0.0;  // > 0
};

}  // namespace sparseloom::plan
