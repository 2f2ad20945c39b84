#include "sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <optional>
#include <queue>
#include <utility>

#include "common/error.h"
#include "runtime/phase_planning.h"
#include "runtime/request_flow.h"
#include "runtime/workload.h"
#include "sim/cost_model.h"

namespace sparseloom::sim {
namespace {

// A stage as the simulator holds it: bytes in the cache, no computation.
class SimulatedStage final : public engine::LoadedStage {
 public:
  explicit SimulatedStage(std::int64_t bytes) : bytes_(bytes) {}
  engine::Tensor Run(const engine::Tensor&, std::span<const engine::Tensor>) override {
    throw UsageError("a simulated stage has no computation to run");
  }
  std::int64_t ResidentBytes() const override { return bytes_; }
  const std::filesystem::path& File() const override { return file_; }

 private:
  std::int64_t bytes_;
  std::filesystem::path file_;
};

std::int64_t BytesOf(const std::vector<SimTask>& tasks, const runtime::StageKey& key) {
  const plan::TaskProfile& p = *tasks[static_cast<std::size_t>(key.task)].profile;
  return p.stage_bytes[static_cast<std::size_t>(key.stage * p.num_variants() + key.variant)];
}

enum class EventKind { kStageEnd = 0, kArrival = 1 };

struct Event {
  double t = 0.0;
  std::uint64_t seq = 0;  // ties: in the order scheduled
  EventKind kind = EventKind::kStageEnd;
  int index = 0;  // processor (stage end) or task (arrival)
};
struct Later {
  bool operator()(const Event& a, const Event& b) const {
    return a.t != b.t ? a.t > b.t : a.seq > b.seq;
  }
};

// A processor of the simulated device: idle, or running one stage until its end event.
struct SimProcessor {
  bool busy = false;
  runtime::StageWork work;
  double start_ms = 0.0;
  double load_ms = 0.0;
};

}  // namespace

Simulator::Simulator(std::vector<SimTask> tasks, std::vector<std::string> processors,
                     std::int64_t cache_budget_bytes)
    : tasks_(std::move(tasks)), processors_(std::move(processors)) {
  if (tasks_.empty())
    throw UsageError("simulator: expected at least one task, got none");
  if (processors_.empty())
    throw UsageError("simulator: expected at least one processor, got none");
  if (cache_budget_bytes < 0)
    throw UsageError("simulator: the cache budget must be >= 0 bytes, got " +
                     std::to_string(cache_budget_bytes));
  for (const SimTask& t : tasks_) {
    if (t.profile == nullptr)
      throw UsageError("simulator: task '" + t.name + "' has no profile");
    if (t.profile->processors != processors_)
      throw UsageError("simulator: task '" + t.name +
                       "': its profile's processors differ from the simulator's");
    const std::size_t K = static_cast<std::size_t>(t.profile->num_stages);
    const std::size_t V = static_cast<std::size_t>(t.profile->num_variants());
    if (K == 0 || V == 0 || t.profile->stage_latency_ms.size() != K * V * processors_.size() ||
        t.profile->stage_bytes.size() != K * V ||
        t.profile->handover_ms.size() != processors_.size() * processors_.size())
      throw UsageError("simulator: task '" + t.name +
                       "': its profile's stage latencies, bytes or hand-overs have the wrong size");
    if (!(t.rate_per_s >= 0.0) || !std::isfinite(t.rate_per_s))
      throw UsageError("simulator: task '" + t.name + "': rate_per_s must be finite and >= 0");
    if (t.num_samples < 1)
      throw UsageError("simulator: task '" + t.name + "': num_samples must be >= 1");
    served_.push_back(runtime::ServedTask{t.name, t.profile, nullptr, t.rate_per_s});
  }
  runtime::StageSource source;
  source.load = [this](const runtime::StageKey& key) -> std::unique_ptr<engine::LoadedStage> {
    return std::make_unique<SimulatedStage>(BytesOf(tasks_, key));
  };
  source.expected_bytes = [this](const runtime::StageKey& key) { return BytesOf(tasks_, key); };
  cache_ = std::make_unique<runtime::StageCache>(std::move(source), cache_budget_bytes);
}

Simulator::~Simulator() = default;

std::vector<plan::Plan> Simulator::PlanPhases(const plan::Planner& planner,
                                              const runtime::Episode& episode,
                                              const runtime::ServeOptions& options) const {
  std::vector<plan::Plan> plans;
  for (runtime::PhasePlan& phase : runtime::PlanEpisode(
           served_, static_cast<int>(processors_.size()), planner, episode, options))
    plans.push_back(std::move(phase.plan));
  return plans;
}

int Simulator::Warm(const plan::Planner& planner, const std::vector<runtime::Episode>& episodes,
                    const runtime::ServeOptions& options) {
  return cache_->Preload(runtime::KeysOfEpisodes(served_, static_cast<int>(processors_.size()),
                                                 planner, episodes, options));
}

int Simulator::PreloadHottest(const std::vector<runtime::Episode>& episodes,
                              const runtime::ServeOptions& options) {
  const auto hotness =
      runtime::HotnessOfEpisodes(served_, static_cast<int>(processors_.size()), episodes, options);
  cache_->SetHotness(runtime::ScoresOf(hotness));
  return cache_->Preload(runtime::PreloadSet(
      hotness, [this](const runtime::StageKey& key) { return BytesOf(tasks_, key); },
      cache_->budget_bytes()));
}

runtime::StageCacheStats Simulator::CacheStats() const {
  return cache_->Stats();
}

runtime::EpisodeReport Simulator::RunEpisode(const plan::Planner& planner,
                                             const runtime::Episode& episode,
                                             const SimOptions& options) {
  const runtime::ServeOptions& serve = options.serve;
  runtime::CheckEpisodeOptions(episode, serve, tasks_.size());
  const int P = static_cast<int>(processors_.size());
  if (serve.pipeline.fault_processor >= P)
    throw UsageError("pipeline: fault_processor " + std::to_string(serve.pipeline.fault_processor) +
                     " is out of range (" + std::to_string(P) + " processors)");

  runtime::EpisodeReport report;
  report.planner = planner.Name();
  report.episode = episode;

  runtime::FlowOptions flow_options;
  flow_options.max_in_flight = serve.pipeline.max_in_flight;
  flow_options.max_attempts = serve.pipeline.max_attempts;
  flow_options.earliest_deadline_first = serve.pipeline.earliest_deadline_first;
  flow_options.keep_stage_spans = options.keep_stage_spans;
  runtime::RequestFlow flow(processors_, flow_options);

  std::priority_queue<Event, std::vector<Event>, Later> events;
  std::uint64_t seq = 0;
  auto schedule = [&](double t, EventKind kind, int index) {
    events.push(Event{t, seq++, kind, index});
  };
  std::vector<SimProcessor> sim(static_cast<std::size_t>(P));
  std::vector<int> present;
  std::vector<plan::TaskProfile> restricted;
  bool admitting = true;
  double now = 0.0;
  runtime::FlowEvents ev;

  const std::uint64_t episode_seed = runtime::Mix(serve.seed, runtime::HashOf(episode.name));
  std::vector<runtime::SampleSequence> samples;
  for (std::size_t t = 0; t < tasks_.size(); ++t)
    samples.emplace_back(tasks_[t].num_samples, runtime::Mix(episode_seed, 2 * t));

  auto replan = [&](bool count_as_replan) {
    const std::vector<bool> alive = flow.Alive();
    if (std::none_of(alive.begin(), alive.end(), [](bool a) { return a; }))
      return;
    const runtime::PhasePlan phase =
        runtime::PlanFor(served_, present, episode.slos, alive, planner, serve, restricted);
    flow.SetRoutes(runtime::RoutesOf(phase, served_, episode.slos), now, ev);
    runtime::RecordPlan(phase, tasks_.size(), count_as_replan, report.phases.back());
  };

  // The processor's next stage, when it is idle and has one: its time is the profile's latency,
  // plus the hand-over from another processor, the stitch gap after the last stage and the load
  // of a stage that was not resident.
  std::vector<int> to_start;
  auto try_start = [&](int p) {
    SimProcessor& proc = sim[static_cast<std::size_t>(p)];
    if (proc.busy || !flow.alive(p))
      return;
    std::optional<runtime::StageWork> work = flow.Next(p);
    if (!work)
      return;
    if (serve.pipeline.fault_processor == p && serve.pipeline.fault_after_ms >= 0 &&
        now >= serve.pipeline.fault_after_ms) {
      cache_->EvictUnused([p](const runtime::StageKey& s) { return s.processor == p; });
      flow.ProcessorFailed(*work, p,
                           "task " + std::to_string(work->task) + " stage " +
                               std::to_string(work->stage + 1) + " variant " +
                               std::to_string(work->variant) + " on processor '" +
                               processors_[static_cast<std::size_t>(p)] + "': injected fault",
                           now, ev);
      return;
    }
    const plan::TaskProfile& profile = *tasks_[static_cast<std::size_t>(work->task)].profile;
    const std::size_t V = static_cast<std::size_t>(profile.num_variants());
    const std::size_t kv =
        static_cast<std::size_t>(work->stage) * V + static_cast<std::size_t>(work->variant);
    double ms =
        profile.stage_latency_ms[kv * static_cast<std::size_t>(P) + static_cast<std::size_t>(p)];
    if (work->from_processor >= 0 && work->from_processor != p)
      ms += profile.handover_ms[static_cast<std::size_t>(work->from_processor * P + p)];
    if (work->last && !profile.stitch_gap_ms.empty()) {
      std::int64_t s = 0;
      for (int v : work->route->variant_of_stage)
        s = s * static_cast<std::int64_t>(V) + v;
      ms = std::max(0.0, ms + profile.stitch_gap_ms[static_cast<std::size_t>(s)]);
    }
    // Resident for an instant only: a lease held for the stage's virtual duration could leave a
    // single-threaded loop waiting for room forever under a budget smaller than P stages.
    const double load_ms =
        cache_->Touch(runtime::StageKey{work->task, work->stage, work->variant, p})
            ? LoadTimeMs(options.storage, profile.stage_bytes[kv])
            : 0.0;
    proc.busy = true;
    proc.work = *work;
    proc.start_ms = now;
    proc.load_ms = load_ms;
    schedule(now + load_ms + ms, EventKind::kStageEnd, p);
  };

  auto submit = [&](int t, double arrival_ms) {
    const std::int64_t sample = samples[static_cast<std::size_t>(t)].Next();
    flow.Admit(t, sample, -1, arrival_ms, now, !admitting, ev);
  };

  // Acts on what the flow produced until nothing is left: fault notices re-plan first (as the
  // real server's callback does), then records are kept (a closed loop resubmits on completion),
  // then idle processors given work start it.
  // Records by id: ids are given at admission, 0, 1, ..., and every request ends as one record.
  std::vector<runtime::RequestRecord>& records = report.records;
  auto keep = [&](runtime::RequestRecord& record) {
    const std::size_t id = static_cast<std::size_t>(record.id);
    if (id >= records.size())
      records.resize(std::max(id + 1, 2 * records.size()));
    records[id] = std::move(record);
  };
  std::vector<std::pair<int, std::string>> failed;
  std::vector<runtime::RequestRecord> done;
  std::vector<int> woken;
  auto settle = [&] {
    while (!ev.empty() || !to_start.empty()) {
      // Swapped, not moved: the buffers keep their capacity from one event to the next.
      failed.swap(ev.failed);
      done.swap(ev.done);
      woken.swap(ev.woken);
      ev.clear();
      for (std::size_t i = 0; i < failed.size(); ++i)
        replan(true);
      for (runtime::RequestRecord& record : done) {
        const bool resubmit = serve.arrivals == runtime::ArrivalKind::kClosedLoop && admitting &&
                              record.outcome == runtime::Outcome::kCompleted;
        const int task = record.task;
        keep(record);
        if (resubmit)
          submit(task, now);
      }
      for (int p : woken)
        to_start.push_back(p);
      for (int p : to_start)
        try_start(p);
      to_start.clear();
      failed.clear();
      done.clear();
      woken.clear();
    }
  };

  auto handle = [&](const Event& e) {
    now = e.t;
    if (e.kind == EventKind::kStageEnd) {
      SimProcessor& proc = sim[static_cast<std::size_t>(e.index)];
      proc.busy = false;
      flow.Completed(proc.work, e.index, proc.start_ms, now, proc.load_ms, -1, ev);
      to_start.push_back(e.index);
    } else {
      submit(e.index, now);
    }
    settle();
  };

  const double phase_ms = 1000.0 * serve.phase_s;
  std::vector<std::optional<runtime::PoissonArrivals>> arrivals(tasks_.size());
  // Every event before `t`, in time order; an arrival schedules its task's next one.
  auto run_until = [&](double t) {
    while (!events.empty() && events.top().t < t) {
      const Event e = events.top();
      events.pop();
      if (e.kind == EventKind::kArrival)
        schedule(e.t + 1000.0 * arrivals[static_cast<std::size_t>(e.index)]->NextGapS(),
                 EventKind::kArrival, e.index);
      handle(e);
    }
  };
  for (std::size_t i = 0; i < episode.order.size(); ++i) {
    const int joining = episode.order[i];
    const double phase_start = static_cast<double>(i) * phase_ms;
    const double phase_end = phase_start + phase_ms;
    // Everything before the phase's start happens first, then the re-plan at its start.
    run_until(phase_start);
    now = phase_start;
    present.push_back(joining);
    runtime::PhaseReport phase;
    phase.phase = static_cast<int>(i);
    phase.tasks = present;
    phase.start_ms = phase_start;
    report.phases.push_back(std::move(phase));
    replan(false);
    settle();
    const std::size_t j = static_cast<std::size_t>(joining);
    if (serve.arrivals == runtime::ArrivalKind::kClosedLoop) {
      for (int w = 0; w < serve.closed_loop_window; ++w)
        submit(joining, now);
      settle();
    } else if (tasks_[j].rate_per_s > 0.0) {
      arrivals[j].emplace(tasks_[j].rate_per_s * serve.rate_scale,
                          runtime::Mix(episode_seed, 2 * j + 1));
      schedule(phase_start + 1000.0 * arrivals[j]->NextGapS(), EventKind::kArrival,
               static_cast<int>(joining));
    }
    run_until(phase_end);
    now = phase_end;
    report.phases.back().end_ms = phase_end;
  }
  // Admission closes with the last phase; what is in flight runs to its end.
  admitting = false;
  while (!events.empty()) {
    const Event e = events.top();
    events.pop();
    if (e.kind == EventKind::kArrival)
      continue;  // beyond the last phase
    handle(e);
  }
  if (flow.parked() > 0) {
    flow.FailParked(
        "parked after a processor fault and never re-routed before the pipeline stopped", now, ev);
    settle();
  }
  report.duration_ms = now;
  report.counters = flow.counters();
  records.resize(static_cast<std::size_t>(report.counters.submitted));
  report.phase_of_record = runtime::PhaseOfRecords(records, report.phases);
  return report;
}

}  // namespace sparseloom::sim
