#include "preload/stage_cache.h"

#include <chrono>
#include <exception>
#include <string>
#include <utility>

#include "common/error.h"

namespace sparseloom::preload {
namespace {

std::string NameOf(const StageKey& key) {
  return "stage (task " + std::to_string(key.task) + ", stage " + std::to_string(key.stage) +
         ", variant " + std::to_string(key.variant) + ", processor " +
         std::to_string(key.processor) + ")";
}

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// Above any hotness score (frequency * (1 + uniqueness) + a small uniqueness term stays below 3).
constexpr double kRoutedBonus = 1000.0;

}  // namespace

std::string ToString(CachePolicy policy) {
  switch (policy) {
    case CachePolicy::kHotness:
      return "hotness";
    case CachePolicy::kLru:
      return "lru";
    case CachePolicy::kLfu:
      return "lfu";
    case CachePolicy::kNone:
      return "none";
  }
  return "?";
}

CachePolicy ParseCachePolicy(const std::string& text, const std::string& what) {
  for (CachePolicy p :
       {CachePolicy::kHotness, CachePolicy::kLru, CachePolicy::kLfu, CachePolicy::kNone})
    if (text == ToString(p))
      return p;
  throw UsageError(what + ": expected one of hotness, lru, lfu, none, got '" + text + "'");
}

StageCache::Lease::Lease(Lease&& other) noexcept
    : cache_(std::exchange(other.cache_, nullptr)),
      key_(other.key_),
      stage_(std::move(other.stage_)),
      loaded_on_demand_(other.loaded_on_demand_),
      load_ms_(other.load_ms_) {}

StageCache::Lease& StageCache::Lease::operator=(Lease&& other) noexcept {
  if (this == &other)
    return *this;
  Lease old(std::move(*this));  // released when it goes out of scope
  cache_ = std::exchange(other.cache_, nullptr);
  key_ = other.key_;
  stage_ = std::move(other.stage_);
  loaded_on_demand_ = other.loaded_on_demand_;
  load_ms_ = other.load_ms_;
  return *this;
}

StageCache::Lease::~Lease() {
  if (cache_ == nullptr)
    return;
  // Drop our reference first, so that an eviction right after the release frees the stage's
  // memory at once instead of when this lease's shared_ptr happens to go.
  stage_.reset();
  cache_->Release(key_);
}

StageCache::StageCache(StageSource source, std::int64_t budget_bytes, CachePolicy policy)
    : source_(std::move(source)), budget_bytes_(budget_bytes), policy_(policy) {
  if (!source_.load || !source_.expected_bytes)
    throw UsageError("stage cache: the stage source needs both a loader and expected_bytes");
  if (budget_bytes_ < 0)
    throw UsageError("stage cache: budget_bytes: expected bytes >= 0 (0 = unlimited), got " +
                     std::to_string(budget_bytes_));
}

// Leases must not outlive the cache (they call back into it); the pipeline owns both and destroys
// its workers first.
StageCache::~StageCache() = default;

void StageCache::SetHotness(std::map<StageKey, double> hotness) {
  std::lock_guard lock(mutex_);
  hotness_ = std::move(hotness);
}

void StageCache::SetRouted(std::set<StageKey> routed) {
  std::lock_guard lock(mutex_);
  routed_ = std::move(routed);
}

std::int64_t StageCache::ExpectedBytes(const StageKey& key) const {
  const std::int64_t bytes = source_.expected_bytes(key);
  if (bytes < 0)
    throw UsageError("stage cache: " + NameOf(key) + ": expected bytes >= 0, got " +
                     std::to_string(bytes));
  return bytes;
}

bool StageCache::Fits(std::int64_t more_bytes) const {
  return budget_bytes_ == 0 || stats_.resident_bytes + more_bytes <= budget_bytes_;
}

void StageCache::AddResident(std::int64_t bytes) {
  stats_.resident_bytes += bytes;
  if (stats_.resident_bytes > stats_.peak_resident_bytes)
    stats_.peak_resident_bytes = stats_.resident_bytes;
}

bool StageCache::EvictColdest() {
  auto victim = entries_.end();
  double victim_score = 0.0;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const Entry& e = it->second;
    if (e.stage == nullptr || e.users > 0)
      continue;  // loading or in use
    // The policy's score, lowest evicted first; ties (and kLru, kNone) by least recent use.
    double score = 0.0;
    if (policy_ == CachePolicy::kHotness) {
      auto h = hotness_.find(it->first);
      score = h == hotness_.end() ? 0.0 : h->second;
      if (routed_.contains(it->first))
        score += kRoutedBonus;
    } else if (policy_ == CachePolicy::kLfu) {
      auto u = uses_.find(it->first);
      score = u == uses_.end() ? 0.0 : static_cast<double>(u->second);
    }
    if (victim == entries_.end() || score < victim_score ||
        (score == victim_score && e.last_use < victim->second.last_use)) {
      victim = it;
      victim_score = score;
    }
  }
  if (victim == entries_.end())
    return false;
  // Destroyed under the mutex on purpose: the bytes are counted free only once they are.
  stats_.resident_bytes -= victim->second.bytes;
  entries_.erase(victim);
  ++stats_.evictions;
  return true;
}

