#pragma once
// The serving core's clock seam (DESIGN.md "runtime" and "sim"): the one serving driver asks the
// time, waits for it and runs planning off its own path through this interface. The steady clock
// sleeps and plans on another thread; the virtual clock runs every event scheduled before the time
// waited for and plans at once (taking `planning_ms` of virtual time), so serving on it is
// deterministic and as fast as the events allow.

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <queue>
#include <vector>

#include "runtime/pipeline.h"

namespace sparseloom::runtime {

// Work started off the driver's path (planning): done or not, and its error.
class BackgroundWork {
 public:
  virtual ~BackgroundWork() = default;
  // True once the work is done by `ms` on the clock (waiting for it until then); rethrows what the
  // work threw.
  virtual bool WaitUntil(double ms) = 0;
  // Until the work is done; rethrows what it threw.
  virtual void Wait() = 0;
};

class ServingClock {
 public:
  virtual ~ServingClock() = default;
  virtual double NowMs() const = 0;  // since the clock's start
  // Returns at `ms` (at once when it has passed). Never called with a lock held that the
  // executor's callbacks take.
  virtual void SleepUntil(double ms) = 0;
  virtual std::unique_ptr<BackgroundWork> RunInBackground(std::function<void()> work) = 0;
  // A virtual clock runs no thread of its own: nothing to give a real-time priority.
  virtual bool IsVirtual() const = 0;
};

// The wall clock from `start` (the pipeline's start); background work runs on its own thread.
class SteadyServingClock final : public ServingClock {
 public:
  explicit SteadyServingClock(Clock::time_point start) : start_(start) {}
  double NowMs() const override;
  void SleepUntil(double ms) override;
  std::unique_ptr<BackgroundWork> RunInBackground(std::function<void()> work) override;
  bool IsVirtual() const override { return false; }
  Clock::time_point TimeOf(double ms) const;

 private:
  Clock::time_point start_;
};

// Virtual time in ms from 0: events run in time order (ties in the order scheduled) when the
// driver sleeps past them. Single-threaded: everything runs on the driver's thread.
class VirtualServingClock final : public ServingClock {
 public:
  // Background work runs at once and is done `planning_ms` later.
  explicit VirtualServingClock(double planning_ms = 0.0) : planning_ms_(planning_ms) {}
  double NowMs() const override { return now_ms_; }
  // Runs every event before `ms`, then sets the time to `ms` (never backwards).
  void SleepUntil(double ms) override;
  std::unique_ptr<BackgroundWork> RunInBackground(std::function<void()> work) override;
  bool IsVirtual() const override { return true; }

  void Schedule(double at_ms, std::function<void()> event);
  // Runs events until none is left, or until `until` says stop (checked after each event).
  void RunWhile(const std::function<bool()>& more);
  bool empty() const { return events_.empty(); }

 private:
  struct Event {
    double t = 0.0;
    std::uint64_t seq = 0;
    std::function<void()> run;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.t != b.t ? a.t > b.t : a.seq > b.seq;
    }
  };
  void RunNext();
  double planning_ms_;
  double now_ms_ = 0.0;
  std::uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, Later> events_;
};

}  // namespace sparseloom::runtime
