// Serving calibration's bookkeeping: tables shared by tasks, given latency factors, stitch
// margins. (Measuring needs a real server; runtime/latency_calibration_test.cpp covers the
// factor itself.)

#include "eval/calibration.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "eval/eval_fixtures.h"

namespace sparseloom::eval {
namespace {

TEST(FirstTaskOfTable, EachTaskPointsAtTheFirstTaskReadingItsTable) {
  const Inputs in = testing::TinyInputs({"a", "b", "c"}, {0, 1, 0});
  EXPECT_EQ(FirstTaskOfTable(in), (std::vector<std::size_t>{0, 1, 0}));
}

TEST(GivenLatencyScale, EmptyMeansNoneGiven) {
  const Inputs in = testing::TinyInputs({"a", "b"});
  EXPECT_TRUE(GivenLatencyScale("", in, testing::ServedOf(in)).empty());
}

TEST(GivenLatencyScale, OneFactorForEveryTaskOrOnePerTask) {
  const Inputs in = testing::TinyInputs({"a", "b"});
  EXPECT_EQ(GivenLatencyScale("1.5", in, testing::ServedOf(in)), (std::vector<double>{1.5, 1.5}));
  EXPECT_EQ(GivenLatencyScale("1.5,2", in, testing::ServedOf(in)), (std::vector<double>{1.5, 2.0}));
}

TEST(GivenLatencyScale, NamesTheOptionOnABadList) {
  const Inputs in = testing::TinyInputs({"a", "b"});
  const auto tasks = testing::ServedOf(in);
  for (const char* bad : {"x", "1.5x", "0", "-1", "inf", "1,,2"}) {
    try {
      GivenLatencyScale(bad, in, tasks);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--latency-scale: expected numbers > 0"),
                std::string::npos)
          << e.what();
    }
  }
  try {
    GivenLatencyScale("1,2,3", in, tasks);
    ADD_FAILURE() << "three factors for two tasks";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--latency-scale: expected one factor or one per task (2), got 3");
  }
}

TEST(GivenLatencyScale, TasksOfOneTableMustAgree) {
  const Inputs in = testing::TinyInputs({"a", "b"}, {0, 0});
  const auto tasks = testing::ServedOf(in);
  EXPECT_EQ(GivenLatencyScale("1.5,1.5", in, tasks), (std::vector<double>{1.5, 1.5}));
  try {
    GivenLatencyScale("1.5,2", in, tasks);
    ADD_FAILURE() << "different factors for one table";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "--latency-scale: tasks 'a' and 'b' read the same table; give them the same "
                 "factor");
  }
}

TEST(ApplyLatencyScale, ScalesEachTableOnce) {
  Inputs in = testing::TinyInputs({"a", "b", "c"}, {0, 1, 0});
  const double before0 = in.profiles[0].StageLatencyMs(0, 0, 0);
  const double before1 = in.profiles[1].StageLatencyMs(0, 0, 0);
  ApplyLatencyScale(in, {2.0, 3.0, 2.0});
  EXPECT_DOUBLE_EQ(in.profiles[0].StageLatencyMs(0, 0, 0), 2.0 * before0);  // not 4x
  EXPECT_DOUBLE_EQ(in.profiles[1].StageLatencyMs(0, 0, 0), 3.0 * before1);
}

TEST(StitchMargins, GivenOrEachTablesEstimatorError) {
  Inputs in = testing::TinyInputs({"a", "b", "c"}, {0, 1, 0});
  EXPECT_EQ(StitchMargins(in, 0.25), (std::vector<double>{0.25, 0.25, 0.25}));
  const std::vector<double> own = StitchMargins(in, -1.0);
  ASSERT_EQ(own.size(), 3u);
  EXPECT_DOUBLE_EQ(own[0], 0.1);
  EXPECT_DOUBLE_EQ(own[1], 0.2);
  EXPECT_DOUBLE_EQ(own[2], 0.1);
  in.tables[1].latency_error.metric = "mae";  // not a latency error: no margin
  EXPECT_DOUBLE_EQ(StitchMargins(in, -1.0)[1], 0.0);
}

TEST(ApplyStitchMargin, GivesStitchedVariantsThatAreNotOriginalsAGap) {
  Inputs in = testing::TinyInputs({"a"});
  ApplyStitchMargin(in, {0.5});
  const plan::TaskProfile& p = in.profiles[0];
  ASSERT_EQ(p.stitch_gap_ms.size(), 4u);
  EXPECT_DOUBLE_EQ(p.StitchGapMs(0), 0.0);  // dense-dense: an original
  EXPECT_DOUBLE_EQ(p.StitchGapMs(3), 0.0);  // pruned-pruned: an original
  EXPECT_GT(p.StitchGapMs(1), 0.0);         // dense-pruned: stitched
}

}  // namespace
}  // namespace sparseloom::eval
