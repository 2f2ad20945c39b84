#include "cli/serve_command.h"

#include <iostream>
#include <memory>
#include <string>

#include "plan/task_file.h"
#include "serve/inference_server.h"

namespace sparseloom::cli {
namespace {

struct ServeCommandOptions {
  std::string tasks;
  serve::ServerOptions server;
  double max_body_mb = 8.0;
};

void RunServe(const ServeCommandOptions& o) {
  const plan::TaskFile deployment = plan::LoadTaskFile(o.tasks);
  serve::ServerOptions options = o.server;
  options.max_body_bytes = static_cast<std::size_t>(o.max_body_mb * 1024 * 1024);
  serve::ServeUntilSignalled(
      [&] { return std::make_unique<serve::InferenceServer>(deployment, options, std::cerr); },
      std::cerr);
}

}  // namespace

void AddServeCommand(CLI::App& app) {
  auto o = std::make_shared<ServeCommandOptions>();
  CLI::App* c = app.add_subcommand(
      "serve",
      "Serve the task file's tasks as models over HTTP with the Open Inference Protocol (KServe "
      "v2, as Triton and KServe speak it; curl and Triton's clients work unchanged): plans and "
      "preloads them, answers POST /v2/models/MODEL/infer in JSON or with binary tensor data, and "
      "reports GET /metrics in the Prometheus format. SIGTERM stops accepting, answers every "
      "accepted request and exits 0. Endpoints and parameters: docs/serving.md");
  c->add_option("--tasks", o->tasks,
                "The deployment: a task file (docs/planner.md) whose tasks are the models, with "
                "their zoos, SLOs and rates, the processors and the memory budget; each zoo "
                "needs a fresh performance table")
      ->required()
      ->check(CLI::ExistingFile);
  c->add_option("--host", o->server.host, "Address to listen on (127.0.0.1: this device only)")
      ->capture_default_str();
  c->add_option("--port", o->server.port, "TCP port (0: any free port, printed at the start)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  c->add_option("--control-token-file", o->server.control_token_file,
                "Turns on the control extension (SLO changes, load / unload of models): a file "
                "holding the bearer token that control requests must send as 'Authorization: "
                "Bearer TOKEN'. Never on the command line; off by default")
      ->check(CLI::ExistingFile);
  c->add_option("--max-body-mb", o->max_body_mb, "Largest request body, MiB (413 above)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  c->add_option("--max-connections", o->server.max_connections,
                "Connections served at once; more wait to be accepted")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  c->add_option("--max-in-flight", o->server.max_in_flight,
                "Requests admitted at once over all models; more are answered 503 at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  c->add_option("--worker-spin-us", o->server.worker_spin_us,
                "How long a processor's worker polls its empty queue before sleeping (0: at once, "
                "leaving the cores to the server's threads)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100000.0));
  c->add_option("--planner", o->server.planner,
                "sparseloom, or a baseline: SV-AO-NP, SV-AO-P, SV-LO-NP, SV-LO-P, AV-NP, AV-P")
      ->capture_default_str();
  c->callback([o] { RunServe(*o); });
}

}  // namespace sparseloom::cli
