#include "runtime/slo_changes.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <string>

#include "common/error.h"

namespace sparseloom::runtime {
namespace {

constexpr std::array<Tightness, 3> kGrid = {Tightness::kTight, Tightness::kMedium,
                                            Tightness::kLoose};

bool SameSlo(const plan::Slo& a, const plan::Slo& b) {
  return a.min_accuracy == b.min_accuracy && a.max_latency_ms == b.max_latency_ms;
}

bool PresentIn(const Episode& episode, int phase, int task) {
  const auto end = episode.order.begin() + phase + 1;
  return std::find(episode.order.begin(), end, task) != end;
}

std::string Where(const Episode& episode, std::size_t i) {
  return "episode '" + episode.name + "': changes[" + std::to_string(i) + "]";
}

}  // namespace

void CheckSloChanges(const Episode& episode, double phase_ms) {
  const int phases = static_cast<int>(episode.order.size());
  for (std::size_t i = 0; i < episode.changes.size(); ++i) {
    const SloChange& c = episode.changes[i];
    if (c.phase < 0 || c.phase >= phases)
      throw UsageError(Where(episode, i) + ".phase: expected 0.." + std::to_string(phases - 1) +
                       ", got " + std::to_string(c.phase));
    if (!(c.after_ms >= 0.0 && c.after_ms < phase_ms))
      throw UsageError(Where(episode, i) + ".after_ms: expected a time in [0, " +
                       std::to_string(phase_ms) + ") ms within its phase, got " +
                       std::to_string(c.after_ms));
    if (i > 0) {
      const SloChange& p = episode.changes[i - 1];
      if (c.phase < p.phase || (c.phase == p.phase && c.after_ms < p.after_ms))
        throw UsageError(Where(episode, i) + ": expected changes in time order");
    }
    if (!PresentIn(episode, c.phase, c.task))
      throw UsageError(Where(episode, i) + ".task: task " + std::to_string(c.task) +
                       " is not present in phase " + std::to_string(c.phase));
    if (!(c.slo.min_accuracy >= 0.0 && c.slo.min_accuracy <= 1.0) ||
        !(c.slo.max_latency_ms > 0.0 && std::isfinite(c.slo.max_latency_ms)))
      throw UsageError(Where(episode, i) +
                       ".slo: expected min_accuracy in [0, 1] and a finite max_latency_ms > 0");
  }
}

std::vector<SloChange> DrawSloChanges(const std::vector<const plan::TaskProfile*>& profiles,
                                      const Episode& episode, double phase_s, double per_phase,
                                      std::uint64_t seed) {
  if (!(per_phase >= 0.0) || !std::isfinite(per_phase))
    throw UsageError("SLO changes per phase: expected a finite number >= 0, got " +
                     std::to_string(per_phase));
  std::vector<SloChange> changes;
  if (per_phase == 0.0)
    return changes;
  if (profiles.size() != episode.slos.size())
    throw UsageError("SLO changes: " + std::to_string(profiles.size()) + " profiles for " +
                     std::to_string(episode.slos.size()) + " tasks");
  struct Point {
    plan::Slo slo;
    std::string name;
  };
  std::vector<std::vector<Point>> grids;
  for (const plan::TaskProfile* profile : profiles) {
    std::vector<Point>& grid = grids.emplace_back();
    for (Tightness a : kGrid)
      for (Tightness l : kGrid)
        grid.push_back({SloAt(*profile, a, l), ToString(a) + "-acc/" + ToString(l) + "-lat"});
  }
  std::mt19937_64 rng(seed);
  PoissonArrivals times(per_phase / phase_s, seed ^ 0x9e3779b97f4a7c15ULL);
  std::vector<plan::Slo> current = episode.slos;
  const double phase_ms = 1000.0 * phase_s;
  for (std::size_t phase = 0; phase < episode.order.size(); ++phase) {
    for (double at = 1000.0 * times.NextGapS(); at < phase_ms; at += 1000.0 * times.NextGapS()) {
      const int task = episode.order[rng() % (phase + 1)];
      const std::size_t t = static_cast<std::size_t>(task);
      std::vector<const Point*> others;
      for (const Point& point : grids[t])
        if (!SameSlo(point.slo, current[t]))
          others.push_back(&point);
      if (others.empty())
        continue;  // one SLO only: nothing to move to
      const Point& to = *others[rng() % others.size()];
      changes.push_back({static_cast<int>(phase), at, task, to.slo, to.name});
      current[t] = to.slo;
    }
  }
  return changes;
}

std::vector<ServingState> StatesOf(const Episode& episode) {
  std::vector<ServingState> states;
  ServingState state;
  state.slos = episode.slos;
  std::size_t next = 0;
  for (std::size_t phase = 0; phase < episode.order.size(); ++phase) {
    state.phase = static_cast<int>(phase);
    state.change = -1;
    state.present.push_back(episode.order[phase]);
    states.push_back(state);
    for (; next < episode.changes.size() && episode.changes[next].phase == static_cast<int>(phase);
         ++next) {
      const SloChange& c = episode.changes[next];
      state.change = static_cast<int>(next);
      state.slos[static_cast<std::size_t>(c.task)] = c.slo;
      states.push_back(state);
    }
  }
  return states;
}

plan::Slo SloAskedAt(const Episode& episode, double phase_ms, int task, double ms) {
  plan::Slo asked = episode.slos.at(static_cast<std::size_t>(task));
  for (const SloChange& c : episode.changes) {
    if (static_cast<double>(c.phase) * phase_ms + c.after_ms > ms)
      break;
    if (c.task == task)
      asked = c.slo;
  }
  return asked;
}

std::vector<SloChangeReport> SloChangeReports(const Episode& episode, double phase_ms,
                                              const std::vector<PlanInstall>& installs,
                                              const std::vector<RequestRecord>& records,
                                              double end_ms) {
  const auto at_of = [&](const SloChange& c) {
    return static_cast<double>(c.phase) * phase_ms + c.after_ms;
  };
  std::vector<SloChangeReport> out;
  for (std::size_t i = 0; i < episode.changes.size(); ++i) {
    const SloChange& c = episode.changes[i];
    const std::size_t t = static_cast<std::size_t>(c.task);
    SloChangeReport r;
    r.change = c;
    const double at = at_of(c);
    // The window before starts at the task's join or its previous change.
    const auto joined = std::find(episode.order.begin(), episode.order.end(), c.task);
    double before_start = static_cast<double>(joined - episode.order.begin()) * phase_ms;
    r.from = episode.slos[t];
    double next = end_ms;
    for (std::size_t j = 0; j < episode.changes.size(); ++j) {
      if (episode.changes[j].task != c.task)
        continue;
      if (j < i) {
        r.from = episode.changes[j].slo;
        before_start = at_of(episode.changes[j]);
      } else if (j > i) {
        next = at_of(episode.changes[j]);
        break;
      }
    }
    double installed = next;
    for (const PlanInstall& install : installs) {
      if (install.at_ms < at || !SameSlo(install.slos[t], c.slo))
        continue;
      const auto it = std::find(install.present.begin(), install.present.end(), c.task);
      if (it == install.present.end())
        continue;
      r.replan_ms = install.at_ms - at;
      r.planned_ahead = install.planned_ahead;
      r.plan_meets_slo =
          install.plans[static_cast<std::size_t>(it - install.present.begin())].slo_met;
      installed = std::min(install.at_ms, next);
      break;
    }
    r.before = {0, 0, before_start, at};
    r.during = {0, 0, at, installed};
    r.after = {0, 0, installed, next};
    for (const RequestRecord& record : records) {
      if (record.task != c.task)
        continue;
      for (RequestWindow* w : {&r.before, &r.during, &r.after}) {
        if (record.arrival_ms >= w->start_ms && record.arrival_ms < w->end_ms) {
          ++w->requests;
          w->violations += record.SloMet() ? 0 : 1;
        }
      }
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace sparseloom::runtime
