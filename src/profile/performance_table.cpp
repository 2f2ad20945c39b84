#include "profile/performance_table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_reader.h"
#include "runtime/evaluation.h"

namespace sparseloom::profile {
namespace {

class Fnv1a {
 public:
  void Add(const std::string& bytes) {
    for (unsigned char c : bytes) {
      hash_ ^= c;
      hash_ *= 1099511628211ULL;
    }
    Add8(bytes.size());  // length-delimited, so "ab"+"c" differs from "a"+"bc"
  }
  void Add8(std::uint64_t value) {
    for (int i = 0; i < 8; ++i) {
      hash_ ^= (value >> (8 * i)) & 0xff;
      hash_ *= 1099511628211ULL;
    }
  }
  std::string Hex() const {
    char buffer[17];
    std::snprintf(buffer, sizeof(buffer), "%016llx", static_cast<unsigned long long>(hash_));
    return buffer;
  }

 private:
  std::uint64_t hash_ = 14695981039346656037ULL;
};

std::string ReadBytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw InputError(file.string(), "", "a readable file", "cannot open it");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::int64_t Power(std::int64_t base, int exponent) {
  std::int64_t result = 1;
  for (int i = 0; i < exponent; ++i)
    result *= base;
  return result;
}

template <typename T>
void CheckSize(const std::vector<T>& v, std::int64_t expected, const std::string& name) {
  if (static_cast<std::int64_t>(v.size()) != expected) {
    throw UsageError("performance table: " + name + ": expected " + std::to_string(expected) +
                     " entries, got " + std::to_string(v.size()));
  }
}

std::vector<double> Numbers(const JsonField& f, std::int64_t expected) {
  if (static_cast<std::int64_t>(f.Size()) != expected)
    f.Fail(std::to_string(expected) + " numbers", std::to_string(f.Size()));
  std::vector<double> out;
  out.reserve(f.Size());
  for (std::size_t i = 0; i < f.Size(); ++i)
    out.push_back(f.At(i).Number());
  return out;
}

std::vector<std::uint8_t> Flags(const JsonField& f, std::int64_t expected) {
  if (static_cast<std::int64_t>(f.Size()) != expected)
    f.Fail(std::to_string(expected) + " flags (0 or 1)", std::to_string(f.Size()));
  std::vector<std::uint8_t> out;
  out.reserve(f.Size());
  for (std::size_t i = 0; i < f.Size(); ++i) {
    const std::int64_t b = f.At(i).Int();
    if (b != 0 && b != 1)
      f.At(i).Fail("0 or 1");
    out.push_back(static_cast<std::uint8_t>(b));
  }
  return out;
}

nlohmann::json ErrorJson(const EstimatorError& e) {
  nlohmann::json out = {
      {"metric", e.metric}, {"value", e.value}, {"samples", e.samples}, {"model", e.model}};
  if (!e.residuals.empty())
    out["residuals"] = e.residuals;
  return out;
}

EstimatorError ParseError(const JsonField& f) {
  EstimatorError e;
  e.metric = f.At("metric").String();
  e.value = f.At("value").Number();
  e.samples = static_cast<int>(f.At("samples").NonNegativeInt());
  if (f.Has("model"))
    e.model = f.At("model").String();
  if (f.Has("residuals")) {
    const JsonField r = f.At("residuals");
    for (std::size_t i = 0; i < r.Size(); ++i)
      e.residuals.push_back(r.At(i).Number());
  }
  return e;
}

}  // namespace

std::string ProfileKey(const zoo::Zoo& zoo, const ProcessorSetup& processors) {
  Fnv1a h;
  h.Add(kProfilerVersion);
  h.Add(ReadBytes(zoo.manifest_file));
  for (const auto& variant : zoo.variants) {
    for (const auto& stage : variant.stages) {
      h.Add(stage.file_field);
      h.Add8(static_cast<std::uint64_t>(stage.bytes));
      h.Add(stage.sha256);
    }
  }
  h.Add(zoo.validation_sha256);
  h.Add(zoo.reference_sha256);
  for (const auto& p : processors) {
    h.Add(p.name);
    h.Add(p.device);
    h.Add8(static_cast<std::uint64_t>(p.threads));
    h.Add8(p.cores.size());
    for (int c : p.cores)
      h.Add8(static_cast<std::uint64_t>(c));
  }
  return h.Hex();
}

std::int64_t PerformanceTable::num_stitched() const {
  return Power(num_variants(), num_stages);
}

std::int64_t PerformanceTable::num_placements() const {
  return Power(num_processors(), num_stages);
}

double PerformanceTable::StageLatency(int k, int v, int p) const {
  return stage_latency_ms[static_cast<std::size_t>((k * num_variants() + v) * num_processors() +
                                                   p)];
}

std::vector<int> PerformanceTable::PlacementAt(std::int64_t placement) const {
  std::vector<int> out(static_cast<std::size_t>(num_stages));
  for (int k = num_stages - 1; k >= 0; --k) {
    out[static_cast<std::size_t>(k)] = static_cast<int>(placement % num_processors());
    placement /= num_processors();
  }
  return out;
}

double PerformanceTable::AdditiveLatency(std::int64_t s, std::int64_t placement) const {
  const std::vector<int> on = PlacementAt(placement);
  double total = 0.0;
  std::int64_t rest = s;
  std::vector<int> variant(static_cast<std::size_t>(num_stages));
  for (int k = num_stages - 1; k >= 0; --k) {
    variant[static_cast<std::size_t>(k)] = static_cast<int>(rest % num_variants());
    rest /= num_variants();
  }
  for (int k = 0; k < num_stages; ++k) {
    const auto uk = static_cast<std::size_t>(k);
    total += StageLatency(k, variant[uk], on[uk]);
    if (k + 1 < num_stages) {
      total += handover_ms[static_cast<std::size_t>(on[uk] * num_processors() + on[uk + 1])];
    }
  }
  return total;
}

double PerformanceTable::BestLatency(std::int64_t s, std::int64_t* placement) const {
  double best = std::numeric_limits<double>::infinity();
  for (std::int64_t q = 0; q < num_placements(); ++q) {
    const double l = latency_ms[static_cast<std::size_t>(s * num_placements() + q)];
    if (l < best) {
      best = l;
      if (placement != nullptr)
        *placement = q;
    }
  }
  return best;
}

void PerformanceTable::CheckShape() const {
  const std::int64_t k = num_stages, v = num_variants(), p = num_processors();
  if (k < 1 || v < 1 || p < 1)
    throw UsageError("performance table: needs K, V and P of at least 1");
  CheckSize(stage_latency_ms, k * v * p, "stage_latency_ms");
  CheckSize(stage_latency_p90_ms, k * v * p, "stage_latency_p90_ms");
  CheckSize(stage_bytes, k * v, "stage_bytes");
  CheckSize(handover_ms, p * p, "handover_ms");
  CheckSize(accuracy, num_stitched(), "accuracy");
  CheckSize(accuracy_measured, num_stitched(), "accuracy_measured");
  CheckSize(latency_ms, num_stitched() * num_placements(), "latency_ms");
  CheckSize(latency_measured, num_stitched() * num_placements(), "latency_measured");
}

void SavePerformanceTable(const PerformanceTable& t, const std::filesystem::path& file) {
  t.CheckShape();
  nlohmann::json processors = nlohmann::json::array();
  for (const auto& p : t.processors) {
    processors.push_back(
        {{"name", p.name}, {"device", p.device}, {"cores", p.cores}, {"threads", p.threads}});
  }
  nlohmann::json out = {
      {"format", "sparseloom-performance-table"},
      {"version", kTableVersion},
      {"key", t.key},
      {"profiler_version", t.profiler_version},
      {"task", t.task},
      {"zoo_dir", t.zoo_dir},
      {"num_stages", t.num_stages},
      {"variant_ids", t.variant_ids},
      {"processors", processors},
      {"exhaustive", t.exhaustive},
      {"stage_latency_ms", t.stage_latency_ms},
      {"stage_latency_p90_ms", t.stage_latency_p90_ms},
      {"stage_bytes", t.stage_bytes},
      {"handover_ms", t.handover_ms},
      {"accuracy", t.accuracy},
      {"accuracy_measured", t.accuracy_measured},
      {"latency_ms", t.latency_ms},
      {"latency_measured", t.latency_measured},
      {"accuracy_error", ErrorJson(t.accuracy_error)},
      {"latency_error", ErrorJson(t.latency_error)},
      {"time_s",
       {{"stages", t.time.stages_s},
        {"chains", t.time.chains_s},
        {"accuracy", t.time.accuracy_s},
        {"estimators", t.time.estimators_s},
        {"exhaustive", t.time.exhaustive_s}}},
  };
  if (t.held_out) {
    const HeldOutCheck& h = *t.held_out;
    out["held_out"] = {{"accuracy_points", h.accuracy_points},
                       {"accuracy_mae", h.accuracy_mae},
                       {"accuracy_baseline_mae", h.accuracy_baseline_mae},
                       {"latency_points", h.latency_points},
                       {"latency_mape", h.latency_mape},
                       {"latency_baseline_mape", h.latency_baseline_mape}};
  }
  WriteFileAtomically(file, out.dump(1) + "\n");
}

PerformanceTable LoadPerformanceTable(const std::filesystem::path& file) {
  nlohmann::json storage;
  JsonLimits limits;
  limits.kind = "performance table";
  limits.max_bytes = kMaxTableBytes;
  const JsonField root = JsonField::ParseFile(file, storage, limits);
  if (root.At("format").String() != "sparseloom-performance-table")
    root.At("format").Fail("\"sparseloom-performance-table\"");
  if (root.At("version").Int() != kTableVersion)
    root.At("version").Fail(std::to_string(kTableVersion));
  PerformanceTable t;
  t.key = root.At("key").String();
  t.profiler_version = root.At("profiler_version").String();
  t.task = root.At("task").String();
  t.zoo_dir = root.At("zoo_dir").String();
  const JsonField k = root.At("num_stages");
  if (k.Int() < 1 || k.Int() > 64)
    k.Fail("a stage count in 1..64");
  t.num_stages = static_cast<int>(k.Int());
  const JsonField ids = root.At("variant_ids");
  for (std::size_t i = 0; i < ids.Size(); ++i)
    t.variant_ids.push_back(ids.At(i).String());
  if (t.variant_ids.empty())
    ids.Fail("at least one variant id");
  const JsonField processors = root.At("processors");
  for (std::size_t i = 0; i < processors.Size(); ++i) {
    const JsonField f = processors.At(i);
    engine::ProcessorConfig p;
    p.name = f.At("name").String();
    p.device = f.At("device").String();
    p.threads = static_cast<int>(f.At("threads").NonNegativeInt());
    for (std::int64_t c : f.At("cores").IntArray())
      p.cores.push_back(static_cast<int>(c));
    t.processors.push_back(std::move(p));
  }
  if (t.processors.empty())
    processors.Fail("at least one processor");
  t.exhaustive = root.At("exhaustive").Bool();
  // Bound the stitched space before allocating it: a corrupted count must not allocate terabytes.
  double space = 1.0;
  for (int i = 0; i < t.num_stages; ++i)
    space *= static_cast<double>(t.num_variants()) * static_cast<double>(t.num_processors());
  if (space > 1e8) {
    char got[64];
    std::snprintf(got, sizeof got, "%.3g", space);
    k.Fail("V^K * P^K at most 1e8", got);
  }
  const std::int64_t kvp = std::int64_t{t.num_stages} * t.num_variants() * t.num_processors();
  t.stage_latency_ms = Numbers(root.At("stage_latency_ms"), kvp);
  t.stage_latency_p90_ms = Numbers(root.At("stage_latency_p90_ms"), kvp);
  const JsonField bytes = root.At("stage_bytes");
  if (static_cast<std::int64_t>(bytes.Size()) != std::int64_t{t.num_stages} * t.num_variants())
    bytes.Fail("K*V byte counts", std::to_string(bytes.Size()));
  for (std::size_t i = 0; i < bytes.Size(); ++i)
    t.stage_bytes.push_back(bytes.At(i).NonNegativeInt());
  t.handover_ms =
      Numbers(root.At("handover_ms"), std::int64_t{t.num_processors()} * t.num_processors());
  t.accuracy = Numbers(root.At("accuracy"), t.num_stitched());
  for (std::size_t i = 0; i < t.accuracy.size(); ++i) {
    if (t.accuracy[i] < 0.0 || t.accuracy[i] > 1.0)
      root.At("accuracy").At(i).Fail("an accuracy in [0, 1]");
  }
  t.accuracy_measured = Flags(root.At("accuracy_measured"), t.num_stitched());
  t.latency_ms = Numbers(root.At("latency_ms"), t.num_stitched() * t.num_placements());
  t.latency_measured = Flags(root.At("latency_measured"), t.num_stitched() * t.num_placements());
  t.accuracy_error = ParseError(root.At("accuracy_error"));
  t.latency_error = ParseError(root.At("latency_error"));
  const JsonField time = root.At("time_s");
  t.time.stages_s = time.At("stages").Number();
  t.time.chains_s = time.At("chains").Number();
  t.time.accuracy_s = time.At("accuracy").Number();
  t.time.estimators_s = time.At("estimators").Number();
  t.time.exhaustive_s = time.At("exhaustive").Number();
  if (root.Has("held_out")) {
    const JsonField h = root.At("held_out");
    HeldOutCheck check;
    check.accuracy_points = static_cast<int>(h.At("accuracy_points").NonNegativeInt());
    check.accuracy_mae = h.At("accuracy_mae").Number();
    check.accuracy_baseline_mae = h.At("accuracy_baseline_mae").Number();
    check.latency_points = static_cast<int>(h.At("latency_points").NonNegativeInt());
    check.latency_mape = h.At("latency_mape").Number();
    check.latency_baseline_mape = h.At("latency_baseline_mape").Number();
    t.held_out = check;
  }
  return t;
}

std::optional<PerformanceTable> LoadFreshTable(const std::filesystem::path& file,
                                               const std::string& key) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec))
    return std::nullopt;
  PerformanceTable table = LoadPerformanceTable(file);
  if (table.key != key || table.profiler_version != kProfilerVersion)
    return std::nullopt;
  return table;
}

