#include "runtime/serving_clock.h"

#include <exception>
#include <thread>
#include <utility>

namespace sparseloom::runtime {
namespace {

class ThreadWork final : public BackgroundWork {
 public:
  ThreadWork(std::future<void> future, const SteadyServingClock& clock)
      : future_(std::move(future)), clock_(clock) {}
  bool WaitUntil(double ms) override {
    if (!done_ && future_.wait_until(clock_.TimeOf(ms)) != std::future_status::ready)
      return false;
    Wait();
    return true;
  }
  void Wait() override {
    if (done_)
      return;
    done_ = true;
    future_.get();  // rethrows
  }

 private:
  std::future<void> future_;
  const SteadyServingClock& clock_;
  bool done_ = false;
};

class VirtualWork final : public BackgroundWork {
 public:
  VirtualWork(VirtualServingClock& clock, double done_ms, std::exception_ptr error)
      : clock_(clock), done_ms_(done_ms), error_(std::move(error)) {}
  bool WaitUntil(double ms) override {
    if (ms < done_ms_) {
      clock_.SleepUntil(ms);
      return false;
    }
    Wait();
    return true;
  }
  void Wait() override {
    clock_.SleepUntil(done_ms_);
    if (error_)
      std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  VirtualServingClock& clock_;
  double done_ms_;
  std::exception_ptr error_;
};

}  // namespace

double SteadyServingClock::NowMs() const {
  return std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
}

Clock::time_point SteadyServingClock::TimeOf(double ms) const {
  return start_ +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(ms));
}

void SteadyServingClock::SleepUntil(double ms) {
  std::this_thread::sleep_until(TimeOf(ms));
}

std::unique_ptr<BackgroundWork> SteadyServingClock::RunInBackground(std::function<void()> work) {
  return std::make_unique<ThreadWork>(std::async(std::launch::async, std::move(work)), *this);
}

void VirtualServingClock::SleepUntil(double ms) {
  while (!events_.empty() && events_.top().t < ms)
    RunNext();
  if (ms > now_ms_)
    now_ms_ = ms;
}

std::unique_ptr<BackgroundWork> VirtualServingClock::RunInBackground(std::function<void()> work) {
  std::exception_ptr error;
  try {
    work();
  } catch (...) {
    error = std::current_exception();
  }
  return std::make_unique<VirtualWork>(*this, now_ms_ + planning_ms_, std::move(error));
}

void VirtualServingClock::Schedule(double at_ms, std::function<void()> event) {
  events_.push(Event{at_ms < now_ms_ ? now_ms_ : at_ms, seq_++, std::move(event)});
}

void VirtualServingClock::RunWhile(const std::function<bool()>& more) {
  while (!events_.empty() && more())
    RunNext();
}

void VirtualServingClock::RunNext() {
  // Copied out before running: the event may schedule others.
  Event e = events_.top();
  events_.pop();
  now_ms_ = e.t;
  e.run();
}

}  // namespace sparseloom::runtime
