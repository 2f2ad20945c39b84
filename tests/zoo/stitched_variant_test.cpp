#include "zoo/stitched_variant.h"

#include <set>

#include <gtest/gtest.h>

#include "common/error.h"
#include "support/fake_engine.h"

namespace sparseloom::zoo {
namespace {

TEST(StitchedVariant, EnumeratesEveryCombinationOnce) {
  const Zoo z = testing::MakeFakeZoo(4, 3);
  const auto all = EnumerateStitched(z);
  ASSERT_EQ(all.size(), 64u);
  std::set<std::string> names;
  for (std::size_t i = 0; i < all.size(); ++i) {
    names.insert(ToString(z, all[i]));
    EXPECT_EQ(IndexOf(z, all[i]), static_cast<std::int64_t>(i));
  }
  EXPECT_EQ(names.size(), 64u);
  EXPECT_EQ(ToString(z, all.front()), "v0,v0,v0");
  EXPECT_EQ(ToString(z, all.back()), "v3,v3,v3");
}

TEST(StitchedVariant, ParsesOneIdPerStageOrOneIdForTheWholeVariant) {
  const Zoo z = testing::MakeFakeZoo(3, 3);
  EXPECT_EQ(ParseStitch(z, "v2,v0,v1").variant_of_stage, (std::vector<std::size_t>{2, 0, 1}));
  const StitchedVariant whole = ParseStitch(z, "v1");
  EXPECT_TRUE(whole.IsOriginal());
  EXPECT_EQ(whole.variant_of_stage, (std::vector<std::size_t>{1, 1, 1}));
  EXPECT_FALSE(ParseStitch(z, "v1,v1,v2").IsOriginal());
}

TEST(StitchedVariant, RejectsUnknownIdsAndWrongStageCounts) {
  const Zoo z = testing::MakeFakeZoo(3, 3);
  try {
    ParseStitch(z, "v0,nope,v1");
    FAIL() << "expected an error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("no variant 'nope'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("v0, v1, v2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ParseStitch(z, "v0,v1"), UsageError);
  EXPECT_THROW(StitchedAt(z, 27), UsageError);
  EXPECT_THROW(StitchedAt(z, -1), UsageError);
}

}  // namespace
}  // namespace sparseloom::zoo
