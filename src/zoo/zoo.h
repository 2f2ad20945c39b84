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
  std::filesystem::path reference_file;
  std::int64_t reference_samples = 0;
  std::vector<Variant> variants;

  // Index of the variant with this id; UsageError listing the known ids otherwise.
  std::size_t VariantIndex(const std::string& id) const;
  // What stage k (1-based) takes and returns.
  engine::StageSignature Signature(int stage) const;
  // V^K.
  std::int64_t StitchedCount() const;
};

Zoo LoadZoo(const std::filesystem::path& dir);

// Loads every stage of every variant through `engine` (one at a time, released after the check)
// so a stage file whose real signature differs from the manifest is an error naming the file.
// `progress(done, total)` is called after each stage.
void VerifyStageFiles(const Zoo& zoo, engine::Engine& engine,
                      const std::function<void(int, int)>& progress = {});

}  // namespace sparseloom::zoo
