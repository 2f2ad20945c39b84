#include "zoo/zoo.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/content_hash.h"
#include "common/error.h"
#include "engine/torchscript_engine.h"
#include "runtime/stitched_chain.h"
#include "support/test_zoos.h"

namespace sparseloom::zoo {
namespace {

using testing::TestZoo;
using testing::ZooCopy;

// The message of the InputError that `f` throws, or a note that it threw none.
template <typename F>
std::string InputErrorOf(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError thrown)";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

// Changes one byte of `file` in place (same size, other content).
void FlipByte(const std::filesystem::path& file, std::uintmax_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  const int c = f.get();
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0xFF));
}

// Replaces a stage file of a copy and records its size and content hash, as a tool that rewrote
// the manifest with it would: what is checked then is the engine's reading of the file.
void ReplaceStage(nlohmann::json& stage, const std::filesystem::path& dir,
                  const std::filesystem::path& with) {
  const auto file = dir / stage["file"].get<std::string>();
  std::filesystem::copy_file(with, file, std::filesystem::copy_options::overwrite_existing);
  stage["bytes"] = std::filesystem::file_size(file);
  stage["sha256"] = Sha256OfFile(file);
}

TEST(LoadZoo, ReadsTheTestZoos) {
  for (const char* name : {"tiny_cnn", "tiny_transformer"}) {
    const Zoo z = LoadZoo(TestZoo(name));
    EXPECT_EQ(z.version, kManifestVersion);
    EXPECT_EQ(z.num_stages, 3);
    EXPECT_EQ(z.variants.size(), 10u);
    EXPECT_EQ(z.StitchedCount(), 1000);
    EXPECT_EQ(z.boundaries.size(), 2u);
    EXPECT_EQ(z.variants[z.VariantIndex("dense")].stages[0].precision, Precision::kFp32);
    EXPECT_EQ(z.variants[z.VariantIndex("int8")].stages[1].precision, Precision::kInt8);
    EXPECT_EQ(z.variants[z.VariantIndex("bf16")].stages[2].precision, Precision::kBf16);
    EXPECT_EQ(z.variants[z.VariantIndex("us90")].stages[0].sparsity_kind,
              SparsityKind::kUnstructured);
    EXPECT_EQ(z.variants[z.VariantIndex("struct50")].stages[0].sparsity_kind,
              SparsityKind::kStructured);
    for (const auto& v : z.variants) {
      EXPECT_GT(v.accuracy, 0.0) << v.id;
      for (const auto& s : v.stages) {
        EXPECT_GT(s.flops, 0) << v.id;
        EXPECT_LE(s.nonzeros, s.params) << v.id;
      }
    }
  }
  EXPECT_EQ(LoadZoo(TestZoo("tiny_transformer")).side_inputs.size(), 1u);
  EXPECT_TRUE(LoadZoo(TestZoo("tiny_cnn")).side_inputs.empty());
}

TEST(LoadZoo, MissingDirectoryOrManifest) {
  EXPECT_CONTAINS(InputErrorOf([] { LoadZoo("/nonexistent/zoo"); }),
                  "/nonexistent/zoo: expected a zoo directory containing zoo.json");
  ZooCopy copy("tiny_cnn", "no-manifest");
  std::filesystem::remove(copy.manifest_file());
  EXPECT_CONTAINS(InputErrorOf([&] { LoadZoo(copy.dir()); }),
                  copy.manifest_file().string() + ": expected a readable JSON file");
}

TEST(LoadZoo, TruncatedManifest) {
  ZooCopy copy("tiny_cnn", "truncated");
  const std::string text = copy.manifest().dump();
  std::ofstream(copy.manifest_file()) << text.substr(0, text.size() / 2);
  EXPECT_CONTAINS(InputErrorOf([&] { LoadZoo(copy.dir()); }), "zoo.json: expected valid JSON");
}

TEST(LoadZoo, UnknownManifestVersion) {
  ZooCopy copy("tiny_cnn", "version");
  copy.manifest()["version"] = 99;
  copy.Save();
  EXPECT_CONTAINS(InputErrorOf([&] { LoadZoo(copy.dir()); }),
                  "zoo.json: version: expected manifest version 1 (rebuild the zoo with this "
                  "release's tools/zoo), got 99");
}

TEST(LoadZoo, MissingFieldAndWrongType) {
  ZooCopy copy("tiny_cnn", "fields");
  copy.manifest().erase("num_stages");
  copy.Save();
  EXPECT_CONTAINS(InputErrorOf([&] { LoadZoo(copy.dir()); }),
                  "zoo.json: num_stages: expected a value, got field is missing");
  copy.manifest()["num_stages"] = "three";
  copy.Save();
  EXPECT_CONTAINS(InputErrorOf([&] { LoadZoo(copy.dir()); }),
                  "zoo.json: num_stages: expected an integer, got \"three\"");
}

