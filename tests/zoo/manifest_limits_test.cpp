// A hostile manifest costs bounded time and memory (issue #22): 50 MB of nested arrays took
// 2.1 GB and seconds before its rejection; it must be refused within 1 s and 100 MB.

#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "common/error.h"
#include "zoo/zoo.h"

namespace sparseloom::zoo {
namespace {

std::int64_t PeakRssBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::int64_t>(usage.ru_maxrss) * 1024;
}

// Writes `manifest` as a zoo's zoo.json and returns how LoadZoo refused it.
std::string RefusalOf(const std::string& tag, const std::string& manifest, double* seconds,
                      std::int64_t* peak_growth) {
  const auto dir = std::filesystem::temp_directory_path() / ("sparseloom-limits-" + tag);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / kManifestFile, std::ios::binary) << manifest;
  const std::int64_t peak_before = PeakRssBytes();
  const auto start = std::chrono::steady_clock::now();
  std::string message = "(accepted)";
  try {
    LoadZoo(dir);
  } catch (const InputError& e) {
    message = e.what();
  }
  *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  *peak_growth = PeakRssBytes() - peak_before;
  std::filesystem::remove_all(dir);
  return message;
}

TEST(ManifestLimits, A50MbNestedManifestIsRefusedWithin1SecondAnd100Mb) {
  double seconds = 0.0;
  std::int64_t growth = 0;
  const std::string message = RefusalOf("nested", std::string(50 << 20, '['), &seconds, &growth);
  EXPECT_NE(message.find("expected a zoo manifest of at most 4 MiB, got 50 MiB"), std::string::npos)
      << message;
  EXPECT_LT(seconds, 1.0);
  EXPECT_LT(growth, 100 << 20);
}

TEST(ManifestLimits, ANestedManifestUnderTheSizeLimitIsRefusedByItsDepth) {
  double seconds = 0.0;
  std::int64_t growth = 0;
  const std::string message = RefusalOf("deep", std::string(4 << 20, '['), &seconds, &growth);
  EXPECT_NE(message.find("expected JSON nested at most 16 deep (a zoo manifest), got deeper at "
                         "byte 17"),
            std::string::npos)
      << message;
  EXPECT_LT(seconds, 1.0);
  EXPECT_LT(growth, 100 << 20);
}

TEST(ManifestLimits, AWideManifestUnderTheSizeLimitStaysUnder100Mb) {
  // The most memory per byte that passes the shape checks: objects of short keys, each holding
  // one number, 4 MiB of them (nlohmann builds a node per key). Refused for its fields after.
  std::string text = "{";
  for (int i = 0; text.size() < (4u << 20) - 16; ++i) {
    text += '"';
    text += std::to_string(i);
    text += "\":0,";
  }
  text += "\"x\":0}";
  double seconds = 0.0;
  std::int64_t growth = 0;
  const std::string message = RefusalOf("wide", text, &seconds, &growth);
  EXPECT_NE(message.find("expected one of the known fields"), std::string::npos) << message;
  EXPECT_LT(growth, 100 << 20);
}

}  // namespace
}  // namespace sparseloom::zoo
