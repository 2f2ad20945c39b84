#include "preload/stage_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include "common/error.h"

namespace sparseloom::preload {

// Readable keys in failure messages (found by argument-dependent lookup, hence not in the
// anonymous namespace; static so that other test files may have their own).
[[maybe_unused]] static void PrintTo(const StageKey& key, std::ostream* os) {
  *os << "{task " << key.task << ", stage " << key.stage << ", variant " << key.variant
      << ", processor " << key.processor << "}";
}

namespace {

using namespace std::chrono_literals;

class TestStage final : public engine::LoadedStage {
 public:
  explicit TestStage(std::int64_t bytes) : bytes_(bytes) {}
  engine::Tensor Run(const engine::Tensor& x, std::span<const engine::Tensor>) override {
    return x;
  }
  std::int64_t ResidentBytes() const override { return bytes_; }
  const std::filesystem::path& File() const override { return file_; }

 private:
  std::int64_t bytes_;
  std::filesystem::path file_ = "test.stage";
};

// A loader with per-stage sizes that counts its loads and can be slowed down or made to fail.
struct TestSource {
  std::int64_t default_bytes = 100;
  std::map<StageKey, std::int64_t> bytes;       // expected (and, unless overridden, real) bytes
  std::map<StageKey, std::int64_t> real_bytes;  // what the loaded stage really holds
  std::chrono::milliseconds load_time{0};
  std::atomic<int> failures_left{0};  // the next loads that throw
  std::atomic<int> loads{0};
  std::mutex order_mutex;
  std::vector<StageKey> order;  // keys in the order their loads started
  std::function<void()> on_load;

  std::int64_t Expected(const StageKey& key) const {
    auto it = bytes.find(key);
    return it == bytes.end() ? default_bytes : it->second;
  }

