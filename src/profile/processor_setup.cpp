#include "profile/processor_setup.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include "common/error.h"
#include "common/json_reader.h"
#include "runtime/processor_thread.h"

namespace sparseloom::profile {
namespace {

// The same bounds as a processor file's: a core range such as "0-2000000000" must not allocate
// gigabytes, nor a thread count start a billion threads.
constexpr int kMaxCore = 4095;
constexpr int kMaxThreads = 1024;

int ParseInt(const std::string& text, const std::string& what, const std::string& whole, int low,
             int high) {
  int value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < low || value > high) {
    throw UsageError("--processors '" + whole + "': " + what + ": expected an integer in " +
                     std::to_string(low) + ".." + std::to_string(high) + ", got '" + text + "'");
  }
  return value;
}

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = text.find(sep, begin);
    parts.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos)
      return parts;
    begin = end + 1;
  }
}

std::vector<int> ParseCores(const std::string& text, const std::string& whole) {
  std::vector<int> cores;
  for (const std::string& part : Split(text, '+')) {
    const std::size_t dash = part.find('-');
    if (dash == std::string::npos) {
      cores.push_back(ParseInt(part, "core", whole, 0, kMaxCore));
      continue;
    }
    const int first = ParseInt(part.substr(0, dash), "core", whole, 0, kMaxCore);
    const int last = ParseInt(part.substr(dash + 1), "core", whole, 0, kMaxCore);
    if (last < first)
      throw UsageError("--processors '" + whole + "': core range '" + part + "' is empty");
    for (int c = first; c <= last; ++c)
      cores.push_back(c);
  }
  return cores;
}

void CheckNames(const ProcessorSetup& setup, const std::string& source) {
  if (setup.empty())
    throw UsageError(source + ": expected at least one processor");
  std::set<std::string> names;
  for (const auto& p : setup) {
    if (p.name.empty())
      throw UsageError(source + ": a processor has an empty name");
    if (!names.insert(p.name).second)
      throw UsageError(source + ": processor name '" + p.name + "' appears twice");
    if (p.threads < 1)
      throw UsageError(source + ": processor '" + p.name + "' needs at least 1 thread");
  }
}

ProcessorSetup ParseFile(const std::filesystem::path& file) {
  nlohmann::json storage;
  JsonLimits limits;  // a few hundred bytes per processor
  limits.kind = "processor file";
  const JsonField root = JsonField::ParseFile(file, storage, limits);
  const JsonField list = root.At("processors");
  ProcessorSetup setup;
  for (std::size_t i = 0; i < list.Size(); ++i) {
    const JsonField f = list.At(i);
    engine::ProcessorConfig p;
    p.name = f.At("name").String();
    const JsonField threads = f.At("threads");
    if (threads.Int() < 1 || threads.Int() > kMaxThreads)
      threads.Fail("a thread count in 1..1024");
    p.threads = static_cast<int>(threads.Int());
    const JsonField cores = f.At("cores");
    for (std::int64_t c : cores.IntArray()) {
      if (c < 0 || c > kMaxCore)
        cores.Fail("core ids in 0..4095");
      p.cores.push_back(static_cast<int>(c));
    }
    if (p.cores.empty())
      cores.Fail("at least one core id");
    setup.push_back(std::move(p));
  }
  CheckNames(setup, file.string());
  return setup;
}

}  // namespace

ProcessorSetup DefaultProcessorSetup(int max_processors) {
  ProcessorSetup setup;
  for (int core : runtime::AvailableCores()) {
    if (static_cast<int>(setup.size()) >= max_processors)
      break;
    engine::ProcessorConfig p;
    p.name = "cpu" + std::to_string(core);
    p.cores = {core};
    p.threads = 1;
    setup.push_back(std::move(p));
  }
  return setup;
}

ProcessorSetup ParseProcessorSetup(const std::string& text) {
  if (text.ends_with(".json") || std::filesystem::is_regular_file(text))
    return ParseFile(text);
  ProcessorSetup setup;
  for (const std::string& item : Split(text, ',')) {
    const std::vector<std::string> fields = Split(item, ':');
    if (fields.size() != 3) {
      throw UsageError("--processors '" + text + "': expected NAME:CORES:THREADS, got '" + item +
                       "'");
    }
    engine::ProcessorConfig p;
    p.name = fields[0];
    p.cores = ParseCores(fields[1], text);
    p.threads = ParseInt(fields[2], "threads", text, 1, kMaxThreads);
    setup.push_back(std::move(p));
  }
  CheckNames(setup, "--processors '" + text + "'");
  return setup;
}

std::string ToString(const ProcessorSetup& setup) {
  std::string out;
  for (const auto& p : setup) {
    std::string cores;
    for (int c : p.cores) {
      cores += cores.empty() ? "" : "+";
      cores += std::to_string(c);
    }
    out += out.empty() ? "" : ",";
    out += p.name + ":" + cores + ":" + std::to_string(p.threads);
  }
  return out;
}

}  // namespace sparseloom::profile