void StageCache::Abandon(const StageKey& key) {
  auto it = entries_.find(key);
  stats_.resident_bytes -= it->second.bytes;
  entries_.erase(it);
  changed_.notify_all();
}

std::shared_ptr<engine::LoadedStage> StageCache::LoadReserved(const StageKey& key,
                                                              std::unique_lock<std::mutex>& lock,
                                                              bool may_evict) {
  lock.unlock();
  std::shared_ptr<engine::LoadedStage> stage;
  try {
    stage = source_.load(key);
    if (stage == nullptr)
      throw EngineError("stage cache: the loader returned no stage for " + NameOf(key));
  } catch (...) {
    lock.lock();
    Abandon(key);
    throw;
  }
  const std::int64_t real = stage->ResidentBytes();
  lock.lock();
  Entry& entry = entries_.at(key);  // reserved entries are never evicted, so it is still there
  const std::int64_t extra = real - entry.bytes;
  if (extra > 0 && budget_bytes_ > 0 && real > budget_bytes_) {
    Abandon(key);
    throw UsageError("stage cache: " + NameOf(key) + " holds " + std::to_string(real) +
                     " bytes once loaded, more than the whole budget of " +
                     std::to_string(budget_bytes_) + " bytes");
  }
  if (extra > 0 && !Fits(extra)) {
    if (!may_evict) {
      Abandon(key);  // Preload never evicts: leave it to be loaded on demand
      return nullptr;
    }
    // Corner case: the profile underestimated the stage. Evict more; when the stages in use leave
    // no room, wait for a release with the stage loaded but not yet counted, so real memory may
    // exceed the budget by `extra` during that wait while the accounting (and the peak) never does.
    while (!Fits(extra)) {
      if (!EvictColdest())
        changed_.wait(lock);
    }
  }
  entries_.at(key).bytes = real;
  AddResident(extra);
  if (extra < 0)
    changed_.notify_all();  // the reservation was generous: waiters may fit now
  return stage;
}

int StageCache::Preload(const std::vector<StageKey>& keys) {
  int loaded = 0;
  if (policy_ != CachePolicy::kHotness)
    return loaded;
  for (const StageKey& key : keys) {
    const std::int64_t expected = ExpectedBytes(key);
    std::unique_lock lock(mutex_);
    if (entries_.contains(key) || !Fits(expected))
      continue;
    // Reserved with a user (the preloader itself) so that nobody evicts it while it loads.
    Entry& entry = entries_[key];
    entry.bytes = expected;
    entry.users = 1;
    AddResident(expected);
    std::shared_ptr<engine::LoadedStage> stage = LoadReserved(key, lock, /*may_evict=*/false);
    if (stage == nullptr)
      continue;
    Entry& loaded_entry = entries_.at(key);
    loaded_entry.stage = std::move(stage);
    loaded_entry.users = 0;
    loaded_entry.last_use = ++clock_;
    ++stats_.preloaded;
    ++loaded;
    changed_.notify_all();  // Acquires waiting on this key
  }
  return loaded;
}

