#include "preload/hotness.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/error.h"
#include "plan/synthetic_profiles.h"

namespace sparseloom::preload {

// Readable keys in failure messages (see stage_cache_test.cpp).
[[maybe_unused]] static void PrintTo(const StageKey& key, std::ostream* os) {
  *os << "{task " << key.task << ", stage " << key.stage << ", variant " << key.variant
      << ", processor " << key.processor << "}";
}

namespace {

// A hand-written profile on one processor: stitched accuracy and stage latency per variant, every
// stage 1000 bytes, no hand-over cost.
plan::TaskProfile Profile(const std::string& task, int stages, std::vector<double> accuracy,
                          std::vector<double> stage_latency_ms) {
  plan::TaskProfile profile;
  profile.task = task;
  profile.num_stages = stages;
  const int V = static_cast<int>(stage_latency_ms.size()) / stages;
  for (int v = 0; v < V; ++v) {
    std::string id = "v";  // appended, not "v" + ...: GCC 12 -Wrestrict false positive (PR 105651)
    id += std::to_string(v);
    profile.variant_ids.push_back(id);
  }
  profile.processors = {"cpu"};
  profile.stage_latency_ms = std::move(stage_latency_ms);
  profile.stage_bytes.assign(profile.stage_latency_ms.size(), 1000);
  profile.accuracy = std::move(accuracy);
  profile.handover_ms = {0.0};
  return profile;
}

plan::PlanRequest RequestOf(const std::vector<plan::TaskProfile>& profiles) {
  plan::PlanRequest request;
  request.processors = {"cpu"};
  for (const plan::TaskProfile& profile : profiles)
    request.tasks.push_back({profile.task, profile, {0.5, 100.0}, 10.0, {}});
  return request;
}

const StageHotness& Find(const std::vector<StageHotness>& hotness, const StageKey& key) {
  for (const StageHotness& h : hotness)
    if (h.key == key)
      return h;
  throw std::logic_error("key not listed");
}

std::size_t RankOf(const std::vector<StageHotness>& hotness, const StageKey& key) {
  return static_cast<std::size_t>(&Find(hotness, key) - hotness.data());
}

TEST(Hotness, StageEveryPlanUsesHasFrequencyOne) {
  // Variant 0 is both the most accurate and the fastest: every configuration's plan runs it.
  // Stitched accuracy [s = v0 * 2 + v1]; latency [k * 2 + v].
  const std::vector<plan::TaskProfile> profiles = {
      Profile("a", 2, {0.9, 0.85, 0.85, 0.8}, {1.0, 2.0, 1.0, 2.0}),
      Profile("b", 2, {0.9, 0.85, 0.85, 0.8}, {1.0, 2.0, 1.0, 2.0})};
  const std::vector<std::vector<plan::Slo>> configurations = {
      {{0.5, 100.0}, {0.5, 100.0}}, {{0.88, 5.0}, {0.7, 3.0}}, {{0.89, 2.5}, {0.0, 50.0}}};
  const auto planner = plan::MakeSparseLoomPlanner();
  const std::vector<StageHotness> hotness =
      ComputeHotness(RequestOf(profiles), configurations, *planner);

  ASSERT_EQ(hotness.size(), 8u);  // 2 tasks x 2 stages x 2 variants x 1 processor
  for (int t = 0; t < 2; ++t)
    for (int k = 0; k < 2; ++k) {
      EXPECT_DOUBLE_EQ(Find(hotness, {t, k, 0, 0}).frequency, 1.0);
      EXPECT_DOUBLE_EQ(Find(hotness, {t, k, 1, 0}).frequency, 0.0);
    }
  for (std::size_t i = 0; i < 4; ++i)
    EXPECT_EQ(hotness[i].key.variant, 0) << "the stages every plan runs come first";
  for (std::size_t i = 1; i < hotness.size(); ++i)
    EXPECT_GE(hotness[i - 1].score, hotness[i].score);
  for (const StageHotness& h : hotness)
    EXPECT_DOUBLE_EQ(h.score,
                     h.frequency * (1.0 + h.uniqueness) + kUniquenessWeight * h.uniqueness);
}

TEST(Hotness, UniqueStageOutranksANearDuplicateOfTheSameFrequency) {
  // One stage, three variants: v0 accurate and slow; v1 fast; v2 nearly the same as v1.
  const std::vector<plan::TaskProfile> profiles = {
      Profile("a", 1, {0.9, 0.7, 0.7001}, {5.0, 1.0, 1.01})};
  // A strict accuracy picks v0, a strict latency the faster v1: each in half the configurations.
  const std::vector<std::vector<plan::Slo>> configurations = {{{0.85, 10.0}}, {{0.6, 2.0}}};
  const auto planner = plan::MakeSparseLoomPlanner();
  const std::vector<StageHotness> hotness =
      ComputeHotness(RequestOf(profiles), configurations, *planner);

  const StageHotness& unique = Find(hotness, {0, 0, 0, 0});
  const StageHotness& duplicate = Find(hotness, {0, 0, 1, 0});
  ASSERT_DOUBLE_EQ(unique.frequency, 0.5);
  ASSERT_DOUBLE_EQ(duplicate.frequency, 0.5);
  EXPECT_DOUBLE_EQ(unique.uniqueness, 1.0);
  EXPECT_LT(duplicate.uniqueness, 0.01);
  EXPECT_GT(unique.score, duplicate.score);
  EXPECT_LT(RankOf(hotness, unique.key), RankOf(hotness, duplicate.key));
  EXPECT_EQ(Find(hotness, {0, 0, 2, 0}).frequency, 0.0);
  EXPECT_EQ(RankOf(hotness, {0, 0, 2, 0}), 2u);
}

TEST(Hotness, UniquenessMeasuresTheNearestSubstitute) {
  // Two stages; the most accurate original is v1 (0.9), so stage 1's accuracies are those of
  // (v1, w): 0.6, 0.9, 0.8 (range 0.3); stage 1 latencies [k * 3 + v]: 1, 2, 4 (range 3).
  const plan::TaskProfile profile = Profile("a", 2, {0.5, 0.6, 0.5, 0.6, 0.9, 0.8, 0.5, 0.5, 0.7},
                                            {1.0, 1.0, 1.0, 1.0, 2.0, 4.0});
  // v0: to v1 1 + 1/3, to v2 2/3 + 1 -> clipped to 1.
  EXPECT_DOUBLE_EQ(Uniqueness(profile, 1, 0, 0), 1.0);
  // v1: to v2 1/3 + 2/3 = 1.
  EXPECT_NEAR(Uniqueness(profile, 1, 1, 0), 1.0, 1e-12);
  // Stage 0's accuracies are those of (w, v1): 0.6, 0.9, 0.5 (range 0.4); its latencies are all
  // equal, so the latency term is 0.
  EXPECT_NEAR(Uniqueness(profile, 0, 0, 0), 0.1 / 0.4, 1e-12);
  EXPECT_NEAR(Uniqueness(profile, 0, 2, 0), 0.1 / 0.4, 1e-12);
  EXPECT_NEAR(Uniqueness(profile, 0, 1, 0), 0.3 / 0.4, 1e-12);
}

TEST(Hotness, UniquenessOfIdenticalVariantsIsZeroAndOfALoneVariantOne) {
  const plan::TaskProfile same = Profile("a", 1, {0.8, 0.8, 0.8}, {2.0, 2.0, 2.0});
  for (int v = 0; v < 3; ++v)
    EXPECT_EQ(Uniqueness(same, 0, v, 0), 0.0);
  const plan::TaskProfile alone = Profile("b", 2, {0.8}, {2.0, 3.0});
  EXPECT_EQ(Uniqueness(alone, 1, 0, 0), 1.0);
  EXPECT_THROW(Uniqueness(same, 1, 0, 0), UsageError);
}

TEST(Hotness, FrequenciesOfEachStageSumToOneOnSyntheticProfiles) {
  std::mt19937_64 rng(7);
  const std::vector<plan::TaskProfile> profiles =
      plan::testing::MakeProfiles(rng, 2, {.stages = 3, .variants = 3, .processors = 2});
  const plan::PlanRequest request = plan::testing::MakeRequest(rng, profiles);
  std::vector<std::vector<plan::Slo>> configurations;
  for (int c = 0; c < 5; ++c)
    configurations.push_back(
        {plan::testing::RandomSlo(rng, profiles[0]), plan::testing::RandomSlo(rng, profiles[1])});
  const auto planner = plan::MakeSparseLoomPlanner();
  const std::vector<StageHotness> hotness = ComputeHotness(request, configurations, *planner);

  ASSERT_EQ(hotness.size(), 2u * 3 * 3 * 2);
  std::map<std::pair<int, int>, double> per_stage;
  for (const StageHotness& h : hotness) {
    per_stage[{h.key.task, h.key.stage}] += h.frequency;
    EXPECT_GE(h.uniqueness, 0.0);
    EXPECT_LE(h.uniqueness, 1.0);
  }
  ASSERT_EQ(per_stage.size(), 6u);
  for (const auto& [stage, total] : per_stage)
    EXPECT_NEAR(total, 1.0, 1e-12);
  // Ties broken by key: the same input gives the same order.
  const std::vector<StageHotness> again = ComputeHotness(request, configurations, *planner);
  for (std::size_t i = 0; i < hotness.size(); ++i)
    EXPECT_EQ(again[i].key, hotness[i].key);
  const std::map<StageKey, double> scores = ScoresOf(hotness);
  EXPECT_EQ(scores.size(), hotness.size());
  EXPECT_EQ(scores.at(hotness.front().key), hotness.front().score);
}

TEST(Hotness, ConfigurationWithTheWrongNumberOfSlosIsAUsageError) {
  const std::vector<plan::TaskProfile> profiles = {Profile("a", 1, {0.9, 0.7}, {5.0, 1.0})};
  const auto planner = plan::MakeSparseLoomPlanner();
  EXPECT_THROW(ComputeHotness(RequestOf(profiles), {{{0.5, 10.0}, {0.5, 10.0}}}, *planner),
               UsageError);
}

TEST(Hotness, PreloadSetTakesTheHottestThatFitTheBudget) {
  std::vector<StageHotness> hotness;
  const std::map<int, std::int64_t> bytes = {{0, 400}, {1, 500}, {2, 300}, {3, 100}, {4, 200}};
  for (int t = 0; t < 5; ++t)
    hotness.push_back({.key = {t, 0, 0, 0}, .score = 1.0 - 0.1 * t});
  auto bytes_of = [&](const StageKey& key) { return bytes.at(key.task); };

  // 1 would overflow after 0; 2 and 3 fit; 4 would overflow again.
  const std::vector<StageKey> chosen = PreloadSet(hotness, bytes_of, 800);
  EXPECT_EQ(chosen, (std::vector<StageKey>{{0, 0, 0, 0}, {2, 0, 0, 0}, {3, 0, 0, 0}}));
  std::int64_t total = 0;
  for (const StageKey& key : chosen)
    total += bytes_of(key);
  EXPECT_LE(total, 800);

  EXPECT_EQ(PreloadSet(hotness, bytes_of, 0).size(), hotness.size());
  EXPECT_TRUE(PreloadSet(hotness, bytes_of, 50).empty());
}

}  // namespace
}  // namespace sparseloom::preload
