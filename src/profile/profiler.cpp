#include "profile/profiler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <memory>
#include <mutex>
#include <random>

#include "common/error.h"
#include "profile/estimators.h"
#include "profile/sample_design.h"
#include "runtime/evaluation.h"
#include "runtime/processor_thread.h"
#include "runtime/stitched_chain.h"
#include "zoo/stitched_variant.h"

namespace sparseloom::profile {
namespace {

using Clock = std::chrono::steady_clock;

// Latency statistic: a low quantile of the timed runs. On a shared machine most of the noise is
// preemption, which only ever adds time; the median moves with the neighbours' load, a low quantile
// much less.
constexpr double kLatencyQuantile = 0.2;

// Runs of round `round` when `runs` are spread over `rounds`.
int Share(int runs, int rounds, int round) {
  return runs / rounds + (round < runs % rounds ? 1 : 0);
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

class Profiler {
 public:
  Profiler(const zoo::Zoo& zoo, engine::Engine& engine, const ProfileOptions& options)
      : zoo_(zoo), engine_(engine), o_(options) {
    if (o_.processors.empty())
      throw UsageError("profile: no processors");
    for (const auto& p : o_.processors) {
      threads_.push_back(std::make_unique<runtime::ProcessorThread>(p));
      stages_.push_back(std::make_unique<runtime::ZooStages>(zoo_, engine_, p));
    }
  }

  PerformanceTable Run();
  // MeasureStitchedAccuracy: the accuracy pass alone.
  AccuracyPass AccuracyOnly(std::vector<std::int64_t> points);

 private:
  void Report(const std::string& phase, std::int64_t done, std::int64_t total) const {
    if (o_.progress)
      o_.progress(phase, done, total);
  }
  int K() const { return zoo_.num_stages; }
  int V() const { return static_cast<int>(zoo_.variants.size()); }
  int P() const { return static_cast<int>(o_.processors.size()); }

  void PrepareInputs();
  double MeasureLatencies(PerformanceTable& table, const std::vector<ChainPoint>& sample,
                          std::map<ChainPoint, double>& chain_ms,
                          const std::vector<ChainPoint>& truth,
                          std::map<ChainPoint, double>& truth_ms);
  void MeasureHandovers(PerformanceTable& table);
  void TimeChain(const PerformanceTable& table, const ChainPoint& point, int warmup, int runs,
                 std::vector<double>& samples);
  std::map<std::int64_t, double> MeasureAccuracy(std::vector<std::int64_t> points,
                                                 const std::string& phase);
  // Correct predictions of each of `points` (sorted) on the whole validation set.
  std::vector<std::int64_t> MeasureCorrect(const std::vector<std::int64_t>& points,
                                           const std::string& phase);
  void Accumulate(runtime::ZooStages& stages, const std::vector<zoo::StitchedVariant>& list,
                  std::size_t begin, std::size_t end, int k, const engine::Tensor& x,
                  const std::vector<engine::Tensor>& side, std::int64_t first_label,
                  std::vector<std::int64_t>& correct);

  const zoo::Zoo& zoo_;
  engine::Engine& engine_;
  const ProfileOptions& o_;
  std::vector<std::unique_ptr<runtime::ProcessorThread>> threads_;
  std::vector<std::unique_ptr<runtime::ZooStages>> stages_;
  runtime::LabelledSet validation_;
  std::vector<std::vector<engine::Tensor>> stage_inputs_;  // [k][i]: batch-1 input of stage k
  std::vector<std::vector<engine::Tensor>> side_inputs_;   // [i]: batch-1 side inputs
  std::size_t next_input_ = 0;
};

void Profiler::PrepareInputs() {
  validation_ = runtime::LoadValidationSet(zoo_, engine_);
  const std::int64_t n = std::min<std::int64_t>(o_.latency_inputs, validation_.size);
  if (n < 1)
    throw InputError(zoo_.validation_file.string(), "input", "at least one validation sample");
  const std::size_t reference = ReferenceVariant(zoo_);
  stage_inputs_.assign(static_cast<std::size_t>(K()), {});
  side_inputs_.clear();
  // Stage k's inputs are what the reference variant's stages 1..k-1 make of real samples.
  threads_[0]->Run([&] {
    for (std::int64_t i = 0; i < n; ++i) {
      std::vector<engine::Tensor> side;
      for (const auto& t : validation_.side)
        side.push_back(engine_.SliceBatch(t, i, i + 1));
      engine::Tensor x = engine_.SliceBatch(validation_.input, i, i + 1);
      for (int k = 0; k < K(); ++k) {
        stage_inputs_[static_cast<std::size_t>(k)].push_back(x);
        if (k + 1 < K())
          x = stages_[0]->Get(reference, k + 1)->Run(x, side);
      }
      side_inputs_.push_back(std::move(side));
    }
  });
}

// Interleaved rounds over every (stage, variant, processor) and every sampled chain. A stage is
// timed as a chain (and the runtime, which interleaves several models) runs it: right after another
// stage on the same busy core, with its own weights no longer in the core's cache, not as the n-th
// repetition of itself (too fast: one zoo's chains took 1.2x their summed stages) nor alone in a
// job after the worker slept (too slow: single-processor chains took 0.7x their stages). Chains are
// timed one run each in turn, likewise. A burst of load from elsewhere on the machine also spreads
// over all of them instead of inflating a few.
//
// `truth` (`--exhaustive`): the latency ground truth, timed in the same rounds as the sample, so
// that both see the machine in the same state (timed in a phase of its own, one zoo's ground truth
// was 11.6% off an estimator cross-validated at 3.7% on the sample); returns the seconds its runs
// took.
double Profiler::MeasureLatencies(PerformanceTable& table, const std::vector<ChainPoint>& sample,
                                  std::map<ChainPoint, double>& chain_ms,
                                  const std::vector<ChainPoint>& truth,
                                  std::map<ChainPoint, double>& truth_ms) {
  std::vector<ChainPoint> chains = sample;
  chains.insert(chains.end(), truth.begin(), truth.end());
  double truth_s = 0.0;
  auto time_chain = [&](std::size_t c, int warmup, int runs, std::vector<double>& into) {
    const auto start = Clock::now();
    TimeChain(table, chains[c], warmup, runs, into);
    if (c >= sample.size())
      truth_s += SecondsSince(start);
  };
  const std::size_t kvp = static_cast<std::size_t>(K() * V() * P());
  table.stage_latency_ms.assign(kvp, 0.0);
  table.stage_latency_p90_ms.assign(kvp, 0.0);
  table.stage_bytes.assign(static_cast<std::size_t>(K() * V()), 0);
  const std::size_t n = side_inputs_.size();
  const int rounds = std::max(1, std::min(o_.stage_runs, o_.latency_rounds));
  std::vector<std::vector<double>> samples(kvp);
  std::vector<std::vector<double>> chain_samples(chains.size());
  const std::int64_t total = static_cast<std::int64_t>(kvp) * (1 + o_.stage_runs) +
                             static_cast<std::int64_t>(chains.size()) * (1 + o_.chain_runs);
  std::int64_t done = 0;
  const std::string phase = "stage and chain latency";
  // Warm-up: every stage `stage_warmup` times in a row on every processor; its resident bytes.
  for (int k = 0; k < K(); ++k) {
    for (int v = 0; v < V(); ++v) {
      for (int p = 0; p < P(); ++p) {
        threads_[static_cast<std::size_t>(p)]->Run([&] {
          auto stage =
              stages_[static_cast<std::size_t>(p)]->Get(static_cast<std::size_t>(v), k + 1);
          for (int r = 0; r < o_.stage_warmup; ++r) {
            const std::size_t i = next_input_++ % n;
            stage->Run(stage_inputs_[static_cast<std::size_t>(k)][i], side_inputs_[i]);
          }
          // The smallest over the processors' copies: the first load of a stage shape or
          // precision in the process also carries the library's one-time caches for it.
          std::int64_t& bytes = table.stage_bytes[static_cast<std::size_t>(k * V() + v)];
          bytes = p == 0 ? stage->ResidentBytes() : std::min(bytes, stage->ResidentBytes());
        });
        Report(phase, ++done, total);
      }
    }
  }
  for (std::size_t c = 0; c < chains.size(); ++c) {
    time_chain(c, o_.chain_warmup, 0, chain_samples[c]);
    Report(phase, ++done, total);
  }
  for (int round = 0; round < rounds; ++round) {
    for (int r = 0; r < Share(o_.stage_runs, rounds, round); ++r) {
      for (int p = 0; p < P(); ++p) {
        // Every stage of every variant in one job, variant by variant: each stage follows another
        // on a busy core, as in a chain, and not a run of itself.
        threads_[static_cast<std::size_t>(p)]->Run([&] {
          for (int v = 0; v < V(); ++v) {
            for (int k = 0; k < K(); ++k) {
              const auto at = static_cast<std::size_t>((k * V() + v) * P() + p);
              auto stage =
                  stages_[static_cast<std::size_t>(p)]->Get(static_cast<std::size_t>(v), k + 1);
              const std::size_t i = next_input_++ % n;
              const auto start = Clock::now();
              stage->Run(stage_inputs_[static_cast<std::size_t>(k)][i], side_inputs_[i]);
              samples[at].push_back(MillisecondsSince(start));
            }
          }
        });
        done += K() * V();
        Report(phase, done, total);
      }
    }
    for (int r = 0; r < Share(o_.chain_runs, rounds, round); ++r) {
      for (std::size_t c = 0; c < chains.size(); ++c) {
        time_chain(c, 0, 1, chain_samples[c]);
        Report(phase, ++done, total);
      }
    }
  }
  for (std::size_t at = 0; at < kvp; ++at) {
    table.stage_latency_ms[at] = runtime::Percentile(samples[at], kLatencyQuantile);
    table.stage_latency_p90_ms[at] = runtime::Percentile(samples[at], 0.9);
  }
  for (std::size_t c = 0; c < chains.size(); ++c)
    (c < sample.size() ? chain_ms : truth_ms)[chains[c]] =
        runtime::Percentile(chain_samples[c], kLatencyQuantile);
  return truth_s;
}

// Handing a boundary to another processor costs one more dispatch to that processor's worker
// (memory is shared: no copy); measured as the round trip of an empty job.
void Profiler::MeasureHandovers(PerformanceTable& table) {
  table.handover_ms.assign(static_cast<std::size_t>(P() * P()), 0.0);
  std::vector<double> dispatch(static_cast<std::size_t>(P()));
  for (int q = 0; q < P(); ++q) {
    std::vector<double> samples;
    for (int r = 0; r < 200; ++r) {
      const auto start = Clock::now();
      threads_[static_cast<std::size_t>(q)]->Run([] {});
      if (r >= 20)
        samples.push_back(MillisecondsSince(start));
    }
    dispatch[static_cast<std::size_t>(q)] = runtime::Median(samples);
  }
  for (int p = 0; p < P(); ++p) {
    for (int q = 0; q < P(); ++q) {
      if (p != q)
        table.handover_ms[static_cast<std::size_t>(p * P() + q)] =
            dispatch[static_cast<std::size_t>(q)];
    }
  }
}

// A chain runs as the runtime will run it: consecutive stages on one processor form one job on
// that processor's worker; the caller hands the boundary from job to job.
void Profiler::TimeChain(const PerformanceTable& table, const ChainPoint& point, int warmup,
                         int runs, std::vector<double>& samples) {
  const zoo::StitchedVariant s = zoo::StitchedAt(zoo_, point.first);
  const std::vector<int> on = table.PlacementAt(point.second);
  std::vector<std::shared_ptr<engine::LoadedStage>> stages;
  for (int k = 0; k < K(); ++k) {
    const auto uk = static_cast<std::size_t>(k);
    stages.push_back(stages_[static_cast<std::size_t>(on[uk])]->Get(s.variant_of_stage[uk], k + 1));
  }
  const std::size_t n = side_inputs_.size();
  for (int r = -warmup; r < runs; ++r) {
    const std::size_t i = next_input_++ % n;
    engine::Tensor x = stage_inputs_[0][i];
    const auto& side = side_inputs_[i];
    const auto start = Clock::now();
    for (std::size_t begin = 0; begin < stages.size();) {
      std::size_t end = begin + 1;
      while (end < stages.size() && on[end] == on[begin])
        ++end;
      threads_[static_cast<std::size_t>(on[begin])]->Run([&] {
        for (std::size_t k = begin; k < end; ++k)
          x = stages[k]->Run(x, side);
      });
      begin = end;
    }
    if (r >= 0)
      samples.push_back(MillisecondsSince(start));
  }
}

// Depth-first over stitched variants sorted by stage: a shared prefix runs once per batch.
void Profiler::Accumulate(runtime::ZooStages& stages, const std::vector<zoo::StitchedVariant>& list,
                          std::size_t begin, std::size_t end, int k, const engine::Tensor& x,
                          const std::vector<engine::Tensor>& side, std::int64_t first_label,
                          std::vector<std::int64_t>& correct) {
  const auto uk = static_cast<std::size_t>(k);
  for (std::size_t i = begin; i < end;) {
    const std::size_t v = list[i].variant_of_stage[uk];
    std::size_t j = i;
    while (j < end && list[j].variant_of_stage[uk] == v)
      ++j;
    const engine::Tensor y = stages.Get(v, k + 1)->Run(x, side);
    if (k + 1 < K()) {
      Accumulate(stages, list, i, j, k + 1, y, side, first_label, correct);
    } else {
      const std::vector<std::int64_t> predicted = engine_.ArgmaxLastDim(y);
      std::int64_t hits = 0;
      for (std::size_t m = 0; m < predicted.size(); ++m)
        hits += predicted[m] == validation_.labels[static_cast<std::size_t>(first_label) + m];
      for (std::size_t m = i; m < j; ++m)
        correct[m] += hits;
    }
    i = j;
  }
}

// Groups of stitched variants that share stage 1 are spread over every processor's worker (the
// largest first, each worker taking the next when it is free), so an accuracy run uses every
// processor; each group runs on one worker with that processor's stages.
std::map<std::int64_t, double> Profiler::MeasureAccuracy(std::vector<std::int64_t> points,
                                                         const std::string& phase) {
  std::sort(points.begin(), points.end());  // mixed-radix order = sorted by stage 1, 2, ...
  const std::vector<std::int64_t> correct = MeasureCorrect(points, phase);
  const std::int64_t n = validation_.size;
  std::map<std::int64_t, double> out;
  for (std::size_t i = 0; i < points.size(); ++i)
    out[points[i]] = n == 0 ? 0.0 : static_cast<double>(correct[i]) / static_cast<double>(n);
  return out;
}

std::vector<std::int64_t> Profiler::MeasureCorrect(const std::vector<std::int64_t>& points,
                                                   const std::string& phase) {
  std::vector<zoo::StitchedVariant> list;
  for (std::int64_t s : points)
    list.push_back(zoo::StitchedAt(zoo_, s));
  std::vector<std::int64_t> correct(list.size(), 0);
  const std::int64_t n = validation_.size;
  std::vector<std::pair<std::size_t, std::size_t>> groups;  // [begin, end) per stage-1 variant
  for (std::size_t begin = 0; begin < list.size();) {
    std::size_t end = begin;
    while (end < list.size() && list[end].variant_of_stage[0] == list[begin].variant_of_stage[0])
      ++end;
    groups.emplace_back(begin, end);
    begin = end;
  }
  std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
    return a.second - a.first > b.second - b.first;
  });
  std::mutex mutex;
  std::size_t next_group = 0;
  std::int64_t done = 0;
  auto work = [&](std::size_t p) {
    for (;;) {
      std::pair<std::size_t, std::size_t> group;
      {
        std::lock_guard lock(mutex);
        if (next_group == groups.size())
          return;
        group = groups[next_group++];
      }
      for (std::int64_t b = 0; b < n; b += o_.accuracy_batch) {
        const std::int64_t e = std::min(n, b + o_.accuracy_batch);
        std::vector<engine::Tensor> side;
        for (const auto& t : validation_.side)
          side.push_back(engine_.SliceBatch(t, b, e));
        Accumulate(*stages_[p], list, group.first, group.second, 0,
                   engine_.SliceBatch(validation_.input, b, e), side, b, correct);
      }
      std::lock_guard lock(mutex);
      done += static_cast<std::int64_t>(group.second - group.first);
      Report(phase, done, static_cast<std::int64_t>(list.size()));
    }
  };
  std::vector<std::future<void>> running;
  for (std::size_t p = 0; p < threads_.size(); ++p)
    running.push_back(std::async(std::launch::async,
                                 [this, &work, p] { threads_[p]->Run([&work, p] { work(p); }); }));
  for (auto& r : running)
    r.get();
  return correct;
}

AccuracyPass Profiler::AccuracyOnly(std::vector<std::int64_t> points) {
  const auto start = Clock::now();
  validation_ = runtime::LoadValidationSet(zoo_, engine_);
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  const std::int64_t stitched = zoo_.StitchedCount();
  for (std::int64_t s : points) {
    if (s < 0 || s >= stitched)
      throw UsageError("accuracy pass: stitched variant " + std::to_string(s) + " out of 0.." +
                       std::to_string(stitched - 1));
  }
  AccuracyPass out;
  out.correct = MeasureCorrect(points, "accuracy");
  out.samples = validation_.size;
  out.stage_passes = StagePasses(zoo_, points);
  out.points = std::move(points);
  out.wall_s = SecondsSince(start);
  return out;
}

PerformanceTable Profiler::Run() {
  const auto start = Clock::now();
  PerformanceTable table;
  table.key = ProfileKey(zoo_, o_.processors);
  table.task = zoo_.task;
  table.zoo_dir = zoo_.dir.string();
  table.num_stages = K();
  for (const auto& v : zoo_.variants)
    table.variant_ids.push_back(v.id);
  table.processors = o_.processors;

  // 1. Per-stage latency on every processor and a sample of whole chains (the same number per
  // placement), in the same interleaved rounds; hand-over costs.
  PrepareInputs();
  const std::int64_t stitched = zoo_.StitchedCount();
  const std::int64_t placements = table.num_placements();
  const auto per_placement = std::max<std::int64_t>(
      4, static_cast<std::int64_t>(std::ceil(o_.chain_fraction * static_cast<double>(stitched))));
  const std::vector<ChainPoint> chain_sample =
      ChainSample(zoo_, placements, per_placement, o_.seed);
  // `exhaustive`: the latency ground truth, every (stitched variant, placement) or a uniform random
  // subset whose time is extrapolated to all, in the same rounds as the sample.
  std::vector<ChainPoint> all_chains;
  for (std::int64_t s = 0; s < stitched; ++s) {
    for (std::int64_t q = 0; q < placements; ++q)
      all_chains.emplace_back(s, q);
  }
  std::vector<ChainPoint> truth_chains;
  if (o_.exhaustive) {
    truth_chains = all_chains;
    if (o_.exhaustive_chains >= 0 &&
        o_.exhaustive_chains < static_cast<std::int64_t>(all_chains.size())) {
      std::mt19937_64 rng(o_.seed + 2);
      std::shuffle(truth_chains.begin(), truth_chains.end(), rng);
      truth_chains.resize(static_cast<std::size_t>(o_.exhaustive_chains));
      std::sort(truth_chains.begin(), truth_chains.end());
    }
  }
  LatencyTraining latency_training;
  std::map<ChainPoint, double> truth_latency;
  const double truth_chains_s =
      MeasureLatencies(table, chain_sample, latency_training.measured, truth_chains, truth_latency);
  MeasureHandovers(table);
  table.time.stages_s = SecondsSince(start) - truth_chains_s;

  // 2. Accuracy: single substitutions into the reference, then random stitched variants while the
  // budget lasts. The originals' accuracies are the manifest's (the builder measured every variant
  // on this validation set); the reference, measured as a single substitution, checks that they
  // agree, and the originals are measured too when it does not.
  auto phase_start = Clock::now();
  AccuracyTraining accuracy_training;
  accuracy_training.reference = ReferenceVariant(zoo_);
  const std::vector<std::int64_t> structured =
      StructuredAccuracySample(zoo_, accuracy_training.reference);
  const std::size_t reference = accuracy_training.reference;
  std::vector<std::int64_t> to_measure;
  std::vector<std::int64_t> originals;  // every original but the reference
  for (std::int64_t s : structured) {
    const zoo::StitchedVariant sv = zoo::StitchedAt(zoo_, s);
    (sv.IsOriginal() && sv.variant_of_stage[0] != reference ? originals : to_measure).push_back(s);
  }
  accuracy_training.measured = MeasureAccuracy(to_measure, "accuracy sample");
  const double reference_gap =
      std::abs(accuracy_training.measured.at(zoo::IndexOf(zoo_, zoo::Original(zoo_, reference))) -
               zoo_.variants[reference].accuracy);
  if (validation_.size > 0 && reference_gap * static_cast<double>(validation_.size) <= 0.5) {
    for (std::size_t v = 0; v < zoo_.variants.size(); ++v) {
      if (v != reference)  // the reference keeps its measured value
        accuracy_training.measured[zoo::IndexOf(zoo_, zoo::Original(zoo_, v))] =
            zoo_.variants[v].accuracy;
    }
  } else {
    for (const auto& [s, a] : MeasureAccuracy(originals, "accuracy sample (originals)"))
      accuracy_training.measured[s] = a;
  }
  const double per_point = SecondsSince(phase_start) / static_cast<double>(to_measure.size());
  const double left_s = o_.budget_minutes * 60.0 - (SecondsSince(start) - truth_chains_s);
  const auto cap =
      static_cast<std::int64_t>(std::ceil(o_.max_random_fraction * static_cast<double>(stitched)));
  const std::int64_t random_count = std::clamp<std::int64_t>(
      static_cast<std::int64_t>(left_s / std::max(per_point, 1e-6)), 0, cap);
  accuracy_training.representative = RandomStitched(zoo_, random_count, structured, o_.seed + 1);
  for (const auto& [s, a] :
       MeasureAccuracy(accuracy_training.representative, "accuracy sample (random)"))
    accuracy_training.measured[s] = a;
  table.time.accuracy_s = SecondsSince(phase_start);

  // 3. Estimators for everything not measured.
  phase_start = Clock::now();
  Report("estimators", 0, 1);
  std::vector<std::int64_t> all_stitched(static_cast<std::size_t>(stitched));
  for (std::int64_t s = 0; s < stitched; ++s)
    all_stitched[static_cast<std::size_t>(s)] = s;
  const Estimate accuracy =
      EstimateAccuracy(zoo_, accuracy_training, all_stitched, o_.accuracy_model);
  const Estimate latency =
      EstimateLatency(zoo_, table, latency_training, all_chains, o_.latency_model);
  table.accuracy = accuracy.value;
  table.accuracy_measured.assign(all_stitched.size(), 0);
  for (const auto& [s, a] : accuracy_training.measured) {
    table.accuracy[static_cast<std::size_t>(s)] = a;
    table.accuracy_measured[static_cast<std::size_t>(s)] = 1;
  }
  table.latency_ms = latency.value;
  table.latency_measured.assign(all_chains.size(), 0);
  for (const auto& [point, ms] : latency_training.measured) {
    const auto at = static_cast<std::size_t>(point.first * placements + point.second);
    table.latency_ms[at] = ms;
    table.latency_measured[at] = 1;
  }
  table.accuracy_error = accuracy.error;
  table.latency_error = latency.error;
  table.time.estimators_s = SecondsSince(phase_start);
  Report("estimators", 1, 1);
  if (!o_.exhaustive)
    return table;

  // 4. Ground truth: every stitched variant's accuracy (the chains were measured after step 1); the
  // estimators checked on the points they never saw.
  phase_start = Clock::now();
  const std::map<std::int64_t, double> all_accuracy =
      o_.exhaustive_accuracy ? MeasureAccuracy(all_stitched, "exhaustive accuracy")
                             : std::map<std::int64_t, double>{};
  const double exhaustive_accuracy_s = SecondsSince(phase_start);
  table.time.exhaustive_s =
      exhaustive_accuracy_s + (truth_chains.empty()
                                   ? 0.0
                                   : truth_chains_s * static_cast<double>(all_chains.size()) /
                                         static_cast<double>(truth_chains.size()));
  HeldOutCheck check;
  for (std::int64_t s = 0; s < stitched && !all_accuracy.empty(); ++s) {
    const auto us = static_cast<std::size_t>(s);
    const double truth = all_accuracy.at(s);
    if (!table.accuracy_measured[us]) {
      ++check.accuracy_points;
      check.accuracy_mae += std::abs(accuracy.value[us] - truth);
      check.accuracy_baseline_mae += std::abs(accuracy.baseline[us] - truth);
    }
    table.accuracy[us] = truth;
    table.accuracy_measured[us] = 1;
  }
  for (std::size_t i = 0; i < all_chains.size(); ++i) {
    const auto it = truth_latency.find(all_chains[i]);
    if (it == truth_latency.end())
      continue;
    const double truth = it->second;
    if (!table.latency_measured[i]) {
      ++check.latency_points;
      check.latency_mape += std::abs(latency.value[i] - truth) / truth;
      check.latency_baseline_mape += std::abs(latency.baseline[i] - truth) / truth;
    }
    table.latency_ms[i] = truth;
    table.latency_measured[i] = 1;
  }
  if (check.accuracy_points > 0) {
    check.accuracy_mae /= check.accuracy_points;
    check.accuracy_baseline_mae /= check.accuracy_points;
  }
  if (check.latency_points > 0) {
    check.latency_mape /= check.latency_points;
    check.latency_baseline_mape /= check.latency_points;
  }
  table.held_out = check;
  table.exhaustive = o_.exhaustive_accuracy && truth_chains.size() == all_chains.size();
  return table;
}

}  // namespace

