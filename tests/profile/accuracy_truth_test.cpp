// The accuracy ground truth's file, key and conversion from an exhaustive table; the conformal
// margin and the Wilson interval. Hand-made zoos and tables, no model files.

#include "profile/accuracy_truth.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"

namespace sparseloom::profile {
namespace {

// A 2-variant, 2-stage zoo as LoadZoo would give it (no files needed here).
zoo::Zoo TwoByTwo() {
  zoo::Zoo z;
  z.dir = "/nowhere/zoo";
  z.task = "tiny";
  z.num_stages = 2;
  z.seed = 3;
  z.validation_samples = 200;
  for (const char* id : {"dense", "int8"}) {
    zoo::Variant v;
    v.id = id;
    v.accuracy = std::string(id) == "dense" ? 0.9 : 0.8;
    for (int k = 1; k <= 2; ++k) {
      zoo::StageInfo s;
      s.index = k;
      s.file_field = std::string("stages/") + id + "/stage" + std::to_string(k) + ".pt";
      s.bytes = 1000 * k;
      v.stages.push_back(s);
    }
    z.variants.push_back(v);
  }
  return z;
}

PerformanceTable ExhaustiveTable(const zoo::Zoo& z) {
  PerformanceTable t;
  t.task = z.task;
  t.num_stages = 2;
  t.variant_ids = {"dense", "int8"};
  t.accuracy = {0.9, 0.85, 0.83, 0.8};  // dense,dense  dense,int8  int8,dense  int8,int8
  t.accuracy_measured = {1, 1, 1, 1};
  return t;
}

TEST(AccuracyTruth, FromAnExhaustiveTableSavedAndLoadedUnchanged) {
  const zoo::Zoo z = TwoByTwo();
  const AccuracyTruth truth = TruthFromTable(z, ExhaustiveTable(z));
  EXPECT_EQ(truth.correct, (std::vector<std::int64_t>{180, 170, 166, 160}));
  EXPECT_EQ(truth.key, AccuracyTruthKey(z));
  EXPECT_EQ(truth.stage_passes, 6);  // V + V^2 prefixes
  EXPECT_DOUBLE_EQ(truth.Accuracy(2), 0.83);
  const auto dir = std::filesystem::temp_directory_path() / "sparseloom-truth-test";
  std::filesystem::create_directories(dir);
  SaveAccuracyTruth(truth, dir / kTruthFile);
  const auto fresh = LoadFreshTruth(dir / kTruthFile, AccuracyTruthKey(z));
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(fresh->correct, truth.correct);
  EXPECT_EQ(fresh->source, "exhaustive table");
  EXPECT_FALSE(LoadFreshTruth(dir / kTruthFile, "another key").has_value());
  EXPECT_FALSE(LoadFreshTruth(dir / "none.json", truth.key).has_value());
  std::ofstream(dir / "bad.json") << "{\"format\": \"sparseloom-accuracy-truth\", \"version\": 1}";
  EXPECT_THROW(LoadAccuracyTruth(dir / "bad.json"), InputError);
  std::filesystem::remove_all(dir);
}

TEST(AccuracyTruth, KeyChangesWithWhatDecidesThePredictions) {
  const zoo::Zoo z = TwoByTwo();
  zoo::Zoo retrained = z;
  retrained.variants[1].accuracy = 0.805;
  zoo::Zoo rebuilt = z;
  rebuilt.variants[0].stages[1].bytes += 1;
  zoo::Zoo other_set = z;
  other_set.validation_samples = 201;
  for (const zoo::Zoo& other : {retrained, rebuilt, other_set})
    EXPECT_NE(AccuracyTruthKey(other), AccuracyTruthKey(z));
  zoo::Zoo moved = z;
  moved.dir = "/elsewhere";
  EXPECT_EQ(AccuracyTruthKey(moved), AccuracyTruthKey(z));
}

TEST(AccuracyTruth, OnlyAFullyMeasuredTableOfTheSameZooIsATruth) {
  const zoo::Zoo z = TwoByTwo();
  PerformanceTable estimated = ExhaustiveTable(z);
  estimated.accuracy_measured[1] = 0;
  EXPECT_THROW(TruthFromTable(z, estimated), UsageError);
  PerformanceTable other = ExhaustiveTable(z);
  other.accuracy[0] = 0.7;  // not the manifest's dense
  EXPECT_THROW(TruthFromTable(z, other), UsageError);
  PerformanceTable not_counts = ExhaustiveTable(z);
  not_counts.accuracy[1] = 0.8512;  // no count out of 200
  EXPECT_THROW(TruthFromTable(z, not_counts), UsageError);
}

TEST(ConformalMargin, IsTheResidualAtTheCoverageRankAndNeverNegative) {
  // n = 9 residuals: coverage 0.9 takes rank ceil(10 x 0.9) = 9 (the largest), 0.5 rank 5.
  const std::vector<double> r = {-0.02, 0.01, 0.005, -0.01, 0.03, 0.0, 0.02, -0.005, 0.015};
  EXPECT_DOUBLE_EQ(ConformalMargin(r, 0.9), 0.03);
  EXPECT_DOUBLE_EQ(ConformalMargin(r, 0.5), 0.005);
  EXPECT_DOUBLE_EQ(ConformalMargin(r, 0.0), 0.0);
  EXPECT_DOUBLE_EQ(ConformalMargin({-0.02, -0.01}, 0.5), 0.0);  // underestimates: no margin
  EXPECT_DOUBLE_EQ(ConformalMargin({0.01}, 0.99), 0.01);        // rank past n: the largest
  EXPECT_THROW(ConformalMargin({}, 0.9), UsageError);
  EXPECT_THROW(ConformalMargin(r, 1.0), UsageError);
}

TEST(WilsonInterval, BracketsTheShareAndNarrowsWithSamples) {
  const Interval small = WilsonInterval(80, 100);
  EXPECT_LT(small.low, 0.8);
  EXPECT_GT(small.high, 0.8);
  EXPECT_NEAR(small.low, 0.7112, 1e-4);
  EXPECT_NEAR(small.high, 0.8666, 1e-4);
  const Interval large = WilsonInterval(8000, 10000);
  EXPECT_LT(large.high - large.low, small.high - small.low);
  EXPECT_DOUBLE_EQ(WilsonInterval(0, 10).low, 0.0);
  EXPECT_DOUBLE_EQ(WilsonInterval(10, 10).high, 1.0);
}

}  // namespace
}  // namespace sparseloom::profile
