// The workload of `sparseloom run` and `sparseloom bench`: SLO configurations x arrival orders.

#include "eval/episodes.h"

#include <gtest/gtest.h>

#include "eval/eval_fixtures.h"

namespace sparseloom::eval {
namespace {

std::vector<runtime::SloConfiguration> Configs(int n) {
  std::vector<runtime::SloConfiguration> out;
  for (int c = 0; c < n; ++c) {
    runtime::SloConfiguration config;
    config.slos = {{0.5, 10.0 + c}, {0.6, 20.0 + c}};
    config.names = {"a", "b"};
    out.push_back(config);
  }
  return out;
}

TEST(MakeEpisodes, EveryConfigurationTimesEveryOrderConfigurationMajor) {
  const std::vector<std::vector<int>> orders = {{0, 1}, {1, 0}};
  const auto episodes = MakeEpisodes(Configs(2), orders, 2, 2);
  ASSERT_EQ(episodes.size(), 4u);
  EXPECT_EQ(episodes[0].name, "slo0-order0");
  EXPECT_EQ(episodes[1].name, "slo0-order1");
  EXPECT_EQ(episodes[2].name, "slo1-order0");
  EXPECT_EQ(episodes[3].name, "slo1-order1");
  EXPECT_EQ(episodes[1].order, (std::vector<int>{1, 0}));
  EXPECT_DOUBLE_EQ(episodes[2].slos[1].max_latency_ms, 21.0);
}

TEST(MakeEpisodes, TakesTheFirstConfigurationsAndOrdersOnly) {
  const std::vector<std::vector<int>> orders = {{0, 1}, {1, 0}};
  EXPECT_EQ(MakeEpisodes(Configs(3), orders, 1, 1).size(), 1u);
  EXPECT_EQ(MakeEpisodes(Configs(3), orders, 2, 10).size(), 4u);  // no more than there are
  EXPECT_TRUE(MakeEpisodes(Configs(3), orders, 0, 2).empty());
}

TEST(RunWorkload, NoConfigurationsMeansTheTaskFilesSlos) {
  const Inputs in = testing::TinyInputs({"a", "b"});
  const std::vector<const plan::TaskProfile*> profiles = {&in.profiles[0], &in.profiles[1]};
  const Workload w = RunWorkload(in.file, profiles, 0, 0, 7);
  ASSERT_EQ(w.configs.size(), 1u);
  EXPECT_EQ(w.configs[0].names, (std::vector<std::string>{"task-file", "task-file"}));
  EXPECT_DOUBLE_EQ(w.configs[0].slos[0].max_latency_ms, 100.0);
  ASSERT_EQ(w.orders.size(), 1u);  // at least one order
  ASSERT_EQ(w.episodes.size(), 1u);
  EXPECT_EQ(w.episodes[0].name, "slo0-order0");
  EXPECT_EQ(w.episodes[0].order, (std::vector<int>{0, 1}));
}

TEST(RunWorkload, DrawsConfigurationsFromTheGridWithTheSeed) {
  const Inputs in = testing::TinyInputs({"a", "b"});
  const std::vector<const plan::TaskProfile*> profiles = {&in.profiles[0], &in.profiles[1]};
  const Workload w = RunWorkload(in.file, profiles, 3, 2, 7);
  EXPECT_EQ(w.configs.size(), 3u);
  EXPECT_EQ(w.orders.size(), 2u);
  EXPECT_EQ(w.episodes.size(), 6u);
  const Workload again = RunWorkload(in.file, profiles, 3, 2, 7);
  for (std::size_t e = 0; e < w.episodes.size(); ++e) {
    EXPECT_EQ(w.episodes[e].order, again.episodes[e].order);
    EXPECT_DOUBLE_EQ(w.episodes[e].slos[0].max_latency_ms,
                     again.episodes[e].slos[0].max_latency_ms);
  }
}

}  // namespace
}  // namespace sparseloom::eval
