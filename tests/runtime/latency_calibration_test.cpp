// Serving calibration from request records: the factor is what a request's stages took against
// what the profile says for the same stages on the same processors, per task; loads, drops and
// spanless records do not count. Scaling a profile scales its stage latencies, drops its stitch
// gaps (the factor holds them) and keeps its hand-overs; a stitch margin slows the stitched
// variants that are not originals.

#include "runtime/latency_calibration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/error.h"

namespace sparseloom::runtime {
namespace {

// K = 2, V = 2, P = 2; stage (k, v) takes 1 + k + v ms on p0 and twice that on p1; stitched
// variant s = v0 * 2 + v1 has a stitch gap of 0.1 * s ms (not part of the factor).
plan::TaskProfile Profile(const std::string& task) {
  plan::TaskProfile profile;
  profile.task = task;
  profile.num_stages = 2;
  profile.variant_ids = {"dense", "int8"};
  profile.processors = {"p0", "p1"};
  for (int k = 0; k < 2; ++k)
    for (int v = 0; v < 2; ++v)
      for (int p = 0; p < 2; ++p)
        profile.stage_latency_ms.push_back((1.0 + k + v) * (p + 1));
  profile.stage_bytes.assign(4, 100);
  profile.accuracy.assign(4, 0.9);
  profile.handover_ms = {0.0, 0.1, 0.1, 0.0};
  profile.stitch_gap_ms = {0.0, 0.1, 0.2, 0.3};
  return profile;
}

// A completed request of `task` whose stage k ran variant v[k] on processor p[k] for ms[k] (plus
// load_ms[k] of on-demand load inside its span).
RequestRecord Record(int task, std::vector<int> v, std::vector<int> p, std::vector<double> ms,
                     std::vector<double> load_ms = {0.0, 0.0}) {
  static std::int64_t next_id = 0;
  RequestRecord r;
  r.id = next_id++;
  r.task = task;
  double t = 0.0;
  for (int k = 0; k < 2; ++k) {
    StageSpan s;
    s.stage = k;
    s.variant = v[static_cast<std::size_t>(k)];
    s.processor = p[static_cast<std::size_t>(k)];
    s.start_ms = t;
    s.load_ms = load_ms[static_cast<std::size_t>(k)];
    t += ms[static_cast<std::size_t>(k)] + s.load_ms;
    s.end_ms = t;
    r.stages.push_back(s);
  }
  r.end_ms = t;
  return r;
}

TEST(LatencyCalibrationTest, TheFactorIsTheMedianRequestsStagesOverTheirProfile) {
  const plan::TaskProfile a = Profile("a");
  const plan::TaskProfile b = Profile("b");
  std::vector<RequestRecord> records;
  // Task a, stitched (0, 1) on p0 then p1: profile 1 + 3*2 = 7 ms.
  records.push_back(Record(0, {0, 1}, {0, 1}, {1.5, 9.0}));   // 10.5 ms: 1.5x
  records.push_back(Record(0, {0, 1}, {0, 1}, {2.0, 12.0}));  // 14 ms: 2x
  records.push_back(Record(0, {0, 1}, {0, 1}, {1.0, 4.6}));   // 5.6 ms: 0.8x
  // Its load inside the span does not count: 1.5x again.
  records.push_back(Record(0, {0, 1}, {0, 1}, {1.5, 9.0}, {30.0, 0.0}));
  // Dropped, and spanless, requests give nothing.
  RequestRecord dropped = Record(0, {0, 0}, {0, 0}, {100.0, 100.0});
  dropped.outcome = Outcome::kDropped;
  records.push_back(dropped);
  RequestRecord spanless = Record(0, {0, 0}, {0, 0}, {100.0, 100.0});
  spanless.stages.clear();
  records.push_back(spanless);
  // Task b, stitched (1, 0) both on p1: 4 + 4 = 8 ms, ran 12 ms: 1.5x.
  records.push_back(Record(1, {1, 0}, {1, 1}, {6.0, 6.0}));

  const LatencyScale c = ServingLatencyScale(records, {&a, &b, &a});
  ASSERT_EQ(c.scale.size(), 3u);
  EXPECT_NEAR(c.scale[0], 1.5, 1e-9);  // median of 0.8, 1.5, 1.5, 2
  EXPECT_NEAR(c.scale[1], 1.5, 1e-9);
  EXPECT_EQ(c.scale[2], 1.0);  // no request: unchanged
  EXPECT_EQ(c.requests, (std::vector<std::int64_t>{4, 1, 0}));
}

TEST(LatencyCalibrationTest, ARecordThatTheProfilesDoNotDescribeIsAUsageError) {
  const plan::TaskProfile a = Profile("a");
  EXPECT_THROW(ServingLatencyScale({Record(1, {0, 0}, {0, 0}, {1.0, 1.0})}, {&a}), UsageError);
  EXPECT_THROW(ServingLatencyScale({Record(0, {2, 0}, {0, 0}, {1.0, 1.0})}, {&a}), UsageError);
  EXPECT_THROW(ServingLatencyScale({Record(0, {0, 0}, {0, 5}, {1.0, 1.0})}, {&a}), UsageError);
}

TEST(LatencyCalibrationTest, ScalingMultipliesStageLatenciesDropsStitchGapsKeepsHandovers) {
  plan::TaskProfile profile = Profile("a");
  const plan::TaskProfile before = profile;
  ScaleStageLatencies(profile, 1.5);
  for (std::size_t i = 0; i < profile.stage_latency_ms.size(); ++i)
    EXPECT_DOUBLE_EQ(profile.stage_latency_ms[i], 1.5 * before.stage_latency_ms[i]);
  EXPECT_TRUE(profile.stitch_gap_ms.empty());
  EXPECT_EQ(profile.handover_ms, before.handover_ms);
  EXPECT_THROW(ScaleStageLatencies(profile, 0.0), UsageError);
  EXPECT_THROW(ScaleStageLatencies(profile, -1.0), UsageError);
  EXPECT_THROW(ScaleStageLatencies(profile, std::nan("")), UsageError);
}

TEST(LatencyCalibrationTest, AStitchMarginSlowsStitchedVariantsOnlyByTheirFastestStageSum) {
  plan::TaskProfile profile = Profile("a");
  ScaleStageLatencies(profile, 2.0);
  SetStitchMargin(profile, 0.1);
  // s = v0 * 2 + v1; stage (k, v) takes 2 (1 + k + v) ms on p0 after scaling, twice that on p1.
  ASSERT_EQ(profile.stitch_gap_ms.size(), 4u);
  EXPECT_EQ(profile.stitch_gap_ms[0], 0.0);  // dense, dense: an original
  EXPECT_EQ(profile.stitch_gap_ms[3], 0.0);  // int8, int8: an original
  EXPECT_NEAR(profile.stitch_gap_ms[1], 0.1 * (2.0 * 1 + 2.0 * 3), 1e-12);  // dense, int8 on p0
  EXPECT_NEAR(profile.stitch_gap_ms[2], 0.1 * (2.0 * 2 + 2.0 * 2), 1e-12);  // int8, dense on p0
  EXPECT_THROW(SetStitchMargin(profile, -0.1), UsageError);
  EXPECT_THROW(SetStitchMargin(profile, std::nan("")), UsageError);
}

}  // namespace
}  // namespace sparseloom::runtime
