#pragma once
// Typed, path-tracking access to a JSON document, so that every parse error names the file, the
// field (as a JSON path such as `variants[3].stages[1].bytes`) and what was expected.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sparseloom {

// What a JSON reader accepts before it builds a document, so that a hostile or broken file costs
// bounded time and memory: the file's size (checked before reading), nesting depth and the count
// of arrays and objects (checked in one pass over the text, before parsing). The document nlohmann
// builds then takes at most about 16 bytes per input byte.
struct JsonLimits {
  std::string kind = "JSON file";  // what the file is, for messages: "zoo manifest"
  std::uintmax_t max_bytes = std::uintmax_t{1} << 20;
  int max_depth = 16;
  std::size_t max_containers = 100000;  // arrays + objects
};

class JsonField {
 public:
  JsonField(std::shared_ptr<const std::string> file, const nlohmann::json* value, std::string path);

  // Reads a whole JSON file within `limits`; a missing, unreadable, oversized, too deeply nested or
  // unparsable file is an InputError.
  static JsonField ParseFile(const std::filesystem::path& file, nlohmann::json& storage,
                             const JsonLimits& limits = {});

  JsonField At(const std::string& key) const;  // required member
  bool Has(const std::string& key) const;
  JsonField At(std::size_t index) const;  // element of an array
  std::size_t Size() const;               // array length (error if not an array)

  std::string String() const;
  std::int64_t Int() const;
  std::int64_t NonNegativeInt() const;
  double Number() const;  // finite
  bool Bool() const;
  std::vector<std::int64_t> IntArray() const;

  const std::string& path() const { return path_; }
  const std::string& file() const { return *file_; }
  const nlohmann::json& raw() const { return *value_; }

  // An InputError for the first member whose name is not in `known` ("one of the known fields
  // (...)"): a misspelled field must not be silently ignored. Also fails when this is no object.
  void RejectUnknownKeys(const std::vector<std::string>& known) const;

  // An InputError about this field.
  [[noreturn]] void Fail(const std::string& expected, const std::string& got = {}) const;

 private:
  std::string Describe() const;

  std::shared_ptr<const std::string> file_;
  const nlohmann::json* value_;
  std::string path_;
};

// Writes `text` to `file` atomically (temporary file in the same folder, then rename).
void WriteFileAtomically(const std::filesystem::path& file, const std::string& text);

}  // namespace sparseloom
