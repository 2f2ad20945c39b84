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

class JsonField {
 public:
  JsonField(std::shared_ptr<const std::string> file, const nlohmann::json* value, std::string path);

  // Reads a whole JSON file; a missing, unreadable or unparsable file is an InputError.
  static JsonField ParseFile(const std::filesystem::path& file, nlohmann::json& storage);

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