StageCache::Lease StageCache::Acquire(const StageKey& key) {
  // Asked before locking: the source is the caller's code and may be slow or take its own locks.
  const std::int64_t expected = ExpectedBytes(key);
  if (budget_bytes_ > 0 && expected > budget_bytes_)
    throw UsageError("stage cache: " + NameOf(key) + " needs " + std::to_string(expected) +
                     " bytes, more than the whole budget of " + std::to_string(budget_bytes_) +
                     " bytes");

  Lease lease;
  lease.key_ = key;
  std::chrono::steady_clock::time_point start;  // of the wait for another Acquire's load
  bool waited_for_load = false;
  std::unique_lock lock(mutex_);
  ++uses_[key];
  while (true) {
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      if (it->second.stage != nullptr) {
        Entry& entry = it->second;
        ++entry.users;
        entry.last_use = ++clock_;
        ++stats_.hits;
        lease.cache_ = this;
        lease.stage_ = entry.stage;
        // Waiting for another Acquire's load of this stage costs this request as much as loading.
        lease.loaded_on_demand_ = waited_for_load;
        lease.load_ms_ = waited_for_load ? MsSince(start) : 0.0;
        return lease;
      }
      // Someone is loading it: wait for that load rather than loading it twice. If that load
      // fails the entry disappears and this loop tries the load itself.
      if (!waited_for_load)
        start = std::chrono::steady_clock::now();
      waited_for_load = true;
      changed_.wait(lock);
      continue;
    }
    if (Fits(expected))
      break;
    // Block (never overshoot) while the stages in use leave no room; any release or load may
    // change what is resident, so look at the key again after waking.
    if (!EvictColdest())
      changed_.wait(lock);
  }

  Entry& entry = entries_[key];
  entry.bytes = expected;
  entry.users = 1;
  AddResident(expected);
  const auto load_start = std::chrono::steady_clock::now();
  std::shared_ptr<engine::LoadedStage> stage = LoadReserved(key, lock, /*may_evict=*/true);
  const double load_ms = MsSince(load_start);

  Entry& loaded = entries_.at(key);
  loaded.stage = stage;
  loaded.last_use = ++clock_;
  ++stats_.misses;
  stats_.load_ms += load_ms;
  changed_.notify_all();  // Acquires waiting on this key
  lease.cache_ = this;
  lease.stage_ = std::move(stage);
  lease.loaded_on_demand_ = true;
  lease.load_ms_ = load_ms;
  return lease;
}

bool StageCache::Touch(const StageKey& key) {
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.stage != nullptr) {
      it->second.last_use = ++clock_;
      ++uses_[key];
      ++stats_.hits;
      return false;
    }
  }
  return Acquire(key).loaded_on_demand();
}

void StageCache::Release(const StageKey& key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);  // a leased entry cannot be evicted
  Entry& entry = it->second;
  --entry.users;
  entry.last_use = ++clock_;
  if (policy_ == CachePolicy::kNone && entry.users == 0 && entry.stage != nullptr) {
    stats_.resident_bytes -= entry.bytes;
    entries_.erase(it);
    ++stats_.evictions;
  }
  changed_.notify_all();
}

void StageCache::EvictUnused(const std::function<bool(const StageKey&)>& which) {
  std::lock_guard lock(mutex_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& e = it->second;
    if (e.stage != nullptr && e.users == 0 && which(it->first)) {
      stats_.resident_bytes -= e.bytes;
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  changed_.notify_all();
}

std::int64_t StageCache::ResidentBytes() const {
  std::lock_guard lock(mutex_);
  return stats_.resident_bytes;
}

bool StageCache::IsResident(const StageKey& key) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  return it != entries_.end() && it->second.stage != nullptr;
}

std::vector<StageKey> StageCache::ResidentKeys() const {
  std::lock_guard lock(mutex_);
  std::vector<StageKey> keys;
  for (const auto& [key, entry] : entries_)
    if (entry.stage != nullptr)
      keys.push_back(key);
  return keys;
}

StageCacheStats StageCache::Stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace sparseloom::preload
