#include "zoo/zoo.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <system_error>

#include "common/content_hash.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json_reader.h"

namespace sparseloom::zoo {
namespace {

using engine::TensorSpec;

// Every object of the manifest has these fields and no others (a misspelled field must not be
// ignored), except `build`: what built the zoo, free-form for the builder (bounded by the file's
// size limit).
const std::vector<std::string> kTopKeys = {
    "format",      "version",    "task",   "family",     "num_stages", "seed",  "metric",  "input",
    "side_inputs", "boundaries", "output", "validation", "reference",  "build", "variants"};
const std::vector<std::string> kSpecKeys = {"name", "dtype", "shape"};
const std::vector<std::string> kMetricKeys = {"name"};
const std::vector<std::string> kSetKeys = {"file", "num_samples", "sha256"};
const std::vector<std::string> kVariantKeys = {"id", "description", "accuracy", "stages"};
const std::vector<std::string> kStageKeys = {"file",   "params", "nonzeros",  "bytes",
                                             "sha256", "flops",  "precision", "sparsity"};
const std::vector<std::string> kSparsityKeys = {"kind", "level"};

std::string ShortHash(const std::string& hex) {
  return hex.size() > 12 ? hex.substr(0, 12) + "..." : hex;
}

// The `sha256` field of `f` (a stage, the validation or the reference set) naming `rel`; empty
// when it is missing and `required` is false (a zoo whose hashes `zoo hash` is about to record).
std::string ParseSha256(const Zoo& zoo, const JsonField& f, const std::string& rel, bool required) {
  if (!f.Has("sha256")) {
    if (!required)
      return {};
    throw InputError(
        zoo.manifest_file.string(), (f.path().empty() ? "" : f.path() + ".") + "sha256",
        "the SHA-256 of " + rel + " (a zoo built before content hashes: `sparseloom zoo hash " +
            zoo.dir.string() + "` records them after checking the stage files)",
        "field is missing");
  }
  const JsonField hash = f.At("sha256");
  const std::string hex = hash.String();
  if (!IsSha256Hex(hex))
    hash.Fail("a SHA-256 of 64 lower-case hex digits");
  return hex;
}

// A changed byte is an error naming the file, never a stage served.
void CheckContent(const Zoo& zoo, const std::filesystem::path& file, const JsonField& f,
                  const std::string& recorded) {
  const std::string actual = Sha256OfFile(file);
  if (actual != recorded) {
    throw InputError(file.string(), "content",
                     "the SHA-256 recorded in " + zoo.manifest_file.string() + " at " + f.path() +
                         ".sha256 (" + ShortHash(recorded) + ")",
                     ShortHash(actual) +
                         " (the file changed after the zoo was built: restore it or rebuild the "
                         "zoo)");
  }
}

TensorSpec ParseTensorSpec(const JsonField& f) {
  f.RejectUnknownKeys(kSpecKeys);
  TensorSpec spec;
  spec.name = f.At("name").String();
  if (spec.name.empty())
    f.At("name").Fail("a non-empty name");
  const JsonField dtype = f.At("dtype");
  try {
    spec.dtype = engine::ParseDType(dtype.String());
  } catch (const UsageError&) {
    dtype.Fail("one of float32, bfloat16, int64, int32, bool");
  }
  const JsonField shape = f.At("shape");
  spec.shape = shape.IntArray();
  if (spec.shape.empty() || spec.shape[0] != -1) {
    shape.Fail("a shape whose dimension 0 is the batch, written -1");
  }
  for (std::size_t i = 1; i < spec.shape.size(); ++i) {
    if (spec.shape[i] <= 0 || spec.shape[i] > (std::int64_t{1} << 31)) {
      shape.At(i).Fail("a positive size below 2^31 (only dimension 0 is dynamic)");
    }
  }
  return spec;
}

Precision ParsePrecision(const JsonField& f) {
  const std::string s = f.String();
  if (s == "fp32")
    return Precision::kFp32;
  if (s == "bf16")
    return Precision::kBf16;
  if (s == "int8")
    return Precision::kInt8;
  f.Fail("one of fp32, bf16, int8");
}

SparsityKind ParseSparsityKind(const JsonField& f) {
  const std::string s = f.String();
  if (s == "none")
    return SparsityKind::kNone;
  if (s == "unstructured")
    return SparsityKind::kUnstructured;
  if (s == "structured")
    return SparsityKind::kStructured;
  f.Fail("one of none, unstructured, structured");
}

// [a-z0-9_]+ (a plain loop: GCC 12 warns inside <regex> under AddressSanitizer).
bool IsVariantId(const std::string& id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::filesystem::path ResolveFile(const Zoo& zoo, const JsonField& f) {
  const std::string rel = f.String();
  std::filesystem::path p(rel);
  if (rel.empty() || p.is_absolute() || rel.find("..") != std::string::npos) {
    f.Fail("a path relative to the zoo directory, inside it");
  }
  std::filesystem::path full = zoo.dir / p;
  if (const auto problem = FileProblem(full)) {
    throw InputError(zoo.manifest_file.string(), f.path(),
                     "an existing, readable file (" + full.string() + ")", *problem);
  }
  return full;
}

StageInfo ParseStage(const Zoo& zoo, const JsonField& f, int index, const LoadZooOptions& options) {
  f.RejectUnknownKeys(kStageKeys);
  StageInfo s;
  s.index = index;
  s.file_field = f.At("file").String();
  s.file = ResolveFile(zoo, f.At("file"));
  s.params = f.At("params").NonNegativeInt();
  s.nonzeros = f.At("nonzeros").NonNegativeInt();
  if (s.nonzeros > s.params)
    f.At("nonzeros").Fail("at most params (" + std::to_string(s.params) + ")");
  s.bytes = f.At("bytes").NonNegativeInt();
  std::error_code ec;
  const auto actual = static_cast<std::int64_t>(std::filesystem::file_size(s.file, ec));
  if (ec || actual != s.bytes) {
    f.At("bytes").Fail("the size of " + s.file.string() + " on disk (" + std::to_string(actual) +
                       ")");
  }
  s.sha256 = ParseSha256(zoo, f, s.file_field, options.check_content);
  if (options.check_content)
    CheckContent(zoo, s.file, f, s.sha256);
  s.flops = f.At("flops").NonNegativeInt();
  s.precision = ParsePrecision(f.At("precision"));
  const JsonField sparsity = f.At("sparsity");
  sparsity.RejectUnknownKeys(kSparsityKeys);
  s.sparsity_kind = ParseSparsityKind(sparsity.At("kind"));
  s.sparsity_level = sparsity.At("level").Number();
  if (s.sparsity_level < 0.0 || s.sparsity_level > 1.0)
    sparsity.At("level").Fail("a number in [0, 1]");
  return s;
}

}  // namespace

std::string ToString(Precision p) {
  switch (p) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kBf16:
      return "bf16";
    case Precision::kInt8:
      return "int8";
  }
  return "?";
}

std::string ToString(SparsityKind k) {
  switch (k) {
    case SparsityKind::kNone:
      return "none";
    case SparsityKind::kUnstructured:
      return "unstructured";
    case SparsityKind::kStructured:
      return "structured";
  }
  return "?";
}

std::size_t Zoo::VariantIndex(const std::string& id) const {
  for (std::size_t i = 0; i < variants.size(); ++i) {
    if (variants[i].id == id)
      return i;
  }
  std::string known;
  for (const auto& v : variants)
    known += (known.empty() ? "" : ", ") + v.id;
  throw UsageError("zoo " + dir.string() + " has no variant '" + id + "' (it has: " + known + ")");
}

engine::StageSignature Zoo::Signature(int stage) const {
  if (stage < 1 || stage > num_stages) {
    throw UsageError("stage " + std::to_string(stage) + " is outside 1.." +
                     std::to_string(num_stages));
  }
  engine::StageSignature sig;
  sig.input = stage == 1 ? input : boundaries[static_cast<std::size_t>(stage - 2)];
  sig.side_inputs = side_inputs;
  sig.output = stage == num_stages ? output : boundaries[static_cast<std::size_t>(stage - 1)];
  return sig;
}

engine::StageLoadOptions Zoo::StageLoad(std::size_t variant, int stage) const {
  engine::StageLoadOptions options;
  options.signature = Signature(stage);
  const StageInfo& info = variants.at(variant).stages.at(static_cast<std::size_t>(stage - 1));
  options.file = info.file;
  options.sha256 = info.sha256;
  return options;
}

std::int64_t Zoo::StitchedCount() const {
  std::int64_t n = 1;
  for (int k = 0; k < num_stages; ++k)
    n *= static_cast<std::int64_t>(variants.size());
  return n;
}

namespace {

void CheckZooDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  const auto status = std::filesystem::status(dir, ec);
  if (status.type() == std::filesystem::file_type::directory)
    return;
  throw InputError(
      dir.string(), "", "a zoo directory containing " + std::string(kManifestFile),
      status.type() == std::filesystem::file_type::not_found
          ? "no such directory"
          : (status.type() == std::filesystem::file_type::regular ? "a file, not a directory"
                                                                  : "not a directory"));
}

JsonLimits ManifestLimits() {
  JsonLimits limits;
  limits.kind = "zoo manifest";
  limits.max_bytes = kMaxManifestBytes;
  limits.max_depth = kMaxManifestDepth;
  return limits;
}

}  // namespace

