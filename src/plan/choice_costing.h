#pragma once
// The cost of every (stitched variant, placement) choice of one task, in bulk: ChainCostOf's and
// CostOf's arithmetic, summed in the same order so the figures are the same to the last bit (a
// test checks), with what depends on the placement alone (hand-overs, queueing waits) and on the
// stitched variant alone (bytes, accuracy, gap, its stage latencies) worked out once. Internal to
// plan/: the joint search and the plan's reasons cost through it.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "plan/evaluation.h"

namespace sparseloom::plan {

// What a choice's figures share with every other placement of its stitched variant.
struct StitchedFigures {
  std::size_t index = 0;  // position in TaskSpace::stitched
  std::int64_t s = 0;
  std::int64_t bytes = 0;
  double accuracy = 0.0;
  bool accurate = false;  // AccuracyBound(s) >= the SLO's min_accuracy
};

// Calls `on_stitched(figures)` for every stitched variant of `space`, in order; when it returns
// true, each placement follows, in order: `wants(figures, latency_ms)`, and when that returns true,
// `on_choice(figures, placement_index, latency_ms, loads)` with `loads` the P rate-weighted busy
// times CostOf would give. The loads are worked out only for the choices wanted: a caller that
// keeps only the choices on one side of the latency limit skips most of them.
template <typename OnStitched, typename Wants, typename OnChoice>
void CostChoices(const PlanTask& task, const TaskSpace& space, OnStitched&& on_stitched,
                 Wants&& wants, OnChoice&& on_choice) {
  const TaskProfile& profile = task.profile.get();
  const std::size_t K = static_cast<std::size_t>(profile.num_stages);
  const std::size_t P = static_cast<std::size_t>(profile.num_processors());
  const std::size_t placements = space.placements.size();
  // Per placement: each stage's processor, the hand-overs (summed in stage order, as ChainCostOf
  // does) and the queueing waits.
  std::vector<int> processor(placements * K);
  std::vector<double> handovers(placements, 0.0);
  std::vector<double> waits(placements);
  // The processors each placement uses, each once, with its stages in stage order
  // ([used_begin[pi], used_begin[pi + 1]) of used, each processor's stages from group_begin[u] on):
  // each load is summed in registers, and the other processors' loads are 0 (rate * 0 / 1000).
  std::vector<std::size_t> used_begin(placements + 1, 0);
  std::vector<std::size_t> used;
  std::vector<std::size_t> group_begin;
  std::vector<std::size_t> group_stage;  // [i]: the offset k * P + p of a stage on its processor
  for (std::size_t pi = 0; pi < placements; ++pi) {
    const Placement& placement = space.placements[pi];
    for (std::size_t k = 0; k < K; ++k) {
      const std::size_t p = static_cast<std::size_t>(placement[k]);
      if (std::find(used.begin() + static_cast<std::ptrdiff_t>(used_begin[pi]), used.end(), p) !=
          used.end())
        continue;
      used.push_back(p);
      group_begin.push_back(group_stage.size());
      for (std::size_t j = k; j < K; ++j)
        if (static_cast<std::size_t>(placement[j]) == p)
          group_stage.push_back(j * P + p);
    }
    used_begin[pi + 1] = used.size();
    for (std::size_t k = 0; k < K; ++k) {
      processor[pi * K + k] = placement[k];
      if (k > 0 && placement[k - 1] != placement[k])
        handovers[pi] += profile.HandoverMs(placement[k - 1], placement[k]);
    }
    waits[pi] = EntryWaitMs(task, placement.data(), K);
  }
  const bool has_gap = !profile.stitch_gap_ms.empty();
  const double rate = task.rate_per_s;
  std::vector<int> digits(K);
  std::vector<double> stage_ms(K * P);  // [k * P + p]: stage k of this stitched variant on p
  std::vector<double> loads(P);
  StitchedFigures figures;
  for (std::size_t i = 0; i < space.stitched.size(); ++i) {
    const std::int64_t s = space.stitched[i];
    DigitsOf(profile, s, digits);
    figures.index = i;
    figures.s = s;
    figures.bytes = 0;
    for (std::size_t k = 0; k < K; ++k)
      figures.bytes += profile.StageBytes(static_cast<int>(k), digits[k]);
    figures.accuracy = profile.accuracy[static_cast<std::size_t>(s)];
    figures.accurate = profile.AccuracyBound(s) >= task.slo.min_accuracy;
    if (!on_stitched(static_cast<const StitchedFigures&>(figures)))
      continue;
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t p = 0; p < P; ++p)
        stage_ms[k * P + p] =
            profile.StageLatencyMs(static_cast<int>(k), digits[k], static_cast<int>(p));
    const double stitch_gap = has_gap ? profile.StitchGapMs(s) : 0.0;
    for (std::size_t pi = 0; pi < placements; ++pi) {
      const int* on = &processor[pi * K];
      double stages = 0.0;
      for (std::size_t k = 0; k < K; ++k)
        stages += stage_ms[k * P + static_cast<std::size_t>(on[k])];
      const std::size_t last = static_cast<std::size_t>(on[K - 1]);
      const double gap = has_gap ? std::max(stitch_gap, -stage_ms[(K - 1) * P + last]) : 0.0;
      const double latency = stages + handovers[pi] + waits[pi] + gap;
      if (!wants(static_cast<const StitchedFigures&>(figures), latency))
        continue;
      std::fill(loads.begin(), loads.end(), 0.0);
      for (std::size_t u = used_begin[pi]; u < used_begin[pi + 1]; ++u) {
        double load = 0.0;
        const std::size_t end = u + 1 < used.size() ? group_begin[u + 1] : group_stage.size();
        for (std::size_t g = group_begin[u]; g < end; ++g)
          load += stage_ms[group_stage[g]];
        if (used[u] == last)
          load += gap;
        loads[used[u]] = rate * load / 1000.0;
      }
      on_choice(static_cast<const StitchedFigures&>(figures), pi, latency,
                static_cast<const double*>(loads.data()));
    }
  }
}

}  // namespace sparseloom::plan
