#include "engine/torchscript_engine.h"

#include <malloc.h>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <ATen/Parallel.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/script.h>

#include "common/content_hash.h"
#include "common/error.h"
#include "common/files.h"

namespace sparseloom::engine {
namespace {

class TorchTensor final : public Tensor::Impl {
 public:
  explicit TorchTensor(at::Tensor t) : tensor(std::move(t)) {}
  std::vector<std::int64_t> Shape() const override {
    return {tensor.sizes().begin(), tensor.sizes().end()};
  }
  DType Type() const override {
    switch (tensor.scalar_type()) {
      case at::kFloat:
        return DType::kFloat32;
      case at::kBFloat16:
        return DType::kBFloat16;
      case at::kLong:
        return DType::kInt64;
      case at::kInt:
        return DType::kInt32;
      case at::kBool:
        return DType::kBool;
      default:
        return DType::kOther;
    }
  }
  at::Tensor tensor;
};

Tensor Wrap(at::Tensor t) {
  return Tensor(std::make_shared<const TorchTensor>(std::move(t)));
}

const at::Tensor& Unwrap(const Tensor& t) {
  const auto* impl = dynamic_cast<const TorchTensor*>(&t.impl());
  if (impl == nullptr)
    throw EngineError("tensor was not made by the TorchScript engine");
  return impl->tensor;
}

at::ScalarType ToScalarType(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return at::kFloat;
    case DType::kBFloat16:
      return at::kBFloat16;
    case DType::kInt64:
      return at::kLong;
    case DType::kInt32:
      return at::kInt;
    case DType::kBool:
      return at::kBool;
    case DType::kOther:
      break;
  }
  throw EngineError("no TorchScript type for dtype " + ToString(dtype));
}

// First line of a libtorch message: the rest is a C++ backtrace nobody asked for.
std::string FirstLine(const std::string& message) {
  auto end = message.find('\n');
  return end == std::string::npos ? message : message.substr(0, end);
}

// The TorchScript interpreter's errors (torch::jit::JITException, a std::runtime_error) put the
// traceback first and the cause ("RuntimeError: Given groups=1, ...") on the last line.
std::string LastLine(const std::string& message) {
  std::size_t end = message.find_last_not_of("\n");
  if (end == std::string::npos)
    return message;
  const std::size_t begin = message.rfind('\n', end);
  return message.substr(begin == std::string::npos ? 0 : begin + 1, end + 1 - (begin + 1));
}

// Thread counts are per calling thread (OpenMP), so each worker sets its own before running.
void UseThreads(int threads) {
  thread_local int current = -1;
  if (current != threads) {
    at::set_num_threads(threads);
    current = threads;
  }
}

// Sums tensor bytes reachable from an attribute, including quantized packed weights, which live
// in custom-class objects rather than parameters. Storages are counted once. What __getstate__
// returns is kept alive until the count is done: its tensors may be temporaries (an unpacked
// weight), and a freed temporary's storage address, reused by the next one, made every packed
// weight after the first of a stage look "already counted" (an int8 stage's 232 KB of weights
// reported as 76 KB).
class TensorBytesCounter {
 public:
  void Visit(const c10::IValue& value) {
    if (value.isTensor()) {
      const at::Tensor& t = value.toTensor();
      if (!t.defined())
        return;
      const void* key = t.storage().unsafeGetStorageImpl();
      if (seen_.insert(key).second)
        total_ += static_cast<std::int64_t>(t.storage().nbytes());
    } else if (value.isTuple()) {
      for (const auto& e : value.toTupleRef().elements())
        Visit(e);
    } else if (value.isList()) {
      for (const auto& e : value.toListRef())
        Visit(e);
    } else if (value.isObject()) {
      auto object = value.toObject();
      if (object->type()->is_module())
        return;  // submodules are walked by named_attributes
      if (auto* getstate = object->type()->findMethod("__getstate__")) {
        kept_.push_back((*getstate)({value}));
        Visit(kept_.back());
      } else {
        for (const auto& slot : object->slots())
          Visit(slot);
      }
    }
  }
  std::int64_t total() const { return total_; }

