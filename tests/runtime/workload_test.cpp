#include "runtime/workload.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "plan/evaluation.h"
#include "runtime/slo_changes.h"

namespace sparseloom::runtime {
namespace {

constexpr std::array<Tightness, 3> kAll = {Tightness::kTight, Tightness::kMedium,
                                           Tightness::kLoose};

// A profile with K stages, V variants, P processors; latency(k, v, p) and accuracy(s) given.
plan::TaskProfile MakeProfile(int K, int V, int P, const std::function<double(int, int, int)>& lat,
                              const std::function<double(std::int64_t)>& acc) {
  plan::TaskProfile profile;
  profile.task = "test";
  profile.num_stages = K;
  // insert(), not "v" + std::to_string(v): the latter trips a GCC 12 -Wrestrict false positive.
  for (int v = 0; v < V; ++v)
    profile.variant_ids.push_back(std::to_string(v).insert(0, 1, 'v'));
  for (int p = 0; p < P; ++p)
    profile.processors.push_back(std::to_string(p).insert(0, 1, 'p'));
  profile.stage_latency_ms.resize(static_cast<std::size_t>(K * V * P));
  for (int k = 0; k < K; ++k)
    for (int v = 0; v < V; ++v)
      for (int p = 0; p < P; ++p)
        profile.stage_latency_ms[profile.StageLatencyIndex(k, v, p)] = lat(k, v, p);
  profile.stage_bytes.assign(static_cast<std::size_t>(K * V), 1000);
  const std::int64_t count = plan::StitchedCount(profile);
  for (std::int64_t s = 0; s < count; ++s)
    profile.accuracy.push_back(acc(s));
  profile.handover_ms.assign(static_cast<std::size_t>(P * P), 0.1);
  return profile;
}

// Variant v is slower and more accurate with v; processor 1 is 1.5x slower than processor 0.
plan::TaskProfile ZooProfile() {
  plan::TaskProfile profile = MakeProfile(
      3, 3, 2, [](int k, int v, int p) { return (1.0 + k) * (1.0 + v) * (p == 0 ? 1.0 : 1.5); },
      [](std::int64_t) { return 0.0; });
  std::vector<int> digits(3);
  for (std::size_t s = 0; s < profile.accuracy.size(); ++s) {
    plan::DigitsOf(profile, static_cast<std::int64_t>(s), digits);
    profile.accuracy[s] = 0.5 + 0.1 * (digits[0] + digits[1] + digits[2]) / 2.0 -
                          (digits[0] == digits[1] && digits[1] == digits[2] ? 0.0 : 0.02);
  }
  return profile;
}

// Deterministic pseudo-random profiles of several shapes, some with stitch gaps, some where the
// fastest variants are the most accurate and some where a stitched variant beats every original.
std::vector<plan::TaskProfile> VariedProfiles() {
  std::vector<plan::TaskProfile> profiles = {ZooProfile()};
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const std::array<std::array<int, 3>, 6> shapes = {
      {{1, 1, 1}, {2, 2, 1}, {3, 4, 2}, {4, 3, 3}, {2, 5, 2}, {1, 6, 1}}};
  for (int round = 0; round < 5; ++round) {
    for (const auto& [K, V, P] : shapes) {
      plan::TaskProfile profile = MakeProfile(
          K, V, P, [&](int, int, int) { return 0.5 + 20.0 * uniform(rng); },
          [&](std::int64_t) { return uniform(rng); });
      if (round % 2 == 1)
        for (std::size_t s = 0; s < profile.accuracy.size(); ++s)
          profile.stitch_gap_ms.push_back(-0.2 + 3.0 * uniform(rng));
      profiles.push_back(profile);
    }
  }
  return profiles;
}

// lat[s] of workload.cpp's formulas, computed here independently.
double BestSingleProcessorLatency(const plan::TaskProfile& profile, std::int64_t s) {
  // The profiles' gaps never take a last stage below 0, so the planner's clamp does not apply.
  const int K = profile.num_stages;
  std::vector<int> digits(static_cast<std::size_t>(K));
  plan::DigitsOf(profile, s, digits);
  double best = std::numeric_limits<double>::infinity();
  for (int p = 0; p < profile.num_processors(); ++p) {
    double sum = 0.0;
    for (int k = 0; k < K; ++k)
      sum += profile.StageLatencyMs(k, digits[static_cast<std::size_t>(k)], p);
    best = std::min(best, sum);
  }
  return best + profile.StitchGapMs(s);
}

bool SomeVariantMeets(const plan::TaskProfile& profile, const plan::Slo& slo) {
  for (std::int64_t s = 0; s < plan::StitchedCount(profile); ++s)
    if (profile.accuracy[static_cast<std::size_t>(s)] >= slo.min_accuracy &&
        BestSingleProcessorLatency(profile, s) <= slo.max_latency_ms)
      return true;
  return false;
}

template <typename F>
std::string ThrownMessage(F&& f) {
  try {
    f();
  } catch (const UsageError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a UsageError";
  return "";
}

TEST(WorkloadGrid, AccuracyTightensFromLooseToTight) {
  for (const plan::TaskProfile& profile : VariedProfiles()) {
    for (Tightness latency : kAll) {
      const double tight = SloAt(profile, Tightness::kTight, latency).min_accuracy;
      const double medium = SloAt(profile, Tightness::kMedium, latency).min_accuracy;
      const double loose = SloAt(profile, Tightness::kLoose, latency).min_accuracy;
      EXPECT_GE(tight, medium);
      EXPECT_GE(medium, loose);
      EXPECT_GE(loose, 0.0);
      EXPECT_LE(tight, 1.0);
    }
  }
}

TEST(WorkloadGrid, LatencyTightensFromLooseToTight) {
  for (const plan::TaskProfile& profile : VariedProfiles()) {
    for (Tightness accuracy : kAll) {
      const double tight = SloAt(profile, accuracy, Tightness::kTight).max_latency_ms;
      const double medium = SloAt(profile, accuracy, Tightness::kMedium).max_latency_ms;
      const double loose = SloAt(profile, accuracy, Tightness::kLoose).max_latency_ms;
      EXPECT_GT(tight, 0.0);
      EXPECT_LT(tight, medium);
      EXPECT_LT(medium, loose);
    }
  }
}

TEST(WorkloadGrid, EveryPointIsMetBySomeStitchedVariantAlone) {
  for (const plan::TaskProfile& profile : VariedProfiles())
    for (Tightness accuracy : kAll)
      for (Tightness latency : kAll)
        EXPECT_TRUE(SomeVariantMeets(profile, SloAt(profile, accuracy, latency)))
            << "K=" << profile.num_stages << " V=" << profile.num_variants() << " "
            << ToString(accuracy) << "-acc/" << ToString(latency) << "-lat";
}

TEST(WorkloadGrid, TightIsMetWhenTheFastestVariantsAreTheLeastAccurate) {
  // Accuracy and latency both grow with the variant index: a tight accuracy SLO rules out every
  // fast variant, and the tight latency bound must follow the fastest variant that remains.
  const plan::TaskProfile profile = MakeProfile(
      2, 4, 1, [](int, int v, int) { return std::pow(4.0, v); },
      [](std::int64_t s) { return 0.2 + 0.05 * static_cast<double>(s); });
  const plan::Slo slo = SloAt(profile, Tightness::kTight, Tightness::kTight);
  EXPECT_GT(slo.max_latency_ms, 1.5 * 2.0);  // more than 1.5x the fastest variant overall
  EXPECT_TRUE(SomeVariantMeets(profile, slo));
}

TEST(WorkloadGrid, FollowsTheDocumentedFormulas) {
  // One stage, four variants on one processor: stitched variants are the originals.
  // Accuracies 0.6, 0.7, 0.8, 0.9 at 1, 2, 4, 8 ms.
  const plan::TaskProfile profile = MakeProfile(
      1, 4, 1, [](int, int v, int) { return std::pow(2.0, v); },
      [](std::int64_t s) { return 0.6 + 0.1 * static_cast<double>(s); });
  // Q(0.90): position 2.7 -> 0.8 + 0.7*0.1; Q(0.60): 1.8 -> 0.78; Q(0.25): 0.75 -> 0.675.
  const plan::Slo tight = SloAt(profile, Tightness::kTight, Tightness::kTight);
  EXPECT_NEAR(tight.min_accuracy, 0.87, 1e-12);
  EXPECT_DOUBLE_EQ(tight.max_latency_ms, 1.5 * 8.0);  // only variant 3 meets 0.87
  const plan::Slo medium = SloAt(profile, Tightness::kMedium, Tightness::kMedium);
  EXPECT_NEAR(medium.min_accuracy, 0.78, 1e-12);
  EXPECT_DOUBLE_EQ(medium.max_latency_ms, std::max(8.0, 2.0 * 4.0));  // d = 8, f_A = 4
  const plan::Slo loose = SloAt(profile, Tightness::kLoose, Tightness::kLoose);
  EXPECT_NEAR(loose.min_accuracy, 0.675, 1e-12);
  EXPECT_DOUBLE_EQ(loose.max_latency_ms, std::max(2.0 * 8.0, 3.0 * 2.0));  // f_A = 2
  EXPECT_DOUBLE_EQ(SloAt(profile, Tightness::kLoose, Tightness::kTight).max_latency_ms, 3.0);
}

TEST(WorkloadGrid, TightAccuracyNeverExceedsTheBestOriginal) {
  // Stitched variants (mixed digits) all beat the originals; tight stays at the best original.
  const plan::TaskProfile profile = MakeProfile(
      2, 3, 1, [](int, int, int) { return 1.0; },
      [](std::int64_t s) { return s % 4 == 0 ? 0.5 + 0.01 * static_cast<double>(s) : 0.95; });
  const double best_original = 0.5 + 0.01 * 8.0;  // (2, 2) is s = 8
  EXPECT_DOUBLE_EQ(SloAt(profile, Tightness::kTight, Tightness::kMedium).min_accuracy,
                   best_original);
  EXPECT_DOUBLE_EQ(SloAt(profile, Tightness::kLoose, Tightness::kMedium).min_accuracy,
                   best_original);
}

TEST(WorkloadGrid, HandlesOneVariantAndEqualAccuracies) {
  const plan::TaskProfile single = MakeProfile(
      3, 1, 2, [](int, int, int p) { return 2.0 + p; }, [](std::int64_t) { return 0.7; });
  const plan::TaskProfile flat = MakeProfile(
      2, 3, 1, [](int, int v, int) { return 1.0 + v; }, [](std::int64_t) { return 0.8; });
  for (Tightness accuracy : kAll) {
    const plan::Slo a = SloAt(single, accuracy, Tightness::kTight);
    EXPECT_DOUBLE_EQ(a.min_accuracy, 0.7);
    EXPECT_DOUBLE_EQ(a.max_latency_ms, 1.5 * 6.0);
    EXPECT_DOUBLE_EQ(SloAt(single, accuracy, Tightness::kLoose).max_latency_ms, 18.0);
    const plan::Slo b = SloAt(flat, accuracy, Tightness::kTight);
    EXPECT_DOUBLE_EQ(b.min_accuracy, 0.8);
    EXPECT_DOUBLE_EQ(b.max_latency_ms, 1.5 * 2.0);  // every variant qualifies; (0, 0) is fastest
    // Ties among originals go to the faster: d = 2 ms, so medium = max(2, 2*2).
    EXPECT_DOUBLE_EQ(SloAt(flat, accuracy, Tightness::kMedium).max_latency_ms, 4.0);
  }
}

TEST(WorkloadGrid, RejectsMalformedProfilesNamingTheField) {
  plan::TaskProfile profile = ZooProfile();
  profile.accuracy.pop_back();
  EXPECT_NE(ThrownMessage([&] {
              SloAt(profile, Tightness::kTight, Tightness::kTight);
            }).find("accuracy: expected V^K = 27 entries, got 26"),
            std::string::npos);
  profile = ZooProfile();
  profile.accuracy[3] = 1.5;
  EXPECT_NE(ThrownMessage([&] {
              SloAt(profile, Tightness::kTight, Tightness::kTight);
            }).find("accuracy[3]"),
            std::string::npos);
  profile = ZooProfile();
  profile.stage_latency_ms.resize(5);
  EXPECT_NE(ThrownMessage([&] {
              SloAt(profile, Tightness::kTight, Tightness::kTight);
            }).find("stage_latency_ms"),
            std::string::npos);
  // A gap can shorten a chain's last stage away (to 3 ms on p0 here), never the chain: stitched
  // variant 0 fails only when its stages take no time at all.
  profile = ZooProfile();
  profile.stitch_gap_ms.assign(profile.accuracy.size(), 0.0);
  profile.stitch_gap_ms[0] = -100.0;
  EXPECT_EQ(BestSingleProcessorLatencies(profile)[0], 1.0 + 2.0);
  for (int k = 0; k < 3; ++k)
    for (int p = 0; p < 2; ++p)
      profile.stage_latency_ms[profile.StageLatencyIndex(k, 0, p)] = 0.0;
  EXPECT_NE(ThrownMessage([&] {
              SloAt(profile, Tightness::kTight, Tightness::kTight);
            }).find("stitched variant 0"),
            std::string::npos);
  profile = ZooProfile();
  profile.num_stages = 0;
  EXPECT_NE(ThrownMessage([&] {
              SloAt(profile, Tightness::kTight, Tightness::kTight);
            }).find("num_stages"),
            std::string::npos);
}

TEST(WorkloadSloConfigurations, FirstIsAllMediumAndNamesFollowTheGrid) {
  const std::vector<plan::TaskProfile> profiles = VariedProfiles();
  const std::vector<const plan::TaskProfile*> tasks = {&profiles[0], &profiles[3], &profiles[8]};
  const std::vector<SloConfiguration> configurations = SloConfigurations(tasks, 50, 1);
  ASSERT_EQ(configurations.size(), 50u);
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    EXPECT_EQ(configurations[0].names[t], "medium-acc/medium-lat");
    const plan::Slo medium = SloAt(*tasks[t], Tightness::kMedium, Tightness::kMedium);
    EXPECT_EQ(configurations[0].slos[t].min_accuracy, medium.min_accuracy);
    EXPECT_EQ(configurations[0].slos[t].max_latency_ms, medium.max_latency_ms);
  }
  // Every configuration's SLO is the grid point its name says.
  std::map<std::string, std::pair<Tightness, Tightness>> points;
  for (Tightness a : kAll)
    for (Tightness l : kAll)
      points[ToString(a) + "-acc/" + ToString(l) + "-lat"] = {a, l};
  for (const SloConfiguration& configuration : configurations) {
    ASSERT_EQ(configuration.slos.size(), tasks.size());
    ASSERT_EQ(configuration.names.size(), tasks.size());
    for (std::size_t t = 0; t < tasks.size(); ++t) {
      ASSERT_TRUE(points.contains(configuration.names[t])) << configuration.names[t];
      const auto [a, l] = points[configuration.names[t]];
      const plan::Slo expected = SloAt(*tasks[t], a, l);
      EXPECT_EQ(configuration.slos[t].min_accuracy, expected.min_accuracy);
      EXPECT_EQ(configuration.slos[t].max_latency_ms, expected.max_latency_ms);
    }
  }
}

TEST(WorkloadSloConfigurations, DrawsEveryGridPointRoughlyUniformly) {
  const plan::TaskProfile profile = ZooProfile();
  const std::vector<SloConfiguration> configurations = SloConfigurations({&profile}, 9001, 3);
  std::map<std::string, int> counts;
  for (std::size_t c = 1; c < configurations.size(); ++c)
    ++counts[configurations[c].names[0]];
  ASSERT_EQ(counts.size(), 9u);
  for (const auto& [name, n] : counts) {
    EXPECT_GT(n, 850) << name;  // 1000 expected, standard deviation about 30
    EXPECT_LT(n, 1150) << name;
  }
}

TEST(WorkloadSloConfigurations, SameSeedSameConfigurationsOtherSeedOthers) {
  const std::vector<plan::TaskProfile> profiles = VariedProfiles();
  const std::vector<const plan::TaskProfile*> tasks = {&profiles[0], &profiles[1], &profiles[2],
                                                       &profiles[3]};
  const auto names = [&](std::uint64_t seed) {
    std::vector<std::vector<std::string>> out;
    for (const SloConfiguration& configuration : SloConfigurations(tasks, 30, seed))
      out.push_back(configuration.names);
    return out;
  };
  EXPECT_EQ(names(42), names(42));
  EXPECT_NE(names(42), names(43));
}

TEST(WorkloadSloConfigurations, RejectsInvalidInputs) {
  const plan::TaskProfile profile = ZooProfile();
  EXPECT_NE(ThrownMessage([&] {
              SloConfigurations({&profile, nullptr}, 3, 0);
            }).find("profiles[1]: expected a task profile, got a null pointer"),
            std::string::npos);
  EXPECT_NE(ThrownMessage([&] {
              SloConfigurations({&profile}, 0, 0);
            }).find("SLO configuration count: expected at least 1, got 0"),
            std::string::npos);
  EXPECT_NE(ThrownMessage([&] { SloConfigurations({}, 3, 0); }).find("at least one task profile"),
            std::string::npos);
}

bool IsPermutation(std::vector<int> order, int n) {
  std::sort(order.begin(), order.end());
  std::vector<int> identity(static_cast<std::size_t>(n));
  std::iota(identity.begin(), identity.end(), 0);
  return order == identity;
}

TEST(WorkloadArrivalOrders, AllPermutationsInLexicographicOrderWhenAsked) {
  for (int count : {24, 25, 1000}) {
    const std::vector<std::vector<int>> orders = ArrivalOrders(4, count, 5);
    ASSERT_EQ(orders.size(), 24u);
    for (const std::vector<int>& order : orders)
      EXPECT_TRUE(IsPermutation(order, 4));
    EXPECT_TRUE(std::is_sorted(orders.begin(), orders.end()));
    EXPECT_EQ(std::set<std::vector<int>>(orders.begin(), orders.end()).size(), 24u);
  }
  EXPECT_EQ(ArrivalOrders(1, 10, 0), (std::vector<std::vector<int>>{{0}}));
}

TEST(WorkloadArrivalOrders, DrawnOrdersAreDistinctPermutationsIdentityFirst) {
  for (const auto& [tasks, count] :
       {std::pair{4, 23}, std::pair{4, 5}, std::pair{6, 100}, std::pair{25, 50}}) {
    const std::vector<std::vector<int>> orders = ArrivalOrders(tasks, count, 9);
    ASSERT_EQ(orders.size(), static_cast<std::size_t>(count));
    EXPECT_TRUE(std::is_sorted(orders[0].begin(), orders[0].end()));
    for (const std::vector<int>& order : orders)
      EXPECT_TRUE(IsPermutation(order, tasks));
    EXPECT_EQ(std::set<std::vector<int>>(orders.begin(), orders.end()).size(),
              static_cast<std::size_t>(count));
  }
}

TEST(WorkloadArrivalOrders, SameSeedSameOrdersOtherSeedOthers) {
  EXPECT_EQ(ArrivalOrders(5, 20, 11), ArrivalOrders(5, 20, 11));
  EXPECT_NE(ArrivalOrders(5, 20, 11), ArrivalOrders(5, 20, 12));
}

TEST(WorkloadArrivalOrders, RejectsInvalidInputs) {
  EXPECT_NE(ThrownMessage([] {
              ArrivalOrders(0, 3, 0);
            }).find("number of tasks: expected at least 1, got 0"),
            std::string::npos);
  EXPECT_NE(ThrownMessage([] {
              ArrivalOrders(4, -2, 0);
            }).find("arrival order count: expected at least 1, got -2"),
            std::string::npos);
}

TEST(WorkloadPoissonArrivals, GapsHaveTheMeanAndSpreadOfTheRate) {
  for (double rate : {0.5, 40.0}) {
    PoissonArrivals arrivals(rate, 17);
    EXPECT_EQ(arrivals.rate_per_s(), rate);
    constexpr int kDraws = 20'000;
    double sum = 0.0;
    double sum_squares = 0.0;
    for (int i = 0; i < kDraws; ++i) {
      const double gap = arrivals.NextGapS();
      ASSERT_GE(gap, 0.0);
      sum += gap;
      sum_squares += gap * gap;
    }
    const double mean = sum / kDraws;
    const double deviation = std::sqrt(sum_squares / kDraws - mean * mean);
    // The mean's standard error is 0.7% of 1/rate over 20,000 draws; 5% is a 7-sigma bound.
    EXPECT_NEAR(mean * rate, 1.0, 0.05);
    EXPECT_NEAR(deviation * rate, 1.0, 0.05);  // exponential: deviation equals the mean
  }
}

TEST(WorkloadPoissonArrivals, SameSeedSameGapsOtherSeedOthers) {
  PoissonArrivals a(10.0, 1);
  PoissonArrivals b(10.0, 1);
  PoissonArrivals c(10.0, 2);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const double gap = a.NextGapS();
    EXPECT_EQ(gap, b.NextGapS());
    differs = differs || gap != c.NextGapS();
  }
  EXPECT_TRUE(differs);
}

TEST(WorkloadPoissonArrivals, RejectsNonPositiveRates) {
  for (double rate : {0.0, -3.0, std::numeric_limits<double>::quiet_NaN(),
                      std::numeric_limits<double>::infinity()})
    EXPECT_NE(ThrownMessage([&] {
                PoissonArrivals arrivals(rate, 0);
              }).find("Poisson arrival rate: expected a finite rate > 0"),
              std::string::npos)
        << rate;
}

TEST(WorkloadSampleSequence, StaysInRangeAndVisitsTheWholeSet) {
  SampleSequence samples(37, 4);
  std::set<std::int64_t> seen;
  for (int i = 0; i < 5000; ++i) {
    const std::int64_t sample = samples.Next();
    ASSERT_GE(sample, 0);
    ASSERT_LT(sample, 37);
    seen.insert(sample);
  }
  EXPECT_EQ(seen.size(), 37u);
  SampleSequence one(1, 4);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(one.Next(), 0);
}

TEST(WorkloadSampleSequence, SameSeedSameSamplesOtherSeedOthers) {
  SampleSequence a(1000, 8);
  SampleSequence b(1000, 8);
  SampleSequence c(1000, 9);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const std::int64_t sample = a.Next();
    EXPECT_EQ(sample, b.Next());
    differs = differs || sample != c.Next();
  }
  EXPECT_TRUE(differs);
}