TEST(LoadZoo, MissingStageFile) {
  ZooCopy copy("tiny_cnn", "missing-stage");
  const std::string rel = copy.manifest()["variants"][3]["stages"][1]["file"];
  std::filesystem::remove(copy.dir() / rel);
  EXPECT_CONTAINS(InputErrorOf([&] { LoadZoo(copy.dir()); }),
                  "zoo.json: variants[3].stages[1].file: expected an existing, readable file");
}

TEST(LoadZoo, AChangedByteInAnyFileIsRefusedNamingIt) {
  ZooCopy copy("tiny_cnn", "flipped");
  const Zoo z = LoadZoo(copy.dir());
  std::vector<std::filesystem::path> files{z.validation_file, z.reference_file};
  for (const auto& v : z.variants)
    for (const auto& s : v.stages)
      files.push_back(s.file);
  for (const auto& file : files) {
    const std::uintmax_t middle = std::filesystem::file_size(file) / 2;
    FlipByte(file, middle);
    EXPECT_CONTAINS(InputErrorOf([&] { LoadZoo(copy.dir()); }),
                    file.string() + ": content: expected the SHA-256 recorded in " +
                        copy.manifest_file().string());
    FlipByte(file, middle);  // restored
  }
  EXPECT_NO_THROW(LoadZoo(copy.dir()));
}

TEST(LoadZoo, AZooWithoutHashesSaysHowToRecordThem) {
  ZooCopy copy("tiny_cnn", "no-hashes");
  const Zoo before = LoadZoo(copy.dir());
  copy.manifest()["validation"].erase("sha256");
  copy.manifest()["reference"].erase("sha256");
  for (auto& v : copy.manifest()["variants"])
    for (auto& s : v["stages"])
      s.erase("sha256");
  copy.Save();
  EXPECT_CONTAINS(InputErrorOf([&] { LoadZoo(copy.dir()); }),
                  "validation.sha256: expected the SHA-256 of validation.pt (a zoo built before "
                  "content hashes: `sparseloom zoo hash " +
                      copy.dir().string() + "` records them");
  RecordContentHashes(copy.dir());
  const Zoo after = LoadZoo(copy.dir());
  EXPECT_EQ(after.validation_sha256, before.validation_sha256);
  EXPECT_EQ(after.reference_sha256, before.reference_sha256);
  for (std::size_t v = 0; v < after.variants.size(); ++v)
    for (std::size_t k = 0; k < after.variants[v].stages.size(); ++k)
      EXPECT_EQ(after.variants[v].stages[k].sha256, before.variants[v].stages[k].sha256);
}

TEST(LoadZoo, UnknownFieldsAreErrors) {
  ZooCopy copy("tiny_cnn", "unknown");
  copy.manifest()["variants"][2]["stages"][0]["flop"] = 1;
  copy.Save();
  EXPECT_CONTAINS(InputErrorOf([&] { LoadZoo(copy.dir()); }),
                  "zoo.json: variants[2].stages[0].flop: expected one of the known fields");
  copy.manifest()["variants"][2]["stages"][0].erase("flop");
  copy.manifest()["build"]["anything"] = {{"the builder's", "own"}};  // free-form
  copy.Save();
  EXPECT_NO_THROW(LoadZoo(copy.dir()));
}

TEST(TorchScriptEngine, RefusesAStageFileChangedAfterTheZooWasRead) {
  ZooCopy copy("tiny_cnn", "changed-later");
  const Zoo z = LoadZoo(copy.dir());
  const StageInfo& stage = z.variants[z.VariantIndex("int8")].stages[1];
  FlipByte(stage.file, std::filesystem::file_size(stage.file) / 2);
  engine::TorchScriptEngine engine;
  runtime::ZooStages stages(z, engine, engine::ProcessorConfig{});
  EXPECT_CONTAINS(InputErrorOf([&] { stages.Get(z.VariantIndex("int8"), 2); }),
                  stage.file.string() +
                      ": content: expected the SHA-256 the zoo manifest "
                      "records (" +
                      stage.sha256.substr(0, 12));
  EXPECT_NO_THROW(stages.Get(z.VariantIndex("int8"), 1));
}

TEST(LoadZoo, StageBytesDisagreeWithTheFile) {
  ZooCopy copy("tiny_cnn", "bytes");
  copy.manifest()["variants"][0]["stages"][2]["bytes"] = 12;
  copy.Save();
  EXPECT_CONTAINS(InputErrorOf([&] { LoadZoo(copy.dir()); }),
                  "variants[0].stages[2].bytes: expected the size of");
}