 private:
  std::unordered_set<const void*> seen_;
  std::vector<c10::IValue> kept_;
  std::int64_t total_ = 0;
};

// Bytes the C allocator hands out now (in use in its arenas plus its mmapped blocks): libtorch's
// tensors, TorchScript's graphs and plans and oneDNN's packed weights all come from it.
std::int64_t AllocatedBytes() {
  const struct mallinfo2 info = mallinfo2();
  return static_cast<std::int64_t>(info.uordblks + info.hblkhd);
}

// Loads are measured one at a time, so that one load's allocations are not charged to another.
std::mutex& LoadMutex() {
  static std::mutex mutex;
  return mutex;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// TorchScript's reader over bytes in memory, bounded like its file reader (a short read past the
// end, not an overrun), so a truncated file gets the same "failed reading zip archive" message.
class BytesReader final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BytesReader(std::string bytes) : bytes_(std::move(bytes)) {}
  std::size_t size() const override { return bytes_.size(); }
  std::size_t read(std::uint64_t pos, void* buf, std::size_t n, const char*) const override {
    if (pos >= bytes_.size())
      return 0;
    n = std::min<std::size_t>(n, bytes_.size() - static_cast<std::size_t>(pos));
    std::memcpy(buf, bytes_.data() + pos, n);
    return n;
  }

 private:
  std::string bytes_;
};

// The stage file's bytes, read once: hashed and deserialized from the same buffer, so the bytes
// checked are the bytes loaded.
std::string ReadStageFile(const std::filesystem::path& file) {
  const std::string expected = "a readable TorchScript file";
  std::unique_ptr<std::FILE, FileCloser> f(OpenForReading(file, expected));
  std::string bytes;
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  bytes.resize(ec ? 0 : static_cast<std::size_t>(size));
  std::size_t used = std::fread(bytes.data(), 1, bytes.size(), f.get());
  char more[65536];
  while (true) {
    const std::size_t n = std::fread(more, 1, sizeof more, f.get());
    if (n == 0)
      break;
    bytes.resize(used);
    bytes.append(more, n);
    used += n;
  }
  if (std::ferror(f.get()))
    throw InputError(file.string(), "stage file", expected, ErrnoText(errno));
  bytes.resize(used);
  return bytes;
}

// Hands freed heap pages back to the system (malloc_trim) on a background thread, at most every
// 100 ms, whenever asked: a worker that frees a stage only raises a flag.
class FreedMemoryTrimmer {
 public:
  static FreedMemoryTrimmer& Instance() {
    static FreedMemoryTrimmer trimmer;
    return trimmer;
  }
  void Request() {
    {
      std::lock_guard lock(mutex_);
      requested_ = true;
    }
    wake_.notify_one();
  }
  ~FreedMemoryTrimmer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

 private:
  FreedMemoryTrimmer() : thread_([this] { Run(); }) {}
  void Run() {
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [this] { return requested_ || stopping_; });
      if (stopping_)
        return;
      requested_ = false;
      lock.unlock();
      malloc_trim(0);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

class TorchStage final : public LoadedStage {
 public:
  TorchStage(torch::jit::Module module, std::filesystem::path file, int threads)
      : module_(std::move(module)), file_(std::move(file)), threads_(threads) {
    TensorBytesCounter counter;
    for (const auto& attribute : module_.named_attributes(/*recurse=*/true)) {
      counter.Visit(attribute.value);
    }
    tensor_bytes_ = counter.total();
    resident_bytes_ = tensor_bytes_;
  }

  // glibc keeps the pages freed inside its arenas: without handing them back, a stage cache that
  // evicts and reloads stages under a budget grows the process far past the bytes it accounts.
  // The trim runs on its own thread: an eviction happens on a request's path.
  ~TorchStage() override {
    module_ = torch::jit::Module();
    FreedMemoryTrimmer::Instance().Request();
  }
  TorchStage(const TorchStage&) = delete;
  TorchStage& operator=(const TorchStage&) = delete;

  // What loading and warming up the stage added to the allocator, at least its tensors' bytes.
  void SetMeasuredBytes(std::int64_t measured) {
    resident_bytes_ = std::max(tensor_bytes_, measured);
  }

  Tensor Run(const Tensor& x, std::span<const Tensor> side_inputs) override {
    UseThreads(threads_);
    c10::InferenceMode guard;
    std::vector<c10::IValue> inputs;
    inputs.reserve(1 + side_inputs.size());
    inputs.emplace_back(Unwrap(x));
    for (const Tensor& s : side_inputs)
      inputs.emplace_back(Unwrap(s));
    c10::IValue out;
    try {
      out = module_.forward(std::move(inputs));
    } catch (const c10::IndexError& e) {
      throw RequestRejected(file_.string() + ": the request's values: " + FirstLine(e.what()));
    } catch (const c10::Error& e) {
      throw EngineError(file_.string() + ": forward failed: " + FirstLine(e.what()));
    } catch (const std::exception& e) {
      // An operator that rejects its input inside the interpreter (a stage fed another stage's
      // shape) throws a JITException, not a c10::Error: it must not escape as a crash.
      throw EngineError(file_.string() + ": forward failed: " + LastLine(e.what()));
    }
    if (!out.isTensor())
      throw InputError(file_.string(), "forward", "a Tensor result", out.tagKind());
    return Wrap(out.toTensor());
  }

