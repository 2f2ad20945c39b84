#pragma once
// The hot-subgraph preloader's memory (DESIGN.md "runtime"): loaded stages of every served task on
// every processor, held under a byte budget. The hottest stages are preloaded; a cold stage is
// loaded on demand by the worker that needs it (its load time counts against that request) after
// evicting the coldest stages nobody is running. The budget is never exceeded.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace sparseloom::preload {

// One loaded copy of a stage: stage k (0-based) of variant v of task t, for processor p (a stage
// is loaded once per processor: the engine binds it to the processor's threads).
struct StageKey {
  int task = 0;
  int stage = 0;
  int variant = 0;
  int processor = 0;
  auto operator<=>(const StageKey&) const = default;
};

// What the cache keeps and what it drops for room (docs/runtime.md, "Cache policies").
enum class CachePolicy {
  kHotness,  // SparseLoom's preloader: the hottest stages preloaded, the coldest evicted first
  kLru,      // nothing preloaded; stages loaded on demand, the least recently used evicted first
  kLfu,      // nothing preloaded; on demand, the least used so far evicted first (ties: LRU)
  kNone,     // nothing preloaded, nothing kept: a stage is loaded for each use, dropped after it
};
std::string ToString(CachePolicy policy);
// "hotness", "lru", "lfu" or "none"; UsageError naming `what` otherwise.
CachePolicy ParseCachePolicy(const std::string& text, const std::string& what);

struct StageSource {
  // Loads the stage (on the calling thread). May throw; the cache stays consistent.
  std::function<std::unique_ptr<engine::LoadedStage>(const StageKey&)> load;
  // Bytes the stage will hold once loaded (the profile's stage_bytes), reserved before loading so
  // that the budget holds even while loads are in flight.
  std::function<std::int64_t(const StageKey&)> expected_bytes;
};

struct StageCacheStats {
  std::int64_t hits = 0;       // Acquire found the stage resident (or waited for another's load)
  std::int64_t misses = 0;     // Acquire loaded it
  std::int64_t evictions = 0;  // stages dropped to make room
  std::int64_t preloaded = 0;  // stages loaded by Preload
  double load_ms = 0.0;        // wall time of on-demand loads
  std::int64_t resident_bytes = 0;       // loaded stages plus the reservations of loads in flight
  std::int64_t peak_resident_bytes = 0;  // never above the budget (when there is one)
};

class StageCache {
 public:
  // A stage in use: it cannot be evicted until the lease is destroyed.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    engine::LoadedStage& stage() const { return *stage_; }
    bool loaded_on_demand() const { return loaded_on_demand_; }
    // 0 when it was resident; when another Acquire was loading it, the time waited for that load.
    double load_ms() const { return load_ms_; }

   private:
    friend class StageCache;
    StageCache* cache_ = nullptr;
    StageKey key_;
    std::shared_ptr<engine::LoadedStage> stage_;
    bool loaded_on_demand_ = false;
    double load_ms_ = 0.0;
  };

  // budget_bytes = 0: unlimited.
  StageCache(StageSource source, std::int64_t budget_bytes,
             CachePolicy policy = CachePolicy::kHotness);
  ~StageCache();
  StageCache(const StageCache&) = delete;
  StageCache& operator=(const StageCache&) = delete;

  // Eviction order under kHotness: the lowest hotness goes first (unknown keys count as 0, ties:
  // least recently used first). May be called while serving (a re-plan changes what is hot).
  // The other policies keep it but do not use it.
  void SetHotness(std::map<StageKey, double> hotness);
  // The stages the routes in place run (the executors call it when routes change). Under kHotness
  // they are evicted after every other stage whatever their hotness: the plan in place needs them
  // now, while hotness ranks what the expected plans need on average. Ignored by other policies.
  void SetRouted(std::set<StageKey> routed);

  // Loads `keys` in order (hottest first) while they fit in the budget without evicting; returns
  // how many were loaded. A key already resident, or one that would need an eviction, is skipped
  // (a smaller one later in the list may still fit). Loads nothing unless the policy is kHotness.
  int Preload(const std::vector<StageKey>& keys);

  // The stage, loading it first when not resident; blocks while the stages in use leave no room.
  // Throws UsageError when the stage alone exceeds the budget, and what the loader throws.
  Lease Acquire(const StageKey& key);

  // Acquire and release at once, for a user that needs the stage resident for an instant only
  // (the simulator, whose stages take virtual time): the same accounting and eviction order as
  // Acquire. Returns whether it was loaded on demand.
  bool Touch(const StageKey& key);

  // Drops every stage not in use (a processor taken out, a task gone).
  void EvictUnused(const std::function<bool(const StageKey&)>& which);

  std::int64_t budget_bytes() const { return budget_bytes_; }
  CachePolicy policy() const { return policy_; }
  std::int64_t ResidentBytes() const;
  bool IsResident(const StageKey& key) const;
  std::vector<StageKey> ResidentKeys() const;
  StageCacheStats Stats() const;

 private:
  struct Entry {
    std::shared_ptr<engine::LoadedStage> stage;  // null while loading
    std::int64_t bytes = 0;                      // reserved, then the stage's ResidentBytes()
    int users = 0;
    std::uint64_t last_use = 0;
  };
  void Release(const StageKey& key);
  std::int64_t ExpectedBytes(const StageKey& key) const;  // validated; called without the mutex
  // The helpers below expect mutex_ held.
  bool Fits(std::int64_t more_bytes) const;
  void AddResident(std::int64_t bytes);
  bool EvictColdest();                // false when every resident stage is in use or loading
  void Abandon(const StageKey& key);  // undoes a reservation
  // Loads a reserved entry outside the mutex and accounts its real bytes; null when the stage
  // does not fit and `may_evict` is false (the reservation is then undone).
  std::shared_ptr<engine::LoadedStage> LoadReserved(const StageKey& key,
                                                    std::unique_lock<std::mutex>& lock,
                                                    bool may_evict);

  StageSource source_;
  std::int64_t budget_bytes_;
  CachePolicy policy_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<StageKey, Entry> entries_;
  std::map<StageKey, double> hotness_;
  std::set<StageKey> routed_;
  std::map<StageKey, std::int64_t> uses_;  // kLfu: every Acquire and Touch, kept across evictions
  std::uint64_t clock_ = 0;
  StageCacheStats stats_;
};

}  // namespace sparseloom::preload
