// A loaded stage's ResidentBytes against what loading it really costs the process: the growth of
// its resident set (RSS) per copy of each stage kind of the test zoos (fp32 dense, unstructured,
// structured, bf16, int8, int8 structured), within 10%.

#include <malloc.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "engine/torchscript_engine.h"
#include "support/test_zoos.h"
#include "zoo/zoo.h"

namespace sparseloom::engine {
namespace {

constexpr double kTolerance = 0.10;
constexpr int kCopies = 6;

// Resident bytes of this process once the allocator has returned the pages it holds free.
std::int64_t Rss() {
  malloc_trim(0);
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

TEST(ResidentBytes, WithinTenPercentOfTheRssGrowthOfLoadingEachStageKind) {
  TorchScriptEngine engine;
  std::printf("%-18s %-14s %12s %14s %14s %7s\n", "zoo", "variant", "file bytes", "ResidentBytes",
              "RSS growth", "ratio");
  for (const char* name : {"tiny_cnn", "tiny_transformer"}) {
    const zoo::Zoo z = zoo::LoadZoo(testing::TestZoo(name));
    for (const char* id : {"dense", "us50", "struct50", "bf16", "int8", "int8_struct50"}) {
      const std::size_t v = z.VariantIndex(id);
      std::vector<std::unique_ptr<LoadedStage>> kept;
      // One copy of each stage first, untimed: the first load of a shape or precision in the
      // process also fills the library's caches for it, which later copies share.
      for (int k = 1; k <= z.num_stages; ++k)
        kept.push_back(engine.LoadStage(z.StageLoad(v, k)));
      std::int64_t file_bytes = 0;
      for (const auto& s : z.variants[v].stages)
        file_bytes += s.bytes;
      const std::int64_t before = Rss();
      std::int64_t reported = 0;
      for (int copy = 0; copy < kCopies; ++copy) {
        for (int k = 1; k <= z.num_stages; ++k) {
          kept.push_back(engine.LoadStage(z.StageLoad(v, k)));
          reported += kept.back()->ResidentBytes();
          // Never less than the weights the file holds (int8 stages were reported at a tenth).
          EXPECT_GE(kept.back()->ResidentBytes(),
                    z.variants[v].stages[static_cast<std::size_t>(k - 1)].bytes * 9 / 10)
              << name << " " << id << " stage " << k;
        }
      }
      const double growth = static_cast<double>(Rss() - before) / kCopies;
      const double per_copy = static_cast<double>(reported) / kCopies;
      std::printf("%-18s %-14s %12lld %14.0f %14.0f %7.3f\n", name, id,
                  static_cast<long long>(file_bytes), per_copy, growth, per_copy / growth);
      EXPECT_NEAR(per_copy / growth, 1.0, kTolerance)
          << name << " " << id << ": ResidentBytes " << per_copy << " per copy of the variant's "
          << z.num_stages << " stages, RSS growth " << growth;
    }
  }
}

}  // namespace
}  // namespace sparseloom::engine
