// What the content hashes cost (docs/zoo-format.md, "Content hashes"): LoadZoo with and without
// hashing every stage file and tensor set, and the engine's LoadStage with and without re-hashing
// the bytes it loads, per zoo. Medians over rounds, files in the page cache (a first untimed
// round reads them).
// Usage: zoo_integrity ZOO_DIR... [--rounds N]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/torchscript_engine.h"
#include "zoo/zoo.h"

namespace {

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double SecondsOf(const std::function<void()>& f) {
  const auto start = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sparseloom;
  std::vector<std::string> zoos;
  int rounds = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--rounds" && i + 1 < argc)
      rounds = std::max(1, std::atoi(argv[++i]));
    else
      zoos.push_back(arg);
  }
  if (zoos.empty()) {
    std::fprintf(stderr, "usage: zoo_integrity ZOO_DIR... [--rounds N]\n");
    return 2;
  }
  try {
    engine::TorchScriptEngine engine;
    std::printf("%-20s %10s %12s %12s %10s %14s %14s\n", "zoo", "MB hashed", "LoadZoo ms",
                "unhashed ms", "MB/s", "stage loads ms", "unhashed ms");
    for (const std::string& dir : zoos) {
      zoo::LoadZooOptions unchecked;
      unchecked.check_content = false;
      const zoo::Zoo z = zoo::LoadZoo(dir);  // untimed: reads the files into the page cache
      std::uintmax_t bytes = std::filesystem::file_size(z.validation_file) +
                             std::filesystem::file_size(z.reference_file);
      for (const auto& v : z.variants)
        for (const auto& s : v.stages)
          bytes += static_cast<std::uintmax_t>(s.bytes);
      std::vector<double> checked_s, unchecked_s, load_s, load_unhashed_s;
      for (int r = 0; r < rounds; ++r) {
        checked_s.push_back(SecondsOf([&] { (void)zoo::LoadZoo(dir); }));
        unchecked_s.push_back(SecondsOf([&] { (void)zoo::LoadZoo(dir, unchecked); }));
      }
      // Every stage once per round, with and without the engine's hash of the loaded bytes.
      for (int r = 0; r < std::min(rounds, 3); ++r) {
        for (bool hashed : {true, false}) {
          double total = 0.0;
          for (std::size_t v = 0; v < z.variants.size(); ++v) {
            for (int k = 1; k <= z.num_stages; ++k) {
              engine::StageLoadOptions options = z.StageLoad(v, k);
              options.warmup_runs = 1;
              if (!hashed)
                options.sha256.clear();
              total += SecondsOf([&] { (void)engine.LoadStage(options); });
            }
          }
          (hashed ? load_s : load_unhashed_s).push_back(total);
        }
      }
      const double mb = static_cast<double>(bytes) / 1e6;
      const double hash_s = Median(checked_s) - Median(unchecked_s);
      std::printf("%-20s %10.1f %12.1f %12.1f %10.0f %14.1f %14.1f\n", z.task.c_str(), mb,
                  1e3 * Median(checked_s), 1e3 * Median(unchecked_s),
                  hash_s > 0 ? mb / hash_s : 0.0, 1e3 * Median(load_s),
                  1e3 * Median(load_unhashed_s));
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
