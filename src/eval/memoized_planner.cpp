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
    Append(key, t.slo.min_accuracy);
    Append(key, t.slo.max_latency_ms);
    Append(key, t.rate_per_s);
  }
  return true;
}

}  // namespace sparseloom::eval
