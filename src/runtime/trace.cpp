#include "runtime/trace.h"

#include <cstddef>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_reader.h"

namespace sparseloom::runtime {
namespace {

constexpr int kPid = 1;

double Us(double ms) {
  return ms * 1000.0;
}

nlohmann::json ThreadName(int tid, const std::string& name) {
  return {{"name", "thread_name"},
          {"ph", "M"},
          {"pid", kPid},
          {"tid", tid},
          {"args", {{"name", name}}}};
}

const std::string& TaskName(const TraceNames& names, const RequestRecord& r) {
  if (r.task < 0 || r.task >= static_cast<int>(names.tasks.size())) {
    throw UsageError("chrome trace: request " + std::to_string(r.id) + " is of task " +
                     std::to_string(r.task) + ", but names are given for " +
                     std::to_string(names.tasks.size()) + " tasks");
  }
  return names.tasks[r.task];
}

const std::string& VariantId(const TraceNames& names, const RequestRecord& r, int variant) {
  if (r.task >= static_cast<int>(names.variant_ids.size()) || variant < 0 ||
      variant >= static_cast<int>(names.variant_ids[r.task].size())) {
    throw UsageError("chrome trace: request " + std::to_string(r.id) + " ran variant " +
                     std::to_string(variant) + " of task " + std::to_string(r.task) +
                     ", which has no variant id in the names");
  }
  return names.variant_ids[r.task][variant];
}

}  // namespace

void WriteChromeTrace(const std::filesystem::path& file, const std::vector<RequestRecord>& records,
                      const TraceNames& names, const std::string& label) {
  const int num_processors = static_cast<int>(names.processors.size());
  const int admission_tid = num_processors;  // drops and failures get a track of their own

  nlohmann::json events = nlohmann::json::array();
  events.push_back(
      {{"name", "process_name"}, {"ph", "M"}, {"pid", kPid}, {"args", {{"name", label}}}});
  for (int p = 0; p < num_processors; ++p) {
    events.push_back(ThreadName(p, names.processors[p]));
    events.push_back({{"name", "thread_sort_index"},
                      {"ph", "M"},
                      {"pid", kPid},
                      {"tid", p},
                      {"args", {{"sort_index", p}}}});
  }
  events.push_back(ThreadName(admission_tid, "dropped / failed"));

  for (const RequestRecord& r : records) {
    const std::string& task = TaskName(names, r);
    for (const StageSpan& s : r.stages) {
      if (s.processor < 0 || s.processor >= num_processors) {
        throw UsageError("chrome trace: request " + std::to_string(r.id) + " ran on processor " +
                         std::to_string(s.processor) + ", but names are given for " +
                         std::to_string(num_processors) + " processors");
      }
      events.push_back({{"name", task + " s" + std::to_string(s.stage + 1) + " " +
                                     VariantId(names, r, s.variant)},
                        {"cat", "stage"},
                        {"ph", "X"},
                        {"pid", kPid},
                        {"tid", s.processor},
                        {"ts", Us(s.start_ms)},
                        {"dur", Us(s.end_ms - s.start_ms)},
                        {"args",
                         {{"request", r.id},
                          {"arrival_ms", r.arrival_ms},
                          {"queued_ms", s.start_ms - s.queued_ms},
                          {"load_ms", s.load_ms}}}});
    }
    if (r.outcome != Outcome::kCompleted) {
      events.push_back({{"name", ToString(r.outcome) + " " + task},
                        {"cat", "request"},
                        {"ph", "i"},
                        {"s", "t"},
                        {"pid", kPid},
                        {"tid", admission_tid},
                        {"ts", Us(r.end_ms)},
                        {"args", {{"request", r.id}, {"reason", r.reason}}}});
    }
  }

  const nlohmann::json trace = {
      {"traceEvents", std::move(events)},
      {"displayTimeUnit", "ms"},
      {"otherData", {{"label", label}}},
  };
  WriteFileAtomically(file, trace.dump());
}

}  // namespace sparseloom::runtime
