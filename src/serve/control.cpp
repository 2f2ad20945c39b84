#include "serve/control.h"

#include <fstream>
#include <sstream>

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_reader.h"
#include "serve/inference_protocol.h"
#include "serve/server_state.h"

namespace sparseloom::serve {
namespace {

using nlohmann::json;

std::array<unsigned char, 32> Sha256(const std::string& text) {
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr);
  return digest;
}

void Error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(ErrorBody(message), "application/json");
}

// True when the request may use the control extension; otherwise answers it.
bool Allowed(const ServerState& state, const httplib::Request& req, httplib::Response& res) {
  if (!state.token) {
    Error(res, 403, "the control extension is off (start the server with --control-token-file)");
    return false;
  }
  if (!state.token->Accepts(req.get_header_value("Authorization"))) {
    res.set_header("WWW-Authenticate", "Bearer");
    Error(res, 401,
          "control: expected the header 'Authorization: Bearer <token>' with the "
          "server's token");
    return false;
  }
  return true;
}

// The SLO of a `POST .../slo` body: {"min_accuracy": 0.9, "max_latency_ms": 8}.
Slo ParseSlo(const std::string& body) {
  json document;
  try {
    document = json::parse(body);
  } catch (const json::exception&) {
    throw ProtocolError(400,
                        "request: expected a JSON object with min_accuracy and max_latency_ms");
  }
  try {
    const JsonField root(std::make_shared<const std::string>("request"), &document, "");
    if (!document.is_object())
      root.Fail("a JSON object with min_accuracy and max_latency_ms");
    for (const auto& [key, value] : document.items()) {
      if (key != "min_accuracy" && key != "max_latency_ms")
        throw InputError("request", key, "min_accuracy or max_latency_ms", "an unknown field");
    }
    Slo slo{root.At("min_accuracy").Number(), root.At("max_latency_ms").Number()};
    if (slo.min_accuracy < 0.0 || slo.min_accuracy > 1.0)
      root.At("min_accuracy").Fail("a fraction in [0, 1]", std::to_string(slo.min_accuracy));
    if (!(slo.max_latency_ms > 0.0))
      root.At("max_latency_ms").Fail("a number of ms > 0", std::to_string(slo.max_latency_ms));
    return slo;
  } catch (const InputError& e) {
    throw ProtocolError(400, e.what());
  }
}

json IndexEntry(const ServerState& state, const plan::TaskSpec& spec) {
  const std::optional<TaskInfo> info = state.runtime.Task(spec.name);
  json entry = {{"name", spec.name}, {"version", "1"}};
  if (!info) {
    entry["state"] = "UNAVAILABLE";
    entry["reason"] = "unloaded";
  } else {
    entry["state"] = info->routed ? "READY" : "LOADING";
  }
  return entry;
}

}  // namespace

ControlToken ControlToken::FromFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (std::filesystem::is_directory(file) || !in)
    throw InputError(file.string(), "", "a readable file holding the control token",
                     std::filesystem::exists(file) ? "cannot read it" : "no such file");
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  const std::size_t first = token.find_first_not_of(" \t\r\n");
  const std::size_t last = token.find_last_not_of(" \t\r\n");
  if (first == std::string::npos)
    throw InputError(file.string(), "", "a control token", "an empty file");
  token = token.substr(first, last - first + 1);
  if (token.find_first_of(" \t\r\n") != std::string::npos)
    throw InputError(file.string(), "", "one token without spaces", "several words");
  ControlToken t;
  t.digest_ = Sha256(token);
  return t;
}

bool ControlToken::Accepts(const std::string& authorization) const {
  const std::string scheme = "Bearer ";
  if (authorization.rfind(scheme, 0) != 0)
    return false;
  const std::array<unsigned char, 32> candidate = Sha256(authorization.substr(scheme.size()));
  return CRYPTO_memcmp(candidate.data(), digest_.data(), digest_.size()) == 0;
}

void AddControlRoutes(httplib::Server& http, ServerState& state) {
  const std::string repository = R"(/v2/repository/models/([^/]+))";
  http.Post("/v2/repository/index", [&state](const httplib::Request& req, httplib::Response& res) {
    if (!Allowed(state, req, res))
      return;
    json index = json::array();
    for (const plan::TaskSpec& spec : state.deployment.tasks)
      index.push_back(IndexEntry(state, spec));
    res.set_content(index.dump(), "application/json");
  });
  // Load and unload: the deployment's model, changed under the change lock, answered with its
  // index entry.
  const auto repository_change = [&state](void (*change)(ServerState&, const plan::TaskSpec&)) {
    return [&state, change](const httplib::Request& req, httplib::Response& res) {
      if (!Allowed(state, req, res))
        return;
      const std::string name = req.matches[1];
      const plan::TaskSpec* spec = state.Spec(name);
      if (!spec)
        return Error(res, 404, "unknown model '" + name + "' (not in the deployment's task file)");
      std::lock_guard lock(state.change_mutex);
      change(state, *spec);
      res.set_content(IndexEntry(state, *spec).dump(), "application/json");
    };
  };
  http.Post(repository + "/load", repository_change([](ServerState& s, const plan::TaskSpec& spec) {
              if (!s.runtime.Task(spec.name))
                s.Load(spec);
            }));
  http.Post(repository + "/unload",
            repository_change([](ServerState& s, const plan::TaskSpec& spec) {
              if (s.runtime.Task(spec.name)) {
                s.runtime.RemoveTask(spec.name).get();
                s.Log("unloaded " + spec.name);
              }
            }));
  http.Post(repository + "/slo", [&state](const httplib::Request& req, httplib::Response& res) {
    if (!Allowed(state, req, res))
      return;
    const std::string name = req.matches[1];
    Slo slo;
    try {
      slo = ParseSlo(req.body);
    } catch (const ProtocolError& e) {
      return Error(res, e.status(), e.what());
    }
    std::lock_guard change(state.change_mutex);
    if (!state.runtime.Task(name))
      return Error(res, 404, "model '" + name + "' is not loaded");
    state.runtime.SetSlo(name, slo).get();
    const std::optional<TaskInfo> info = state.runtime.Task(name);
    state.Log("SLO of " + name + " set to " + std::to_string(slo.min_accuracy) + " / " +
              std::to_string(slo.max_latency_ms) + " ms: " + (info ? info->stitched : "?"));
    res.set_content(info ? ModelMetadata(*info) : "{}", "application/json");
  });
}

}  // namespace sparseloom::serve
