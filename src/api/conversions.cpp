#include "api/conversions.h"

#include <utility>

#include "common/error.h"
#include "profile/performance_table.h"
#include "runtime/evaluation.h"

namespace sparseloom::api {
namespace {

std::string Describe(DType dtype, const std::vector<std::int64_t>& shape) {
  return ToString(dtype) + " " + engine::ShapeToString(shape);
}

TensorInfo InfoOf(const engine::TensorSpec& spec) {
  return TensorInfo{spec.name, Public(spec.dtype), spec.shape};
}

}  // namespace

std::unique_ptr<plan::Planner> PlannerNamed(const std::string& name) {
  if (name == "sparseloom")
    return plan::MakeSparseLoomPlanner();
  for (plan::Baseline b : {plan::Baseline::kSvAoNp, plan::Baseline::kSvAoP, plan::Baseline::kSvLoNp,
                           plan::Baseline::kSvLoP, plan::Baseline::kAvNp, plan::Baseline::kAvP}) {
    if (plan::NameOf(b) == name)
      return plan::MakeBaselinePlanner(b);
  }
  throw UsageError("planner: unknown planner '" + name +
                   "' (expected sparseloom, SV-AO-NP, SV-AO-P, SV-LO-NP, SV-LO-P, AV-NP or AV-P)");
}

plan::TaskProfile FreshProfile(const zoo::Zoo& zoo, const profile::ProcessorSetup& setup,
                               const std::filesystem::path& profile_dir) {
  const std::filesystem::path file = profile_dir.empty()
                                         ? zoo.dir / "profile" / profile::kTableFile
                                         : profile_dir / zoo.task / profile::kTableFile;
  std::optional<profile::PerformanceTable> table =
      profile::LoadFreshTable(file, profile::ProfileKey(zoo, setup));
  if (!table)
    throw UsageError("zoo " + zoo.dir.string() + ": no fresh performance table at " +
                     file.string() +
                     " (missing, or made for another zoo, processor setup or profiler version); "
                     "make it with `sparseloom profile " +
                     zoo.dir.string() + " --processors " + profile::ToString(setup) +
                     (profile_dir.empty() ? "" : " --out " + profile_dir.string()) + "`");
  return profile::ToTaskProfile(*table);
}

std::string CheckInputs(const zoo::Zoo& zoo, const std::vector<Tensor>& inputs) {
  // On every request: nothing is copied unless there is an error to report.
  const std::size_t expected = 1 + zoo.side_inputs.size();
  const auto spec = [&](std::size_t i) -> const engine::TensorSpec& {
    return i == 0 ? zoo.input : zoo.side_inputs[i - 1];
  };
  if (inputs.size() != expected) {
    std::string names;
    for (std::size_t i = 0; i < expected; ++i)
      names += (names.empty() ? "" : ", ") + spec(i).name;
    return "expected " + std::to_string(expected) + " input tensor(s) (" + names + "), got " +
           std::to_string(inputs.size());
  }
  for (std::size_t i = 0; i < expected; ++i) {
    const engine::TensorSpec& want = spec(i);
    const Tensor& t = inputs[i];
    bool fits =
        !t.empty() && Internal(t.dtype()) == want.dtype && t.shape().size() == want.shape.size();
    for (std::size_t d = 0; fits && d < want.shape.size(); ++d)
      fits = t.shape()[d] == (d == 0 ? 1 : want.shape[d]);  // batch 1
    if (fits)
      continue;
    std::vector<std::int64_t> batch1 = want.shape;
    if (!batch1.empty())
      batch1[0] = 1;
    return "input '" + want.name + "': expected " + Describe(Public(want.dtype), batch1) +
           ", got " + (t.empty() ? std::string("an empty tensor") : Describe(t.dtype(), t.shape()));
  }
  return "";
}

engine::HostTensor ToHost(const Tensor& tensor) {
  engine::HostTensor host;
  host.dtype = Internal(tensor.dtype());
  host.shape = tensor.shape();
  host.owner = tensor.owner();
  host.data = tensor.bytes().data();
  host.bytes = tensor.bytes().size();
  return host;
}

Tensor FromHost(engine::HostTensor host) {
  return Tensor::View(Public(host.dtype), std::move(host.shape), std::move(host.owner), host.data,
                      host.bytes);
}

Result ResultOf(const runtime::RequestRecord& record, engine::Engine& engine,
                const profile::ProcessorSetup& setup) {
  Result r;
  r.completed = record.outcome == runtime::Outcome::kCompleted;
  r.error = record.reason;
  r.latency_ms = record.latency_ms();
  if (r.completed && record.output.Defined())
    r.outputs.push_back(FromHost(engine.ToHost(record.output)));
  for (std::size_t k = 0; k < record.stages.size(); ++k) {
    const runtime::StageSpan& span = record.stages[k];
    r.placement.push_back(setup.at(static_cast<std::size_t>(span.processor)).name);
    const double wait = span.start_ms - span.queued_ms;
    const bool handed_over = k > 0 && record.stages[k - 1].processor != span.processor;
    (handed_over ? r.handover_ms : r.queue_ms) += wait;
    r.compute_ms += span.end_ms - span.start_ms - span.load_ms;
    r.load_ms += span.load_ms;
  }
  r.slo_met = record.SloMet() && record.end_ms <= record.deadline_ms;
  if (record.outcome == runtime::Outcome::kDropped)
    r.slo_miss = "rejected";
  else if (record.outcome == runtime::Outcome::kFailed)
    r.slo_miss = "failed";
  else if (record.latency_ms() > record.slo.max_latency_ms || record.end_ms > record.deadline_ms)
    r.slo_miss = "late";
  else if (record.accuracy < record.slo.min_accuracy)
    r.slo_miss = "accuracy";
  return r;
}

std::string StitchedOf(const runtime::RequestRecord& record, const zoo::Zoo& zoo) {
  std::string out;
  for (const runtime::StageSpan& span : record.stages)
    out += (out.empty() ? "" : ",") + zoo.variants.at(static_cast<std::size_t>(span.variant)).id;
  return out;
}

void Account(const Result& result, const runtime::RequestRecord& record, TaskStats& stats,
             std::deque<double>& latencies, std::size_t window) {
  ++stats.submitted;
  if (record.outcome == runtime::Outcome::kDropped)
    ++stats.rejected;
  if (record.outcome == runtime::Outcome::kFailed)
    ++stats.failed;
  if (!result.completed)
    return;
  ++stats.completed;
  stats.late += result.slo_miss == "late";
  stats.below_accuracy += result.slo_miss == "accuracy";
  latencies.push_back(result.latency_ms);
  if (latencies.size() > window)
    latencies.pop_front();
}

void FillQuantiles(TaskStats& stats, const std::deque<double>& latencies) {
  if (latencies.empty())
    return;
  const std::vector<double> values(latencies.begin(), latencies.end());
  stats.p50_ms = runtime::Percentile(values, 0.50);
  stats.p95_ms = runtime::Percentile(values, 0.95);
  stats.p99_ms = runtime::Percentile(values, 0.99);
}

TaskInfo InfoOf(const zoo::Zoo& zoo) {
  TaskInfo info;
  info.zoo = zoo.dir;
  info.inputs.push_back(InfoOf(zoo.input));
  for (const engine::TensorSpec& s : zoo.side_inputs)
    info.inputs.push_back(InfoOf(s));
  info.output = InfoOf(zoo.output);
  return info;
}

}  // namespace sparseloom::api
