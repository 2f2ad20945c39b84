// The performance table without model files: JSON round trip, the staleness key, clear errors on
// corrupted or truncated files, the planner's view of it and the Pareto front.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "profile/performance_table.h"
#include "support/fake_engine.h"

namespace sparseloom::profile {
namespace {

std::filesystem::path TempDir(const std::string& tag) {
  auto dir = std::filesystem::temp_directory_path() / ("sparseloom-profile-test-" + tag);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

ProcessorSetup TwoProcessors(int threads = 1) {
  engine::ProcessorConfig a, b;
  a.name = "cpu0";
  a.cores = {0};
  a.threads = threads;
  b.name = "cpu1";
  b.cores = {1};
  b.threads = threads;
  return {a, b};
}

// K = 2, V = 3, P = 2: 9 stitched variants, 4 placements.
PerformanceTable SmallTable() {
  PerformanceTable t;
  t.key = "0123456789abcdef";
  t.task = "small";
  t.zoo_dir = "/zoos/small";
  t.num_stages = 2;
  t.variant_ids = {"dense", "us50", "int8"};
  t.processors = TwoProcessors();
  for (int i = 0; i < 12; ++i) {
    t.stage_latency_ms.push_back(1.0 + 0.25 * i);
    t.stage_latency_p90_ms.push_back(1.5 + 0.25 * i);
  }
  t.stage_bytes = {100, 200, 300, 400, 500, 600};
  t.handover_ms = {0.0, 0.05, 0.07, 0.0};
  for (int s = 0; s < 9; ++s) {
    t.accuracy.push_back(0.5 + 0.05 * s);
    t.accuracy_measured.push_back(s % 2 == 0);
  }
  for (int i = 0; i < 36; ++i) {
    t.latency_ms.push_back(3.0 + 0.125 * i);
    t.latency_measured.push_back(i % 3 == 0);
  }
  t.accuracy_error = {"mae", 0.004, 12, "logit+xgboost"};
  t.latency_error = {"mape", 0.031, 16, "additive"};
  t.time = {1.0, 2.0, 3.0, 0.5, 0.0};
  return t;
}

TEST(PerformanceTable, RoundTripsThroughJson) {
  const auto dir = TempDir("roundtrip");
  PerformanceTable t = SmallTable();
  t.held_out = HeldOutCheck{5, 0.004, 0.02, 30, 0.03, 0.08};
  SavePerformanceTable(t, dir / kTableFile);
  const PerformanceTable back = LoadPerformanceTable(dir / kTableFile);
  EXPECT_EQ(back.key, t.key);
  EXPECT_EQ(back.task, t.task);
  EXPECT_EQ(back.variant_ids, t.variant_ids);
  ASSERT_EQ(back.processors.size(), 2u);
  EXPECT_EQ(back.processors[1].name, "cpu1");
  EXPECT_EQ(back.processors[1].cores, std::vector<int>{1});
  EXPECT_EQ(back.stage_latency_ms, t.stage_latency_ms);
  EXPECT_EQ(back.stage_bytes, t.stage_bytes);
  EXPECT_EQ(back.handover_ms, t.handover_ms);
  EXPECT_EQ(back.accuracy, t.accuracy);
  EXPECT_EQ(back.accuracy_measured, t.accuracy_measured);
  EXPECT_EQ(back.latency_ms, t.latency_ms);
  EXPECT_EQ(back.latency_measured, t.latency_measured);
  EXPECT_DOUBLE_EQ(back.latency_error.value, 0.031);
  EXPECT_EQ(back.accuracy_error.model, "logit+xgboost");
  ASSERT_TRUE(back.held_out.has_value());
  EXPECT_EQ(back.held_out->latency_points, 30);
  EXPECT_DOUBLE_EQ(back.time.chains_s, 2.0);
}

// A zoo on disk just far enough for ProfileKey: a manifest and stage files of known sizes.
zoo::Zoo ZooOnDisk(const std::filesystem::path& dir, const std::string& manifest) {
  zoo::Zoo z = testing::MakeFakeZoo(2, 2);
  z.dir = dir;
  z.manifest_file = dir / "zoo.json";
  std::ofstream(z.manifest_file) << manifest;
  for (auto& v : z.variants) {
    for (auto& s : v.stages) {
      s.file_field = s.file.string();
      s.file = dir / s.file;
      std::ofstream(s.file) << "weights";
    }
  }
  return z;
}

TEST(PerformanceTable, StaleKeyForcesReprofiling) {
  const auto dir = TempDir("stale");
  const zoo::Zoo z = ZooOnDisk(dir, R"({"task": "a"})");
  const std::string key = ProfileKey(z, TwoProcessors());
  EXPECT_EQ(key, ProfileKey(z, TwoProcessors()));
  EXPECT_NE(key, ProfileKey(z, TwoProcessors(/*threads=*/2)));  // thread count changed
  ProcessorSetup moved = TwoProcessors();
  moved[1].cores = {0};
  EXPECT_NE(key, ProfileKey(z, moved));  // core set changed

  PerformanceTable t = SmallTable();
  t.key = key;
  SavePerformanceTable(t, dir / kTableFile);
  EXPECT_TRUE(LoadFreshTable(dir / kTableFile, key).has_value());
  EXPECT_FALSE(LoadFreshTable(dir / kTableFile, ProfileKey(z, TwoProcessors(2))).has_value());

  // The zoo changes: a stage file is rebuilt (another content hash in the manifest, which LoadZoo
  // checked against the file: a file changed behind the manifest is refused there), the
  // validation set is replaced, or the manifest is edited.
  zoo::Zoo rebuilt = z;
  rebuilt.variants[1].stages[0].sha256 = std::string(64, 'a');
  EXPECT_NE(key, ProfileKey(rebuilt, TwoProcessors()));
  EXPECT_FALSE(LoadFreshTable(dir / kTableFile, ProfileKey(rebuilt, TwoProcessors())).has_value());
  rebuilt = z;
  rebuilt.validation_sha256 = std::string(64, 'b');
  EXPECT_NE(key, ProfileKey(rebuilt, TwoProcessors()));
  const zoo::Zoo edited = ZooOnDisk(dir, R"({"task": "b"})");
  EXPECT_NE(key, ProfileKey(edited, TwoProcessors()));
  // No table yet: nothing to reuse, and no error.
  EXPECT_FALSE(LoadFreshTable(dir / "missing.json", key).has_value());
}

TEST(PerformanceTable, OnlyATableWithTheAskedGroundTruthIsReused) {
  PerformanceTable t = SmallTable();  // some accuracies estimated, no held-out check
  EXPECT_TRUE(HoldsGroundTruth(t, false, false));
  EXPECT_FALSE(HoldsGroundTruth(t, true, false));
  EXPECT_FALSE(HoldsGroundTruth(t, true, true));
  t.held_out = HeldOutCheck{};  // made by --exhaustive-latency-only
  EXPECT_TRUE(HoldsGroundTruth(t, true, true));
  EXPECT_FALSE(HoldsGroundTruth(t, true, false));
  std::fill(t.accuracy_measured.begin(), t.accuracy_measured.end(), 1);  // by --exhaustive
  EXPECT_TRUE(HoldsGroundTruth(t, true, false));
  EXPECT_TRUE(HoldsGroundTruth(t, true, true));
}

TEST(PerformanceTable, TruncatedFileIsAClearError) {
  const auto dir = TempDir("truncated");
  SavePerformanceTable(SmallTable(), dir / kTableFile);
  std::string text;
  {
    std::ifstream in(dir / kTableFile);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(dir / kTableFile, std::ios::trunc) << text.substr(0, text.size() / 2);
  try {
    LoadFreshTable(dir / kTableFile, SmallTable().key);
    FAIL() << "a truncated table loaded";
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), (dir / kTableFile).string());
    EXPECT_NE(std::string(e.what()).find("valid JSON"), std::string::npos) << e.what();
  }
}

TEST(PerformanceTable, CorruptedFieldNamesTheField) {
  const auto dir = TempDir("corrupt");
  SavePerformanceTable(SmallTable(), dir / kTableFile);
  nlohmann::json j;
  std::ifstream(dir / kTableFile) >> j;
  j["accuracy"].erase(3);  // one accuracy short
  std::ofstream(dir / kTableFile, std::ios::trunc) << j.dump();
  try {
    LoadPerformanceTable(dir / kTableFile);
    FAIL() << "a corrupted table loaded";
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), (dir / kTableFile).string());
    EXPECT_EQ(e.field(), "accuracy");
    EXPECT_NE(e.expected().find("9 numbers"), std::string::npos) << e.what();
  }
  j["accuracy"] = nlohmann::json::array();
  for (int i = 0; i < 9; ++i)
    j["accuracy"].push_back(i == 4 ? 1.5 : 0.5);  // not an accuracy
  std::ofstream(dir / kTableFile, std::ios::trunc) << j.dump();
  EXPECT_THROW(LoadPerformanceTable(dir / kTableFile), InputError);
}

