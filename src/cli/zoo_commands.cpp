#include "cli/zoo_commands.h"

#include <unistd.h>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/table.h"
#include "common/error.h"
#include "common/json_reader.h"
#include "engine/torchscript_engine.h"
#include "runtime/evaluation.h"
#include "zoo/stitched_variant.h"
#include "zoo/zoo.h"

namespace sparseloom::cli {
namespace {

std::string SpecText(const engine::TensorSpec& s) {
  return s.name + " " + engine::ToString(s.dtype) + " " + engine::ShapeToString(s.shape);
}

void PrintZooHeader(const zoo::Zoo& z) {
  std::cout << "zoo " << z.task << " (" << z.family << ") at " << z.dir.string() << "\n"
            << "  " << z.num_stages << " stages, " << z.variants.size() << " variants -> "
            << z.StitchedCount() << " stitched variants\n"
            << "  input     " << SpecText(z.input) << "\n";
  for (const auto& s : z.side_inputs)
    std::cout << "  side      " << SpecText(s) << "\n";
  for (std::size_t i = 0; i < z.boundaries.size(); ++i) {
    std::cout << "  boundary" << i + 1 << " " << SpecText(z.boundaries[i]) << "\n";
  }
  std::cout << "  output    " << SpecText(z.output) << "\n"
            << "  metric    " << z.metric << " on " << z.validation_samples
            << " validation samples\n\n";
}

struct InspectOptions {
  std::string zoo;
};

void RunInspect(const InspectOptions& o) {
  const zoo::Zoo z = zoo::LoadZoo(o.zoo);
  PrintZooHeader(z);
  std::vector<std::string> header{"variant", "accuracy"};
  for (int k = 1; k <= z.num_stages; ++k)
    header.push_back("stage" + std::to_string(k));
  header.push_back("total size");
  Table table(header);
  for (const auto& v : z.variants) {
    std::vector<std::string> row{v.id, Fixed(100.0 * v.accuracy, 2) + "%"};
    std::int64_t bytes = 0;
    for (const auto& s : v.stages) {
      std::string sparsity =
          s.sparsity_kind == zoo::SparsityKind::kNone
              ? "dense"
              : (s.sparsity_kind == zoo::SparsityKind::kStructured ? "st" : "us") +
                    Fixed(100.0 * s.sparsity_level, 0) + "%";
      row.push_back(zoo::ToString(s.precision) + " " + sparsity + " " +
                    HumanCount(double(s.flops)) + "FLOP " + HumanBytes(double(s.bytes)));
      bytes += s.bytes;
    }
    row.push_back(HumanBytes(double(bytes)));
    table.AddRow(row);
  }
  table.Print(std::cout);
  std::cout << "\n(per stage: precision, sparsity kind and level, FLOPs per sample, file size)\n";
}

struct VerifyOptions {
  std::string zoo;
  double tolerance = 1e-5;
  int threads = 1;
};

// Loads every stage file (progress on a terminal only, so that an error gets a line of its own and
// a log no carriage returns), then checks every variant against the builder's outputs.
void VerifyZoo(const zoo::Zoo& z, const VerifyOptions& o) {
  engine::TorchScriptEngine engine;
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  bool line_open = false;
  try {
    zoo::VerifyStageFiles(z, engine, [&](int done, int total) {
      if (!terminal)
        return;
      std::cerr << "\rchecking stage files " << done << "/" << total << std::flush;
      line_open = done != total;
      if (done == total)
        std::cerr << "\n";
    });
  } catch (...) {
    if (line_open)
      std::cerr << "\n";
    throw;
  }
  engine::ProcessorConfig processor;
  processor.threads = o.threads;
  runtime::ZooStages stages(z, engine, processor);
  const runtime::LabelledSet reference = runtime::LoadReferenceSet(z, engine);
  Table table({"variant", "precision", "max |stitched - pytorch|", "check"});
  bool failed = false;
  for (std::size_t v = 0; v < z.variants.size(); ++v) {
    const double err = runtime::MaxReferenceError(stages, v, reference);
    bool fp32 = true;
    for (const auto& s : z.variants[v].stages)
      fp32 = fp32 && s.precision == zoo::Precision::kFp32;
    std::string check = "info (reduced precision)";
    if (fp32) {
      check = err <= o.tolerance ? "ok" : "FAIL";
      failed = failed || err > o.tolerance;
    }
    table.AddRow({z.variants[v].id, fp32 ? "fp32" : "mixed", Fixed(err, 9), check});
  }
  table.Print(std::cout);
  if (failed) {
    throw InputError(z.reference_file.string(), "output/*",
                     "fp32 variants reproduced within " + Fixed(o.tolerance, 7),
                     "a larger difference (see table)");
  }
}

void RunVerify(const VerifyOptions& o) {
  const zoo::Zoo z = zoo::LoadZoo(o.zoo);
  VerifyZoo(z, o);
  std::cout << "zoo ok: " << z.variants.size() * static_cast<std::size_t>(z.num_stages)
            << " stage files match the manifest and their SHA-256; fp32 variants match PyTorch "
               "within "
            << o.tolerance << "\n";
}

// For a zoo built before the builder recorded content hashes: the checks of `zoo verify` on the
// files as they are, then their SHA-256 written into the manifest.
void RunHash(const VerifyOptions& o) {
  zoo::LoadZooOptions unchecked;
  unchecked.check_content = false;
  const zoo::Zoo z = zoo::LoadZoo(o.zoo, unchecked);
  VerifyZoo(z, o);
  zoo::RecordContentHashes(z.dir);
  (void)zoo::LoadZoo(z.dir);  // what every command does from now on
  std::cout << "recorded the SHA-256 of " << z.variants.size() * std::size_t(z.num_stages)
            << " stage files, the validation and the reference set in " << z.manifest_file.string()
            << " (the stage files load with the manifest's signatures; fp32 variants match "
               "PyTorch within "
            << o.tolerance
            << "; reduced-precision variants are not checked against the builder's outputs, see "
               "the table). Performance tables made before are stale: run sparseloom profile.\n";
}

struct EvalOptions {
  std::string zoo;
  std::string stitch;
  int threads = 1;
  std::int64_t batch_size = 64;
  std::int64_t limit = 0;
  int runs = 50;
  int warmup = 5;
  std::string json;
};

void RunEval(const EvalOptions& o) {
  const zoo::Zoo z = zoo::LoadZoo(o.zoo);
  const zoo::StitchedVariant stitched = zoo::ParseStitch(z, o.stitch);
  engine::TorchScriptEngine engine;
  engine::ProcessorConfig processor;
  processor.threads = o.threads;
  runtime::ZooStages stages(z, engine, processor);
  runtime::StitchedChain chain(stages, stitched);
  const runtime::LabelledSet validation = runtime::LoadValidationSet(z, engine);
  std::cerr << "evaluating " << zoo::ToString(z, stitched) << " on "
            << (o.limit > 0 ? std::min(o.limit, validation.size) : validation.size)
            << " validation samples...\n";
  const double accuracy =
      runtime::EvaluateAccuracy(chain, engine, validation, o.batch_size, o.limit);
  std::cerr << "timing " << o.runs << " batch-1 requests on " << o.threads << " thread(s)...\n";
  const runtime::LatencyStats latency =
      runtime::MeasureLatency(chain, engine, validation, o.runs, o.warmup);

  std::cout << "task " << z.task << ", stitched variant " << zoo::ToString(z, stitched) << "\n"
            << "accuracy " << Fixed(100.0 * accuracy, 2) << "% ("
            << (stitched.IsOriginal()
                    ? "original variant; builder measured " +
                          Fixed(100.0 * z.variants[stitched.variant_of_stage[0]].accuracy, 2) + "%"
                    : "stitched")
            << ")\n\n";
  Table table({"stage", "variant", "precision", "median ms", "p90 ms"});
  for (int k = 0; k < z.num_stages; ++k) {
    const auto& info = z.variants[stitched.variant_of_stage[static_cast<std::size_t>(k)]]
                           .stages[static_cast<std::size_t>(k)];
    table.AddRow({std::to_string(k + 1),
                  z.variants[stitched.variant_of_stage[static_cast<std::size_t>(k)]].id,
                  zoo::ToString(info.precision),
                  Fixed(latency.stage_median_ms[static_cast<std::size_t>(k)], 3),
                  Fixed(latency.stage_p90_ms[static_cast<std::size_t>(k)], 3)});
  }
  table.AddRow(
      {"total", "", "", Fixed(latency.total_median_ms, 3), Fixed(latency.total_p90_ms, 3)});
  table.Print(std::cout);
  std::cout << "\nresident stage weights " << HumanBytes(double(stages.ResidentBytes())) << "\n";

  if (!o.json.empty()) {
    nlohmann::json out = {{"task", z.task},
                          {"stitched_variant", zoo::ToString(z, stitched)},
                          {"accuracy", accuracy},
                          {"threads", o.threads},
                          {"latency_runs", latency.runs},
                          {"stage_median_ms", latency.stage_median_ms},
                          {"stage_p90_ms", latency.stage_p90_ms},
                          {"total_median_ms", latency.total_median_ms},
                          {"total_p90_ms", latency.total_p90_ms},
                          {"resident_bytes", stages.ResidentBytes()}};
    WriteFileAtomically(o.json, out.dump(2) + "\n");
  }
}

}  // namespace

void AddZooCommands(CLI::App& app) {
  CLI::App* zoo_cmd = app.add_subcommand("zoo", "Inspect, verify and evaluate a sparse model zoo");
  zoo_cmd->require_subcommand(1);

  auto inspect = std::make_shared<InspectOptions>();
  CLI::App* i = zoo_cmd->add_subcommand("inspect", "Print a zoo's variants and stages as a table");
  i->add_option("ZOO", inspect->zoo, "zoo directory (holds zoo.json)")->required();
  i->callback([inspect] { RunInspect(*inspect); });

  auto verify = std::make_shared<VerifyOptions>();
  CLI::App* v = zoo_cmd->add_subcommand(
      "verify",
      "Load every stage file to check it against the manifest (signature and SHA-256), and "
      "check that each variant run stage by stage reproduces the builder's PyTorch outputs");
  v->add_option("ZOO", verify->zoo, "zoo directory")->required();
  v->add_option("--tolerance", verify->tolerance, "max abs difference allowed for fp32 variants")
      ->capture_default_str();
  v->add_option("--threads", verify->threads, "intra-op threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  v->callback([verify] { RunVerify(*verify); });

  auto hash = std::make_shared<VerifyOptions>();
  CLI::App* h = zoo_cmd->add_subcommand(
      "hash",
      "Record the SHA-256 of every stage file, the validation and the reference set in the "
      "manifest of a zoo built before the builder did, after the checks of `zoo verify` (every "
      "command refuses a zoo without them, and a file whose content changed)");
  h->add_option("ZOO", hash->zoo, "zoo directory")->required();
  h->add_option("--tolerance", hash->tolerance, "max abs difference allowed for fp32 variants")
      ->capture_default_str();
  h->add_option("--threads", hash->threads, "intra-op threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  h->callback([hash] { RunHash(*hash); });

  auto eval = std::make_shared<EvalOptions>();
  CLI::App* e = zoo_cmd->add_subcommand(
      "eval", "Accuracy on the validation set and batch-1 latency of one stitched variant");
  e->add_option("ZOO", eval->zoo, "zoo directory")->required();
  e->add_option("--stitch", eval->stitch,
                "one variant id per stage, comma-separated (e.g. dense,us90,struct50), or one id")
      ->required();
  e->add_option("--threads", eval->threads, "intra-op threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  e->add_option("--batch-size", eval->batch_size, "batch size for accuracy")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  e->add_option("--limit", eval->limit, "evaluate only the first N validation samples (0: all)")
      ->capture_default_str();
  e->add_option("--runs", eval->runs, "timed batch-1 requests")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  e->add_option("--warmup", eval->warmup, "untimed requests first")->capture_default_str();
  e->add_option("--json", eval->json, "also write the results to this JSON file (atomically)");
  e->callback([eval] { RunEval(*eval); });
}

}  // namespace sparseloom::cli
