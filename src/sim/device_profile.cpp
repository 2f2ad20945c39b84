#include "sim/device_profile.h"

#include <cmath>
#include <cstdio>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_reader.h"

namespace sparseloom::sim {
namespace {

const std::set<std::string> kTopKeys = {"format",     "version", "name",   "description",
                                        "processors", "storage", "sources"};
const std::set<std::string> kProcessorKeys = {"name",
                                              "kind",
                                              "description",
                                              "optional",
                                              "precisions",
                                              "memory_bytes_per_s",
                                              "sparsity",
                                              "dispatch_overhead_ms",
                                              "unsupported_families",
                                              "family_factors"};
const std::set<std::string> kNativeKeys = {"peak_ops_per_s", "utilization"};
const std::set<std::string> kExecutedAsKeys = {"executed_as", "source"};
const std::set<std::string> kUnsupportedKeys = {"unsupported"};
const std::set<std::string> kQuantityKeys = {"value", "source", "derivation"};
const std::set<std::string> kSparsityKeys = {"unstructured", "structured"};
const std::set<std::string> kStorageKeys = {"read_bytes_per_s", "per_load_ms"};
const std::set<std::string> kFamilyKeys = {"family", "source"};
const std::set<std::string> kPrecisionNames = {"fp32", "half", "int8"};

std::string JoinKeys(const std::set<std::string>& keys) {
  std::string out;
  for (const std::string& key : keys)
    out += (out.empty() ? "" : ", ") + key;
  return out;
}

std::string Child(const JsonField& f, const std::string& key) {
  return f.path().empty() ? key : f.path() + "." + key;
}

// An unknown key is most likely a typo ("memory_bandwith"): ignoring it would silently simulate
// with a default, so it is an error.
void RejectUnknownKeys(const JsonField& object, const std::set<std::string>& known) {
  if (!object.raw().is_object())
    object.Fail("an object");
  for (const auto& [key, value] : object.raw().items()) {
    if (!known.contains(key)) {
      throw InputError(object.file(), Child(object, key),
                       "one of the known fields (" + JoinKeys(known) + ")", "an unknown field");
    }
  }
}

std::string Num(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

std::string NonEmptyString(const JsonField& f, const std::string& expected) {
  if (!f.raw().is_string() || f.raw().get<std::string>().empty())
    f.Fail(expected);
  return f.String();
}

enum class Range { kPositive, kNonNegative, kFraction, kPositiveFraction };

// A cited number: {"value": x, "source": "...", "derivation": "..."(optional)}.
double Quantity(const JsonField& f, Range range, const std::string& what,
                std::map<std::string, std::string>& sources) {
  if (!f.raw().is_object()) {
    f.Fail(
        "a cited number {\"value\": ..., \"source\": \"URL and what it says, or 'assumed: "
        "why'\"} for " +
        what);
  }
  RejectUnknownKeys(f, kQuantityKeys);
  const JsonField value_field = f.At("value");
  const double value = value_field.Number();
  std::string expected;
  bool ok = true;
  switch (range) {
    case Range::kPositive:
      ok = value > 0.0;
      expected = "a positive " + what;
      break;
    case Range::kNonNegative:
      ok = value >= 0.0;
      expected = "a non-negative " + what;
      break;
    case Range::kFraction:
      ok = value >= 0.0 && value <= 1.0;
      expected = what + " in [0, 1]";
      break;
    case Range::kPositiveFraction:
      ok = value > 0.0 && value <= 1.0;
      expected = what + " in (0, 1]";
      break;
  }
  if (!ok)
    value_field.Fail(expected, Num(value));
  std::string source = NonEmptyString(
      f.At("source"), "a non-empty source (URL and what it says, or 'assumed: why')");
  if (f.Has("derivation"))
    source += " | derivation: " + NonEmptyString(f.At("derivation"), "a non-empty derivation");
  sources[f.path()] = source;
  return value;
}

ComputePrecision ParseComputePrecision(const JsonField& f) {
  const std::string s = f.String();
  if (s == "fp32")
    return ComputePrecision::kFp32;
  if (s == "half")
    return ComputePrecision::kHalf;
  if (s == "int8")
    return ComputePrecision::kInt8;
  f.Fail("one of fp32, half, int8");
}

ProcessorKind ParseKind(const JsonField& f) {
  const std::string s = f.String();
  if (s == "cpu")
    return ProcessorKind::kCpu;
  if (s == "gpu")
    return ProcessorKind::kGpu;
  if (s == "npu")
    return ProcessorKind::kNpu;
  if (s == "dla")
    return ProcessorKind::kDla;
  f.Fail("one of cpu, gpu, npu, dla");
}

PrecisionSupport ParsePrecisionSupport(const JsonField& f,
                                       std::map<std::string, std::string>& sources) {
  if (!f.raw().is_object())
    f.Fail("an object: {peak_ops_per_s, utilization}, {executed_as, source} or {unsupported}");
  PrecisionSupport s;
  if (f.Has("unsupported")) {
    RejectUnknownKeys(f, kUnsupportedKeys);
    s.mode = PrecisionSupport::Mode::kUnsupported;
    s.reason = NonEmptyString(f.At("unsupported"), "why it is unsupported, with its source");
    sources[Child(f, "unsupported")] = s.reason;
    return s;
  }
  if (f.Has("executed_as")) {
    RejectUnknownKeys(f, kExecutedAsKeys);
    s.mode = PrecisionSupport::Mode::kExecutedAs;
    s.executed_as = ParseComputePrecision(f.At("executed_as"));
    s.reason = NonEmptyString(f.At("source"), "a non-empty source for the conversion");
    sources[Child(f, "executed_as")] = s.reason;
    return s;
  }
  RejectUnknownKeys(f, kNativeKeys);
  s.mode = PrecisionSupport::Mode::kNative;
  s.peak_ops_per_s =
      Quantity(f.At("peak_ops_per_s"), Range::kPositive, "throughput (ops/s)", sources);
  s.utilization = Quantity(f.At("utilization"), Range::kPositiveFraction, "utilization", sources);
  return s;
}

ProcessorProfile ParseProcessor(const JsonField& f, std::map<std::string, std::string>& sources) {
  RejectUnknownKeys(f, kProcessorKeys);
  ProcessorProfile p;
  p.name = NonEmptyString(f.At("name"), "a non-empty processor name");
  p.kind = ParseKind(f.At("kind"));
  p.description = f.At("description").String();
  if (f.Has("optional"))
    p.optional = f.At("optional").Bool();

  const JsonField precisions = f.At("precisions");
  // An unknown key here is an unknown precision ("fp16", "bf16"): named as such.
  RejectUnknownKeys(precisions, kPrecisionNames);
  const std::array<std::string, kNumComputePrecisions> names = {"fp32", "half", "int8"};
  for (int i = 0; i < kNumComputePrecisions; ++i)
    p.precisions[i] = ParsePrecisionSupport(precisions.At(names[i]), sources);
  for (int i = 0; i < kNumComputePrecisions; ++i) {
    const PrecisionSupport& s = p.precisions[i];
    if (s.mode != PrecisionSupport::Mode::kExecutedAs)
      continue;
    const JsonField target = precisions.At(names[i]).At("executed_as");
    if (static_cast<int>(s.executed_as) == i)
      target.Fail("another precision than " + names[i] + " itself");
    if (p.Support(s.executed_as).mode != PrecisionSupport::Mode::kNative)
      target.Fail("a precision this processor runs natively");
  }
  bool any_native = false;
  for (const PrecisionSupport& s : p.precisions)
    any_native = any_native || s.mode == PrecisionSupport::Mode::kNative;
  if (!any_native)
    precisions.Fail("at least one precision with peak_ops_per_s and utilization");

  p.memory_bytes_per_s =
      Quantity(f.At("memory_bytes_per_s"), Range::kPositive, "bandwidth (bytes/s)", sources);
  const JsonField sparsity = f.At("sparsity");
  RejectUnknownKeys(sparsity, kSparsityKeys);
  p.unstructured_exploited =
      Quantity(sparsity.At("unstructured"), Range::kFraction, "exploited fraction", sources);
  p.structured_exploited =
      Quantity(sparsity.At("structured"), Range::kFraction, "exploited fraction", sources);
  p.dispatch_overhead_ms =
      Quantity(f.At("dispatch_overhead_ms"), Range::kNonNegative, "overhead (ms)", sources);

  if (f.Has("unsupported_families")) {
    const JsonField families = f.At("unsupported_families");
    for (std::size_t i = 0; i < families.Size(); ++i) {
      const JsonField entry = families.At(i);
      RejectUnknownKeys(entry, kFamilyKeys);
      const std::string family = NonEmptyString(entry.At("family"), "a zoo family name");
      const std::string why = NonEmptyString(entry.At("source"), "why, with its source");
      if (!p.unsupported_families.emplace(family, why).second)
        entry.At("family").Fail("a family not listed before");
      sources[Child(entry, "source")] = why;
    }
  }
  if (f.Has("family_factors")) {
    const JsonField factors = f.At("family_factors");
    if (!factors.raw().is_object())
      factors.Fail("an object {family: {fp32, half, int8}}");
    for (const auto& [family, value] : factors.raw().items()) {
      (void)value;
      const JsonField per_precision = factors.At(family);
      RejectUnknownKeys(per_precision, kPrecisionNames);
      std::array<double, kNumComputePrecisions> values{};
      for (int i = 0; i < kNumComputePrecisions; ++i) {
        values[i] =
            Quantity(per_precision.At(names[i]), Range::kPositive, "throughput factor", sources);
      }
      p.family_factors[family] = values;
    }
  }
  return p;
}

nlohmann::ordered_json Cited(double value, const std::string& path,
                             const std::map<std::string, std::string>& sources,
                             const std::string& default_source) {
  nlohmann::ordered_json q;
  q["value"] = value;
  auto it = sources.find(path);
  std::string source = it == sources.end() ? default_source : it->second;
  const std::string marker = " | derivation: ";
  const std::size_t at = source.find(marker);
  if (at != std::string::npos) {
    q["source"] = source.substr(0, at);
    q["derivation"] = source.substr(at + marker.size());
  } else {
    q["source"] = source;
  }
  return q;
}

}  // namespace

std::string ToString(ComputePrecision p) {
  switch (p) {
    case ComputePrecision::kFp32:
      return "fp32";
    case ComputePrecision::kHalf:
      return "half";
    case ComputePrecision::kInt8:
      return "int8";
  }
  return "?";
}

ComputePrecision ComputePrecisionOf(zoo::Precision p) {
  switch (p) {
    case zoo::Precision::kFp32:
      return ComputePrecision::kFp32;
    case zoo::Precision::kBf16:
      return ComputePrecision::kHalf;
    case zoo::Precision::kInt8:
      return ComputePrecision::kInt8;
  }
  return ComputePrecision::kFp32;
}

std::string ToString(ProcessorKind k) {
  switch (k) {
    case ProcessorKind::kCpu:
      return "cpu";
    case ProcessorKind::kGpu:
      return "gpu";
    case ProcessorKind::kNpu:
      return "npu";
    case ProcessorKind::kDla:
      return "dla";
  }
  return "?";
}

double ProcessorProfile::FamilyFactor(const std::string& family, ComputePrecision p) const {
  auto it = family_factors.find(family);
  return it == family_factors.end() ? 1.0 : it->second[static_cast<int>(p)];
}

const ProcessorProfile& DeviceProfile::Processor(const std::string& processor_name) const {
  std::string known;
  for (const ProcessorProfile& p : processors) {
    if (p.name == processor_name)
      return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  throw UsageError("device profile " + name + " has no processor '" + processor_name +
                   "' (it has: " + known + ")");
}

std::vector<std::string> DeviceProfile::ProcessorNames(bool include_optional) const {
  std::vector<std::string> names;
  for (const ProcessorProfile& p : processors) {
    if (include_optional || !p.optional)
      names.push_back(p.name);
  }
  return names;
}

DeviceProfile LoadDeviceProfile(const std::filesystem::path& file) {
  nlohmann::json storage;
  JsonLimits limits;  // the shipped profiles are 8-14 KB
  limits.kind = "device profile";
  const JsonField root = JsonField::ParseFile(file, storage, limits);
  RejectUnknownKeys(root, kTopKeys);
  DeviceProfile d;
  d.file = file;
  const JsonField format = root.At("format");
  if (format.String() != kDeviceProfileFormat)
    format.Fail(std::string("\"") + kDeviceProfileFormat + "\"");
  const JsonField version = root.At("version");
  if (version.Int() != kDeviceProfileVersion)
    version.Fail("version " + std::to_string(kDeviceProfileVersion));
  d.version = kDeviceProfileVersion;
  d.name = NonEmptyString(root.At("name"), "a non-empty device name");
  d.description = root.At("description").String();
  if (root.Has("sources")) {
    // Free-form bibliography (id → URL and what it says), referred to from the per-number sources.
    const JsonField bibliography = root.At("sources");
    if (!bibliography.raw().is_object())
      bibliography.Fail("an object {id: \"URL — what it says\"}");
    for (const auto& [id, value] : bibliography.raw().items()) {
      (void)value;
      d.sources["sources." + id] =
          NonEmptyString(bibliography.At(id), "a non-empty URL and what it says");
    }
  }

  const JsonField processors = root.At("processors");
  if (processors.Size() == 0)
    processors.Fail("at least one processor");
  std::set<std::string> names;
  for (std::size_t i = 0; i < processors.Size(); ++i) {
    ProcessorProfile p = ParseProcessor(processors.At(i), d.sources);
    if (!names.insert(p.name).second)
      processors.At(i).At("name").Fail("a processor name not used before");
    d.processors.push_back(std::move(p));
  }

  const JsonField store = root.At("storage");
  RejectUnknownKeys(store, kStorageKeys);
  d.storage.read_bytes_per_s =
      Quantity(store.At("read_bytes_per_s"), Range::kPositive, "bandwidth (bytes/s)", d.sources);
  d.storage.per_load_ms =
      Quantity(store.At("per_load_ms"), Range::kNonNegative, "time (ms)", d.sources);
  return d;
}

std::string DeviceProfileToJson(const DeviceProfile& d, const std::string& default_source) {
  nlohmann::ordered_json root;
  root["format"] = kDeviceProfileFormat;
  root["version"] = kDeviceProfileVersion;
  root["name"] = d.name;
  root["description"] = d.description;
  nlohmann::ordered_json bibliography = nlohmann::ordered_json::object();
  for (const auto& [path, text] : d.sources) {
    if (path.rfind("sources.", 0) == 0)
      bibliography[path.substr(8)] = text;
  }
  if (!bibliography.empty())
    root["sources"] = bibliography;
  const std::array<std::string, kNumComputePrecisions> names = {"fp32", "half", "int8"};
  nlohmann::ordered_json processors = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < d.processors.size(); ++i) {
    const ProcessorProfile& p = d.processors[i];
    const std::string at = "processors[" + std::to_string(i) + "]";
    auto cite = [&](double value, const std::string& path) {
      return Cited(value, at + "." + path, d.sources, default_source);
    };
    nlohmann::ordered_json j;
    j["name"] = p.name;
    j["kind"] = ToString(p.kind);
    j["description"] = p.description;
    if (p.optional)
      j["optional"] = true;
    for (int k = 0; k < kNumComputePrecisions; ++k) {
      const PrecisionSupport& s = p.precisions[k];
      nlohmann::ordered_json e;
      switch (s.mode) {
        case PrecisionSupport::Mode::kNative:
          e["peak_ops_per_s"] =
              cite(s.peak_ops_per_s, "precisions." + names[k] + ".peak_ops_per_s");
          e["utilization"] = cite(s.utilization, "precisions." + names[k] + ".utilization");
          break;
        case PrecisionSupport::Mode::kExecutedAs:
          e["executed_as"] = ToString(s.executed_as);
          e["source"] = s.reason;
          break;
        case PrecisionSupport::Mode::kUnsupported:
          e["unsupported"] = s.reason;
          break;
      }
      j["precisions"][names[k]] = e;
    }
    j["memory_bytes_per_s"] = cite(p.memory_bytes_per_s, "memory_bytes_per_s");
    j["sparsity"]["unstructured"] = cite(p.unstructured_exploited, "sparsity.unstructured");
    j["sparsity"]["structured"] = cite(p.structured_exploited, "sparsity.structured");
    j["dispatch_overhead_ms"] = cite(p.dispatch_overhead_ms, "dispatch_overhead_ms");
    if (!p.unsupported_families.empty()) {
      for (const auto& [family, why] : p.unsupported_families)
        j["unsupported_families"].push_back({{"family", family}, {"source", why}});
    }
    for (const auto& [family, factors] : p.family_factors) {
      for (int k = 0; k < kNumComputePrecisions; ++k) {
        j["family_factors"][family][names[k]] =
            cite(factors[k], "family_factors." + family + "." + names[k]);
      }
    }
    processors.push_back(j);
  }
  root["processors"] = processors;
  root["storage"]["read_bytes_per_s"] =
      Cited(d.storage.read_bytes_per_s, "storage.read_bytes_per_s", d.sources, default_source);
  root["storage"]["per_load_ms"] =
      Cited(d.storage.per_load_ms, "storage.per_load_ms", d.sources, default_source);
  return root.dump(2) + "\n";
}

}  // namespace sparseloom::sim
