#include "serve/inference_server.h"

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <thread>
#include <vector>

#include <httplib.h>

#include "common/error.h"
#include "serve/inference_protocol.h"
#include "serve/server_state.h"

namespace sparseloom::serve {
namespace {

// httplib's thread pool, with a bound on the connections accepted and not yet served: when it is
// full the accept loop waits, and further clients wait in the kernel's listen backlog.
class BoundedTaskQueue : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(int threads, std::size_t capacity) : capacity_(capacity) {
    for (int i = 0; i < threads; ++i)
      threads_.emplace_back([this] { Work(); });
  }
  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return queue_.size() < capacity_ || shutdown_; });
    queue_.push_back(std::move(fn));
    work_.notify_one();
  }
  void shutdown() override {  // the accepted connections are served first
    {
      std::lock_guard lock(mutex_);
      shutdown_ = true;
    }
    work_.notify_all();
    room_.notify_all();
    for (std::thread& t : threads_)
      t.join();
  }

 private:
  void Work() {
    while (true) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mutex_);
        work_.wait(lock, [&] { return !queue_.empty() || shutdown_; });
        if (queue_.empty())
          return;
        fn = std::move(queue_.front());
        queue_.pop_front();
        room_.notify_one();
      }
      fn();
    }
  }

  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable work_, room_;
  std::deque<std::function<void()>> queue_;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;
};

void Json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

void Error(httplib::Response& res, int status, const std::string& message) {
  Json(res, status, ErrorBody(message));
}

// The model a request names, when the path's version (if any) is the one version served.
std::optional<TaskInfo> ModelOf(ServerState& state, const httplib::Request& req,
                                httplib::Response& res) {
  const std::string name = req.matches[1];
  const std::string version = req.matches.size() > 2 ? std::string(req.matches[2]) : "";
  std::optional<TaskInfo> info = state.runtime.Task(name);
  if (!info) {
    Error(res, 404,
          state.Spec(name) ? "model '" + name + "' is not loaded" : "unknown model '" + name + "'");
    return std::nullopt;
  }
  if (!version.empty() && version != "1") {
    Error(res, 404, "model '" + name + "' has no version '" + version + "' (only version 1)");
    return std::nullopt;
  }
  return info;
}

void Infer(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  const std::optional<TaskInfo> model = ModelOf(state, req, res);
  if (!model)
    return;
  InferRequest request;
  try {
    std::optional<std::size_t> json_length;
    if (req.has_header("Inference-Header-Content-Length"))
      json_length =
          ParseJsonLength(req.get_header_value("Inference-Header-Content-Length"), req.body.size());
    request = ParseInferRequest(req.body, json_length, *model);
  } catch (const ProtocolError& e) {
    state.counters.Invalid(model->name);
    return Error(res, e.status(), e.what());
  }
  state.counters.Pending(model->name, +1);
  const Result result =
      state.runtime.Submit(model->name, std::move(request.inputs), request.submit).get();
  state.counters.Answered(model->name, result);
  state.counters.Pending(model->name, -1);
  if (!result.completed) {
    const bool gone = result.error.rfind("no task named", 0) == 0;
    return Error(res, gone ? 404 : StatusOf(result),
                 "model '" + model->name + "': " + result.error);
  }
  const EncodedResponse encoded = EncodeInferResponse(*model, request, result);
  if (encoded.json_length)
    res.set_header("Inference-Header-Content-Length", std::to_string(*encoded.json_length));
  res.status = 200;
  res.set_content(encoded.body, encoded.content_type.c_str());
}

void AddRoutes(httplib::Server& http, ServerState& state) {
  const std::string model = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)";
  http.Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) {
    Json(res, 200, R"({"live":true})");
  });
  http.Get("/v2/health/ready", [&state](const httplib::Request&, httplib::Response& res) {
    for (const TaskInfo& t : state.runtime.Tasks()) {
      if (!t.routed)
        return Error(res, 503, "model '" + t.name + "' has no plan yet");
    }
    Json(res, 200, R"({"ready":true})");
  });
  http.Get("/v2", [&state](const httplib::Request&, httplib::Response& res) {
    std::vector<std::string> extensions = {"binary_tensor_data", "parameters", "sparseloom_slo"};
    if (state.token)
      extensions.insert(extensions.end(), {"model_repository", "sparseloom_control"});
    Json(res, 200, ServerMetadata(extensions));
  });
  http.Get(model, [&state](const httplib::Request& req, httplib::Response& res) {
    if (const std::optional<TaskInfo> info = ModelOf(state, req, res))
      Json(res, 200, ModelMetadata(*info));
  });
  http.Get(model + "/ready", [&state](const httplib::Request& req, httplib::Response& res) {
    const std::optional<TaskInfo> info = ModelOf(state, req, res);
    if (!info)
      return;
    if (!info->routed)
      return Error(res, 400, "model '" + info->name + "' has no plan yet");
    Json(res, 200, R"({"ready":true})");
  });
  http.Post(model + "/infer", [&state](const httplib::Request& req, httplib::Response& res) {
    Infer(state, req, res);
  });
  http.Get("/metrics", [&state](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        PrometheusText(state.counters.Snapshot(), state.runtime.GetStats(), state.runtime.Tasks()),
        "text/plain; version=0.0.4");
  });
}

}  // namespace

