#pragma once
// Stages for serving tests, with no inference library: stage k of variant v loaded for processor
// p adds StageOffset(k, v, p) to its input's value (two decimal digits per stage: variant + 1,
// processor + 1), so a final value proves which variants ran on which processors in which order.
// A stage sleeps a set time, and the stages of a processor can be told to throw.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <thread>
#include <vector>

#include "common/error.h"
#include "preload/stage_cache.h"
#include "support/fake_engine.h"

namespace sparseloom::testing {

// Stage k (0-based) of K: digits (v+1, p+1) at position K-1-k in base 100.
inline double StageOffset(int stage, int num_stages, int variant, int processor) {
  double offset = (variant + 1) * 10 + (processor + 1);
  for (int i = stage + 1; i < num_stages; ++i)
    offset *= 100;
  return offset;
}

// What a whole route adds to an input of value 0.
inline std::int64_t RouteValue(const std::vector<int>& variants,
                               const std::vector<int>& placement) {
  double value = 0.0;
  const int k = static_cast<int>(variants.size());
  for (int s = 0; s < k; ++s)
    value += StageOffset(s, k, variants[s], placement[s]);
  return static_cast<std::int64_t>(value);
}

class TimedFakeStages {
 public:
  TimedFakeStages(int num_stages, std::chrono::microseconds run_time,
                  std::chrono::microseconds load_time = std::chrono::microseconds(0))
      : num_stages_(num_stages), run_time_(run_time), load_time_(load_time) {}

  preload::StageSource Source() {
    preload::StageSource source;
    source.load = [this](const preload::StageKey& key) -> std::unique_ptr<engine::LoadedStage> {
      ++loads;
      if (load_time_.count() > 0)
        std::this_thread::sleep_for(load_time_);
      return std::make_unique<Stage>(*this, key);
    };
    source.expected_bytes = [](const preload::StageKey&) -> std::int64_t { return 100; };
    return source;
  }

  // From now on, every stage run on `processor` throws EngineError.
  void FailOn(int processor) { failing_[processor] = true; }

  // Threads that ran stages of each processor.
  std::map<int, std::set<std::thread::id>> Threads() const {
    std::lock_guard lock(mutex_);
    return threads_;
  }

  std::atomic<int> loads{0};
  std::atomic<int> runs{0};
  std::atomic<int> runs_without_side{0};

 private:
  class Stage final : public engine::LoadedStage {
   public:
    Stage(TimedFakeStages& owner, preload::StageKey key)
        : owner_(owner),
          key_(key),
          offset_(StageOffset(key.stage, owner.num_stages_, key.variant, key.processor)) {}

    engine::Tensor Run(const engine::Tensor& x, std::span<const engine::Tensor> side) override {
      {
        std::lock_guard lock(owner_.mutex_);
        owner_.threads_[key_.processor].insert(std::this_thread::get_id());
      }
      ++owner_.runs;
      if (side.empty())
        ++owner_.runs_without_side;
      if (owner_.failing_[key_.processor])
        throw EngineError("fake stage failure on processor " + std::to_string(key_.processor));
      if (owner_.run_time_.count() > 0)
        std::this_thread::sleep_for(owner_.run_time_);
      return MakeFake(x.Shape(), ValueOf(x) + offset_);
    }
    std::int64_t ResidentBytes() const override { return 100; }
    const std::filesystem::path& File() const override { return file_; }

   private:
    TimedFakeStages& owner_;
    preload::StageKey key_;
    double offset_;
    std::filesystem::path file_ = "timed.stage";
  };

  int num_stages_;
  std::chrono::microseconds run_time_;
  std::chrono::microseconds load_time_;
  std::atomic<bool> failing_[8] = {};
  mutable std::mutex mutex_;
  std::map<int, std::set<std::thread::id>> threads_;
};

}  // namespace sparseloom::testing