TEST(PerformanceTable, TaskProfileCarriesTheStitchingGap) {
  const PerformanceTable t = SmallTable();
  const plan::TaskProfile p = ToTaskProfile(t);
  EXPECT_EQ(p.num_stages, 2);
  EXPECT_EQ(p.num_variants(), 3);
  EXPECT_EQ(p.num_processors(), 2);
  EXPECT_EQ(p.stage_latency_ms, t.stage_latency_ms);
  EXPECT_EQ(p.accuracy, t.accuracy);
  ASSERT_EQ(p.stitch_gap_ms.size(), 9u);
  // The gap is the median over placements of (table latency - stage sum), kept above -50% of
  // the fastest placement's stage sum.
  for (std::int64_t s = 0; s < 9; ++s) {
    std::vector<double> gaps;
    double fastest = 1e300;
    for (std::int64_t q = 0; q < 4; ++q) {
      gaps.push_back(t.latency_ms[static_cast<std::size_t>(s * 4 + q)] - t.AdditiveLatency(s, q));
      fastest = std::min(fastest, t.AdditiveLatency(s, q));
    }
    std::sort(gaps.begin(), gaps.end());
    const double median = std::max(0.5 * (gaps[1] + gaps[2]), -0.5 * fastest);
    EXPECT_NEAR(p.StitchGapMs(s), median, 1e-9);
    for (std::int64_t q = 0; q < 4; ++q) {
      EXPECT_GT(t.AdditiveLatency(s, q) + p.StitchGapMs(s), 0.0);
    }
  }
}