ServerState::ServerState(const plan::TaskFile& file, ServerOptions o, std::ostream& out)
    : deployment(file),
      options(std::move(o)),
      runtime(RuntimeOptions{.processors = deployment.processors,
                             .memory_budget_bytes = deployment.memory_budget_bytes,
                             .planner = options.planner,
                             .max_in_flight = options.max_in_flight,
                             .worker_spin_us = options.worker_spin_us}),
      log(out) {
  if (!options.control_token_file.empty())
    token = ControlToken::FromFile(options.control_token_file);
}

const plan::TaskSpec* ServerState::Spec(const std::string& model) const {
  for (const plan::TaskSpec& t : deployment.tasks) {
    if (t.name == model)
      return &t;
  }
  return nullptr;
}

void ServerState::Load(const plan::TaskSpec& spec) {
  runtime
      .AddTask(spec.name, spec.zoo_dir, Slo{spec.slo.min_accuracy, spec.slo.max_latency_ms},
               TaskOptions{.rate_per_s = spec.rate_per_s, .profile_dir = spec.profile_dir})
      .get();
  const std::optional<TaskInfo> info = runtime.Task(spec.name);
  Log("loaded " + spec.name + ": " + (info ? info->stitched : "?"));
}

void ServerState::Log(const std::string& line) {
  std::lock_guard lock(log_mutex);
  log << "serve: " << line << "\n" << std::flush;
}

struct InferenceServer::Impl {
  Impl(const plan::TaskFile& deployment, ServerOptions options, std::ostream& log)
      : state(deployment, std::move(options), log) {}
  ServerState state;
  httplib::Server http;
  int port = 0;
};

InferenceServer::InferenceServer(const plan::TaskFile& deployment, ServerOptions options,
                                 std::ostream& log)
    : impl_(std::make_unique<Impl>(deployment, std::move(options), log)) {
  ServerState& state = impl_->state;
  for (const plan::TaskSpec& spec : deployment.tasks)
    state.Load(spec);
  httplib::Server& http = impl_->http;
  const int connections = std::max(1, state.options.max_connections);
  http.new_task_queue = [connections] {
    return new BoundedTaskQueue(connections, static_cast<std::size_t>(connections));
  };
  http.set_payload_max_length(state.options.max_body_bytes);
  // Small answers at once (no Nagle delay against the client's delayed ACK); a connection serves
  // many requests, as Triton's clients keep theirs.
  http.set_tcp_nodelay(true);
  http.set_keep_alive_max_count(1000);
  http.set_keep_alive_timeout(2);
  http.set_read_timeout(5);
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty())
      return;  // a handler's own error
    const std::string message = res.status == 404   ? "no such endpoint: " + req.path
                                : res.status == 413 ? "request body over the server's limit"
                                                    : "HTTP status " + std::to_string(res.status);
    res.set_content(ErrorBody(message), "application/json");
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr e) {
        std::string message = "internal error";
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          message = x.what();
        } catch (...) {
        }
        Error(res, 500, message);
      });
  AddRoutes(http, state);
  AddControlRoutes(http, state);
  impl_->port =
      state.options.port == 0
          ? http.bind_to_any_port(state.options.host)
          : (http.bind_to_port(state.options.host, state.options.port) ? state.options.port : -1);
  if (impl_->port < 0)
    throw UsageError("serve: cannot listen on " + state.options.host + ":" +
                     std::to_string(state.options.port) + " (in use, or not an address here)");
  state.Log("listening on http://" + state.options.host + ":" + std::to_string(impl_->port) +
            (state.token ? " (control on)" : ""));
}

InferenceServer::~InferenceServer() = default;

int InferenceServer::Port() const {
  return impl_->port;
}

void InferenceServer::Serve() {
  impl_->http.listen_after_bind();
}

void InferenceServer::Stop() {
  impl_->http.stop();
}

std::vector<std::string> InferenceServer::Answered() const {
  std::vector<std::string> lines;
  for (const auto& [model, c] : impl_->state.counters.Snapshot())
    lines.push_back(model + ": 200=" + std::to_string(c.success) +
                    " 503=" + std::to_string(c.rejected) + " 500=" + std::to_string(c.failed) +
                    " 400=" + std::to_string(c.invalid));
  return lines;
}

void ServeUntilSignalled(const std::function<std::unique_ptr<InferenceServer>()>& make,
                         std::ostream& log) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // inherited by every thread started after
  std::unique_ptr<InferenceServer> server = make();
  std::atomic<bool> served{false};
  std::thread watcher([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    if (served)
      return;  // woken by the signal below
    log << "serve: " << (signal == SIGTERM ? "SIGTERM" : "SIGINT")
        << ": no new connections; answering the accepted requests\n"
        << std::flush;
    server->Stop();
  });
  server->Serve();  // returns once every accepted connection was served
  served = true;
  // Serve also returns when the listener fails: wake the watcher with a signal of our own.
  pthread_kill(watcher.native_handle(), SIGTERM);
  watcher.join();
  for (const std::string& line : server->Answered())
    log << "serve: answered " << line << "\n";
  server.reset();  // the runtime answers every accepted request before it stops
  log << "serve: stopped\n" << std::flush;
}

}  // namespace sparseloom::serve
