#include "eval/memory_trace.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/error.h"

namespace sparseloom::eval {
namespace {

// What is sampled is what the sources said, in time order, with a last sample at Stop; a second
// Stop returns the same samples.
TEST(MemoryTrace, SamplesBothSourcesUntilStopped) {
  std::atomic<std::int64_t> stage_bytes{100};
  std::atomic<int> calls{0};
  MemoryTrace trace(
      [&] {
        ++calls;
        return stage_bytes.load();
      },
      [] { return std::int64_t{5000}; }, 1.0);
  while (calls.load() < 3)
    std::this_thread::yield();
  stage_bytes = 200;
  const std::vector<MemorySample> samples = trace.Stop();
  ASSERT_GE(samples.size(), 3u);
  for (std::size_t i = 1; i < samples.size(); ++i)
    EXPECT_GE(samples[i].t_s, samples[i - 1].t_s);
  EXPECT_EQ(samples.front().resident_stage_bytes, 100);
  EXPECT_EQ(samples.back().resident_stage_bytes, 200);  // the last sample is taken at Stop
  EXPECT_EQ(samples.back().rss_bytes, 5000);
  EXPECT_EQ(trace.Stop().size(), samples.size());
}

TEST(MemoryTrace, CsvHasAHeaderAndARowPerSample) {
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / "sparseloom_memory_trace_test.csv";
  WriteMemoryTrace(file.string(), {{0.0, 10, 20}, {0.05, 30, 40}});
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "t_s,resident_stage_bytes,rss_bytes\n0,10,20\n0.05,30,40\n");
  std::filesystem::remove(file);
}

TEST(MemoryTrace, ANonPositivePeriodIsAUsageError) {
  const auto zero = [] { return std::int64_t{0}; };
  EXPECT_THROW(MemoryTrace(zero, zero, 0.0), UsageError);
}

}  // namespace
}  // namespace sparseloom::eval
