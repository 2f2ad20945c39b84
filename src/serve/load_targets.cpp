// The load generator's targets: an Open Inference Protocol server over HTTP (requests encoded as
// Triton's HTTP client does, with binary tensor data), and a runtime in this process. Also the
// models' sample inputs from their validation sets.
#include <cstring>
#include <map>
#include <mutex>

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "api/dtype.h"
#include "common/error.h"
#include "engine/engine.h"
#include "runtime/evaluation.h"
#include "serve/inference_protocol.h"
#include "serve/loadgen.h"
#include "zoo/zoo.h"

namespace sparseloom::serve {
namespace {

using nlohmann::json;

Tensor PublicOf(engine::Engine& engine, const engine::Tensor& t) {
  engine::HostTensor h = engine.ToHost(t);
  return Tensor::View(api::Public(h.dtype), std::move(h.shape), std::move(h.owner), h.data,
                      h.bytes);
}

std::int64_t ArgMax(const Tensor& logits) {
  if (logits.empty() || logits.dtype() != DType::kFloat32)
    return -1;
  const auto v = logits.values<float>();
  return static_cast<std::int64_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// The body of a binary-data request and the length of its JSON header.
std::pair<std::string, std::size_t> Encode(const std::vector<std::string>& names,
                                           const std::vector<Tensor>& inputs) {
  json header = {{"inputs", json::array()}, {"parameters", {{"binary_data_output", true}}}};
  std::string blobs;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    header["inputs"].push_back({{"name", names[i]},
                                {"shape", t.shape()},
                                {"datatype", DatatypeName(t.dtype())},
                                {"parameters", {{"binary_data_size", t.bytes().size()}}}});
    blobs.append(reinterpret_cast<const char*>(t.bytes().data()), t.bytes().size());
  }
  std::string body = header.dump();
  const std::size_t length = body.size();
  return {body + blobs, length};
}

class Http : public LoadTarget {
 public:
  explicit Http(std::string url) : url_(std::move(url)) {
    httplib::Client probe(url_);
    probe.set_connection_timeout(5);
    const httplib::Result r = probe.Get("/v2/health/live");
    if (!r)
      throw UsageError("loadgen: no server at " + url_ + " (" + httplib::to_string(r.error()) +
                       ")");
  }
  Answer Send(const ModelInputs& model, std::size_t sample) override {
    httplib::Client& client = ClientOfThisThread();
    const auto& [body, length] = Encoded(model, sample);
    httplib::Headers headers = {{"Inference-Header-Content-Length", std::to_string(length)}};
    const httplib::Result r = client.Post("/v2/models/" + model.name + "/infer", headers, body,
                                          "application/octet-stream");
    Answer a;
    if (!r) {
      a.error = httplib::to_string(r.error());
      return a;
    }
    a.status = r->status;
    if (a.status != 200) {
      a.error = r->body;
      return a;
    }
    const std::size_t json_length =
        r->has_header("Inference-Header-Content-Length")
            ? std::stoul(r->get_header_value("Inference-Header-Content-Length"))
            : r->body.size();
    const json head = json::parse(r->body.substr(0, json_length));
    a.slo_miss = head["parameters"].value("sparseloom_slo_miss", "");
    const std::string logits = r->body.substr(json_length);
    std::vector<float> values(logits.size() / sizeof(float));
    std::memcpy(values.data(), logits.data(), values.size() * sizeof(float));
    a.prediction = values.empty()
                       ? -1
                       : static_cast<std::int64_t>(std::max_element(values.begin(), values.end()) -
                                                   values.begin());
    return a;
  }

 private:
  httplib::Client& ClientOfThisThread() {
    thread_local std::map<const Http*, std::unique_ptr<httplib::Client>> clients;
    std::unique_ptr<httplib::Client>& c = clients[this];
    if (!c) {
      c = std::make_unique<httplib::Client>(url_);
      c->set_keep_alive(true);
      c->set_tcp_nodelay(true);
      c->set_read_timeout(60);
    }
    return *c;
  }
  const std::pair<std::string, std::size_t>& Encoded(const ModelInputs& model, std::size_t sample) {
    std::lock_guard lock(mutex_);
    auto& bodies = bodies_[model.name];
    if (bodies.empty()) {
      for (const std::vector<Tensor>& s : model.samples)
        bodies.push_back(Encode(model.input_names, s));
    }
    return bodies.at(sample);
  }

  std::string url_;
  std::mutex mutex_;
  std::map<std::string, std::vector<std::pair<std::string, std::size_t>>> bodies_;
};

class InProcess : public LoadTarget {
 public:
  InProcess(Runtime& runtime, const plan::TaskFile& tasks) : runtime_(runtime) {
    for (const plan::TaskSpec& t : tasks.tasks)
      runtime_
          .AddTask(t.name, t.zoo_dir, Slo{t.slo.min_accuracy, t.slo.max_latency_ms},
                   TaskOptions{.rate_per_s = t.rate_per_s, .profile_dir = t.profile_dir})
          .get();
  }
  Answer Send(const ModelInputs& model, std::size_t sample) override {
    const Result r = runtime_.Submit(model.name, model.samples.at(sample)).get();
    Answer a;
    a.status = r.completed ? 200 : StatusOf(r);
    a.error = r.error;
    a.slo_miss = r.slo_miss;
    if (r.completed && !r.outputs.empty())
      a.prediction = ArgMax(r.outputs[0]);
    return a;
  }

 private:
  Runtime& runtime_;
};

}  // namespace

std::vector<ModelInputs> LoadModelInputs(const plan::TaskFile& tasks, engine::Engine& engine) {
  std::vector<ModelInputs> out;
  for (const plan::TaskSpec& t : tasks.tasks) {
    const zoo::Zoo z = zoo::LoadZoo(t.zoo_dir);
    const runtime::LabelledSet set = runtime::LoadValidationSet(z, engine);
    ModelInputs m;
    m.name = t.name;
    m.slo = Slo{t.slo.min_accuracy, t.slo.max_latency_ms};
    m.rate_per_s = t.rate_per_s;
    m.input_names.push_back(z.input.name);
    for (const engine::TensorSpec& s : z.side_inputs)
      m.input_names.push_back(s.name);
    for (std::int64_t i = 0; i < set.size; ++i) {
      std::vector<Tensor> sample{PublicOf(engine, engine.SliceBatch(set.input, i, i + 1))};
      for (const engine::Tensor& s : set.side)
        sample.push_back(PublicOf(engine, engine.SliceBatch(s, i, i + 1)));
      m.samples.push_back(std::move(sample));
    }
    m.labels = set.labels;
    out.push_back(std::move(m));
  }
  return out;
}

std::unique_ptr<LoadTarget> HttpTarget(const std::string& url) {
  return std::make_unique<Http>(url);
}

std::unique_ptr<LoadTarget> InProcessTarget(Runtime& runtime, const plan::TaskFile& tasks) {
  return std::make_unique<InProcess>(runtime, tasks);
}

}  // namespace sparseloom::serve
