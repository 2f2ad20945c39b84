#include "serve/loadgen.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "runtime/phase_planning.h"

namespace sparseloom::serve {
namespace {

using Clock = std::chrono::steady_clock;

// The episode whose seeds the load uses: `sparseloom run`'s first (every task present).
constexpr const char* kEpisode = "slo0-order0";

double Quantile(std::vector<double> values, double q) {
  if (values.empty())
    return 0.0;
  std::sort(values.begin(), values.end());
  const double at = q * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(at);
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (at - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

struct Arrival {
  std::size_t model = 0;
  std::size_t sample = 0;
  Clock::time_point at;
};

class Tally {
 public:
  explicit Tally(const std::vector<ModelInputs>& models) : models_(models) {
    for (const ModelInputs& m : models) {
      ModelLoad load;
      load.name = m.name;
      loads_.push_back(load);
    }
    latencies_.resize(models.size());
  }
  void Record(const Arrival& a, const Answer& answer, double latency_ms) {
    std::lock_guard lock(mutex_);
    ModelLoad& m = loads_[a.model];
    const ModelInputs& in = models_[a.model];
    ++m.sent;
    ++m.by_status[answer.status];
    if (answer.status != 200) {
      ++m.violations;
      const std::string why = std::to_string(answer.status) + " " + answer.error.substr(0, 160);
      if (m.errors.count(why) || m.errors.size() < 8)
        ++m.errors[why];
      return;
    }
    latencies_[a.model].push_back(latency_ms);
    const bool late = latency_ms > in.slo.max_latency_ms;
    const bool below = answer.slo_miss == "accuracy";
    m.late += late;
    m.below_accuracy += below;
    m.violations += late || below;
    m.correct += a.sample < in.labels.size() && answer.prediction == in.labels[a.sample];
  }
  void NotSent(std::size_t model) {
    std::lock_guard lock(mutex_);
    ++loads_[model].sent;
    ++loads_[model].by_status[-1];
    ++loads_[model].violations;
  }
  std::int64_t Answered() {
    std::lock_guard lock(mutex_);
    std::int64_t n = 0;
    for (const ModelLoad& m : loads_)
      n += m.sent;
    return n;
  }
  std::vector<ModelLoad> Finish(double seconds) {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < loads_.size(); ++i) {
      ModelLoad& m = loads_[i];
      m.p50_ms = Quantile(latencies_[i], 0.50);
      m.p95_ms = Quantile(latencies_[i], 0.95);
      m.p99_ms = Quantile(latencies_[i], 0.99);
      m.throughput_per_s = seconds > 0 ? static_cast<double>(latencies_[i].size()) / seconds : 0;
    }
    return loads_;
  }

 private:
  const std::vector<ModelInputs>& models_;
  std::mutex mutex_;
  std::vector<ModelLoad> loads_;
  std::vector<std::vector<double>> latencies_;
};

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

void Send(LoadTarget& target, const std::vector<ModelInputs>& models, const Arrival& a,
          Tally& tally) {
  Answer answer;
  try {
    answer = target.Send(models[a.model], a.sample);
  } catch (const std::exception& e) {
    answer.status = 0;
    answer.error = e.what();
  }
  tally.Record(a, answer, MsSince(a.at));
}

// Poisson arrivals of every model, merged in time order, sent by `connections` threads; a
// request's latency counts from its arrival, waiting for a free connection included.
void RunPoisson(LoadTarget& target, const std::vector<ModelInputs>& models, const LoadOptions& o,
                Tally& tally, std::ostream& progress) {
  constexpr std::size_t kQueueBound = 4096;
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<Arrival> queue;
  bool done = false;
  std::vector<std::thread> senders;
  for (int i = 0; i < std::max(1, o.connections); ++i) {
    senders.emplace_back([&] {
      while (true) {
        Arrival a;
        {
          std::unique_lock lock(mutex);
          ready.wait(lock, [&] { return done || !queue.empty(); });
          if (queue.empty())
            return;
          a = queue.front();
          queue.pop_front();
        }
        Send(target, models, a, tally);
      }
    });
  }
  const std::uint64_t episode = runtime::Mix(o.seed, runtime::HashOf(kEpisode));
  std::vector<runtime::PoissonArrivals> arrivals;
  std::vector<runtime::SampleSequence> samples;
  std::vector<double> next_s;
  for (std::size_t t = 0; t < models.size(); ++t) {
    const double rate = models[t].rate_per_s * o.rate_scale;
    arrivals.emplace_back(rate > 0 ? rate : 1e-9, runtime::Mix(episode, 2 * t + 1));
    samples.emplace_back(static_cast<std::int64_t>(models[t].samples.size()),
                         runtime::Mix(episode, 2 * t));
    next_s.push_back(rate > 0 ? arrivals[t].NextGapS() : o.seconds + 1);
  }
  const Clock::time_point start = Clock::now();
  double reported = 0;
  while (true) {
    const auto t =
        static_cast<std::size_t>(std::min_element(next_s.begin(), next_s.end()) - next_s.begin());
    if (next_s[t] >= o.seconds)
      break;
    const Clock::time_point at = start + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(next_s[t]));
    std::this_thread::sleep_until(at);
    const Arrival a{t, static_cast<std::size_t>(samples[t].Next()), at};
    if (next_s[t] - reported >= 1.0) {
      reported = std::floor(next_s[t]);
      progress << "loadgen: " << reported << " / " << o.seconds << " s, " << tally.Answered()
               << " answered\n"
               << std::flush;
    }
    next_s[t] += arrivals[t].NextGapS();
    bool queued = false;
    {
      std::lock_guard lock(mutex);
      if (queue.size() < kQueueBound) {
        queue.push_back(a);
        queued = true;
      }
    }
    if (queued)
      ready.notify_one();
    else
      tally.NotSent(t);
  }
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  ready.notify_all();
  for (std::thread& s : senders)
    s.join();
}

// Every model keeps `window` requests in flight, each sent as soon as the previous answer came.
void RunClosedLoop(LoadTarget& target, const std::vector<ModelInputs>& models, const LoadOptions& o,
                   Tally& tally) {
  const std::uint64_t episode = runtime::Mix(o.seed, runtime::HashOf(kEpisode));
  const Clock::time_point end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                   std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> loops;
  for (std::size_t t = 0; t < models.size(); ++t) {
    for (int w = 0; w < std::max(1, o.window); ++w) {
      loops.emplace_back([&, t, w] {
        runtime::SampleSequence samples(static_cast<std::int64_t>(models[t].samples.size()),
                                        runtime::Mix(runtime::Mix(episode, 2 * t), w));
        while (Clock::now() < end) {
          const Arrival a{t, static_cast<std::size_t>(samples.Next()), Clock::now()};
          Send(target, models, a, tally);
        }
      });
    }
  }
  for (std::thread& l : loops)
    l.join();
}

}  // namespace

LoadReport RunLoad(LoadTarget& target, const std::vector<ModelInputs>& models,
                   const LoadOptions& options, std::ostream& progress) {
  if (!(options.seconds > 0.0))
    throw UsageError("loadgen: --seconds must be > 0");
  for (const ModelInputs& m : models) {
    if (m.samples.empty())
      throw UsageError("loadgen: model '" + m.name + "' has no samples");
  }
  Tally tally(models);
  const Clock::time_point start = Clock::now();
  if (options.arrivals == runtime::ArrivalKind::kPoisson)
    RunPoisson(target, models, options, tally, progress);
  else
    RunClosedLoop(target, models, options, tally);
  LoadReport report;
  report.options = options;
  report.wall_s = MsSince(start) / 1000.0;
  report.models = tally.Finish(options.seconds);
  return report;
}

void PrintLoadReport(const LoadReport& report, std::ostream& out) {
  out << "loadgen: " << report.target << ", " << runtime::ToString(report.options.arrivals) << ", "
      << report.options.seconds << " s (" << report.wall_s << " s with the last answers)\n";
  out << "model        sent     ok  p50_ms  p95_ms  p99_ms  late  below_acc  violations  "
         "accuracy  req/s  statuses\n";
  for (const ModelLoad& m : report.models) {
    const std::int64_t ok = m.by_status.count(200) ? m.by_status.at(200) : 0;
    std::string statuses;
    for (const auto& [status, n] : m.by_status)
      statuses.append(statuses.empty() ? "" : " ")
          .append(std::to_string(status))
          .append(":")
          .append(std::to_string(n));
    char line[256];
    std::snprintf(line, sizeof line,
                  "%-10s %6lld %6lld %7.2f %7.2f %7.2f %5lld %10lld %10.2f%% %8.2f%% %6.1f  %s\n",
                  m.name.c_str(), static_cast<long long>(m.sent), static_cast<long long>(ok),
                  m.p50_ms, m.p95_ms, m.p99_ms, static_cast<long long>(m.late),
                  static_cast<long long>(m.below_accuracy), 100.0 * m.violation_rate(),
                  ok ? 100.0 * static_cast<double>(m.correct) / static_cast<double>(ok) : 0.0,
                  m.throughput_per_s, statuses.c_str());
    out << line;
  }
}

std::string LoadReportJson(const LoadReport& report) {
  nlohmann::json models = nlohmann::json::array();
  for (const ModelLoad& m : report.models) {
    nlohmann::json statuses = nlohmann::json::object();
    for (const auto& [status, n] : m.by_status)
      statuses[std::to_string(status)] = n;
    const std::int64_t ok = m.by_status.count(200) ? m.by_status.at(200) : 0;
    models.push_back({{"model", m.name},
                      {"sent", m.sent},
                      {"by_status", statuses},
                      {"late", m.late},
                      {"below_accuracy", m.below_accuracy},
                      {"violations", m.violations},
                      {"violation_rate", m.violation_rate()},
                      {"accuracy_on_labels",
                       ok ? static_cast<double>(m.correct) / static_cast<double>(ok) : 0.0},
                      {"p50_ms", m.p50_ms},
                      {"p95_ms", m.p95_ms},
                      {"p99_ms", m.p99_ms},
                      {"throughput_per_s", m.throughput_per_s},
                      {"errors", m.errors}});
  }
  return nlohmann::json{
      {"target", report.target},           {"arrivals", runtime::ToString(report.options.arrivals)},
      {"seconds", report.options.seconds}, {"rate_scale", report.options.rate_scale},
      {"window", report.options.window},   {"seed", report.options.seed},
      {"wall_s", report.wall_s},           {"models", models}}
      .dump(1);
}

}  // namespace sparseloom::serve
