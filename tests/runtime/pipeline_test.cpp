// The pipelined executor on timed fake stages: routes run as planned, every request ends as
// exactly one record under overload and faults, callbacks may re-plan and submit, and the trace
// shows every stage run. Assertions are on counts and values, never on timings; each test runs
// under a deadline so that a deadlock fails instead of hanging.

#include "runtime/pipeline.h"

#include "runtime/injected_fault.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "runtime/trace.h"
#include "support/timed_fake_engine.h"

namespace sparseloom::runtime {
namespace {

using namespace std::chrono_literals;
using testing::MakeFake;
using testing::RouteValue;
using testing::TimedFakeStages;
using testing::ValueOf;

constexpr int kStages = 3;

// Runs `body` and aborts the test binary if it does not return in time (a deadlock).
template <typename Body>
void WithinSeconds(int seconds, Body body) {
  auto done = std::async(std::launch::async, body);
  if (done.wait_for(std::chrono::seconds(seconds)) == std::future_status::timeout) {
    std::fprintf(stderr, "test did not finish within %d s: deadlock?\n", seconds);
    std::abort();
  }
  done.get();
}

std::vector<engine::ProcessorConfig> TwoProcessors() {
  engine::ProcessorConfig p0;
  p0.name = "p0";
  engine::ProcessorConfig p1;
  p1.name = "p1";
  return {p0, p1};
}

std::int64_t Argmax(const engine::Tensor& t) {
  return std::llround(ValueOf(t));
}

RequestInput Input(std::int64_t label) {
  RequestInput in;
  in.input = MakeFake({1, 4}, 0.0);
  in.side = {MakeFake({1, 4}, 0.0)};
  in.label = label;
  return in;
}

TaskRoute Route(std::vector<int> variants, std::vector<int> placement) {
  TaskRoute r;
  r.variant_of_stage = std::move(variants);
  r.placement = std::move(placement);
  r.slo = {0.5, 60'000.0};
  r.accuracy = 0.9;
  return r;
}

// Every submitted request ends as exactly one record, and the counters agree with the records.
void ExpectAccounted(const PipelineCounters& c, const std::vector<RequestRecord>& records) {
  EXPECT_EQ(c.in_flight, 0);
  EXPECT_EQ(c.submitted, c.completed + c.dropped + c.failed);
  ASSERT_EQ(static_cast<std::int64_t>(records.size()), c.submitted);
  std::set<std::int64_t> ids;
  std::int64_t completed = 0, dropped = 0, failed = 0;
  for (const RequestRecord& r : records) {
    EXPECT_TRUE(ids.insert(r.id).second) << "request " << r.id << " has two records";
    EXPECT_GE(r.id, 0);
    EXPECT_LT(r.id, c.submitted);
    switch (r.outcome) {
      case Outcome::kCompleted:
        ++completed;
        EXPECT_EQ(r.stages.size(), static_cast<std::size_t>(kStages));
        EXPECT_TRUE(r.reason.empty());
        break;
      case Outcome::kDropped:
        ++dropped;
        EXPECT_FALSE(r.reason.empty());
        EXPECT_TRUE(r.stages.empty());
        break;
      case Outcome::kFailed:
        ++failed;
        EXPECT_FALSE(r.reason.empty());
        break;
    }
  }
  EXPECT_EQ(completed, c.completed);
  EXPECT_EQ(dropped, c.dropped);
  EXPECT_EQ(failed, c.failed);
}

// The prediction proves that the record's route ran: each stage adds (variant, processor) digits.
void ExpectRan(const RequestRecord& r, const TaskRoute& route) {
  ASSERT_EQ(r.outcome, Outcome::kCompleted) << r.reason;
  EXPECT_EQ(r.prediction, RouteValue(route.variant_of_stage, route.placement));
  ASSERT_EQ(r.stages.size(), route.placement.size());
  for (std::size_t k = 0; k < r.stages.size(); ++k) {
    const StageSpan& s = r.stages[k];
    EXPECT_EQ(s.stage, static_cast<int>(k));
    EXPECT_EQ(s.variant, route.variant_of_stage[k]);
    EXPECT_EQ(s.processor, route.placement[k]);
    EXPECT_LE(s.queued_ms, s.start_ms);
    EXPECT_LE(s.start_ms, s.end_ms);
    if (k > 0) {
      EXPECT_LE(r.stages[k - 1].end_ms, s.queued_ms);
    }
  }
  EXPECT_LE(r.stages.back().end_ms, r.end_ms);
}

TEST(PipelineTest, RunsEachStageOfTheRouteOnItsProcessor) {
  TimedFakeStages stages(kStages, 100us, 1ms);
  preload::StageCache cache(stages.Source(), 0);
  const TaskRoute zigzag = Route({2, 0, 1}, {0, 1, 0});  // p0 -> p1 -> p0
  const TaskRoute single = Route({1, 1, 1}, {1, 1, 1});
  std::vector<RequestRecord> records;
  PipelineCounters counters;
  WithinSeconds(10, [&] {
    Pipeline pipeline(TwoProcessors(), cache, Argmax);
    pipeline.SetRoutes({zigzag, single});
    EXPECT_EQ(pipeline.route_epoch(), 1);
    for (int i = 0; i < 20; ++i) {
      EXPECT_TRUE(pipeline.Submit(0, i, Input(100 + i), Clock::now()));
      EXPECT_TRUE(pipeline.Submit(1, i, Input(200 + i), Clock::now()));
    }
    pipeline.WaitIdle();
    counters = pipeline.Counters();
    records = pipeline.TakeRecords();
  });
  ExpectAccounted(counters, records);
  EXPECT_EQ(counters.completed, 40);
  int loaded_spans = 0;
  for (const RequestRecord& r : records) {
    ExpectRan(r, r.task == 0 ? zigzag : single);
    EXPECT_EQ(r.label, (r.task == 0 ? 100 : 200) + r.sample);
    EXPECT_EQ(r.attempts, 1);
    EXPECT_EQ(r.route_epoch, 1);
    EXPECT_DOUBLE_EQ(r.accuracy, 0.9);
    EXPECT_LE(r.arrival_ms, r.stages.front().queued_ms);
    EXPECT_TRUE(r.SloMet());
    for (const StageSpan& s : r.stages)
      loaded_spans += s.load_ms > 0.0 ? 1 : 0;
  }
  // Six distinct (task, stage, variant, processor) keys, each loaded once, on demand.
  EXPECT_EQ(stages.loads.load(), 6);
  EXPECT_GE(loaded_spans, 6);
  EXPECT_EQ(stages.runs_without_side.load(), 0);
  // One worker thread per processor, not shared.
  const auto threads = stages.Threads();
  ASSERT_EQ(threads.size(), 2u);
  ASSERT_EQ(threads.at(0).size(), 1u);
  ASSERT_EQ(threads.at(1).size(), 1u);
  EXPECT_NE(*threads.at(0).begin(), *threads.at(1).begin());
}

TEST(PipelineTest, SloMetNeedsCompletionInTimeAndEnoughAccuracy) {
  RequestRecord r;
  r.slo = {0.8, 10.0};
  r.accuracy = 0.85;
  r.arrival_ms = 5.0;
  r.end_ms = 14.0;
  EXPECT_TRUE(r.SloMet());
  r.end_ms = 16.0;
  EXPECT_FALSE(r.SloMet());
  r.end_ms = 14.0;
  r.accuracy = 0.7;
  EXPECT_FALSE(r.SloMet());
  r.accuracy = 0.85;
  r.outcome = Outcome::kDropped;
  EXPECT_FALSE(r.SloMet());
  EXPECT_EQ(ToString(Outcome::kCompleted), "completed");
  EXPECT_EQ(ToString(Outcome::kDropped), "dropped");
  EXPECT_EQ(ToString(Outcome::kFailed), "failed");
}

TEST(PipelineTest, RejectsRoutesItCannotRun) {
  TimedFakeStages stages(kStages, 0us);
  preload::StageCache cache(stages.Source(), 0);
  WithinSeconds(10, [&] {
    Pipeline pipeline(TwoProcessors(), cache, Argmax);
    EXPECT_THROW(pipeline.SetRoutes({Route({0, 0, 0}, {0, 2, 0})}), UsageError);
    EXPECT_THROW(pipeline.SetRoutes({Route({0, 0, 0}, {0, -1, 0})}), UsageError);
    EXPECT_THROW(pipeline.SetRoutes({Route({0, 0}, {0, 1, 0})}), UsageError);
    EXPECT_THROW(pipeline.SetRoutes({Route({}, {})}), UsageError);
    EXPECT_THROW(pipeline.SetRoutes({Route({0, -1, 0}, {0, 1, 0})}), UsageError);
    EXPECT_EQ(pipeline.route_epoch(), 0);
    pipeline.SetRoutes({Route({0, 0, 0}, {0, 1, 0})});
    EXPECT_EQ(pipeline.route_epoch(), 1);
  });
  EXPECT_THROW(Pipeline(TwoProcessors(), cache, Argmax, PipelineOptions{.max_in_flight = 0}),
               UsageError);
  std::vector<engine::ProcessorConfig> bad = TwoProcessors();
  bad[1].threads = 0;
  EXPECT_THROW(Pipeline(bad, cache, Argmax), UsageError);
}

TEST(PipelineTest, DropsRequestsOfTasksWithoutRoute) {
  TimedFakeStages stages(kStages, 0us);
  preload::StageCache cache(stages.Source(), 0);
  std::vector<RequestRecord> records;
  PipelineCounters counters;
  int done_calls = 0;
  WithinSeconds(10, [&] {
    Pipeline pipeline(TwoProcessors(), cache, Argmax);
    pipeline.OnDone([&](const RequestRecord&) { ++done_calls; });  // drops: on this thread
    EXPECT_FALSE(pipeline.Submit(0, 0, Input(0), Clock::now()));   // no routes at all yet
    pipeline.SetRoutes({Route({0, 0, 0}, {0, 0, 0}), std::nullopt});
    EXPECT_FALSE(pipeline.Submit(1, 0, Input(0), Clock::now()));
    EXPECT_FALSE(pipeline.Submit(7, 0, Input(0), Clock::now()));
    EXPECT_FALSE(pipeline.Submit(-1, 0, Input(0), Clock::now()));
    EXPECT_TRUE(pipeline.Submit(0, 0, Input(0), Clock::now()));
    pipeline.WaitIdle();
    counters = pipeline.Counters();
    records = pipeline.TakeRecords();
  });
  ExpectAccounted(counters, records);
  EXPECT_EQ(counters.dropped, 4);
  EXPECT_EQ(counters.completed, 1);
  EXPECT_EQ(done_calls, 5);
  for (const RequestRecord& r : records) {
    if (r.outcome == Outcome::kDropped) {
      EXPECT_NE(r.reason.find("has no route"), std::string::npos) << r.reason;
    }
  }
}

TEST(PipelineTest, OverloadDropsButEveryRequestEndsAsOneRecord) {
  TimedFakeStages stages(kStages, 50us);
  preload::StageCache cache(stages.Source(), 0);
  std::vector<RequestRecord> records;
  PipelineCounters counters;
  std::atomic<int> done_calls{0};
  WithinSeconds(20, [&] {
    Pipeline pipeline(TwoProcessors(), cache, Argmax, PipelineOptions{.max_in_flight = 8});
    pipeline.OnDone([&](const RequestRecord&) { ++done_calls; });
    pipeline.SetRoutes({Route({0, 1, 2}, {0, 1, 0})});
    int accepted = 0;
    for (int i = 0; i < 10'000; ++i)
      accepted += pipeline.Submit(0, i, Input(i), Clock::now()) ? 1 : 0;
    pipeline.WaitIdle();
    counters = pipeline.Counters();
    records = pipeline.TakeRecords();
    EXPECT_EQ(accepted, counters.completed + counters.failed);
  });
  EXPECT_EQ(counters.submitted, 10'000);
  ExpectAccounted(counters, records);
  EXPECT_GT(counters.dropped, 0);
  EXPECT_GT(counters.completed, 0);
  EXPECT_EQ(counters.failed, 0);
  EXPECT_EQ(done_calls.load(), 10'000);
  for (const RequestRecord& r : records) {
    if (r.outcome == Outcome::kDropped)
      EXPECT_NE(r.reason.find("admission full"), std::string::npos) << r.reason;
    else
      ExpectRan(r, Route({0, 1, 2}, {0, 1, 0}));
  }
}

TEST(PipelineTest, InjectedFaultIsReroutedToTheSurvivorWithoutLosingRequests) {
  TimedFakeStages stages(kStages, 100us);
  preload::StageCache cache(stages.Source(), 0);
  const std::vector<std::optional<TaskRoute>> before = {Route({0, 1, 2}, {0, 1, 0}),
                                                        Route({2, 2, 2}, {1, 1, 1})};
  const std::vector<std::optional<TaskRoute>> after = {Route({0, 1, 2}, {1, 1, 1}),
                                                       Route({2, 2, 2}, {1, 1, 1})};
  std::vector<RequestRecord> records;
  PipelineCounters counters;
  std::vector<bool> alive;
  std::atomic<int> fault_calls{0};
  int failed_processor = -1;
  std::string fault_error;
  WithinSeconds(20, [&] {
    Pipeline pipeline(TwoProcessors(), cache, Argmax, {},
                      FailingStages(RunAsIs(), InjectedFault{0, 20.0}));
    pipeline.OnProcessorFailed([&](int processor, const std::string& error) {
      failed_processor = processor;
      fault_error = error;
      pipeline.SetRoutes(after);  // the re-plan, from the failing worker's thread
      ++fault_calls;
    });
    pipeline.SetRoutes(before);
    // Keep requests coming until the fault has been handled, then a few more.
    int extra = 0;
    for (int i = 0; i < 20'000 && extra < 50; ++i) {
      pipeline.Submit(i % 2, i, Input(i), Clock::now());
      if (fault_calls.load() > 0)
        ++extra;
      std::this_thread::sleep_for(200us);
    }
    pipeline.WaitIdle();
    counters = pipeline.Counters();
    records = pipeline.TakeRecords();
    alive = pipeline.Alive();
  });
  ASSERT_EQ(fault_calls.load(), 1);
  EXPECT_EQ(failed_processor, 0);
  EXPECT_NE(fault_error.find("injected fault"), std::string::npos) << fault_error;
  EXPECT_EQ(alive, (std::vector<bool>{false, true}));
  ExpectAccounted(counters, records);
  EXPECT_EQ(counters.failed, 0);
  EXPECT_GE(counters.rerun, 1);  // at least the request the fault cut
  int reruns = 0;
  for (const RequestRecord& r : records) {
    if (r.outcome != Outcome::kCompleted)
      continue;
    ASSERT_TRUE(r.route_epoch == 1 || r.route_epoch == 2) << r.route_epoch;
    ExpectRan(r, *(r.route_epoch == 1 ? before : after)[r.task]);
    reruns += r.attempts - 1;
    if (r.attempts > 1) {
      EXPECT_EQ(r.route_epoch, 2);
    }
  }
  EXPECT_EQ(reruns, counters.rerun);
}

// Request A is on p1 (route p0 -> p1 -> p0) when B's stage fails p0 and the callback re-plans;
// A then meets the dead p0 on its old route and must restart on the new one, not wait forever.
TEST(PipelineTest, RequestStillOnItsOldRouteRestartsOnTheNewOne) {
  TimedFakeStages stages(kStages, 20ms);
  preload::StageCache cache(stages.Source(), 0);
  const std::vector<std::optional<TaskRoute>> after = {Route({1, 1, 1}, {1, 1, 1}),
                                                       Route({0, 0, 0}, {1, 1, 1})};
  std::vector<RequestRecord> records;
  PipelineCounters counters;
  WithinSeconds(10, [&] {
    Pipeline pipeline(TwoProcessors(), cache, Argmax);
    pipeline.OnProcessorFailed([&](int, const std::string&) { pipeline.SetRoutes(after); });
    pipeline.SetRoutes({Route({1, 1, 1}, {0, 1, 0}), Route({0, 0, 0}, {0, 0, 0})});
    pipeline.Submit(0, 0, Input(0), Clock::now());  // A
    while (stages.runs.load() < 2)                  // A's stage 2 has started on p1
      std::this_thread::sleep_for(1ms);
    stages.FailOn(0);
    pipeline.Submit(1, 1, Input(1), Clock::now());  // B fails p0
    pipeline.WaitIdle();
    counters = pipeline.Counters();
    records = pipeline.TakeRecords();
  });
  ExpectAccounted(counters, records);
  EXPECT_EQ(counters.completed, 2);
  EXPECT_EQ(counters.rerun, 2);
  for (const RequestRecord& r : records) {
    EXPECT_EQ(r.attempts, 2);
    EXPECT_EQ(r.route_epoch, 2);
    ExpectRan(r, *after[r.task]);
  }
}

TEST(PipelineTest, ParkedRequestsFailAtDestructionWhenNobodyReroutes) {
  TimedFakeStages stages(kStages, 50us);
  preload::StageCache cache(stages.Source(), 0);
  std::mutex mutex;
  std::vector<RequestRecord> done;  // from OnDone: records made by the destructor are here too
  std::atomic<int> fault_calls{0};
  std::vector<bool> alive;
  PipelineCounters counters_before_stop;
  WithinSeconds(10, [&] {
    Pipeline pipeline(TwoProcessors(), cache, Argmax);
    pipeline.OnDone([&](const RequestRecord& r) {
      std::lock_guard lock(mutex);
      done.push_back(r);
    });
    pipeline.OnProcessorFailed([&](int, const std::string&) { ++fault_calls; });
    pipeline.SetRoutes({Route({0, 1, 2}, {0, 1, 0})});
    for (int i = 0; i < 10; ++i)
      pipeline.Submit(0, i, Input(i), Clock::now());
    pipeline.WaitIdle();
    stages.FailOn(1);  // the engine throws on p1 from now on
    for (int i = 10; i < 20; ++i)
      pipeline.Submit(0, i, Input(i), Clock::now());
    while (fault_calls.load() == 0)
      std::this_thread::sleep_for(1ms);
    for (int i = 20; i < 25; ++i)  // hand-overs to the dead processor park too
      pipeline.Submit(0, i, Input(i), Clock::now());
    alive = pipeline.Alive();
    counters_before_stop = pipeline.Counters();
  });
  EXPECT_EQ(fault_calls.load(), 1);
  EXPECT_EQ(alive, (std::vector<bool>{true, false}));
  EXPECT_EQ(counters_before_stop.submitted, 25);
  EXPECT_EQ(counters_before_stop.completed, 10);
  ASSERT_EQ(done.size(), 25u);
  std::set<std::int64_t> ids;
  int failed = 0;
  for (const RequestRecord& r : done) {
    ids.insert(r.id);
    if (r.id < 10) {
      EXPECT_EQ(r.outcome, Outcome::kCompleted);
      continue;
    }
    ++failed;
    EXPECT_EQ(r.outcome, Outcome::kFailed);
    EXPECT_NE(r.reason.find("never re-routed"), std::string::npos) << r.reason;
  }
  EXPECT_EQ(ids.size(), 25u);
  EXPECT_EQ(failed, 15);
}

TEST(PipelineTest, RequestsFailWhenNoProcessorIsLeft) {
  TimedFakeStages stages(kStages, 0us);
  stages.FailOn(0);
  stages.FailOn(1);
  preload::StageCache cache(stages.Source(), 0);
  std::vector<RequestRecord> records;
  PipelineCounters counters;
  std::vector<bool> alive;
  std::atomic<int> fault_calls{0};
  WithinSeconds(10, [&] {
    Pipeline pipeline(TwoProcessors(), cache, Argmax);
    pipeline.OnProcessorFailed([&](int processor, const std::string&) {
      ++fault_calls;
      if (processor == 0)
        pipeline.SetRoutes({Route({0, 0, 0}, {1, 1, 1})});
    });
    pipeline.SetRoutes({Route({0, 0, 0}, {0, 0, 0})});
    EXPECT_TRUE(pipeline.Submit(0, 0, Input(0), Clock::now()));
    pipeline.WaitIdle();  // p0 fails, re-route to p1, p1 fails: nothing is left
    for (int i = 1; i < 4; ++i)
      EXPECT_TRUE(pipeline.Submit(0, i, Input(i), Clock::now()));
    pipeline.WaitIdle();
    EXPECT_THROW(pipeline.SetRoutes({Route({0, 0, 0}, {1, 1, 1})}), UsageError);
    counters = pipeline.Counters();
    records = pipeline.TakeRecords();
    alive = pipeline.Alive();
  });
  EXPECT_EQ(fault_calls.load(), 2);
  EXPECT_EQ(alive, (std::vector<bool>{false, false}));
  ExpectAccounted(counters, records);
  EXPECT_EQ(counters.failed, 4);
  EXPECT_EQ(counters.completed, 0);
  EXPECT_EQ(counters.rerun, 1);
  for (const RequestRecord& r : records)
    EXPECT_NE(r.reason.find("no processor is alive"), std::string::npos) << r.reason;
}

TEST(PipelineTest, RequestFailsOnceItsAttemptsAreUsedUp) {
  TimedFakeStages stages(kStages, 0us);
  preload::StageCache cache(stages.Source(), 0);
  std::vector<RequestRecord> records;
  PipelineCounters counters;
  WithinSeconds(10, [&] {
    PipelineOptions options;
    options.max_attempts = 1;
    Pipeline pipeline(TwoProcessors(), cache, Argmax, options,
                      FailingStages(RunAsIs(), InjectedFault{0, 0.0}));
    pipeline.OnProcessorFailed([&](int, const std::string&) {
      pipeline.SetRoutes({Route({1, 1, 1}, {1, 1, 1})});
    });
    pipeline.SetRoutes({Route({1, 1, 1}, {0, 0, 0})});
    pipeline.Submit(0, 0, Input(0), Clock::now());
    pipeline.WaitIdle();  // includes the callback's re-plan
    for (int i = 1; i < 6; ++i)
      pipeline.Submit(0, i, Input(i), Clock::now());
    pipeline.WaitIdle();
    counters = pipeline.Counters();
    records = pipeline.TakeRecords();
  });
  ExpectAccounted(counters, records);
  EXPECT_EQ(counters.failed, 1);
  EXPECT_EQ(counters.completed, 5);
  EXPECT_EQ(counters.rerun, 0);
  for (const RequestRecord& r : records) {
    if (r.id == 0) {
      EXPECT_EQ(r.outcome, Outcome::kFailed);
      EXPECT_NE(r.reason.find("max_attempts"), std::string::npos) << r.reason;
    } else {
      ExpectRan(r, Route({1, 1, 1}, {1, 1, 1}));
    }
  }
}

// A stage that refuses one request's values (engine::RequestRejected, e.g. a token id outside the
// embedding table) fails that request alone: its processor stays in service, nothing re-plans.
TEST(PipelineTest, RejectedRequestFailsAloneAndItsProcessorStaysInService) {
  TimedFakeStages stages(kStages, 0us);
  preload::StageCache cache(stages.Source(), 0);
  std::vector<RequestRecord> records;
  PipelineCounters counters;
  std::vector<bool> alive;
  std::atomic<int> fault_calls{0};
  const StageRunner refuse_negative = [inner = RunAsIs()](engine::LoadedStage& stage,
                                                          const StageWork& work, int processor,
                                                          double now_ms, const engine::Tensor& x,
                                                          std::span<const engine::Tensor> side) {
    if (work.stage == 1 && ValueOf(x) < 0.0)
      throw engine::RequestRejected("index out of range in self");
    return inner(stage, work, processor, now_ms, x, side);
  };
  WithinSeconds(10, [&] {
    Pipeline pipeline(TwoProcessors(), cache, Argmax, PipelineOptions{}, refuse_negative);
    pipeline.OnProcessorFailed([&](int, const std::string&) { ++fault_calls; });
    pipeline.SetRoutes({Route({0, 0, 0}, {0, 0, 0})});
    RequestInput bad = Input(0);
    bad.input = MakeFake({1, 4}, -1e9);  // still negative after stage 1 adds its offset
    EXPECT_TRUE(pipeline.Submit(0, 0, bad, Clock::now()));
    pipeline.WaitIdle();
    for (int i = 1; i < 4; ++i)
      EXPECT_TRUE(pipeline.Submit(0, i, Input(i), Clock::now()));
    pipeline.WaitIdle();
    counters = pipeline.Counters();
    records = pipeline.TakeRecords();
    alive = pipeline.Alive();
  });
  EXPECT_EQ(fault_calls.load(), 0);
  EXPECT_EQ(alive, (std::vector<bool>{true, true}));
  ExpectAccounted(counters, records);
  EXPECT_EQ(counters.failed, 1);
  EXPECT_EQ(counters.completed, 3);
  EXPECT_EQ(counters.rerun, 0);
  for (const RequestRecord& r : records) {
    if (r.id == 0) {
      EXPECT_EQ(r.outcome, Outcome::kFailed);
      EXPECT_NE(r.reason.find("stage 2 refused the request: index out of range"), std::string::npos)
          << r.reason;
    } else {
      ExpectRan(r, Route({0, 0, 0}, {0, 0, 0}));
    }
  }
}

TEST(PipelineTest, ClosedLoopSubmitsFromOnDoneWithoutDeadlock) {
  TimedFakeStages stages(kStages, 50us);
  preload::StageCache cache(stages.Source(), 0);
  constexpr int kClients = 4;
  constexpr int kTotal = 400;
  PipelineCounters counters;
  std::vector<RequestRecord> records;
  WithinSeconds(20, [&] {
    Pipeline pipeline(TwoProcessors(), cache, Argmax, PipelineOptions{.max_in_flight = kClients});
    std::atomic<int> issued{0};
    pipeline.OnDone([&](const RequestRecord& r) {
      if (r.outcome != Outcome::kCompleted)
        return;
      const int next = issued.fetch_add(1);
      if (next < kTotal)
        pipeline.Submit(r.task, next, Input(next), Clock::now());
    });
    pipeline.SetRoutes({Route({0, 1, 2}, {0, 1, 0}), Route({2, 1, 0}, {1, 0, 1})});
    for (int c = 0; c < kClients; ++c) {
      const int next = issued.fetch_add(1);
      pipeline.Submit(c % 2, next, Input(next), Clock::now());
    }
    while (pipeline.Counters().completed < kTotal)
      std::this_thread::sleep_for(1ms);
    pipeline.WaitIdle();
    counters = pipeline.Counters();
    records = pipeline.TakeRecords();
  });
  ExpectAccounted(counters, records);
  // A finished request leaves admission before its callback, so the next one always gets in.
  EXPECT_EQ(counters.dropped, 0);
  EXPECT_EQ(counters.completed, kTotal);
}

TEST(PipelineTest, StressThreeTasksTwoProcessorsWithReplans) {
  TimedFakeStages stages(kStages, 20us);
  preload::StageCache cache(stages.Source(), 0);
  // Odd epochs run plan A, even epochs plan B (the processors swapped).
  const std::vector<std::optional<TaskRoute>> plan_a = {
      Route({0, 1, 2}, {0, 1, 0}), Route({1, 1, 1}, {1, 0, 1}), Route({2, 2, 0}, {0, 0, 0})};
  const std::vector<std::optional<TaskRoute>> plan_b = {
      Route({0, 1, 2}, {1, 0, 1}), Route({1, 1, 1}, {0, 1, 0}), Route({2, 2, 0}, {1, 1, 1})};
  constexpr int kPerTask = 1500;
  PipelineCounters counters;
  std::vector<RequestRecord> records;
  std::atomic<int> done_calls{0};
  WithinSeconds(30, [&] {
    Pipeline pipeline(TwoProcessors(), cache, Argmax, PipelineOptions{.max_in_flight = 16});
    pipeline.OnDone([&](const RequestRecord&) { ++done_calls; });
    pipeline.SetRoutes(plan_a);
    std::atomic<bool> submitting{true};
    std::thread replanner([&] {
      for (int i = 0; i < 40 && submitting.load(); ++i) {
        std::this_thread::sleep_for(5ms);
        pipeline.SetRoutes(i % 2 == 0 ? plan_b : plan_a);
      }
    });
    std::vector<std::thread> submitters;
    for (int t = 0; t < 3; ++t) {
      submitters.emplace_back([&pipeline, t] {
        for (int i = 0; i < kPerTask; ++i) {
          pipeline.Submit(t, i, Input(i), Clock::now());
          std::this_thread::sleep_for(200us);
        }
      });
    }
    for (auto& s : submitters)
      s.join();
    submitting = false;
    replanner.join();
    pipeline.WaitIdle();
    counters = pipeline.Counters();
    records = pipeline.TakeRecords();
  });
  RecordProperty("completed", static_cast<int>(counters.completed));
  RecordProperty("epochs", records.empty() ? 0 : records.back().route_epoch);
  EXPECT_EQ(counters.submitted, 3 * kPerTask);
  ExpectAccounted(counters, records);
  EXPECT_EQ(done_calls.load(), 3 * kPerTask);
  EXPECT_EQ(counters.failed, 0);
  EXPECT_GT(counters.completed, 0);
  for (const RequestRecord& r : records) {
    if (r.outcome == Outcome::kCompleted)
      ExpectRan(r, *(r.route_epoch % 2 == 1 ? plan_a : plan_b)[r.task]);
  }
}

// --- Chrome trace ---

TraceNames Names() {
  TraceNames names;
  names.tasks = {"image", "text"};
  names.processors = {"p0", "p1"};
  names.variant_ids = {{"dense", "us50", "int8"}, {"dense", "bf16", "int8"}};
  return names;
}

nlohmann::json ReadJson(const std::filesystem::path& file) {
  std::ifstream in(file);
  return nlohmann::json::parse(in);  // throws on invalid JSON
}

std::filesystem::path TracePath(const std::string& name) {
  return std::filesystem::path(::testing::TempDir()) /
         ("sparseloom_" + name + "_" + std::to_string(::getpid()) + ".json");
}

TEST(TraceTest, OneCompleteEventPerStageSpanWithNamesAndMicroseconds) {
  RequestRecord done;
  done.id = 7;
  done.task = 0;
  done.stages = {{0, 2, 0, 1.0, 1.5, 3.0, 0.25}, {1, 0, 1, 3.0, 3.0, 4.0, 0.0}};
  RequestRecord dropped;
  dropped.id = 8;
  dropped.task = 1;
  dropped.outcome = Outcome::kDropped;
  dropped.reason = "admission full";
  dropped.end_ms = 2.0;
  const auto file = TracePath("trace_unit");
  WriteChromeTrace(file, {done, dropped}, Names(), "sparseloom");
  const nlohmann::json trace = ReadJson(file);
  std::filesystem::remove(file);

  std::vector<nlohmann::json> complete, instant;
  std::map<int, std::string> thread_names;
  std::string process_name;
  for (const auto& e : trace.at("traceEvents")) {
    const std::string ph = e.at("ph");
    if (ph == "X")
      complete.push_back(e);
    else if (ph == "i")
      instant.push_back(e);
    else if (ph == "M" && e.at("name") == "process_name")
      process_name = e.at("args").at("name");
    else if (ph == "M" && e.at("name") == "thread_name")
      thread_names[e.at("tid").get<int>()] = e.at("args").at("name");
  }
  EXPECT_EQ(process_name, "sparseloom");
  EXPECT_EQ(thread_names.at(0), "p0");
  EXPECT_EQ(thread_names.at(1), "p1");
  ASSERT_EQ(complete.size(), 2u);
  EXPECT_EQ(complete[0].at("name"), "image s1 int8");
  EXPECT_EQ(complete[0].at("tid"), 0);
  EXPECT_DOUBLE_EQ(complete[0].at("ts").get<double>(), 1500.0);
  EXPECT_DOUBLE_EQ(complete[0].at("dur").get<double>(), 1500.0);
  EXPECT_EQ(complete[0].at("args").at("request"), 7);
  EXPECT_DOUBLE_EQ(complete[0].at("args").at("queued_ms").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(complete[0].at("args").at("load_ms").get<double>(), 0.25);
  EXPECT_EQ(complete[1].at("name"), "image s2 dense");
  EXPECT_EQ(complete[1].at("tid"), 1);
  ASSERT_EQ(instant.size(), 1u);
  EXPECT_EQ(instant[0].at("args").at("request"), 8);
  EXPECT_EQ(instant[0].at("args").at("reason"), "admission full");
}

TEST(TraceTest, NamesMissingForARecordAreAnError) {
  RequestRecord r;
  r.task = 0;
  r.stages = {{0, 5, 0, 0.0, 0.0, 1.0, 0.0}};  // variant 5: task 0 has three
  const auto file = TracePath("trace_bad");
  EXPECT_THROW(WriteChromeTrace(file, {r}, Names(), "x"), UsageError);
  r.stages[0].variant = 0;
  r.task = 2;
  EXPECT_THROW(WriteChromeTrace(file, {r}, Names(), "x"), UsageError);
  EXPECT_FALSE(std::filesystem::exists(file));
}

TEST(TraceTest, TraceOfARealRunHasEveryStageSpan) {
  TimedFakeStages stages(kStages, 50us);
  preload::StageCache cache(stages.Source(), 0);
  std::vector<RequestRecord> records;
  WithinSeconds(10, [&] {
    Pipeline pipeline(TwoProcessors(), cache, Argmax, PipelineOptions{.max_in_flight = 4});
    pipeline.SetRoutes({Route({0, 1, 2}, {0, 1, 0}), Route({2, 1, 0}, {1, 1, 0})});
    for (int i = 0; i < 50; ++i)
      pipeline.Submit(i % 2, i, Input(i), Clock::now());
    pipeline.WaitIdle();
    records = pipeline.TakeRecords();
  });
  std::size_t spans = 0, not_completed = 0;
  for (const RequestRecord& r : records) {
    spans += r.stages.size();
    not_completed += r.outcome == Outcome::kCompleted ? 0 : 1;
  }
  const auto file = TracePath("trace_run");
  WriteChromeTrace(file, records, Names(), "run");
  const nlohmann::json trace = ReadJson(file);
  std::filesystem::remove(file);
  std::size_t complete = 0, instant = 0;
  for (const auto& e : trace.at("traceEvents")) {
    complete += e.at("ph") == "X" ? 1 : 0;
    instant += e.at("ph") == "i" ? 1 : 0;
    if (e.at("ph") == "X") {
      EXPECT_GE(e.at("dur").get<double>(), 0.0);
    }
  }
  EXPECT_EQ(complete, spans);
  EXPECT_EQ(instant, not_completed);
}

}  // namespace
}  // namespace sparseloom::runtime
