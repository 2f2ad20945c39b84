#include "eval/memory_trace.h"

#include <chrono>
#include <cmath>
#include <sstream>
#include <utility>

#include "common/error.h"
#include "common/json_reader.h"

namespace sparseloom::eval {

MemoryTrace::MemoryTrace(std::function<std::int64_t()> resident_stage_bytes,
                         std::function<std::int64_t()> rss_bytes, double period_ms)
    : stage_bytes_(std::move(resident_stage_bytes)),
      rss_bytes_(std::move(rss_bytes)),
      period_ms_(period_ms) {
  if (!(period_ms_ > 0.0) || !std::isfinite(period_ms_))
    throw UsageError("memory trace: period: expected a finite number of ms > 0, got " +
                     std::to_string(period_ms_));
  thread_ = std::thread([this] { Run(); });
}

MemoryTrace::~MemoryTrace() {
  Stop();
}

void MemoryTrace::Run() {
  const auto start = std::chrono::steady_clock::now();
  const auto period = std::chrono::duration<double, std::milli>(period_ms_);
  std::unique_lock lock(mutex_);
  for (int i = 0;; ++i) {
    const bool last = stopping_;
    lock.unlock();
    MemorySample s;
    s.t_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    s.resident_stage_bytes = stage_bytes_();
    s.rss_bytes = rss_bytes_();
    lock.lock();
    samples_.push_back(s);
    if (last)
      return;
    // Paced from the start, so that slow samples do not stretch the period.
    wake_.wait_until(
        lock,
        start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(period * (i + 1)),
        [this] { return stopping_; });
  }
}

std::vector<MemorySample> MemoryTrace::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
  std::lock_guard lock(mutex_);
  return samples_;
}

void WriteMemoryTrace(const std::string& file, const std::vector<MemorySample>& samples) {
  std::ostringstream csv;
  csv << "t_s,resident_stage_bytes,rss_bytes\n";
  for (const MemorySample& s : samples)
    csv << s.t_s << "," << s.resident_stage_bytes << "," << s.rss_bytes << "\n";
  WriteFileAtomically(file, csv.str());
}

}  // namespace sparseloom::eval
