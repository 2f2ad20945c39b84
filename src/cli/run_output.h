#pragma once
// What `sparseloom run` prints: each planner's table, the comparison of planners, the memory
// lines, and progress while serving.

#include <cstdint>
#include <string>
#include <vector>

#include "eval/episodes.h"
#include "eval/memory_trace.h"
#include "eval/run_report.h"
#include "eval/run_serving.h"
#include "preload/stage_cache.h"
#include "profile/processor_setup.h"
#include "runtime/latency_calibration.h"
#include "runtime/serving.h"
#include "runtime/workload.h"

namespace sparseloom::cli {

std::string Percent(double fraction);  // "12.5%"

// The serving calibration's factors, and the stitch margins planned with (`given`: by
// --stitch-margin, else the tables' estimator errors).
void PrintLatencyScale(const runtime::LatencyScale& c,
                       const std::vector<runtime::ServedTask>& tasks);
void PrintStitchMargins(const std::vector<double>& margins, bool given,
                        const std::vector<runtime::ServedTask>& tasks);
// The episodes, phases, arrivals, planners and processors; the stage cache's budget.
void PrintWorkload(const eval::Workload& workload, std::size_t tasks, double phase_s,
                   runtime::ArrivalKind arrivals, std::size_t planners,
                   const profile::ProcessorSetup& setup);
// What PreloadHottest loaded, for `plans` expected plans.
void PrintPreloaded(const eval::RunServing::Preloaded& preloaded, std::size_t plans);
// Stops the trace, writes it to `file` and says so.
void WriteMemoryTrace(eval::MemoryTrace& trace, const std::string& file);
void PrintCacheBudget(std::int64_t budget, std::int64_t full_set_bytes,
                      preload::CachePolicy policy);
// What accuracy is planned on (each table's margin at `coverage`), whether chosen variants are
// verified, and what requests are judged against (a ground truth per zoo, or not).
void PrintAccuracyPolicy(const eval::Inputs& in, const std::vector<double>& margins,
                         double coverage, bool verify, bool simulate);
void PrintVerification(const runtime::AccuracyVerification::Counts& c, double measure_s);

void PrintRun(const eval::PlannerRun& run, const std::vector<runtime::ServedTask>& tasks);
void PrintComparison(const std::vector<eval::PlannerRun>& runs);

// Resident stages, process RSS and the stage cache's counts; on a real run, a warning when the
// cache accounts more than the process grew.
void PrintMemory(const preload::StageCacheStats& stats, std::int64_t budget, std::int64_t rss_start,
                 std::int64_t rss_end, bool real);

// Progress lines while every planner serves.
class ServeProgress final : public eval::ServeObserver {
 public:
  // `realtime_priority` > 0 on a real run: after the first episode, whether the workers (and the
  // Poisson request driver) got it.
  ServeProgress(int realtime_priority, std::size_t processors, runtime::ArrivalKind arrivals)
      : realtime_priority_(realtime_priority), processors_(processors), arrivals_(arrivals) {}

  void Warming(const std::string& planner) override;
  void PlannedAhead(const std::string& planner, int plans) override;
  void EpisodeStarts(std::size_t e, std::size_t count, const runtime::Episode& episode,
                     const std::string& planner) override;
  void EpisodeServed(std::size_t e, std::size_t i, const runtime::EpisodeReport& report) override;

 private:
  int realtime_priority_;
  std::size_t processors_;
  runtime::ArrivalKind arrivals_;
};

}  // namespace sparseloom::cli
