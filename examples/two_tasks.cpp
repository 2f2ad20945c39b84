// Serves two zoos at once through the application API, submits its own tensors, changes one
// task's SLO mid-stream and prints outputs and stats.
//   two_tasks IMAGE_ZOO TEXT_ZOO PROFILE_DIR
#include <cstdio>
#include <future>
#include <string>
#include <vector>

#include "sparseloom/runtime.h"

using sparseloom::Tensor;

// A batch-1 tensor of the input's shape: floats `value`, token ids and mask entries 1.
static Tensor Filled(const sparseloom::TensorInfo& in, float value) {
  std::vector<std::int64_t> shape = in.shape;
  shape[0] = 1;
  std::int64_t n = 1;
  for (std::int64_t d : shape)
    n *= d;
  if (in.dtype == sparseloom::DType::kInt64)
    return Tensor::Of(shape, std::vector<std::int64_t>(static_cast<std::size_t>(n), 1));
  if (in.dtype == sparseloom::DType::kBool)
    return Tensor::Of(shape, std::vector<std::uint8_t>(static_cast<std::size_t>(n), 1));
  return Tensor::Of(shape, std::vector<float>(static_cast<std::size_t>(n), value));
}

static void Print(const std::string& task, const sparseloom::Result& r) {
  std::printf("%s: %s on %s, %.2f ms, slo %s, logits", task.c_str(), r.stitched.c_str(),
              r.placement.empty() ? "-" : r.placement.front().c_str(), r.latency_ms,
              r.slo_met ? "met" : ("missed: " + r.slo_miss + " " + r.error).c_str());
  if (!r.outputs.empty())
    for (float v : r.outputs[0].values<float>())
      std::printf(" %.6f", v);
  std::printf("\n");
}

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: two_tasks IMAGE_ZOO TEXT_ZOO PROFILE_DIR\n");
    return 2;
  }
  sparseloom::Runtime runtime({.processors = "cpu0:0:1,cpu1:1:1"});
  const sparseloom::TaskOptions where{.rate_per_s = 50, .profile_dir = argv[3]};
  auto a = runtime.AddTask("image", argv[1], {.min_accuracy = 0.0, .max_latency_ms = 50}, where);
  auto b = runtime.AddTask("text", argv[2], {.min_accuracy = 0.0, .max_latency_ms = 50}, where);
  a.get(), b.get();
  for (const std::string task : {"image", "text"}) {
    std::vector<Tensor> inputs;
    const sparseloom::TaskInfo info = runtime.Task(task).value();
    for (const sparseloom::TensorInfo& in : info.inputs)
      inputs.push_back(Filled(in, 0.5f));
    std::vector<std::future<sparseloom::Result>> results;
    for (int i = 0; i < 8; ++i) {
      if (i == 4)  // mid-stream: the tightest latency the device can keep
        runtime.SetSlo(task, {.min_accuracy = 0.0, .max_latency_ms = 1.0}).get();
      results.push_back(runtime.Submit(task, inputs));
    }
    for (auto& r : results)
      Print(task, r.get());
  }
  for (const sparseloom::TaskStats& s : runtime.GetStats().tasks)
    std::printf("stats %s: %lld completed, %lld late, p50 %.2f ms, %lld plans\n", s.name.c_str(),
                static_cast<long long>(s.completed), static_cast<long long>(s.late), s.p50_ms,
                static_cast<long long>(s.replans));
}
