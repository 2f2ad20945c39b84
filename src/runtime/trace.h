#pragma once
// The pipeline as a Chrome / Perfetto trace (the JSON "Trace Event Format", open it in
// ui.perfetto.dev or chrome://tracing): one track per processor, one slice per stage run, named
// "<task> s<k> <variant>", with the request id, its queueing and any on-demand load as arguments.

#include <filesystem>
#include <string>
#include <vector>

#include "runtime/pipeline.h"

namespace sparseloom::runtime {

struct TraceNames {
  std::vector<std::string> tasks;       // by task index
  std::vector<std::string> processors;  // by processor index
  // variant_ids[t][v]: the zoo's variant ids of task t
  std::vector<std::vector<std::string>> variant_ids;
};

// Written atomically (common/json_reader.h WriteFileAtomically). `label` names the run (process
// name in the viewer), e.g. the planner.
void WriteChromeTrace(const std::filesystem::path& file, const std::vector<RequestRecord>& records,
                      const TraceNames& names, const std::string& label);

}  // namespace sparseloom::runtime
