#include "eval/memoized_planner.h"

#include <cstring>
#include <utility>

namespace sparseloom::eval {
namespace {

template <typename T>
void Append(std::string& key, const T& value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  key.append(bytes, sizeof(T));
}

// FNV-1a of the profile's accuracies, their measured flags and margin: verification on selection
// (runtime/accuracy_verification.h) changes them in place, and a plan kept from before must not
// answer after.
std::uint64_t AccuracyDigest(const plan::TaskProfile& p) {
  std::uint64_t h = 14695981039346656037ULL;
  const auto add = [&h](const void* data, std::size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i)
      h = (h ^ bytes[i]) * 1099511628211ULL;
  };
  add(p.accuracy.data(), p.accuracy.size() * sizeof(double));
  add(p.accuracy_measured.data(), p.accuracy_measured.size());
  add(&p.accuracy_margin, sizeof(double));
  return h;
}

}  // namespace

MemoizedPlanner::MemoizedPlanner(std::unique_ptr<plan::Planner> inner,
                                 std::set<const plan::TaskProfile*> owned, bool enabled)
    : inner_(std::move(inner)), owned_(std::move(owned)), enabled_(enabled) {}

plan::Plan MemoizedPlanner::Solve(const plan::PlanRequest& request) const {
  std::string key;
  if (!enabled_ || !KeyOf(request, key))
    return inner_->Solve(request);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = plans_.find(key); it != plans_.end())
      return it->second;
  }
  plan::Plan plan = inner_->Solve(request);
  std::lock_guard<std::mutex> lock(mutex_);
  plans_.emplace(std::move(key), plan);
  return plan;
}

bool MemoizedPlanner::KeyOf(const plan::PlanRequest& request, std::string& key) const {
  for (const std::string& p : request.processors)
    key += p + '\n';
  Append(key, request.memory_budget_bytes);
  Append(key, static_cast<int>(request.placements));
  for (const plan::PlanTask& t : request.tasks) {
    if (!owned_.count(&t.profile.get()))
      return false;
    key += t.name + '\n';
    Append(key, &t.profile.get());
    Append(key, AccuracyDigest(t.profile.get()));
    Append(key, t.slo.min_accuracy);
    Append(key, t.slo.max_latency_ms);
    Append(key, t.rate_per_s);
  }
  return true;
}

}  // namespace sparseloom::eval
