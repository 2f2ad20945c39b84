// Overhead of SparseLoom's stitched execution (engine interface, opaque tensors, ZooStages) against
// a plain loop calling the same TorchScript stage files with libtorch directly.
//
//   stitch_overhead ZOO STITCH [--requests N] [--rounds R] [--threads T]
//
// Both paths run the same batch-1 inputs on the calling thread with the same thread count. The
// two are interleaved round by round (this machine is shared and noisy) and the median of the
// per-round means is reported.

#include <ATen/Parallel.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/script.h>

#include <fstream>
#include <iterator>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/torchscript_engine.h"
#include "runtime/evaluation.h"
#include "runtime/stitched_chain.h"
#include "zoo/stitched_variant.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace sparseloom;

int Run(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s ZOO STITCH [--requests N] [--rounds R] [--threads T]\n",
                 argv[0]);
    return 2;
  }
  int requests = 200;
  int rounds = 15;
  int threads = 1;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--requests")
      requests = value;
    if (flag == "--rounds")
      rounds = value;
    if (flag == "--threads")
      threads = value;
  }
  const zoo::Zoo z = zoo::LoadZoo(argv[1]);
  const zoo::StitchedVariant stitched = zoo::ParseStitch(z, argv[2]);

  engine::TorchScriptEngine engine;
  engine::ProcessorConfig processor;
  processor.threads = threads;
  runtime::ZooStages stages(z, engine, processor);
  runtime::StitchedChain chain(stages, stitched);
  const runtime::LabelledSet reference = runtime::LoadReferenceSet(z, engine);

  // The direct path: the same files, loaded and called with libtorch alone.
  std::vector<torch::jit::Module> modules;
  for (std::size_t k = 0; k < stitched.variant_of_stage.size(); ++k) {
    modules.push_back(
        torch::jit::load(z.variants[stitched.variant_of_stage[k]].stages[k].file.string()));
    modules.back().eval();
  }
  // Batch-1 inputs, prepared once for both paths.
  std::vector<engine::Tensor> inputs;
  std::vector<std::vector<engine::Tensor>> sides;
  for (std::int64_t i = 0; i < reference.size; ++i) {
    inputs.push_back(engine.SliceBatch(reference.input, i, i + 1));
    std::vector<engine::Tensor> side;
    for (const auto& s : reference.side)
      side.push_back(engine.SliceBatch(s, i, i + 1));
    sides.push_back(side);
  }
  std::vector<at::Tensor> raw_inputs;
  std::vector<std::vector<at::Tensor>> raw_sides;
  {
    // Re-read the reference set through libtorch for the direct path.
    std::ifstream in(z.reference_file, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto dict = torch::jit::pickle_load(bytes).toGenericDict();
    at::Tensor input = dict.at("input").toTensor();
    for (std::int64_t i = 0; i < input.size(0); ++i) {
      raw_inputs.push_back(input.slice(0, i, i + 1));
      std::vector<at::Tensor> side;
      for (const auto& spec : z.side_inputs)
        side.push_back(dict.at(spec.name).toTensor().slice(0, i, i + 1));
      raw_sides.push_back(side);
    }
  }

  at::set_num_threads(threads);
  auto direct = [&] {
    c10::InferenceMode guard;
    for (int r = 0; r < requests; ++r) {
      const std::size_t i = static_cast<std::size_t>(r) % raw_inputs.size();
      at::Tensor x = raw_inputs[i];
      for (auto& m : modules) {
        std::vector<c10::IValue> args{x};
        for (const auto& s : raw_sides[i])
          args.emplace_back(s);
        x = m.forward(args).toTensor();
      }
    }
  };
  auto stitched_run = [&] {
    for (int r = 0; r < requests; ++r) {
      const std::size_t i = static_cast<std::size_t>(r) % inputs.size();
      chain.Run(inputs[i], sides[i]);
    }
  };
  auto time_ms = [&](const auto& f) {
    const auto start = Clock::now();
    f();
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count() / requests;
  };
  // Warm both paths (TorchScript's profiling executor specialises on the first runs).
  time_ms(direct);
  time_ms(stitched_run);
  std::vector<double> direct_ms, stitched_ms, ratio;
  for (int round = 0; round < rounds; ++round) {
    // Alternate which goes first so drift on a shared machine does not favour one.
    double d, s;
    if (round % 2 == 0) {
      d = time_ms(direct);
      s = time_ms(stitched_run);
    } else {
      s = time_ms(stitched_run);
      d = time_ms(direct);
    }
    direct_ms.push_back(d);
    stitched_ms.push_back(s);
    ratio.push_back(s / d);
  }
  const double d = runtime::Median(direct_ms);
  const double s = runtime::Median(stitched_ms);
  const double overhead = 100.0 * (runtime::Median(ratio) - 1.0);
  std::printf("zoo %s  stitched %s  threads %d  %d rounds x %d batch-1 requests\n", z.task.c_str(),
              zoo::ToString(z, stitched).c_str(), threads, rounds, requests);
  std::printf("direct libtorch loop   %.4f ms/request (median of rounds)\n", d);
  std::printf("sparseloom stitched    %.4f ms/request (median of rounds)\n", s);
  std::printf("overhead               %+.2f%% (median of per-round ratios; target <= 3%%)\n",
              overhead);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const sparseloom::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
