#include "sim/profiling_model.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "sim/device_task_profile.h"

namespace sparseloom::sim {
namespace {

// K stages, V variants, P processors; stage (k, v) takes 1 + k + v ms on processor 0 and twice
// that on the others; hand-overs 0.5 ms.
plan::TaskProfile Profile(int K, int V, int P) {
  plan::TaskProfile p;
  p.task = std::string("task");  // move-assigned: GCC 12 -O3 warns falsely on a literal
  p.num_stages = K;
  // Names built by appending (GCC 12 warns falsely on "v" + std::to_string(v) here).
  for (int v = 0; v < V; ++v)
    p.variant_ids.push_back(std::string(1, 'v').append(std::to_string(v)));
  for (int q = 0; q < P; ++q)
    p.processors.push_back(std::string(1, 'p').append(std::to_string(q)));
  for (int k = 0; k < K; ++k)
    for (int v = 0; v < V; ++v)
      for (int q = 0; q < P; ++q)
        p.stage_latency_ms.push_back((1.0 + k + v) * (q == 0 ? 1.0 : 2.0));
  for (int a = 0; a < P; ++a)
    for (int b = 0; b < P; ++b)
      p.handover_ms.push_back(a == b ? 0.0 : 0.5);
  p.stage_bytes.assign(static_cast<std::size_t>(K * V), 1000);
  std::int64_t stitched = 1;
  for (int k = 0; k < K; ++k)
    stitched *= V;
  p.accuracy.assign(static_cast<std::size_t>(stitched), 0.5);
  return p;
}

ProfilingWork Work(const plan::TaskProfile& p, bool exhaustive) {
  const std::size_t kv = static_cast<std::size_t>(p.num_stages * p.num_variants());
  ProfilingWork w;
  w.accuracy_batch_ms.assign(kv, 10.0);
  w.load_ms.assign(kv * static_cast<std::size_t>(p.num_processors()), 20.0);
  w.validation_samples = 500;  // two batches of 250
  w.exhaustive = exhaustive;
  w.estimators_s = 3.0;
  return w;
}

TEST(ProfilingModel, ExhaustiveCountsEveryChainAndPrefix) {
  const plan::TaskProfile p = Profile(2, 2, 1);
  const ProfilingTimeModel m = ModelProfilingTime(p, Work(p, true));
  // 4 stages, 42 runs each: (1 + 2 + 2 + 3) ms x 42.
  const ProfilerDesign d;
  EXPECT_EQ(d.RunsPerStage(), 42);
  EXPECT_EQ(m.stage_runs, 4 * 42);
  EXPECT_NEAR(m.stages_s, 8.0 * 42 / 1000.0, 1e-12);
  EXPECT_NEAR(m.loads_s, 4 * 0.02, 1e-12);
  // Chains (one processor, no hand-over): v0v0 = 1+2, v0v1 = 1+3, v1v0 = 2+2, v1v1 = 2+3 → 16 ms.
  EXPECT_EQ(m.chains, 4);
  EXPECT_NEAR(m.chains_s, 16.0 * 11 / 1000.0, 1e-12);
  // Prefixes: V + V^2 = 6, each 2 batches of 10 ms.
  EXPECT_EQ(m.accuracy_points, 4);
  EXPECT_EQ(m.accuracy_prefixes, 6);
  EXPECT_NEAR(m.accuracy_s, 6 * 2 * 10.0 / 1000.0, 1e-12);
  EXPECT_EQ(m.estimators_s, 0.0);  // nothing estimated
}

TEST(ProfilingModel, ChainLatencyIncludesHandoversAndSkipsUnsupportedStages) {
  plan::TaskProfile p = Profile(2, 1, 2);
  // Chains: (p0,p0) 1+2, (p0,p1) 1+0.5+4, (p1,p0) 2+0.5+2, (p1,p1) 2+4 → 19 ms over 4.
  ProfilingTimeModel m = ModelProfilingTime(p, Work(p, true));
  EXPECT_EQ(m.chains, 4);
  EXPECT_NEAR(m.chains_s, 19.0 * 11 / 1000.0, 1e-12);
  // Stage 2 cannot run on p1: two chains left, (p0,p0) 3 and (p1,p0) 4.5; one stage fewer timed.
  p.stage_latency_ms[p.StageLatencyIndex(1, 0, 1)] = kUnsupportedStageMs;
  m = ModelProfilingTime(p, Work(p, true));
  EXPECT_EQ(m.chains, 2);
  EXPECT_NEAR(m.chains_s, 7.5 * 11 / 1000.0, 1e-12);
  EXPECT_EQ(m.stage_runs, 3 * 42);
}

TEST(ProfilingModel, SampledMeasuresTheDesignsChainsAndOnlyTheSampledPrefixes) {
  const plan::TaskProfile p = Profile(3, 10, 3);
  ProfilingWork w = Work(p, false);
  // Originals (s = 111 v): 10 prefixes at every stage.
  for (int v = 0; v < 10; ++v)
    w.accuracy_points.push_back(111 * v);
  ProfilingTimeModel m = ModelProfilingTime(p, w);
  EXPECT_EQ(m.chains, 27 * 10);  // P^K placements x max(4, 1% of 1,000)
  EXPECT_EQ(m.accuracy_points, 10);
  EXPECT_EQ(m.accuracy_prefixes, 30);
  EXPECT_EQ(DistinctPrefixes(p, w.accuracy_points), 30);
  EXPECT_EQ(m.estimators_s, 3.0);
  // Two points sharing stage 1 and 2 cost one more last-stage run.
  w.accuracy_points = {0, 1};
  m = ModelProfilingTime(p, w);
  EXPECT_EQ(m.accuracy_prefixes, 1 + 1 + 2);
  const ProfilingTimeModel all = ModelProfilingTime(p, Work(p, true));
  EXPECT_EQ(all.accuracy_prefixes, 10 + 100 + 1000);
  EXPECT_EQ(all.chains, 1000 * 27);
  EXPECT_GT(all.total_s(), 50 * m.total_s() - 50 * m.estimators_s);
}

TEST(ProfilingModel, MismatchedSizesAreAnError) {
  const plan::TaskProfile p = Profile(2, 2, 2);
  ProfilingWork w = Work(p, false);
  w.load_ms.pop_back();
  EXPECT_THROW(ModelProfilingTime(p, w), UsageError);
  w = Work(p, false);
  w.accuracy_batch_ms.push_back(1.0);
  EXPECT_THROW(ModelProfilingTime(p, w), UsageError);
}

}  // namespace
}  // namespace sparseloom::sim
