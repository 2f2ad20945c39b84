#pragma once
// `sparseloom serve`: the Open Inference Protocol (KServe v2) over HTTP in front of the
// application API (docs/serving.md). The deployment is a task file: its tasks are the models of
// the repository, loaded at the start; the server plans, preloads and serves them through
// sparseloom::Runtime, and re-plans when a model is loaded, unloaded or its SLO changes.
// HTTP comes from cpp-httplib; the protocol's documents from serve/inference_protocol.h.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "plan/task_file.h"

namespace sparseloom::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port (Port() says which)
  // A file holding the bearer token of the control extension (SLO changes, load / unload);
  // empty: control is off and its endpoints answer 403.
  std::filesystem::path control_token_file;
  std::size_t max_body_bytes = 8 << 20;
  int max_connections = 32;  // connections served at once; more wait to be accepted
  int max_in_flight = 64;    // the runtime's admission bound over all models
  // RuntimeOptions::worker_spin_us. 0: the server's own threads (HTTP, parsing, answers) run on
  // the processors' cores too, and a polling worker would keep them off a core.
  double worker_spin_us = 0.0;
  std::string planner = "sparseloom";
};

class InferenceServer {
 public:
  // Reads the deployment and the token, loads and plans every model (errors are thrown here),
  // and binds the address. `log` gets one line per load, unload and SLO change.
  InferenceServer(const plan::TaskFile& deployment, ServerOptions options, std::ostream& log);
  ~InferenceServer();
  InferenceServer(const InferenceServer&) = delete;
  InferenceServer& operator=(const InferenceServer&) = delete;

  int Port() const;
  // Serves until Stop(); returns once every accepted request has been answered.
  void Serve();
  // Stops accepting; safe from any thread.
  void Stop();
  // One line per model: the inference requests answered, by status ("image: 200=41 503=2 ...").
  std::vector<std::string> Answered() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs `server` until SIGTERM or SIGINT, which stop it; the signals are blocked in every thread
// and taken by one of their own. Call before any other thread is started.
void ServeUntilSignalled(const std::function<std::unique_ptr<InferenceServer>()>& make,
                         std::ostream& log);

}  // namespace sparseloom::serve