  StageSource Source() {
    StageSource source;
    source.expected_bytes = [this](const StageKey& key) { return Expected(key); };
    source.load = [this](const StageKey& key) -> std::unique_ptr<engine::LoadedStage> {
      ++loads;
      {
        std::lock_guard lock(order_mutex);
        order.push_back(key);
      }
      if (on_load)
        on_load();
      std::this_thread::sleep_for(load_time);
      if (failures_left.fetch_sub(1) > 0)
        throw EngineError("test loader failed on purpose");
      auto real = real_bytes.find(key);
      return std::make_unique<TestStage>(real == real_bytes.end() ? Expected(key) : real->second);
    };
    return source;
  }
};

StageKey Key(int task, int stage = 0, int variant = 0, int processor = 0) {
  return {task, stage, variant, processor};
}

// Runs `body` on its own thread and aborts the test binary when it has not finished in time: a
// deadlock must fail loudly rather than hang the suite.
void WithDeadline(std::chrono::seconds limit, std::function<void()> body) {
  std::packaged_task<void()> task(std::move(body));
  std::future<void> done = task.get_future();
  std::thread runner(std::move(task));
  if (done.wait_for(limit) == std::future_status::timeout) {
    std::fputs("stage cache test: deadline passed, probably a deadlock\n", stderr);
    std::abort();
  }
  runner.join();
  done.get();  // rethrows what the body threw (including failed ASSERTs' exceptions, if any)
}

TEST(StageCache, LoadsOnMissThenHits) {
  TestSource source;
  StageCache cache(source.Source(), 0);
  {
    StageCache::Lease lease = cache.Acquire(Key(1));
    EXPECT_TRUE(lease.loaded_on_demand());
    EXPECT_GE(lease.load_ms(), 0.0);
    EXPECT_EQ(lease.stage().ResidentBytes(), 100);
  }
  StageCache::Lease again = cache.Acquire(Key(1));
  EXPECT_FALSE(again.loaded_on_demand());
  EXPECT_EQ(again.load_ms(), 0.0);
  EXPECT_EQ(source.loads.load(), 1);
  const StageCacheStats stats = cache.Stats();
  EXPECT_EQ(stats.hits, 1);
  EXPECT_EQ(stats.misses, 1);
  EXPECT_EQ(stats.resident_bytes, 100);
  EXPECT_EQ(cache.ResidentKeys(), std::vector<StageKey>{Key(1)});
}

TEST(StageCache, MovedLeaseReleasesOnce) {
  TestSource source;
  StageCache cache(source.Source(), 100);
  StageCache::Lease a = cache.Acquire(Key(1));
  StageCache::Lease b = std::move(a);
  StageCache::Lease c;
  c = std::move(b);
  EXPECT_EQ(c.stage().ResidentBytes(), 100);
  c = StageCache::Lease();  // released: the next stage may evict it
  WithDeadline(10s, [&] { cache.Acquire(Key(2)); });
  EXPECT_FALSE(cache.IsResident(Key(1)));
  EXPECT_TRUE(cache.IsResident(Key(2)));
}

TEST(StageCache, EvictsColdestThenLeastRecentlyUsed) {
  TestSource source;
  StageCache cache(source.Source(), 300);
  cache.Acquire(Key(1));
  cache.Acquire(Key(2));
  cache.Acquire(Key(3));
  cache.SetHotness({{Key(1), 0.5}});  // 2 and 3 are unknown: hotness 0
  cache.Acquire(Key(2));              // 3 is now the least recently used of the cold ones

  cache.Acquire(Key(4));
  EXPECT_FALSE(cache.IsResident(Key(3)));
  cache.Acquire(Key(5));
  EXPECT_FALSE(cache.IsResident(Key(2)));
  cache.Acquire(Key(6));  // 1 is the oldest, but hotter than 4 and 5
  EXPECT_FALSE(cache.IsResident(Key(4)));
  EXPECT_EQ(cache.ResidentKeys(), (std::vector<StageKey>{Key(1), Key(5), Key(6)}));
  EXPECT_EQ(cache.Stats().evictions, 3);
  EXPECT_EQ(cache.ResidentBytes(), 300);
}

// The same uses under each policy: hotness keeps the hot stage, LRU the recent ones, LFU the
// often used ones; none keeps nothing once a stage is released.
TEST(StageCachePolicy, EachPolicyEvictsByItsOwnOrder) {
  const auto run = [](CachePolicy policy) {
    TestSource source;
    StageCache cache(source.Source(), 300, policy);
    cache.SetHotness({{Key(3), 1.0}});
    for (int i = 0; i < 3; ++i)
      cache.Acquire(Key(1));  // used most often, but first
    cache.Acquire(Key(2));
    cache.Acquire(Key(3));  // the hot one
    cache.Acquire(Key(2));  // 2 and 3 are the most recent
    cache.Acquire(Key(4));  // one must go
    return cache.ResidentKeys();
  };
  EXPECT_EQ(run(CachePolicy::kHotness), (std::vector<StageKey>{Key(2), Key(3), Key(4)}));
  EXPECT_EQ(run(CachePolicy::kLru), (std::vector<StageKey>{Key(2), Key(3), Key(4)}));
  EXPECT_EQ(run(CachePolicy::kLfu), (std::vector<StageKey>{Key(1), Key(2), Key(4)}));
  EXPECT_EQ(run(CachePolicy::kNone), std::vector<StageKey>{});

  // Hotness against LRU where they differ: the hot stage is the least recently used.
  const auto hot_oldest = [](CachePolicy policy) {
    TestSource source;
    StageCache cache(source.Source(), 200, policy);
    cache.SetHotness({{Key(1), 1.0}});
    cache.Acquire(Key(1));
    cache.Acquire(Key(2));
    cache.Acquire(Key(3));
    return cache.ResidentKeys();
  };
  EXPECT_EQ(hot_oldest(CachePolicy::kHotness), (std::vector<StageKey>{Key(1), Key(3)}));
  EXPECT_EQ(hot_oldest(CachePolicy::kLru), (std::vector<StageKey>{Key(2), Key(3)}));
}

// The stages the routes in place run are evicted last under hotness (the plan needs them now),
// whatever their hotness; LRU ignores them.
TEST(StageCachePolicy, RoutedStagesAreEvictedLastUnderHotness) {
  const auto run = [](CachePolicy policy) {
    TestSource source;
    StageCache cache(source.Source(), 200, policy);
    cache.SetHotness({{Key(1), 1.0}, {Key(2), 0.5}});
    cache.Acquire(Key(2));
    cache.Acquire(Key(1));
    cache.SetRouted({Key(2)});  // a plan now runs 2, not the hotter 1
    cache.Acquire(Key(3));
    return cache.ResidentKeys();
  };
  EXPECT_EQ(run(CachePolicy::kHotness), (std::vector<StageKey>{Key(2), Key(3)}));
  EXPECT_EQ(run(CachePolicy::kLru), (std::vector<StageKey>{Key(1), Key(3)}));
}

TEST(StageCachePolicy, OnlyHotnessPreloads) {
  for (CachePolicy policy : {CachePolicy::kLru, CachePolicy::kLfu, CachePolicy::kNone}) {
    TestSource source;
    StageCache cache(source.Source(), 0, policy);
    EXPECT_EQ(cache.Preload({Key(1), Key(2)}), 0) << ToString(policy);
    EXPECT_EQ(source.loads.load(), 0) << ToString(policy);
    EXPECT_EQ(cache.policy(), policy);
  }
  TestSource source;
  StageCache cache(source.Source(), 0);
  EXPECT_EQ(cache.policy(), CachePolicy::kHotness);
  EXPECT_EQ(cache.Preload({Key(1), Key(2)}), 2);
}

// Nothing kept: every use loads the stage (Touch and Acquire alike), and the bytes leave with the
// last lease, while a stage in use is shared by its users.
TEST(StageCachePolicy, NoneLoadsForEveryUseAndHoldsOnlyStagesInUse) {
  TestSource source;
  StageCache cache(source.Source(), 0, CachePolicy::kNone);
  EXPECT_TRUE(cache.Touch(Key(1)));
  EXPECT_TRUE(cache.Touch(Key(1)));
  EXPECT_EQ(source.loads.load(), 2);
  EXPECT_EQ(cache.ResidentBytes(), 0);
  {
    StageCache::Lease a = cache.Acquire(Key(2));
    StageCache::Lease b = cache.Acquire(Key(2));  // in use: shared, not loaded again
    EXPECT_TRUE(a.loaded_on_demand());
    EXPECT_FALSE(b.loaded_on_demand());
    EXPECT_EQ(cache.ResidentBytes(), 100);
  }
  EXPECT_EQ(cache.ResidentBytes(), 0);
  EXPECT_EQ(source.loads.load(), 3);
  const StageCacheStats stats = cache.Stats();
  EXPECT_EQ(stats.misses, 3);
  EXPECT_EQ(stats.evictions, 3);
}

TEST(StageCachePolicy, NamesRoundTripAndAnUnknownNameIsAUsageError) {
  for (CachePolicy policy :
       {CachePolicy::kHotness, CachePolicy::kLru, CachePolicy::kLfu, CachePolicy::kNone})
    EXPECT_EQ(ParseCachePolicy(ToString(policy), "x"), policy);
  try {
    ParseCachePolicy("fifo", "--cache-policy");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--cache-policy: expected one of hotness, lru, lfu, none, got 'fifo'");
  }
}

TEST(StageCache, BlocksWhileEveryStageIsInUseThenProceedsAfterARelease) {
  TestSource source;
  StageCache cache(source.Source(), 200);
  WithDeadline(10s, [&] {
    std::optional<StageCache::Lease> a = cache.Acquire(Key(1));
    StageCache::Lease b = cache.Acquire(Key(2));
    std::atomic<bool> acquired{false};
    std::thread waiter([&] {
      StageCache::Lease c = cache.Acquire(Key(3));
      acquired = true;
    });
    // Give the waiter time to reach the wait; it cannot get past it while both stages are leased.
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(acquired);
    EXPECT_EQ(source.loads.load(), 2);
    a.reset();
    waiter.join();
    EXPECT_TRUE(acquired);
  });
  EXPECT_FALSE(cache.IsResident(Key(1)));
  EXPECT_TRUE(cache.IsResident(Key(2)));
  EXPECT_TRUE(cache.IsResident(Key(3)));
  EXPECT_LE(cache.Stats().peak_resident_bytes, 200);
}

TEST(StageCache, StageLargerThanTheBudgetIsAUsageError) {
  TestSource source;
  source.bytes[Key(7, 1, 2, 3)] = 150;
  StageCache cache(source.Source(), 100);
  try {
    cache.Acquire(Key(7, 1, 2, 3));
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("task 7, stage 1, variant 2, processor 3"), std::string::npos)
        << message;
    EXPECT_NE(message.find("150 bytes"), std::string::npos) << message;
    EXPECT_NE(message.find("100 bytes"), std::string::npos) << message;
  }
  EXPECT_EQ(source.loads.load(), 0);
  EXPECT_EQ(cache.ResidentBytes(), 0);
}

TEST(StageCache, StageLargerThanTheBudgetOnceLoadedIsAUsageError) {
  TestSource source;
  source.real_bytes[Key(1)] = 150;  // the profile said 100
  StageCache cache(source.Source(), 100);
  EXPECT_THROW(cache.Acquire(Key(1)), UsageError);
  EXPECT_FALSE(cache.IsResident(Key(1)));
  EXPECT_EQ(cache.ResidentBytes(), 0);
  EXPECT_EQ(cache.Stats().peak_resident_bytes, 100);
}

TEST(StageCache, UnderestimatedStageEvictsMoreToStayWithinTheBudget) {
  TestSource source;
  source.real_bytes[Key(3)] = 200;  // the profile said 100
  StageCache cache(source.Source(), 300);
  cache.Acquire(Key(1));
  cache.Acquire(Key(2));
  StageCache::Lease lease = cache.Acquire(Key(3));
  EXPECT_FALSE(cache.IsResident(Key(1)));  // least recently used
  EXPECT_TRUE(cache.IsResident(Key(2)));
  EXPECT_EQ(cache.ResidentBytes(), 300);
  EXPECT_LE(cache.Stats().peak_resident_bytes, 300);
}

TEST(StageCache, FailedLoadLeavesTheCacheConsistentAndRetriable) {
  TestSource source;
  source.failures_left = 1;
  StageCache cache(source.Source(), 100);
  EXPECT_THROW(cache.Acquire(Key(1)), EngineError);
  EXPECT_FALSE(cache.IsResident(Key(1)));
  EXPECT_EQ(cache.ResidentBytes(), 0);
  EXPECT_TRUE(cache.ResidentKeys().empty());

  WithDeadline(10s, [&] {
    StageCache::Lease lease = cache.Acquire(Key(1));  // the reservation was undone: it fits
    EXPECT_TRUE(lease.loaded_on_demand());
  });
  EXPECT_EQ(source.loads.load(), 2);
  EXPECT_EQ(cache.ResidentBytes(), 100);
  EXPECT_EQ(cache.Stats().misses, 1);
}

TEST(StageCache, WaiterOnAFailedLoadLoadsTheStageItself) {
  TestSource source;
  source.failures_left = 1;
  source.load_time = 20ms;
  std::promise<void> started;
  std::atomic<bool> first{true};
  source.on_load = [&] {
    if (first.exchange(false))
      started.set_value();
  };
  StageCache cache(source.Source(), 100);
  WithDeadline(10s, [&] {
    auto failing = std::async(std::launch::async, [&] { return cache.Acquire(Key(1)); });
    started.get_future().wait();  // the first load is in flight: the second Acquire must wait
    StageCache::Lease lease = cache.Acquire(Key(1));
    EXPECT_THROW(failing.get(), EngineError);
    EXPECT_TRUE(lease.loaded_on_demand());
  });
  EXPECT_EQ(source.loads.load(), 2);
  EXPECT_EQ(cache.ResidentBytes(), 100);
}

TEST(StageCache, ConcurrentMissesOfOneStageLoadItOnce) {
  TestSource source;
  source.load_time = 50ms;
  StageCache cache(source.Source(), 1000);
  std::vector<const engine::LoadedStage*> seen(8);
  WithDeadline(10s, [&] {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < seen.size(); ++i)
      threads.emplace_back([&, i] {
        StageCache::Lease lease = cache.Acquire(Key(1));
        seen[i] = &lease.stage();
        EXPECT_TRUE(cache.IsResident(Key(1)));
      });
    for (std::thread& t : threads)
      t.join();
  });
  EXPECT_EQ(source.loads.load(), 1);
  for (const engine::LoadedStage* stage : seen)
    EXPECT_EQ(stage, seen.front());
  const StageCacheStats stats = cache.Stats();
  EXPECT_EQ(stats.misses, 1);
  EXPECT_EQ(stats.hits, 7);
  EXPECT_EQ(stats.resident_bytes, 100);
}