TEST(LoadZoo, VariantMissingAStage) {
  ZooCopy copy("tiny_cnn", "short-variant");
  copy.manifest()["variants"][2]["stages"].erase(1);
  copy.Save();
  EXPECT_CONTAINS(InputErrorOf([&] { LoadZoo(copy.dir()); }),
                  "variants[2].stages: expected 3 stages (num_stages), got 2");
}

TEST(LoadZoo, DuplicateVariantIds) {
  ZooCopy copy("tiny_cnn", "duplicate");
  copy.manifest()["variants"][1]["id"] = copy.manifest()["variants"][0]["id"];
  copy.Save();
  EXPECT_CONTAINS(InputErrorOf([&] { LoadZoo(copy.dir()); }),
                  "variants[1].id: expected a unique variant id");
}

TEST(LoadZoo, BoundarySpecsThatCannotBeRight) {
  ZooCopy copy("tiny_cnn", "boundaries");
  nlohmann::json original = copy.manifest()["boundaries"];
  copy.manifest()["boundaries"].erase(1);
  copy.Save();
  EXPECT_CONTAINS(InputErrorOf([&] { LoadZoo(copy.dir()); }),
                  "boundaries: expected 2 boundary specs (num_stages - 1), got 1");
  copy.manifest()["boundaries"] = original;
  copy.manifest()["boundaries"][0]["dtype"] = "int64";
  copy.Save();
  EXPECT_CONTAINS(InputErrorOf([&] { LoadZoo(copy.dir()); }),
                  "boundaries[0].dtype: expected \"float32\"");
  copy.manifest()["boundaries"] = original;
  copy.manifest()["boundaries"][1]["shape"][0] = 4;
  copy.Save();
  EXPECT_CONTAINS(InputErrorOf([&] { LoadZoo(copy.dir()); }),
                  "boundaries[1].shape: expected a shape whose dimension 0 is the batch");
}

// The manifest says boundary 1 has another shape than the stage files really produce: every
// variant's stage 1 now disagrees with it, and loading the files finds that.
TEST(VerifyStageFiles, BoundaryShapeThatDisagreesWithTheStageFiles) {
  ZooCopy copy("tiny_cnn", "boundary-shape");
  auto& shape = copy.manifest()["boundaries"][0]["shape"];
  shape[1] = shape[1].get<int>() + 1;
  copy.Save();
  const Zoo z = LoadZoo(copy.dir());
  engine::TorchScriptEngine engine;
  const std::string message = InputErrorOf([&] { VerifyStageFiles(z, engine); });
  EXPECT_CONTAINS(message, "stage1.pt: variant '" + z.variants[0].id + "' stage 1: output '");
  EXPECT_CONTAINS(message, ", got float32 [1, ");
}

// A stage of one variant taken from a zoo whose interface differs (the transformer's stages also
// take an attention mask): the real signature disagrees with the manifest.
TEST(VerifyStageFiles, StageFileWithAnotherSignature) {
  ZooCopy copy("tiny_cnn", "foreign-stage");
  auto& stage = copy.manifest()["variants"][1]["stages"][1];
  ReplaceStage(stage, copy.dir(), TestZoo("tiny_transformer") / "stages" / "dense" / "stage2.pt");
  copy.Save();
  const Zoo z = LoadZoo(copy.dir());
  engine::TorchScriptEngine engine;
  const std::string message = InputErrorOf([&] { VerifyStageFiles(z, engine); });
  EXPECT_CONTAINS(message, "stage2.pt: variant '" + z.variants[1].id + "' stage 2: forward");
  EXPECT_CONTAINS(message, "expected 1 tensor argument(s)");
}

TEST(VerifyStageFiles, TruncatedStageFile) {
  ZooCopy copy("tiny_cnn", "truncated-stage");
  auto& stage = copy.manifest()["variants"][0]["stages"][0];
  const auto file = copy.dir() / stage["file"].get<std::string>();
  std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
  stage["bytes"] = std::filesystem::file_size(file);
  stage["sha256"] = Sha256OfFile(file);
  copy.Save();
  const Zoo z = LoadZoo(copy.dir());
  engine::TorchScriptEngine engine;
  EXPECT_CONTAINS(
      InputErrorOf([&] { VerifyStageFiles(z, engine); }),
      "stage1.pt: variant '" + z.variants[0].id +
          "' stage 1: stage file: expected a TorchScript module saved by torch.jit.save");
}

TEST(VerifyStageFiles, AcceptsTheTestZoos) {
  engine::TorchScriptEngine engine;
  for (const char* name : {"tiny_cnn", "tiny_transformer"}) {
    const Zoo z = LoadZoo(TestZoo(name));
    int calls = 0;
    VerifyStageFiles(z, engine, [&](int, int) { ++calls; });
    EXPECT_EQ(calls, 30);
  }
}

}  // namespace
}  // namespace sparseloom::zoo