TEST(WorkloadSampleSequence, RejectsAnEmptySet) {
  EXPECT_NE(ThrownMessage([] {
              SampleSequence samples(0, 0);
            }).find("sample set size: expected at least 1 sample, got 0"),
            std::string::npos);
}

TEST(WorkloadNames, TightnessAndArrivalKind) {
  EXPECT_EQ(ToString(Tightness::kTight), "tight");
  EXPECT_EQ(ToString(Tightness::kMedium), "medium");
  EXPECT_EQ(ToString(Tightness::kLoose), "loose");
  EXPECT_EQ(ToString(ArrivalKind::kClosedLoop), "closed");
  EXPECT_EQ(ToString(ArrivalKind::kPoisson), "poisson");
}

// SLO changes drawn per phase: seeded, in time order, each moving a task present then to another
// grid point; the states of the episode and the SLO asked at any time follow from them.
TEST(WorkloadSloChanges, SeededInOrderOnPresentTasksToOtherGridPoints) {
  const plan::TaskProfile zoo = ZooProfile();
  const std::vector<const plan::TaskProfile*> profiles = {&zoo, &zoo, &zoo};
  Episode episode;
  episode.name = "e";
  episode.order = {2, 0, 1};
  const plan::Slo medium = SloAt(zoo, Tightness::kMedium, Tightness::kMedium);
  episode.slos = {medium, medium, medium};
  const auto changes = DrawSloChanges(profiles, episode, 2.0, 3.0, 11);
  EXPECT_EQ(changes.size(), DrawSloChanges(profiles, episode, 2.0, 3.0, 11).size());
  EXPECT_GT(changes.size(), 3u);  // about 9 over 3 phases
  EXPECT_TRUE(DrawSloChanges(profiles, episode, 2.0, 0.0, 11).empty());
  std::vector<plan::Slo> current = episode.slos;
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const SloChange& c = changes[i];
    const auto present_end = episode.order.begin() + c.phase + 1;
    EXPECT_NE(std::find(episode.order.begin(), present_end, c.task), present_end);
    EXPECT_GE(c.after_ms, 0.0);
    EXPECT_LT(c.after_ms, 2000.0);
    const plan::Slo& before = current[static_cast<std::size_t>(c.task)];
    EXPECT_FALSE(c.slo.min_accuracy == before.min_accuracy &&
                 c.slo.max_latency_ms == before.max_latency_ms);
    EXPECT_FALSE(c.name.empty());
    current[static_cast<std::size_t>(c.task)] = c.slo;
  }
  episode.changes = changes;
  EXPECT_NO_THROW(CheckSloChanges(episode, 2000.0));
  const std::vector<ServingState> states = StatesOf(episode);
  ASSERT_EQ(states.size(), 3 + changes.size());
  EXPECT_EQ(states.back().slos.size(), 3u);
  for (std::size_t t = 0; t < 3; ++t) {
    const plan::Slo last = states.back().slos[t];
    const plan::Slo asked = SloAskedAt(episode, 2000.0, static_cast<int>(t), 6000.0);
    EXPECT_EQ(last.min_accuracy, asked.min_accuracy);
    EXPECT_EQ(last.max_latency_ms, asked.max_latency_ms);
  }
  EXPECT_THROW(DrawSloChanges(profiles, episode, 2.0, -1.0, 11), UsageError);
  episode.changes = {{0, 2500.0, 2, medium, ""}};
  EXPECT_THROW(CheckSloChanges(episode, 2000.0), UsageError);  // past its phase
  episode.changes = {{1, 10.0, 0, medium, ""}, {0, 10.0, 2, medium, ""}};
  EXPECT_THROW(CheckSloChanges(episode, 2000.0), UsageError);  // out of order
}

}  // namespace
}  // namespace sparseloom::runtime