  std::int64_t ResidentBytes() const override { return resident_bytes_; }
  const std::filesystem::path& File() const override { return file_; }

 private:
  torch::jit::Module module_;
  std::filesystem::path file_;
  int threads_;
  std::int64_t tensor_bytes_ = 0;
  std::int64_t resident_bytes_ = 0;
};

void CheckSchema(const torch::jit::Module& module, const StageLoadOptions& options) {
  const std::string file = options.file.string();
  auto method = module.find_method("forward");
  if (!method)
    throw InputError(file, "forward", "a TorchScript module with a forward method");
  const auto& schema = method->function().getSchema();
  const auto& args = schema.arguments();  // args[0] is self
  const std::size_t expected = 1 + options.signature.side_inputs.size();
  if (args.size() != expected + 1) {
    std::string names;
    for (std::size_t i = 1; i < args.size(); ++i)
      names += (i > 1 ? ", " : "") + args[i].name();
    throw InputError(file, "forward signature",
                     std::to_string(expected) + " tensor argument(s) (x and the zoo's " +
                         std::to_string(options.signature.side_inputs.size()) + " side inputs)",
                     std::to_string(args.size() - 1) + " (" + names + ")");
  }
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i].type()->kind() != c10::TypeKind::TensorType) {
      throw InputError(file, "forward argument '" + args[i].name() + "'", "a Tensor",
                       args[i].type()->str());
    }
  }
}

}  // namespace

TorchScriptEngine::TorchScriptEngine() {
  static std::once_flag once;
  std::call_once(once, [] {
    at::globalContext().setQEngine(at::QEngine::ONEDNN);
    // Pipelining across processors is SparseLoom's job, not libtorch's inter-op pool.
    try {
      at::set_num_interop_threads(1);
    } catch (const c10::Error&) {
      // Already fixed by an earlier user of libtorch in this process; harmless.
    }
  });
}

std::unique_ptr<LoadedStage> TorchScriptEngine::LoadStage(const StageLoadOptions& options) {
  const std::string file = options.file.string();
  UseThreads(options.processor.threads);
  std::lock_guard<std::mutex> measuring(LoadMutex());
  const std::int64_t allocated_before = AllocatedBytes();
  torch::jit::Module module;
  {
    std::string bytes = ReadStageFile(options.file);
    if (!options.sha256.empty()) {
      const std::string actual = Sha256Hex(bytes);
      if (actual != options.sha256) {
        throw InputError(
            file, "content",
            "the SHA-256 the zoo manifest records (" + options.sha256.substr(0, 12) + "...)",
            actual.substr(0, 12) +
                "... (the file changed after the zoo was read: restore it or "
                "rebuild the zoo)");
      }
    }
    try {
      module = torch::jit::load(std::make_shared<BytesReader>(std::move(bytes)));
    } catch (const c10::Error& e) {
      throw InputError(file, "stage file", "a TorchScript module saved by torch.jit.save",
                       FirstLine(e.what()));
    }
  }
  module.eval();
  CheckSchema(module, options);
  auto stage =
      std::make_unique<TorchStage>(std::move(module), options.file, options.processor.threads);

  // Probe the real signature on inputs shaped as the manifest says. Batch 1 first, with the
  // warm-up: the profiling executor specialises on the shapes it sees first, and a stage first
  // run at batch 2 then served batch 1 up to 47% slower (static int8). Batch 2 last, because a
  // batch-1 trace could hide a baked-in batch size.
  const StageSignature& sig = options.signature;
  auto probe = [&](std::int64_t batch) {
    Tensor x = Filled(sig.input, batch, 1.0);
    std::vector<Tensor> side;
    for (const auto& spec : sig.side_inputs)
      side.push_back(Filled(spec, batch, 1.0));
    Tensor out;
    try {
      out = stage->Run(x, side);
    } catch (const EngineError& e) {
      throw InputError(file, "forward",
                       "to accept " + sig.input.name + " " + ShapeToString(sig.input.shape) + " " +
                           ToString(sig.input.dtype),
                       e.what());
    }
    if (out.Type() != sig.output.dtype || !sig.output.Accepts(out.Shape()) ||
        out.BatchSize() != batch) {
      throw InputError(file, "output '" + sig.output.name + "'",
                       ToString(sig.output.dtype) + " " + ShapeToString(sig.output.shape),
                       ToString(out.Type()) + " " + ShapeToString(out.Shape()));
    }
  };
  for (int i = 0; i < std::max(1, options.warmup_runs); ++i)
    probe(1);
  probe(2);
  // Measured, not counted: what TorchScript and oneDNN keep besides the tensors (code, execution
  // plans, packed copies of int8 weights) was most of a small stage's memory (docs/runtime.md).
  stage->SetMeasuredBytes(AllocatedBytes() - allocated_before);
  return stage;
}