Zoo LoadZoo(const std::filesystem::path& dir, const LoadZooOptions& options) {
  CheckZooDirectory(dir);
  Zoo zoo;
  zoo.dir = dir;
  zoo.manifest_file = dir / kManifestFile;
  nlohmann::json storage;
  const JsonField root = JsonField::ParseFile(zoo.manifest_file, storage, ManifestLimits());
  root.RejectUnknownKeys(kTopKeys);

  if (root.At("format").String() != "sparseloom-zoo")
    root.At("format").Fail("\"sparseloom-zoo\"");
  zoo.version = static_cast<int>(root.At("version").Int());
  if (zoo.version != kManifestVersion) {
    root.At("version").Fail("manifest version " + std::to_string(kManifestVersion) +
                            " (rebuild the zoo with this release's tools/zoo)");
  }
  zoo.task = root.At("task").String();
  zoo.family = root.At("family").String();
  const JsonField k = root.At("num_stages");
  zoo.num_stages = static_cast<int>(k.Int());
  if (zoo.num_stages < 1 || zoo.num_stages > 64)
    k.Fail("a stage count in 1..64");
  zoo.seed = root.At("seed").Int();
  root.At("metric").RejectUnknownKeys(kMetricKeys);
  zoo.metric = root.At("metric").At("name").String();
  if (zoo.metric != "top1_accuracy")
    root.At("metric").At("name").Fail("\"top1_accuracy\"");

  zoo.input = ParseTensorSpec(root.At("input"));
  const JsonField side = root.At("side_inputs");
  std::set<std::string> names{zoo.input.name};
  for (std::size_t i = 0; i < side.Size(); ++i) {
    zoo.side_inputs.push_back(ParseTensorSpec(side.At(i)));
    if (!names.insert(zoo.side_inputs.back().name).second)
      side.At(i).At("name").Fail("a unique name");
  }
  const JsonField boundaries = root.At("boundaries");
  if (boundaries.Size() != static_cast<std::size_t>(zoo.num_stages - 1)) {
    boundaries.Fail(std::to_string(zoo.num_stages - 1) + " boundary specs (num_stages - 1)",
                    std::to_string(boundaries.Size()));
  }
  for (std::size_t i = 0; i < boundaries.Size(); ++i) {
    zoo.boundaries.push_back(ParseTensorSpec(boundaries.At(i)));
    if (zoo.boundaries.back().dtype != engine::DType::kFloat32) {
      boundaries.At(i).At("dtype").Fail("\"float32\" (stages hand over float32; casts are inside)");
    }
  }
  zoo.output = ParseTensorSpec(root.At("output"));
  if (zoo.output.dtype != engine::DType::kFloat32)
    root.At("output").At("dtype").Fail("\"float32\"");

  const JsonField validation = root.At("validation");
  validation.RejectUnknownKeys(kSetKeys);
  zoo.validation_file = ResolveFile(zoo, validation.At("file"));
  zoo.validation_samples = validation.At("num_samples").NonNegativeInt();
  zoo.validation_sha256 =
      ParseSha256(zoo, validation, validation.At("file").String(), options.check_content);
  const JsonField reference = root.At("reference");
  reference.RejectUnknownKeys(kSetKeys);
  zoo.reference_file = ResolveFile(zoo, reference.At("file"));
  zoo.reference_samples = reference.At("num_samples").NonNegativeInt();
  zoo.reference_sha256 =
      ParseSha256(zoo, reference, reference.At("file").String(), options.check_content);
  if (root.Has("build") && !root.At("build").raw().is_object())
    root.At("build").Fail("an object (what built the zoo)");

  const JsonField variants = root.At("variants");
  if (variants.Size() == 0)
    variants.Fail("at least one variant");
  // V^K is counted in int64 (StitchedCount, the planner's and profiler's indices): bound it.
  const double stitched =
      std::pow(static_cast<double>(variants.Size()), static_cast<double>(zoo.num_stages));
  if (stitched > kMaxStitchedVariants) {
    char got[64];
    std::snprintf(got, sizeof got, "%zu variants of %d stages: %.3g", variants.Size(),
                  zoo.num_stages, stitched);
    variants.Fail("at most 1e15 stitched variants (variants ^ num_stages)", got);
  }
  std::set<std::string> ids;
  for (std::size_t i = 0; i < variants.Size(); ++i) {
    const JsonField v = variants.At(i);
    v.RejectUnknownKeys(kVariantKeys);
    Variant variant;
    variant.id = v.At("id").String();
    if (!IsVariantId(variant.id))
      v.At("id").Fail("an id of [a-z0-9_]+");
    if (!ids.insert(variant.id).second)
      v.At("id").Fail("a unique variant id");
    variant.description = v.At("description").String();
    variant.accuracy = v.At("accuracy").Number();
    if (variant.accuracy < 0.0 || variant.accuracy > 1.0)
      v.At("accuracy").Fail("a number in [0, 1]");
    const JsonField stages = v.At("stages");
    if (stages.Size() != static_cast<std::size_t>(zoo.num_stages)) {
      stages.Fail(std::to_string(zoo.num_stages) + " stages (num_stages)",
                  std::to_string(stages.Size()));
    }
    for (std::size_t s = 0; s < stages.Size(); ++s) {
      variant.stages.push_back(ParseStage(zoo, stages.At(s), static_cast<int>(s) + 1, options));
    }
    zoo.variants.push_back(std::move(variant));
  }
  // The tensor sets last: the stages are what is served, and their errors come first.
  if (options.check_content) {
    CheckContent(zoo, zoo.validation_file, validation, zoo.validation_sha256);
    CheckContent(zoo, zoo.reference_file, reference, zoo.reference_sha256);
  }
  return zoo;
}