bool HoldsGroundTruth(const PerformanceTable& table, bool exhaustive, bool latency_only) {
  if (!exhaustive)
    return true;
  if (!table.held_out)
    return false;
  return latency_only || std::all_of(table.accuracy_measured.begin(), table.accuracy_measured.end(),
                                     [](std::uint8_t m) { return m != 0; });
}

double ConformalMargin(const std::vector<double>& residuals, double coverage) {
  if (!(coverage >= 0.0 && coverage < 1.0))
    throw UsageError("accuracy coverage: expected a probability in [0, 1), got " +
                     std::to_string(coverage));
  if (coverage == 0.0)
    return 0.0;
  if (residuals.empty())
    throw UsageError("accuracy margin: the estimator's cross-validated residuals are needed");
  std::vector<double> sorted = residuals;
  std::sort(sorted.begin(), sorted.end());
  const double n = static_cast<double>(sorted.size());
  const auto rank = static_cast<std::size_t>(std::ceil((n + 1.0) * coverage - 1e-9));
  const std::size_t at = std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1;
  return std::max(0.0, sorted[at]);
}

plan::TaskProfile ToTaskProfile(const PerformanceTable& t) {
  t.CheckShape();
  plan::TaskProfile profile;
  profile.task = t.task;
  profile.num_stages = t.num_stages;
  profile.variant_ids = t.variant_ids;
  for (const auto& p : t.processors)
    profile.processors.push_back(p.name);
  profile.stage_latency_ms = t.stage_latency_ms;
  profile.stage_bytes = t.stage_bytes;
  profile.accuracy = t.accuracy;
  profile.accuracy_measured = t.accuracy_measured;
  profile.handover_ms = t.handover_ms;
  // The planner models L(s, pi) as the sum of its stages plus one gap per stitched variant. Take
  // the median gap over placements, so that one noisy placement cannot drag it, and never let it
  // remove more than half of the fastest placement's stage sum (a noisy stage measurement once
  // made a planned latency negative).
  profile.stitch_gap_ms.resize(static_cast<std::size_t>(t.num_stitched()));
  std::vector<double> gaps(static_cast<std::size_t>(t.num_placements()));
  for (std::int64_t s = 0; s < t.num_stitched(); ++s) {
    double fastest_additive = std::numeric_limits<double>::infinity();
    for (std::int64_t q = 0; q < t.num_placements(); ++q) {
      const double additive = t.AdditiveLatency(s, q);
      gaps[static_cast<std::size_t>(q)] =
          t.latency_ms[static_cast<std::size_t>(s * t.num_placements() + q)] - additive;
      fastest_additive = std::min(fastest_additive, additive);
    }
    profile.stitch_gap_ms[static_cast<std::size_t>(s)] =
        std::max(runtime::Median(gaps), -0.5 * fastest_additive);
  }
  return profile;
}

std::vector<std::int64_t> ParetoFront(const PerformanceTable& t) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(t.num_stitched()));
  std::vector<double> latency(order.size());
  for (std::size_t s = 0; s < order.size(); ++s) {
    order[s] = static_cast<std::int64_t>(s);
    latency[s] = t.BestLatency(static_cast<std::int64_t>(s));
  }
  // Fastest first, most accurate first among equals; keep each that beats every faster one.
  std::sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    const auto ua = static_cast<std::size_t>(a), ub = static_cast<std::size_t>(b);
    if (latency[ua] != latency[ub])
      return latency[ua] < latency[ub];
    return t.accuracy[ua] > t.accuracy[ub];
  });
  std::vector<std::int64_t> front;
  double best_accuracy = -1.0;
  for (std::int64_t s : order) {
    if (t.accuracy[static_cast<std::size_t>(s)] > best_accuracy) {
      front.push_back(s);
      best_accuracy = t.accuracy[static_cast<std::size_t>(s)];
    }
  }
  return front;
}

}  // namespace sparseloom::profile
