#pragma once
// Accounted stage bytes against the process's real memory over a run (docs/runtime.md, "Cache
// policies"): a thread samples the stage cache's resident bytes and the process RSS at a fixed
// period, so that a budget can be checked as a promise about real memory, and plotted
// (scripts/plot_memory.py).

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sparseloom::eval {

struct MemorySample {
  double t_s = 0.0;  // since the trace started
  std::int64_t resident_stage_bytes = 0;
  std::int64_t rss_bytes = 0;
};

class MemoryTrace {
 public:
  // Samples `resident_stage_bytes()` and `rss_bytes()` now and every `period_ms` (> 0; UsageError
  // otherwise) until Stop or destruction. Both are called on the trace's thread.
  MemoryTrace(std::function<std::int64_t()> resident_stage_bytes,
              std::function<std::int64_t()> rss_bytes, double period_ms);
  ~MemoryTrace();
  MemoryTrace(const MemoryTrace&) = delete;
  MemoryTrace& operator=(const MemoryTrace&) = delete;

  // Takes a last sample and stops; returns every sample in time order. Idempotent.
  std::vector<MemorySample> Stop();

 private:
  void Run();

  std::function<std::int64_t()> stage_bytes_;
  std::function<std::int64_t()> rss_bytes_;
  double period_ms_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<MemorySample> samples_;
  std::thread thread_;
};

// CSV with a header: t_s,resident_stage_bytes,rss_bytes; written atomically.
void WriteMemoryTrace(const std::string& file, const std::vector<MemorySample>& samples);

}  // namespace sparseloom::eval