TensorDict TorchScriptEngine::LoadTensorDict(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw InputError(file.string(), "", "a readable torch.save file", "cannot open it");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    value = torch::jit::pickle_load(bytes);
  } catch (const c10::Error& e) {
    throw InputError(file.string(), "", "a dict of tensors saved by torch.save",
                     FirstLine(e.what()));
  }
  if (!value.isGenericDict()) {
    throw InputError(file.string(), "", "a dict of tensors saved by torch.save", value.tagKind());
  }
  TensorDict out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString()) {
      throw InputError(file.string(), "keys", "strings", entry.key().tagKind());
    }
    const std::string key = entry.key().toStringRef();
    if (!entry.value().isTensor()) {
      throw InputError(file.string(), key, "a tensor", entry.value().tagKind());
    }
    out.emplace(key, Wrap(entry.value().toTensor().contiguous()));
  }
  return out;
}

Tensor TorchScriptEngine::SliceBatch(const Tensor& t, std::int64_t begin, std::int64_t end) {
  return Wrap(Unwrap(t).slice(0, begin, end));
}

Tensor TorchScriptEngine::Filled(const TensorSpec& spec, std::int64_t batch, double value) {
  std::vector<std::int64_t> shape = spec.shape;
  if (!shape.empty() && shape[0] == -1)
    shape[0] = batch;
  return Wrap(at::full(shape, value, at::TensorOptions().dtype(ToScalarType(spec.dtype))));
}

Tensor TorchScriptEngine::FromHost(const HostTensor& host) {
  std::int64_t elements = 1;
  for (std::int64_t d : host.shape)
    elements *= d;
  if (elements < 0 || static_cast<std::size_t>(elements) * ElementBytes(host.dtype) != host.bytes)
    throw UsageError(
        "tensor of shape " + ShapeToString(host.shape) + " " + ToString(host.dtype) +
        ": expected " +
        std::to_string(elements * static_cast<std::int64_t>(ElementBytes(host.dtype))) +
        " bytes, got " + std::to_string(host.bytes));
  // The deleter holds the owner: the bytes live as long as the tensor (and any view of it).
  std::shared_ptr<const void> owner = host.owner;
  return Wrap(at::from_blob(
      const_cast<void*>(host.data), host.shape, [owner](void*) mutable { owner.reset(); },
      at::TensorOptions().dtype(ToScalarType(host.dtype))));
}

HostTensor TorchScriptEngine::ToHost(const Tensor& t) {
  auto kept = std::make_shared<at::Tensor>(Unwrap(t).contiguous());
  HostTensor host;
  host.dtype = t.Type();
  host.shape = {kept->sizes().begin(), kept->sizes().end()};
  host.data = kept->data_ptr();
  host.bytes = kept->nbytes();
  host.owner = std::move(kept);
  return host;
}

std::vector<std::int64_t> TorchScriptEngine::ArgmaxLastDim(const Tensor& t) {
  at::Tensor idx = Unwrap(t).argmax(-1).to(at::kLong).contiguous();
  const std::int64_t* p = idx.data_ptr<std::int64_t>();
  return {p, p + idx.numel()};
}

std::vector<std::int64_t> TorchScriptEngine::ToInt64(const Tensor& t) {
  at::Tensor v = Unwrap(t).to(at::kLong).contiguous().view(-1);
  const std::int64_t* p = v.data_ptr<std::int64_t>();
  return {p, p + v.numel()};
}

double TorchScriptEngine::MaxAbsDiff(const Tensor& a, const Tensor& b) {
  const at::Tensor& x = Unwrap(a);
  const at::Tensor& y = Unwrap(b);
  if (x.sizes() != y.sizes()) {
    throw EngineError("cannot compare tensors of shapes " + ShapeToString(a.Shape()) + " and " +
                      ShapeToString(b.Shape()));
  }
  return (x.to(at::kDouble) - y.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace sparseloom::engine
