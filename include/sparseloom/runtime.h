#pragma once
// SparseLoom's application API: serve several tasks at once on this device, each from its sparse
// model zoo and under its own SLO, and submit your own inputs. Link `sparseloom::runtime`.
//
//   sparseloom::Runtime runtime({.processors = "cpu0:0:1,cpu1:1:1"});
//   runtime.AddTask("image", "zoos/fmnist_resnet", {.min_accuracy = 0.88, .max_latency_ms = 5})
//       .get();                                            // planned, stages loaded
//   sparseloom::Result r = runtime.Submit("image", {image}).get();
//   r.outputs[0].values<float>();                          // the logits
//   runtime.SetSlo("image", {0.90, 8.0});                  // re-planned in the background
//
// Every task needs its zoo's performance table (`sparseloom profile ZOO`). Errors are exceptions
// derived from std::runtime_error whose message names the file, the field and what was expected.
// No inference library's types appear here.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace sparseloom {

enum class DType { kFloat32, kBFloat16, kInt64, kInt32, kBool };
std::string ToString(DType dtype);  // "float32", ...
std::size_t ElementBytes(DType dtype);

// A dense row-major tensor on the host: dtype, shape and bytes. Copies share the bytes, which
// never change. Outputs are views of the engine's own result, not copies.
class Tensor {
 public:
  Tensor() = default;
  // Copies `values` (T: float, std::int64_t, std::int32_t or bool as std::uint8_t).
  template <typename T>
  static Tensor Of(std::vector<std::int64_t> shape, const std::vector<T>& values);
  // Refers to `data`, kept alive by `owner`, without copying. std::invalid_argument when
  // `bytes` does not match the shape and dtype.
  static Tensor View(DType dtype, std::vector<std::int64_t> shape,
                     std::shared_ptr<const void> owner, const void* data, std::size_t bytes);

  bool empty() const { return data_ == nullptr; }
  DType dtype() const { return dtype_; }
  const std::vector<std::int64_t>& shape() const { return shape_; }
  std::int64_t elements() const;
  std::span<const std::byte> bytes() const {
    return {static_cast<const std::byte*>(data_), bytes_};
  }
  // The elements as T; std::invalid_argument when T does not match the dtype.
  template <typename T>
  std::span<const T> values() const;
  const std::shared_ptr<const void>& owner() const { return owner_; }

 private:
  DType dtype_ = DType::kFloat32;
  std::vector<std::int64_t> shape_;
  std::shared_ptr<const void> owner_;
  const void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

struct Slo {
  double min_accuracy = 0.0;    // in [0, 1]
  double max_latency_ms = 0.0;  // > 0
};

struct RuntimeOptions {
  // Processors as `NAME:CORES:THREADS,...` (e.g. "cpu0:0:1,cpu1:1:1") or a JSON file; empty: the
  // profiler's default setup of this host. Tables must have been profiled on the same setup.
  std::string processors;
  std::int64_t memory_budget_bytes = 0;  // resident stage weights; 0 = unlimited
  std::string planner = "sparseloom";    // or a baseline: "AV-P", "SV-AO-NP", ...
  int max_in_flight = 64;                // admission bound over all tasks
  // How long a processor's worker polls its empty queue before it sleeps: a hand-over is taken at
  // once instead of after a wake-up. 0 where the same cores must also run other threads (an HTTP
  // server's on a device with as many cores as processors).
  double worker_spin_us = 200.0;
};

struct TaskOptions {
  double rate_per_s = 10.0;           // expected requests per second: the planner's load weight
  std::filesystem::path profile_dir;  // `sparseloom profile --out` folder; empty: ZOO/profile/
};

struct TensorInfo {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<std::int64_t> shape;  // -1 for the batch
};

struct TaskInfo {
  std::string name;
  std::filesystem::path zoo;
  std::vector<TensorInfo> inputs;  // the input, then side inputs (e.g. an attention mask)
  TensorInfo output;
  Slo slo;
  bool routed = false;                 // a plan is in place for it
  std::string stitched;                // "dense,us50,int8": the variant of each stage
  std::vector<std::string> placement;  // processor of each stage
  double expected_latency_ms = 0.0;
  double expected_accuracy = 0.0;
  bool plan_meets_slo = false;
};

struct SubmitOptions {
  // Done within this many ms of submission, or refused at once when the plan cannot make it;
  // 0: only the task's SLO.
  double timeout_ms = 0.0;
  int priority = 0;  // queued requests of a higher priority run first
  // Refused at once when the stitched variant the plan now runs is less accurate than this; 0:
  // only the task's SLO.
  double min_accuracy = 0.0;
};

// Exactly one per submitted request.
struct Result {
  bool completed = false;       // false: refused (admission full, no route, deadline) or failed
  std::string error;            // why it was refused or failed; empty when completed
  std::vector<Tensor> outputs;  // the last stage's output (logits), batch 1
  std::string stitched;         // the stitched variant it ran on
  std::vector<std::string> placement;
  double latency_ms = 0.0;   // submission to result
  double queue_ms = 0.0;     // waiting in queues on the processor it was on
  double handover_ms = 0.0;  // waiting after a hand-over to another processor
  double compute_ms = 0.0;   // running stages
  double load_ms = 0.0;      // loading stages that were not resident
  bool slo_met = false;
  std::string slo_miss;  // "late", "accuracy", "rejected" or "failed" (empty when met)
};

struct TaskStats {
  std::string name;
  std::int64_t submitted = 0, completed = 0, rejected = 0, failed = 0;
  std::int64_t late = 0, below_accuracy = 0;  // SLO violations of completed requests, by cause
  double p50_ms = 0.0, p95_ms = 0.0, p99_ms = 0.0;  // completed, over the last 4096
  std::int64_t replans = 0;
};

struct Stats {
  std::vector<TaskStats> tasks;
  std::vector<std::pair<std::string, double>> busy_share;  // per processor, since the start
  std::int64_t resident_bytes = 0;
  std::int64_t memory_budget_bytes = 0;
  std::int64_t replans = 0;
  double uptime_s = 0.0;
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});
  // Answers every accepted request, then stops the workers.
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Reads the zoo and its performance table now (errors are thrown here) and plans in the
  // background while the other tasks keep serving; the future is ready once the task has a route
  // (or holds the planning error).
  std::future<void> AddTask(const std::string& name, const std::filesystem::path& zoo, Slo slo,
                            TaskOptions options = {});
  // Requests already admitted finish on their route; later ones are refused.
  std::future<void> RemoveTask(const std::string& name);
  std::future<void> SetSlo(const std::string& name, Slo slo);
  // Makes the plan of the tasks now served under each SLO configuration (task name -> SLO; tasks
  // not named keep theirs), so that a SetSlo to one of them is in place at once. Returns the
  // number of plans kept.
  int PlanAhead(const std::vector<std::map<std::string, Slo>>& configurations);

  // Never blocks: `inputs` are the task's input and side inputs in TaskInfo::inputs' order, batch
  // 1. A refused request's result is ready at once.
  std::future<Result> Submit(const std::string& task, std::vector<Tensor> inputs,
                             SubmitOptions options = {});
  // The same with a callback, called once (on a worker thread, or here when refused at once).
  void Submit(const std::string& task, std::vector<Tensor> inputs, SubmitOptions options,
              std::function<void(Result)> done);

  std::vector<TaskInfo> Tasks() const;
  std::optional<TaskInfo> Task(const std::string& name) const;
  Stats GetStats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sparseloom
