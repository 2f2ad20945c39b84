#include "cli/run_options.h"

#include <algorithm>
#include <exception>

#include "common/error.h"
#include "profile/processor_setup.h"

namespace sparseloom::cli {

std::int64_t ParseCacheBudget(const std::string& text, std::int64_t from_file,
                              std::int64_t full_set_bytes) {
  if (text.empty())
    return from_file;
  try {
    std::size_t used = 0;
    const double value = std::stod(text, &used);
    if (used + 1 == text.size() && text.back() == '%' && value > 0.0 && value <= 100.0)
      return static_cast<std::int64_t>(value / 100.0 * static_cast<double>(full_set_bytes));
    // Below 2^63: a larger (or infinite) count would not convert to a byte count at all.
    if (used == text.size() && value >= 0.0 && value < 9.2e18)
      return static_cast<std::int64_t>(value);
  } catch (const std::exception&) {
  }
  throw UsageError(
      "--cache-budget: expected a percentage of the full zoo set (\"55%\") or a byte "
      "count, got \"" +
      text + "\"");
}

runtime::ArrivalKind ArrivalsNamed(const std::string& name) {
  if (name == "closed")
    return runtime::ArrivalKind::kClosedLoop;
  if (name != "poisson")
    throw UsageError("--arrivals: expected \"poisson\" or \"closed\", got \"" + name + "\"");
  return runtime::ArrivalKind::kPoisson;
}

runtime::ServeOptions ServeOptionsOf(const RunOptions& o, const eval::Inputs& in,
                                     runtime::ArrivalKind arrivals) {
  runtime::ServeOptions serve;
  serve.workload.arrivals = arrivals;
  serve.workload.phase_s = o.phase_s;
  serve.workload.closed_loop_window = o.window;
  serve.workload.seed = o.seed;
  serve.planning.memory_budget_bytes = in.file.memory_budget_bytes;
  serve.planning.placements = in.file.placements;
  serve.planning.latency_headroom = o.latency_headroom;
  serve.planning.queueing_aware = o.queueing_aware;
  serve.planning.wait_quantile = o.wait_quantile;
  serve.pipeline.max_in_flight = o.max_in_flight;
  serve.pipeline.realtime_priority = o.realtime_priority;
  if (!o.fail_processor.empty()) {
    const auto it = std::find_if(in.setup.begin(), in.setup.end(),
                                 [&](const auto& p) { return p.name == o.fail_processor; });
    if (it == in.setup.end())
      throw UsageError("--fail-processor: no processor named '" + o.fail_processor +
                       "' in the setup " + profile::ToString(in.setup));
    serve.fault.processor = static_cast<int>(it - in.setup.begin());
    serve.fault.after_ms = 1000.0 * std::max(0.0, o.fail_after_s);
  }
  return serve;
}

}  // namespace sparseloom::cli
