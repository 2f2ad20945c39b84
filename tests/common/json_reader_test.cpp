#include "common/json_reader.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include <cerrno>

#include "common/error.h"
#include "common/files.h"

namespace sparseloom {
namespace {

std::filesystem::path WriteTemp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("sparseloom-json-" + name);
  std::ofstream(path) << text;
  return path;
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(JsonField, ErrorsNameTheFileTheFieldAndWhatWasExpected) {
  const auto file = WriteTemp("a.json", R"({"a": {"b": [1, "x", 3.5]}, "n": -2})");
  nlohmann::json storage;
  const JsonField root = JsonField::ParseFile(file, storage);
  EXPECT_EQ(root.At("a").At("b").At(0).Int(), 1);
  EXPECT_EQ(ErrorOf([&] { root.At("a").At("b").At(1).Int(); }),
            file.string() + ": a.b[1]: expected an integer, got \"x\"");
  EXPECT_EQ(ErrorOf([&] { root.At("a").At("c"); }),
            file.string() + ": a.c: expected a value, got field is missing");
  EXPECT_EQ(ErrorOf([&] { root.At("n").NonNegativeInt(); }),
            file.string() + ": n: expected a non-negative integer, got -2");
  EXPECT_EQ(ErrorOf([&] { root.At("a").At("b").At(7); }),
            file.string() + ": a.b: expected an array with at least 8 items, got 3 items");
}

TEST(JsonField, ShowsAShortArrayOrObjectAndNamesALongOne) {
  const auto file =
      WriteTemp("c.json", R"({"shape": [1, 32], "long": [100000, 200000, 300000, 400000,
                                            500000, 600000, 700000]})");
  nlohmann::json storage;
  const JsonField root = JsonField::ParseFile(file, storage);
  EXPECT_EQ(ErrorOf([&] { root.At("shape").Fail("a shape"); }),
            file.string() + ": shape: expected a shape, got [1,32]");
  EXPECT_EQ(ErrorOf([&] { root.At("long").Fail("a shape"); }),
            file.string() + ": long: expected a shape, got an array");
  EXPECT_EQ(ErrorOf([&] { root.Fail("an array"); }),
            file.string() + ": (top level): expected an array, got an object");
}

TEST(JsonField, UnparsableAndMissingFilesAreInputErrors) {
  nlohmann::json storage;
  const auto bad = WriteTemp("bad.json", R"({"a": )");
  EXPECT_NE(ErrorOf([&] { JsonField::ParseFile(bad, storage); }).find("expected valid JSON"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              JsonField::ParseFile("/nonexistent/x.json", storage);
            }).find("/nonexistent/x.json: expected a readable JSON file"),
            std::string::npos);
}

TEST(JsonField, NumbersNoDoubleHoldsAreInputErrors) {
  nlohmann::json storage;
  const auto huge = WriteTemp("huge.json", R"({"a": 1e999})");
  EXPECT_NE(ErrorOf([&] { JsonField::ParseFile(huge, storage); }).find("expected valid JSON"),
            std::string::npos);
}

TEST(JsonField, FilesBeyondTheLimitsAreRefusedBeforeParsing) {
  nlohmann::json storage;
  JsonLimits limits;
  limits.kind = "test file";
  limits.max_bytes = 100;
  limits.max_depth = 3;
  limits.max_containers = 4;
  const auto big = WriteTemp("big.json", "[" + std::string(200, ' ') + "]");
  EXPECT_EQ(ErrorOf([&] { JsonField::ParseFile(big, storage, limits); }),
            big.string() + ": expected a test file of at most 100 bytes, got 202 bytes");
  const auto deep = WriteTemp("deep.json", "[[[[]]]]");
  EXPECT_EQ(ErrorOf([&] { JsonField::ParseFile(deep, storage, limits); }),
            deep.string() +
                ": expected JSON nested at most 3 deep (a test file), got deeper at "
                "byte 4");
  const auto many = WriteTemp("many.json", "[[],[],[],[]]");
  EXPECT_EQ(ErrorOf([&] { JsonField::ParseFile(many, storage, limits); }),
            many.string() +
                ": expected at most 4 arrays and objects (a test file), got more by "
                "byte 11");
  // Brackets inside strings, escaped quotes included, are text, not nesting.
  const auto text = WriteTemp("text.json", R"({"a": "[[[[\"{{{{", "b": [[1]]})");
  EXPECT_EQ(JsonField::ParseFile(text, storage, limits).At("a").String(), "[[[[\"{{{{");
}

TEST(JsonField, SaysWhatIsThereInsteadOfAFile) {
  nlohmann::json storage;
  const auto dir = std::filesystem::temp_directory_path() / "sparseloom-json-dir.json";
  std::filesystem::create_directories(dir);
  EXPECT_EQ(ErrorOf([&] { JsonField::ParseFile(dir, storage); }),
            dir.string() + ": expected a readable JSON file, got a directory");
  EXPECT_EQ(ErrorOf([&] { JsonField::ParseFile("/nonexistent/x.json", storage); }),
            "/nonexistent/x.json: expected a readable JSON file, got no such file");
  EXPECT_EQ(ErrnoText(EACCES), "permission denied");
  EXPECT_EQ(ByteCount(4 << 20), "4 MiB");
  EXPECT_EQ(ByteCount(1048577), "1,048,577 bytes");
}

TEST(JsonField, RejectsUnknownKeysNamingThem) {
  const auto file = WriteTemp("keys.json", R"({"a": 1, "bb": 2})");
  nlohmann::json storage;
  const JsonField root = JsonField::ParseFile(file, storage);
  EXPECT_NO_THROW(root.RejectUnknownKeys({"bb", "a"}));
  EXPECT_EQ(ErrorOf([&] {
              root.RejectUnknownKeys({"c", "a"});
            }),
            file.string() + ": bb: expected one of the known fields (a, c), got an unknown field");
}

TEST(WriteFileAtomically, ReplacesTheFileWhole) {
  const auto file = std::filesystem::temp_directory_path() / "sparseloom-atomic.json";
  WriteFileAtomically(file, "first");
  WriteFileAtomically(file, "second");
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "second");
  EXPECT_THROW(WriteFileAtomically("/nonexistent-dir/x.json", "x"), InputError);
}

}  // namespace
}  // namespace sparseloom