TEST(StageCache, PreloadLoadsInOrderWhatFitsWithoutEvicting) {
  TestSource source;
  source.bytes = {{Key(1), 100}, {Key(2), 200}, {Key(3), 150}, {Key(4), 50}, {Key(5), 50}};
  StageCache cache(source.Source(), 300);
  cache.Acquire(Key(9));  // 100 bytes, unused but never evicted by Preload

  // 2 and 3 do not fit next to 9 and 1; the smaller 4 and 5 after them do.
  EXPECT_EQ(cache.Preload({Key(1), Key(2), Key(9), Key(3), Key(4), Key(5)}), 3);
  EXPECT_EQ(source.order, (std::vector<StageKey>{Key(9), Key(1), Key(4), Key(5)}));
  EXPECT_TRUE(cache.IsResident(Key(9)));
  EXPECT_EQ(cache.ResidentBytes(), 300);
  const StageCacheStats stats = cache.Stats();
  EXPECT_EQ(stats.preloaded, 3);
  EXPECT_EQ(stats.evictions, 0);
  EXPECT_EQ(stats.misses, 1);

  // Preloaded stages are then served as hits.
  EXPECT_FALSE(cache.Acquire(Key(4)).loaded_on_demand());
}

TEST(StageCache, PreloadDropsAStageThatTurnsOutNotToFit) {
  TestSource source;
  source.real_bytes[Key(1)] = 150;  // the profile said 100: fits alone, not next to 2
  StageCache cache(source.Source(), 200);
  cache.Acquire(Key(2));
  EXPECT_EQ(cache.Preload({Key(1)}), 0);
  EXPECT_FALSE(cache.IsResident(Key(1)));
  EXPECT_TRUE(cache.IsResident(Key(2)));
  EXPECT_EQ(cache.ResidentBytes(), 100);
  EXPECT_LE(cache.Stats().peak_resident_bytes, 200);
}

