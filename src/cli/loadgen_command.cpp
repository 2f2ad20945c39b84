#include "cli/loadgen_command.h"

#include <iostream>
#include <memory>
#include <string>

#include "common/json_reader.h"
#include "engine/torchscript_engine.h"
#include "plan/task_file.h"
#include "serve/loadgen.h"

namespace sparseloom::cli {
namespace {

struct LoadgenCommandOptions {
  std::string url;
  bool in_process = false;
  std::string tasks;
  std::string arrivals = "poisson";
  std::string json;
  double worker_spin_us = 200.0;
  serve::LoadOptions load;
};

void RunLoadgen(const LoadgenCommandOptions& o) {
  const plan::TaskFile tasks = plan::LoadTaskFile(o.tasks);
  serve::LoadOptions load = o.load;
  load.arrivals =
      o.arrivals == "closed" ? runtime::ArrivalKind::kClosedLoop : runtime::ArrivalKind::kPoisson;
  engine::TorchScriptEngine engine;
  const std::vector<serve::ModelInputs> models = serve::LoadModelInputs(tasks, engine);
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<serve::LoadTarget> target;
  if (o.in_process) {
    runtime =
        std::make_unique<Runtime>(RuntimeOptions{.processors = tasks.processors,
                                                 .memory_budget_bytes = tasks.memory_budget_bytes,
                                                 .worker_spin_us = o.worker_spin_us});
    target = serve::InProcessTarget(*runtime, tasks);
  } else {
    target = serve::HttpTarget(o.url);
  }
  serve::LoadReport report = serve::RunLoad(*target, models, load, std::cerr);
  report.target = o.in_process ? "in-process" : o.url;
  serve::PrintLoadReport(report, std::cout);
  if (!o.json.empty()) {
    WriteFileAtomically(o.json, serve::LoadReportJson(report));
    std::cout << "report written to " << o.json << "\n";
  }
}

}  // namespace

void AddLoadgenCommand(CLI::App& app) {
  auto o = std::make_shared<LoadgenCommandOptions>();
  CLI::App* c = app.add_subcommand(
      "loadgen",
      "Send the evaluation workload of a task file to a `sparseloom serve` server (or to a "
      "runtime in this process, --in-process) over the Open Inference Protocol with binary "
      "tensor data, and report what a client sees per model: answers by HTTP status, latency "
      "quantiles from each request's arrival, SLO violations judged on that latency, accuracy "
      "against the validation labels, throughput (docs/serving.md)");
  auto* url = c->add_option("--url", o->url, "The server, e.g. http://127.0.0.1:8000");
  auto* local = c->add_flag("--in-process", o->in_process,
                            "Serve the workload in this process through the application API "
                            "instead (the baseline HTTP is compared with)");
  url->excludes(local);
  c->add_option("--tasks", o->tasks,
                "The task file the server serves: models, SLOs, rates and zoos (for inputs)")
      ->required()
      ->check(CLI::ExistingFile);
  c->add_option("--arrivals", o->arrivals,
                "poisson: each model at its rate_per_s x --rate-scale; closed: each model keeps "
                "--window requests in flight")
      ->capture_default_str()
      ->check(CLI::IsMember({"poisson", "closed"}));
  c->add_option("--seconds", o->load.seconds, "How long requests are sent")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  c->add_option("--rate-scale", o->load.rate_scale, "Multiplies every model's rate (Poisson)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  c->add_option("--window", o->load.window, "Requests in flight per model (closed loop)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  c->add_option("--connections", o->load.connections, "HTTP connections (Poisson)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  c->add_option("--seed", o->load.seed, "Arrivals and samples, as `sparseloom run --seed`")
      ->capture_default_str();
  c->add_option("--worker-spin-us", o->worker_spin_us,
                "With --in-process: the runtime's worker polling (as `serve --worker-spin-us`)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100000.0));
  c->add_option("--json", o->json, "Also write the report as JSON to this file");
  c->callback([o] {
    if (o->url.empty() && !o->in_process)
      throw CLI::ValidationError("--url", "give the server's URL, or --in-process");
    RunLoadgen(*o);
  });
}

}  // namespace sparseloom::cli