void RecordContentHashes(const std::filesystem::path& dir) {
  LoadZooOptions unchecked;
  unchecked.check_content = false;
  const Zoo zoo = LoadZoo(dir, unchecked);
  // The manifest as written, keys in their order; every path in it was checked by LoadZoo.
  std::ifstream in(zoo.manifest_file, std::ios::binary);
  nlohmann::ordered_json manifest = nlohmann::ordered_json::parse(in);
  manifest["validation"]["sha256"] = Sha256OfFile(zoo.validation_file);
  manifest["reference"]["sha256"] = Sha256OfFile(zoo.reference_file);
  for (std::size_t v = 0; v < zoo.variants.size(); ++v) {
    for (std::size_t k = 0; k < zoo.variants[v].stages.size(); ++k) {
      manifest["variants"][v]["stages"][k]["sha256"] = Sha256OfFile(zoo.variants[v].stages[k].file);
    }
  }
  WriteFileAtomically(zoo.manifest_file, manifest.dump(2) + "\n");
}

void VerifyStageFiles(const Zoo& zoo, engine::Engine& engine,
                      const std::function<void(int, int)>& progress) {
  const int total = static_cast<int>(zoo.variants.size()) * zoo.num_stages;
  int done = 0;
  for (std::size_t v = 0; v < zoo.variants.size(); ++v) {
    const Variant& variant = zoo.variants[v];
    for (const StageInfo& stage : variant.stages) {
      engine::StageLoadOptions options = zoo.StageLoad(v, stage.index);
      options.warmup_runs = 1;
      try {
        engine.LoadStage(options);
      } catch (const InputError& e) {
        throw InputError(
            e.file(),
            "variant '" + variant.id + "' stage " + std::to_string(stage.index) + ": " + e.field(),
            e.expected(), e.got());
      }
      if (progress)
        progress(++done, total);
    }
  }
}

}  // namespace sparseloom::zoo
