#pragma once
// A processor of this host as a thread: one long-lived worker pinned to the processor's cores,
// running jobs handed to it with the processor's thread count (the engine sets intra-op threads
// per calling thread, so a processor must keep its own thread).

#include <pthread.h>
#include <sched.h>

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/engine.h"

namespace sparseloom::runtime {

// The CPU cores this process may run on (sched_getaffinity).
std::vector<int> AvailableCores();

// Throws UsageError unless `processor` has at least one thread and names only cores this process
// may use. Shared by every worker that pins itself to a processor (ProcessorThread, Pipeline).
void CheckProcessor(const engine::ProcessorConfig& processor);

// Pins the calling thread to `cores` (nothing to do when empty); returns pthread's error code.
int PinCallingThread(const std::vector<int>& cores);

// Runs the calling thread at SCHED_FIFO `priority` (1-99) while it lives, where the process may
// (root or CAP_SYS_NICE), and restores the thread's policy and priority after. priority <= 0, or
// a refusal, leaves the thread as it was; active() says which.
class ScopedRealtimePriority {
 public:
  explicit ScopedRealtimePriority(int priority);
  ~ScopedRealtimePriority();
  ScopedRealtimePriority(const ScopedRealtimePriority&) = delete;
  ScopedRealtimePriority& operator=(const ScopedRealtimePriority&) = delete;

  bool active() const { return active_; }

 private:
  bool active_ = false;
  int old_policy_ = 0;
  sched_param old_param_{};
};

class ProcessorThread {
 public:
  // Starts the worker and pins it to `processor.cores` (all cores when empty). A core this process
  // may not use is a UsageError; a failed pin is an EngineError.
  explicit ProcessorThread(engine::ProcessorConfig processor);
  ~ProcessorThread();
  ProcessorThread(const ProcessorThread&) = delete;
  ProcessorThread& operator=(const ProcessorThread&) = delete;

  // Runs `job` on the worker and waits for it; an exception thrown by `job` is rethrown here.
  void Run(const std::function<void()>& job);

  const engine::ProcessorConfig& processor() const { return processor_; }

 private:
  void Loop();

  engine::ProcessorConfig processor_;
  std::mutex mutex_;
  std::condition_variable wake_;
  const std::function<void()>* job_ = nullptr;  // set while a job is pending or running
  bool done_ = false;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace sparseloom::runtime
