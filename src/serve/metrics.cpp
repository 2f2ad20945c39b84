#include "serve/metrics.h"

#include <cstdio>

namespace sparseloom::serve {
namespace {

// A label value with the characters the text format escapes.
std::string Escaped(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class Exposition {
 public:
  void Family(const std::string& name, const std::string& type, const std::string& help) {
    text_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    name_ = name;
  }
  void Sample(const std::vector<std::pair<std::string, std::string>>& labels, double value) {
    text_ += name_;
    if (!labels.empty()) {
      text_ += "{";
      for (std::size_t i = 0; i < labels.size(); ++i)
        text_ += (i ? "," : "") + labels[i].first + "=\"" + Escaped(labels[i].second) + "\"";
      text_ += "}";
    }
    char number[64];
    std::snprintf(number, sizeof number, " %.17g\n", value);
    text_ += number;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::string name_;
};

}  // namespace

void ServerCounters::Pending(const std::string& model, int delta) {
  std::lock_guard lock(mutex_);
  models_[model].pending += delta;
}

void ServerCounters::Answered(const std::string& model, const Result& result) {
  std::lock_guard lock(mutex_);
  ModelCounters& c = models_[model];
  if (result.completed) {
    ++c.success;
    c.late += result.slo_miss == "late";
    c.below_accuracy += result.slo_miss == "accuracy";
    c.request_us += result.latency_ms * 1000.0;
    c.queue_us += (result.queue_ms + result.handover_ms) * 1000.0;
    c.compute_us += result.compute_ms * 1000.0;
  } else if (result.slo_miss == "rejected") {
    ++c.rejected;
  } else {
    ++c.failed;
  }
}

void ServerCounters::Invalid(const std::string& model) {
  std::lock_guard lock(mutex_);
  ++models_[model].invalid;
}

std::map<std::string, ModelCounters> ServerCounters::Snapshot() const {
  std::lock_guard lock(mutex_);
  return models_;
}

std::string PrometheusText(const std::map<std::string, ModelCounters>& counters, const Stats& stats,
                           const std::vector<TaskInfo>& serves) {
  Exposition out;
  const auto per_model = [&](const std::string& name, const std::string& type,
                             const std::string& help, auto value) {
    out.Family(name, type, help);
    for (const auto& [model, c] : counters)
      out.Sample({{"model", model}, {"version", "1"}}, static_cast<double>(value(c)));
  };
  per_model("nv_inference_request_success", "counter", "Inference requests answered with outputs",
            [](const ModelCounters& c) { return c.success; });
  out.Family("nv_inference_request_failure", "counter",
             "Inference requests answered with an error, by reason (REJECTED: refused at once, "
             "BACKEND: a stage failed, OTHER: a malformed request)");
  for (const auto& [model, c] : counters) {
    out.Sample({{"model", model}, {"version", "1"}, {"reason", "REJECTED"}},
               static_cast<double>(c.rejected));
    out.Sample({{"model", model}, {"version", "1"}, {"reason", "BACKEND"}},
               static_cast<double>(c.failed));
    out.Sample({{"model", model}, {"version", "1"}, {"reason", "OTHER"}},
               static_cast<double>(c.invalid));
  }
  per_model("nv_inference_count", "counter", "Inferences performed (batch 1: one per success)",
            [](const ModelCounters& c) { return c.success; });
  per_model("nv_inference_request_duration_us", "counter",
            "Cumulative submission-to-result time of successful requests, microseconds",
            [](const ModelCounters& c) { return c.request_us; });
  per_model("nv_inference_queue_duration_us", "counter",
            "Cumulative time successful requests waited in processor queues (hand-overs "
            "included), microseconds",
            [](const ModelCounters& c) { return c.queue_us; });
  per_model("nv_inference_compute_infer_duration_us", "counter",
            "Cumulative time successful requests' stages ran, microseconds",
            [](const ModelCounters& c) { return c.compute_us; });
  per_model("nv_inference_pending_request_count", "gauge",
            "Inference requests submitted and not yet answered",
            [](const ModelCounters& c) { return c.pending; });

  out.Family("sparseloom_slo_violations_total", "counter",
             "Requests that missed their SLO, by cause (late and accuracy: completed outside "
             "it; rejected: refused at once)");
  for (const auto& [model, c] : counters) {
    out.Sample({{"model", model}, {"cause", "late"}}, static_cast<double>(c.late));
    out.Sample({{"model", model}, {"cause", "accuracy"}}, static_cast<double>(c.below_accuracy));
    out.Sample({{"model", model}, {"cause", "rejected"}}, static_cast<double>(c.rejected));
  }
  out.Family("sparseloom_replans_total", "counter", "Plans installed that moved the model");
  for (const TaskStats& t : stats.tasks)
    out.Sample({{"model", t.name}}, static_cast<double>(t.replans));
  out.Family("sparseloom_stitched_variant", "gauge",
             "The stitched variant and placement serving the model now (value 1)");
  for (const TaskInfo& t : serves) {
    std::string placement;
    for (const std::string& p : t.placement)
      placement += (placement.empty() ? "" : ",") + p;
    out.Sample({{"model", t.name}, {"stitched", t.stitched}, {"placement", placement}},
               t.routed ? 1.0 : 0.0);
  }
  out.Family("sparseloom_model_expected_latency_ms", "gauge",
             "The plan's expected latency of the model's route, ms");
  for (const TaskInfo& t : serves)
    out.Sample({{"model", t.name}}, t.expected_latency_ms);
  out.Family("sparseloom_resident_stage_bytes", "gauge", "Bytes of stages resident in memory");
  out.Sample({}, static_cast<double>(stats.resident_bytes));
  out.Family("sparseloom_memory_budget_bytes", "gauge", "The stage memory budget (0: unlimited)");
  out.Sample({}, static_cast<double>(stats.memory_budget_bytes));
  out.Family("sparseloom_processor_busy_share", "gauge",
             "Share of the time since the start each processor ran stages");
  for (const auto& [processor, share] : stats.busy_share)
    out.Sample({{"processor", processor}}, share);
  out.Family("sparseloom_uptime_seconds", "gauge", "Seconds since the runtime started");
  out.Sample({}, stats.uptime_s);
  return out.text();
}

}  // namespace sparseloom::serve
