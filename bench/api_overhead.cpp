// The application API's per-request overhead over the executor alone, at batch 1: the same zoo,
// stitched variant, placement and input, one request at a time, through
//   api:      sparseloom::Runtime::Submit(...).get()  (input checks, zero-copy tensors, result)
//   executor: runtime::Pipeline::Submit with a fixed route and a promise set from OnDone
// in interleaved rounds (docs/runtime.md "Application API overhead"). Prints per-round medians and
// the median over rounds of the API's extra time relative to the executor's.
//   api_overhead ZOO PROFILE_DIR|- [ROUNDS] [REQUESTS]     (-: the table in ZOO/profile/)
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "engine/torchscript_engine.h"
#include "preload/stage_cache.h"
#include "profile/processor_setup.h"
#include "runtime/evaluation.h"
#include "runtime/pipeline.h"
#include "sparseloom/runtime.h"
#include "zoo/stitched_variant.h"

using namespace sparseloom;

namespace {

constexpr const char* kProcessors = "cpu0:0:1,cpu1:1:1";

Tensor Public(const engine::HostTensor& h) {
  const DType dtype = h.dtype == engine::DType::kInt64  ? DType::kInt64
                      : h.dtype == engine::DType::kBool ? DType::kBool
                                                        : DType::kFloat32;
  return Tensor::View(dtype, h.shape, h.owner, h.data, h.bytes);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: api_overhead ZOO PROFILE_DIR|- [ROUNDS] [REQUESTS]\n");
    return 2;
  }
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 11;
  const int requests = argc > 4 ? std::atoi(argv[4]) : 200;
  Runtime api({.processors = kProcessors});
  const std::filesystem::path profiles = std::string(argv[2]) == "-" ? "" : argv[2];
  api.AddTask("t", argv[1], {0.0, 1000.0}, {.rate_per_s = 10.0, .profile_dir = profiles}).get();
  const TaskInfo info = api.Task("t").value();

  // The executor alone, on the route the API's plan chose.
  engine::TorchScriptEngine engine;
  const zoo::Zoo z = zoo::LoadZoo(argv[1]);
  const profile::ProcessorSetup setup = profile::ParseProcessorSetup(kProcessors);
  preload::StageCache cache(
      preload::StageSource{[&](const preload::StageKey& key) {
                             engine::StageLoadOptions load =
                                 z.StageLoad(static_cast<std::size_t>(key.variant), key.stage + 1);
                             load.processor = setup[static_cast<std::size_t>(key.processor)];
                             return engine.LoadStage(load);
                           },
                           [](const preload::StageKey&) { return std::int64_t{0}; }},
      0);
  runtime::Pipeline pipeline(
      setup, cache, [](const engine::Tensor&) { return std::int64_t{-1}; },
      runtime::PipelineOptions{.keep_outputs = true, .keep_records = false});
  runtime::TaskRoute route;
  route.variant_of_stage.clear();
  for (std::size_t v : zoo::ParseStitch(z, info.stitched).variant_of_stage)
    route.variant_of_stage.push_back(static_cast<int>(v));
  for (const std::string& name : info.placement)
    route.placement.push_back(name == setup[0].name ? 0 : 1);
  route.slo = plan::Slo{0.0, 1000.0};
  pipeline.SetRoutes({route});
  std::promise<void>* waiting = nullptr;
  pipeline.OnDone([&](const runtime::RequestRecord&) { waiting->set_value(); });

  const runtime::LabelledSet set = runtime::LoadValidationSet(z, engine);
  runtime::RequestInput input;
  input.input = engine.SliceBatch(set.input, 0, 1);
  std::vector<Tensor> inputs{Public(engine.ToHost(input.input))};
  for (const engine::Tensor& s : set.side) {
    input.side.push_back(engine.SliceBatch(s, 0, 1));
    inputs.push_back(Public(engine.ToHost(input.side.back())));
  }

  std::vector<double> api_submit_us, executor_submit_us;  // the Submit call alone
  const auto since_us = [](runtime::Clock::time_point start) {
    return std::chrono::duration<double, std::micro>(runtime::Clock::now() - start).count();
  };
  const auto time_api = [&] {
    const auto start = runtime::Clock::now();
    std::future<Result> future = api.Submit("t", inputs);
    api_submit_us.push_back(since_us(start));
    const Result r = future.get();
    if (!r.completed)
      std::abort();
    return std::chrono::duration<double, std::micro>(runtime::Clock::now() - start).count();
  };
  const auto time_executor = [&] {
    std::promise<void> done;
    waiting = &done;
    const auto start = runtime::Clock::now();
    pipeline.Submit(0, 0, input, runtime::Clock::now());
    executor_submit_us.push_back(since_us(start));
    done.get_future().get();
    return std::chrono::duration<double, std::micro>(runtime::Clock::now() - start).count();
  };
  // Each request starts once the other path's workers have stopped polling their queues
  // (PipelineOptions::spin_us), so that neither path's request shares a core with the other's.
  const auto settle = [] { std::this_thread::sleep_for(std::chrono::microseconds(400)); };
  for (int i = 0; i < 50; ++i)  // warm both paths
    time_api(), time_executor();

  std::printf("zoo %s, stitched %s on %s..., %d rounds x %d requests, batch 1\n", argv[1],
              info.stitched.c_str(), info.placement[0].c_str(), rounds, requests);
  std::printf("round  api_median_us  executor_median_us  overhead\n");
  std::vector<double> overheads;
  for (int round = 0; round < rounds; ++round) {
    std::vector<double> a, e;
    for (int i = 0; i < requests; ++i) {  // interleaved request by request
      settle();
      a.push_back(time_api());
      settle();
      e.push_back(time_executor());
    }
    const double ma = runtime::Median(a), me = runtime::Median(e);
    overheads.push_back((ma - me) / me);
    std::printf("%5d  %13.1f  %18.1f  %+7.2f%%\n", round, ma, me, 100.0 * overheads.back());
  }
  std::printf("the Submit call alone, median: api %.1f us, executor %.1f us\n",
              runtime::Median(api_submit_us), runtime::Median(executor_submit_us));
  std::printf("median overhead over rounds: %+.2f%%\n", 100.0 * runtime::Median(overheads));
}
