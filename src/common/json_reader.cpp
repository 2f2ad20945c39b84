#include "common/json_reader.h"

#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <system_error>

#include "common/error.h"
#include "common/files.h"

namespace sparseloom {

JsonField::JsonField(std::shared_ptr<const std::string> file, const nlohmann::json* value,
                     std::string path)
    : file_(std::move(file)), value_(value), path_(std::move(path)) {}

namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// At most `max_bytes` of the file: the size is checked before reading and again while reading (a
// file that grows meanwhile), so an oversized file never gets into memory.
std::string ReadBounded(const std::filesystem::path& file, const JsonLimits& limits) {
  std::unique_ptr<std::FILE, FileCloser> f(OpenForReading(file, "a readable JSON file"));
  auto too_big = [&](const std::string& got) {
    return InputError(file.string(), "",
                      "a " + limits.kind + " of at most " + ByteCount(limits.max_bytes), got);
  };
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(file, ec);
  if (!ec && size > limits.max_bytes)
    throw too_big(ByteCount(size));
  std::string text;
  text.resize(static_cast<std::size_t>(ec ? 0 : size) + 1);  // one more byte: growth shows
  std::size_t used = 0;
  while (true) {
    if (used == text.size()) {
      if (text.size() > limits.max_bytes)
        throw too_big("more than that");
      text.resize(std::min<std::size_t>(2 * text.size() + 4096, limits.max_bytes + 1));
    }
    const std::size_t n = std::fread(text.data() + used, 1, text.size() - used, f.get());
    used += n;
    if (n == 0) {
      if (std::ferror(f.get()))
        throw InputError(file.string(), "", "a readable JSON file", ErrnoText(errno));
      break;
    }
  }
  if (used > limits.max_bytes)
    throw too_big("more than that");
  text.resize(used);
  return text;
}

// One pass over the text, outside strings, before nlohmann builds anything: a file of 50 MB of
// '[' took 2.1 GB as a document before its rejection.
void CheckShape(const std::string& text, const std::string& file, const JsonLimits& limits) {
  int depth = 0;
  std::size_t containers = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limits.max_depth) {
        throw InputError(file, "",
                         "JSON nested at most " + std::to_string(limits.max_depth) + " deep (a " +
                             limits.kind + ")",
                         "deeper at byte " + std::to_string(i + 1));
      }
      if (++containers > limits.max_containers) {
        throw InputError(file, "",
                         "at most " + std::to_string(limits.max_containers) +
                             " arrays and objects (a " + limits.kind + ")",
                         "more by byte " + std::to_string(i + 1));
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

}  // namespace

JsonField JsonField::ParseFile(const std::filesystem::path& file, nlohmann::json& storage,
                               const JsonLimits& limits) {
  auto name = std::make_shared<const std::string>(file.string());
  const std::string text = ReadBounded(file, limits);
  CheckShape(text, *name, limits);
  try {
    storage = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for numbers such as 1e999 that no double holds.
    throw InputError(*name, "", "valid JSON", e.what());
  }
  return JsonField(name, &storage, "");
}

std::string JsonField::Describe() const {
  if (value_->is_string()) {
    std::string s = value_->dump();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
  }
  if (!value_->is_structured())
    return value_->dump();
  // A short flat array or object is shown as it is ("[1,32,16,16]", "[]"), any other by its kind
  // (without dumping it: it may be huge or deeply nested).
  const bool flat = value_->size() <= 16 &&
                    std::none_of(value_->begin(), value_->end(),
                                 [](const nlohmann::json& item) { return item.is_structured(); });
  if (flat) {
    std::string s = value_->dump();
    if (s.size() <= 40)
      return s;
  }
  return value_->is_object() ? "an object" : "an array";
}

void JsonField::Fail(const std::string& expected, const std::string& got) const {
  throw InputError(*file_, path_.empty() ? "(top level)" : path_, expected,
                   got.empty() ? Describe() : got);
}

JsonField JsonField::At(const std::string& key) const {
  if (!value_->is_object())
    Fail("an object with field '" + key + "'");
  std::string child = path_.empty() ? key : path_ + "." + key;
  auto it = value_->find(key);
  if (it == value_->end())
    throw InputError(*file_, child, "a value", "field is missing");
  return JsonField(file_, &*it, child);
}

void JsonField::RejectUnknownKeys(const std::vector<std::string>& known) const {
  if (!value_->is_object())
    Fail("an object");
  for (const auto& [key, value] : value_->items()) {
    if (std::find(known.begin(), known.end(), key) != known.end())
      continue;
    std::vector<std::string> sorted = known;
    std::sort(sorted.begin(), sorted.end());
    std::string list;
    for (const std::string& k : sorted)
      list += (list.empty() ? "" : ", ") + k;
    throw InputError(*file_, path_.empty() ? key : path_ + "." + key,
                     "one of the known fields (" + list + ")", "an unknown field");
  }
}

bool JsonField::Has(const std::string& key) const {
  return value_->is_object() && value_->contains(key);
}

JsonField JsonField::At(std::size_t index) const {
  if (!value_->is_array())
    Fail("an array");
  if (index >= value_->size())
    Fail("an array with at least " + std::to_string(index + 1) + " items",
         std::to_string(value_->size()) + " items");
  return JsonField(file_, &(*value_)[index], path_ + "[" + std::to_string(index) + "]");
}

std::size_t JsonField::Size() const {
  if (!value_->is_array())
    Fail("an array");
  return value_->size();
}

std::string JsonField::String() const {
  if (!value_->is_string())
    Fail("a string");
  return value_->get<std::string>();
}

std::int64_t JsonField::Int() const {
  if (!value_->is_number_integer())
    Fail("an integer");
  return value_->get<std::int64_t>();
}

std::int64_t JsonField::NonNegativeInt() const {
  std::int64_t v = Int();
  if (v < 0)
    Fail("a non-negative integer");
  return v;
}

double JsonField::Number() const {
  if (!value_->is_number())
    Fail("a number");
  double v = value_->get<double>();
  if (!std::isfinite(v))
    Fail("a finite number");
  return v;
}

bool JsonField::Bool() const {
  if (!value_->is_boolean())
    Fail("true or false");
  return value_->get<bool>();
}

std::vector<std::int64_t> JsonField::IntArray() const {
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < Size(); ++i)
    out.push_back(At(i).Int());
  return out;
}

void WriteFileAtomically(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::path tmp = file;
  tmp += ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      throw InputError(file.string(), "", "a writable location", "cannot create " + tmp.string());
    out << text;
    out.flush();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw InputError(file.string(), "", "a writable location", "write failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw InputError(file.string(), "", "a writable location", "rename failed");
  }
}

}  // namespace sparseloom