TEST(StageCache, EvictUnusedDropsOnlyUnleasedMatchingStages) {
  TestSource source;
  StageCache cache(source.Source(), 0);
  cache.Acquire(Key(1, 0, 0, 0));
  cache.Acquire(Key(1, 0, 0, 1));
  cache.Acquire(Key(2, 0, 0, 1));
  StageCache::Lease held = cache.Acquire(Key(3, 0, 0, 1));
  cache.EvictUnused([](const StageKey& key) { return key.processor == 1; });
  EXPECT_EQ(cache.ResidentKeys(), (std::vector<StageKey>{Key(1, 0, 0, 0), Key(3, 0, 0, 1)}));
  EXPECT_EQ(cache.ResidentBytes(), 200);
}

TEST(StageCache, BudgetIsNeverExceededUnderConcurrentAcquires) {
  TestSource source;
  source.load_time = 1ms;
  std::vector<StageKey> keys;
  for (int t = 0; t < 4; ++t)
    for (int k = 0; k < 3; ++k)
      for (int v = 0; v < 2; ++v) {
        keys.push_back(Key(t, k, v, (t + k) % 2));
        source.bytes[keys.back()] = 50 + 70 * ((t * 7 + k * 3 + v) % 5);  // 50..330
      }
  // A few stages hold more than the profile said, to exercise the post-load eviction as well.
  source.real_bytes[keys[1]] = source.bytes[keys[1]] + 60;
  source.real_bytes[keys[5]] = source.bytes[keys[5]] + 30;
  constexpr std::int64_t kBudget = 700;
  StageCache cache(source.Source(), kBudget);
  cache.SetHotness({{keys[0], 1.0}, {keys[3], 0.5}});
  constexpr int kThreads = 4;
  constexpr int kAcquiresEach = 150;

  WithDeadline(60s, [&] {
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i)
      threads.emplace_back([&, i] {
        std::mt19937 rng(static_cast<unsigned>(i + 1));
        std::uniform_int_distribution<std::size_t> pick(0, keys.size() - 1);
        for (int n = 0; n < kAcquiresEach; ++n) {
          const StageKey key = keys[pick(rng)];
          StageCache::Lease lease = cache.Acquire(key);
          const auto real = source.real_bytes.find(key);
          EXPECT_EQ(lease.stage().ResidentBytes(),
                    real == source.real_bytes.end() ? source.Expected(key) : real->second);
          EXPECT_LE(cache.ResidentBytes(), kBudget);
          if (n % 3 == 0)
            std::this_thread::sleep_for(std::chrono::microseconds(200));  // hold it a while
        }
      });
    for (std::thread& t : threads)
      t.join();
  });

  const StageCacheStats stats = cache.Stats();
  EXPECT_LE(stats.peak_resident_bytes, kBudget);
  EXPECT_GT(stats.evictions, 0);
  EXPECT_EQ(stats.hits + stats.misses, kThreads * kAcquiresEach);
  std::int64_t resident = 0;
  for (const StageKey& key : cache.ResidentKeys()) {
    const auto real = source.real_bytes.find(key);
    resident += real == source.real_bytes.end() ? source.bytes[key] : real->second;
  }
  EXPECT_EQ(stats.resident_bytes, resident);
}

}  // namespace
}  // namespace sparseloom::preload
