#pragma once
// The engine interface: load one stage for one processor, run it, report its resident bytes.
// The only code that touches an inference library implements this (see torchscript_engine.h);
// everything else, and every test of the planner or preloader, talks to these classes.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/tensor.h"

namespace sparseloom::engine {

// A stage refused the values of one request (e.g. a token id outside its embedding table): that
// request fails, the processor that ran it is sound.
class RequestRejected : public EngineError {
 public:
  using EngineError::EngineError;
};

// A processor as an engine sees it: where and with how many threads a stage runs. On this host a
// processor is a CPU core set; `device` names other kinds ("cpu" today).
struct ProcessorConfig {
  std::string name = "cpu";
  std::string device = "cpu";
  int threads = 1;
  // CPU cores its thread is pinned to (runtime/processor_thread.h); empty: not pinned.
  std::vector<int> cores;
};

// What the caller expects of a stage file; the engine checks the real module against it.
struct StageSignature {
  TensorSpec input;                     // `x`
  std::vector<TensorSpec> side_inputs;  // passed after `x`, in order
  TensorSpec output;
};

struct StageLoadOptions {
  std::filesystem::path file;
  // The file's SHA-256 as the zoo manifest records it: the engine hashes the bytes it loads and
  // refuses others (the file may have changed since the zoo was read). Empty: not checked.
  std::string sha256;
  StageSignature signature;
  ProcessorConfig processor;
  int warmup_runs = 3;  // TorchScript's profiling executor is slow on the first runs
};

class LoadedStage {
 public:
  virtual ~LoadedStage() = default;
  LoadedStage() = default;
  LoadedStage(const LoadedStage&) = delete;
  LoadedStage& operator=(const LoadedStage&) = delete;

  // Runs the stage on the calling thread with the processor's thread count.
  virtual Tensor Run(const Tensor& x, std::span<const Tensor> side_inputs) = 0;
  // Bytes this stage keeps in memory: its weights (parameters, buffers, packed quantized weights)
  // and what the inference library holds for it (code, execution plans). Measured when loaded
  // (docs/runtime.md, "Resident bytes").
  virtual std::int64_t ResidentBytes() const = 0;
  virtual const std::filesystem::path& File() const = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  Engine() = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  virtual std::string Name() const = 0;

  // Loads, checks the real signature against `options.signature` (arity, argument types, output
  // shape and dtype on a probe input) and warms up. Throws InputError naming the file and field.
  virtual std::unique_ptr<LoadedStage> LoadStage(const StageLoadOptions& options) = 0;

  // A dict of named tensors saved by Python's torch.save (validation and reference sets).
  virtual TensorDict LoadTensorDict(const std::filesystem::path& file) = 0;

  // Small tensor operations the core needs without seeing the library.
  virtual Tensor SliceBatch(const Tensor& t, std::int64_t begin, std::int64_t end) = 0;
  virtual Tensor Filled(const TensorSpec& spec, std::int64_t batch, double value) = 0;
  virtual std::vector<std::int64_t> ArgmaxLastDim(const Tensor& t) = 0;
  virtual std::vector<std::int64_t> ToInt64(const Tensor& t) = 0;
  virtual double MaxAbsDiff(const Tensor& a, const Tensor& b) = 0;
  // The host bytes as a tensor, without copying them (they must stay unchanged while it lives).
  virtual Tensor FromHost(const HostTensor& host) = 0;
  // The tensor's bytes, without copying them when it is dense (a view that keeps it alive).
  virtual HostTensor ToHost(const Tensor& t) = 0;
};

}  // namespace sparseloom::engine
