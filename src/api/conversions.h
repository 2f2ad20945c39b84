#pragma once
// Between the application API's types (include/sparseloom/runtime.h) and the core's: tensors,
// inputs checked against the zoo, results and statistics from request records, task metadata.

#include <cstddef>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "api/dtype.h"
#include "engine/engine.h"
#include "plan/planner.h"
#include "profile/processor_setup.h"
#include "runtime/request_flow.h"
#include "sparseloom/runtime.h"
#include "zoo/zoo.h"

namespace sparseloom::api {

// "sparseloom" or a baseline's name ("AV-P", ...); UsageError listing them otherwise.
std::unique_ptr<plan::Planner> PlannerNamed(const std::string& name);

// The planner's profile of `zoo` from its fresh performance table (PROFILE_DIR/<task>/ or
// ZOO/profile/); a missing or stale one is a UsageError with the `sparseloom profile` command.
plan::TaskProfile FreshProfile(const zoo::Zoo& zoo, const profile::ProcessorSetup& setup,
                               const std::filesystem::path& profile_dir);

// Empty when `inputs` are the zoo's input and side inputs at batch 1; otherwise why not, naming
// the input and what was expected.
std::string CheckInputs(const zoo::Zoo& zoo, const std::vector<Tensor>& inputs);

engine::HostTensor ToHost(const Tensor& tensor);
Tensor FromHost(engine::HostTensor host);

// The result of a final record: outputs (without copying), times from its stage spans, SLO.
Result ResultOf(const runtime::RequestRecord& record, engine::Engine& engine,
                const profile::ProcessorSetup& setup);
std::string StitchedOf(const runtime::RequestRecord& record, const zoo::Zoo& zoo);
// Counts `result` into `stats` and keeps its latency among the last `window`.
void Account(const Result& result, const runtime::RequestRecord& record, TaskStats& stats,
             std::deque<double>& latencies, std::size_t window);
void FillQuantiles(TaskStats& stats, const std::deque<double>& latencies);

TaskInfo InfoOf(const zoo::Zoo& zoo);

}  // namespace sparseloom::api