TEST(PerformanceTable, TaskProfileGapNeverMakesALatencyNegative) {
  PerformanceTable t = SmallTable();
  // One wildly low chain measurement per stitched variant must not drag the planner's latency
  // below zero.
  for (std::int64_t s = 0; s < 9; ++s) {
    for (std::int64_t q = 0; q < 4; ++q)
      t.latency_ms[static_cast<std::size_t>(s * 4 + q)] = 0.0;
  }
  const plan::TaskProfile p = ToTaskProfile(t);
  for (std::int64_t s = 0; s < 9; ++s) {
    for (std::int64_t q = 0; q < 4; ++q) {
      EXPECT_GE(t.AdditiveLatency(s, q) + p.StitchGapMs(s), 0.5 * t.AdditiveLatency(s, q) - 1e-12);
    }
  }
}

TEST(PerformanceTable, AdditiveLatencyAddsStagesAndHandovers) {
  const PerformanceTable t = SmallTable();
  // s = 5 -> variants (1, 2); placement 1 -> processors (0, 1).
  EXPECT_EQ(t.PlacementAt(1), (std::vector<int>{0, 1}));
  const double expected = t.StageLatency(0, 1, 0) + t.StageLatency(1, 2, 1) + 0.05;
  EXPECT_DOUBLE_EQ(t.AdditiveLatency(5, 1), expected);
}

TEST(PerformanceTable, ParetoFrontKeepsOnlyUndominatedVariants) {
  PerformanceTable t = SmallTable();
  // Best placement latency of s is latency_ms[s*4] (increasing in q); accuracy rises with s.
  // Make s = 4 slower than s = 5 but less accurate: dominated.
  t.latency_ms[16] = 100.0;
  t.latency_ms[17] = 100.0;
  t.latency_ms[18] = 100.0;
  t.latency_ms[19] = 100.0;
  const std::vector<std::int64_t> front = ParetoFront(t);
  EXPECT_EQ(std::count(front.begin(), front.end(), 4), 0);
  EXPECT_EQ(front.front(), 0);  // the fastest is always on the front
  EXPECT_EQ(front.back(), 8);   // so is the most accurate
}

}  // namespace
}  // namespace sparseloom::profile
