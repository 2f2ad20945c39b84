#include "runtime/processor_thread.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <string>

#include "common/error.h"

namespace sparseloom::runtime {

std::vector<int> AvailableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0)
    throw EngineError(std::string("sched_getaffinity failed: ") + std::strerror(errno));
  std::vector<int> cores;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set))
      cores.push_back(c);
  }
  return cores;
}

void CheckProcessor(const engine::ProcessorConfig& processor) {
  if (processor.threads < 1) {
    throw UsageError("processor '" + processor.name + "': threads must be at least 1, got " +
                     std::to_string(processor.threads));
  }
  const std::vector<int> available = AvailableCores();
  for (int core : processor.cores) {
    if (std::find(available.begin(), available.end(), core) == available.end()) {
      std::string list;
      for (int c : available) {
        list += list.empty() ? "" : ",";
        list += std::to_string(c);
      }
      throw UsageError("processor '" + processor.name + "': core " + std::to_string(core) +
                       " is not available to this process (available: " + list + ")");
    }
  }
}

int PinCallingThread(const std::vector<int>& cores) {
  if (cores.empty())
    return 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int core : cores)
    CPU_SET(core, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

ScopedRealtimePriority::ScopedRealtimePriority(int priority) {
  if (priority <= 0 || pthread_getschedparam(pthread_self(), &old_policy_, &old_param_) != 0)
    return;
  sched_param param{};
  param.sched_priority = std::min(priority, 99);
  active_ = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0;
}

ScopedRealtimePriority::~ScopedRealtimePriority() {
  if (active_)
    pthread_setschedparam(pthread_self(), old_policy_, &old_param_);
}

ProcessorThread::ProcessorThread(engine::ProcessorConfig processor)
    : processor_(std::move(processor)) {
  CheckProcessor(processor_);
  std::promise<int> pinned;
  std::future<int> pin_result = pinned.get_future();
  thread_ = std::thread([this, &pinned] {
    const int rc = PinCallingThread(processor_.cores);
    pinned.set_value(rc);
    if (rc == 0)
      Loop();
  });
  const int rc = pin_result.get();
  if (rc != 0) {
    thread_.join();
    throw EngineError("processor '" + processor_.name +
                      "': pthread_setaffinity_np failed: " + std::strerror(rc));
  }
}

ProcessorThread::~ProcessorThread() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ProcessorThread::Run(const std::function<void()>& job) {
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [this] { return job_ == nullptr; });  // one job at a time
  job_ = &job;
  done_ = false;
  error_ = nullptr;
  wake_.notify_all();
  wake_.wait(lock, [this] { return done_; });
  job_ = nullptr;
  std::exception_ptr error = error_;
  lock.unlock();
  wake_.notify_all();
  if (error)
    std::rethrow_exception(error);
}

void ProcessorThread::Loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stop_ || (job_ != nullptr && !done_); });
    if (stop_)
      return;
    const std::function<void()>* job = job_;
    lock.unlock();
    std::exception_ptr error;
    try {
      (*job)();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    error_ = error;
    done_ = true;
    wake_.notify_all();
  }
}

}  // namespace sparseloom::runtime
