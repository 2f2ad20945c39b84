#pragma once
// A sparse model zoo as read from disk (format: docs/zoo-format.md). LoadZoo checks the manifest
// and the files it names; VerifyStageFiles loads every stage through an engine to check that the
// real TorchScript signatures agree with the manifest.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace sparseloom::zoo {

inline constexpr int kManifestVersion = 1;
inline constexpr const char* kManifestFile = "zoo.json";
inline constexpr double kMaxStitchedVariants = 1e15;  // V^K, so that it fits any index
// A manifest's bounds before it is parsed (a few KB for 10 variants of 3 stages; 4 MiB holds
// about 10,000 stage entries): common/json_reader.h.
inline constexpr std::uintmax_t kMaxManifestBytes = std::uintmax_t{4} << 20;
inline constexpr int kMaxManifestDepth = 16;

enum class Precision { kFp32, kBf16, kInt8 };
enum class SparsityKind { kNone, kUnstructured, kStructured };

std::string ToString(Precision p);
std::string ToString(SparsityKind k);

struct StageInfo {
  int index = 0;               // 1..K
  std::string file_field;      // as written in the manifest (relative)
  std::filesystem::path file;  // resolved against the zoo directory
  std::int64_t params = 0;
  std::int64_t nonzeros = 0;
  std::int64_t bytes = 0;
  std::string sha256;  // of the file's content, as recorded in the manifest (checked on load)
  std::int64_t flops = 0;
  Precision precision = Precision::kFp32;
  SparsityKind sparsity_kind = SparsityKind::kNone;
  double sparsity_level = 0.0;
};

struct Variant {
  std::string id;
  std::string description;
  double accuracy = 0.0;  // whole variant on the validation set, in [0, 1]
  std::vector<StageInfo> stages;
};

struct Zoo {
  std::filesystem::path dir;
  std::filesystem::path manifest_file;
  int version = 0;
  std::string task;
  std::string family;
  int num_stages = 0;
  std::int64_t seed = 0;
  std::string metric;
  engine::TensorSpec input;
  std::vector<engine::TensorSpec> side_inputs;
  std::vector<engine::TensorSpec> boundaries;  // K-1
  engine::TensorSpec output;
  std::filesystem::path validation_file;
  std::int64_t validation_samples = 0;
  std::string validation_sha256;
  std::filesystem::path reference_file;
  std::int64_t reference_samples = 0;
  std::string reference_sha256;
  std::vector<Variant> variants;

  // Index of the variant with this id; UsageError listing the known ids otherwise.
  std::size_t VariantIndex(const std::string& id) const;
  // What stage k (1-based) takes and returns.
  engine::StageSignature Signature(int stage) const;
  // V^K.
  std::int64_t StitchedCount() const;
  // What an engine needs to load stage `stage` (1-based) of variant `variant`: the file, its
  // recorded SHA-256 and signature (the caller sets the processor).
  engine::StageLoadOptions StageLoad(std::size_t variant, int stage) const;
};

struct LoadZooOptions {
  // Hash every stage file, the validation and the reference set and compare with the manifest's
  // sha256 fields (streamed; docs/zoo-format.md has the cost). Off only to record the hashes of a
  // zoo built before they existed (`sparseloom zoo hash`), which then need not be there.
  bool check_content = true;
};

// Reads and checks the manifest and the files it names: a changed byte in any of them is an
// InputError naming the file, so a corrupted stage is never served.
Zoo LoadZoo(const std::filesystem::path& dir, const LoadZooOptions& options = {});

// The manifest with a sha256 field recorded for every stage file, the validation and the reference
// set, from their content now (for zoos built before the builder recorded them); written
// atomically, keys in their order. The zoo must load without its hashes first.
void RecordContentHashes(const std::filesystem::path& dir);

// Loads every stage of every variant through `engine` (one at a time, released after the check)
// so a stage file whose real signature differs from the manifest is an error naming the file.
// `progress(done, total)` is called after each stage.
void VerifyStageFiles(const Zoo& zoo, engine::Engine& engine,
                      const std::function<void(int, int)>& progress = {});

}  // namespace sparseloom::zoo