PerformanceTable ProfileZoo(const zoo::Zoo& zoo, engine::Engine& engine,
                            const ProfileOptions& options) {
  Profiler profiler(zoo, engine, options);
  return profiler.Run();
}

AccuracyPass MeasureStitchedAccuracy(const zoo::Zoo& zoo, engine::Engine& engine,
                                     const ProfileOptions& options,
                                     std::vector<std::int64_t> points) {
  Profiler profiler(zoo, engine, options);
  return profiler.AccuracyOnly(std::move(points));
}

std::int64_t StagePasses(const zoo::Zoo& zoo, std::vector<std::int64_t> points,
                         bool share_prefixes) {
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  const int K = zoo.num_stages;
  if (!share_prefixes)
    return static_cast<std::int64_t>(points.size()) * K;
  // Sorted in mixed radix (stage 1 most significant), a prefix of length k is new exactly when it
  // differs from the previous point's.
  std::int64_t passes = 0;
  std::vector<std::size_t> previous;
  for (std::int64_t s : points) {
    std::vector<std::size_t> digits = zoo::StitchedAt(zoo, s).variant_of_stage;
    int k = 0;
    while (k < K && !previous.empty() &&
           previous[static_cast<std::size_t>(k)] == digits[static_cast<std::size_t>(k)])
      ++k;
    passes += K - k;
    previous = std::move(digits);
  }
  return passes;
}

}  // namespace sparseloom::profile
