#include "runtime/workload.h"

// The SLO grid of one task (docs/runtime.md, "Workload").
//
//   a[s]    accuracy of stitched variant s, s in 0..V^K-1
//   lat[s]  best single-processor latency of s: min over p of the planner's latency of s with
//           every stage on p (plan::ChainCostOf: sum_k StageLatencyMs(k, v_k, p) plus the stitch
//           gap, the last stage clamped at 0)
//   Q(q)    q-quantile of the V^K accuracies, linear between order statistics: with x sorted
//           ascending and i + t = q*(V^K - 1), Q(q) = x[i] + t*(x[i+1] - x[i])
//   a_orig  accuracy of the most accurate original variant (v, v, ..., v); ties: the faster one
//   d       lat of that original variant
//
// Accuracy: A_min = min(Q(q), a_orig), q = 0.90 tight, 0.60 medium, 0.25 loose. The cap keeps a
//   tight SLO within what the unstitched zoo offers.
// Latency: f_A = min lat[s] over the s with a[s] >= A_min, the fastest variant that meets the
//   accuracy bound (the most accurate original meets it, so f_A <= d). Then
//     tight   L_max = 1.5 * f_A            only variants within 1.5x of that fastest one fit
//     medium  L_max = max(d, 2.0 * f_A)    the most accurate original fits, alone on a processor
//     loose   L_max = max(2.0 * d, 3.0 * f_A)  it fits with 2x headroom for sharing the device
//
// Every grid point is met by a stitched variant alone on one processor (the one giving f_A), and
// f_A <= d gives tight <= medium <= loose on both axes, strictly on latency. One variant or equal
// accuracies collapse the accuracy axis to one value; latency still spans 1.5x to 3x of f_A.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <set>
#include <span>

#include "common/error.h"
#include "plan/evaluation.h"

namespace sparseloom::runtime {
namespace {

// Larger zoos are refused rather than enumerated for minutes (the planner's own limit).
constexpr std::int64_t kMaxStitched = 10'000'000;

constexpr std::array<Tightness, 3> kTightnesses = {Tightness::kTight, Tightness::kMedium,
                                                   Tightness::kLoose};

std::string Num(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

[[noreturn]] void Fail(const std::string& field, const std::string& expected,
                       const std::string& got) {
  throw UsageError("workload: " + field + ": expected " + expected + ", got " + got);
}

std::size_t IndexOf(Tightness tightness) {
  switch (tightness) {
    case Tightness::kTight:
      return 0;
    case Tightness::kMedium:
      return 1;
    case Tightness::kLoose:
      return 2;
  }
  Fail("tightness", "tight, medium or loose",
       "enum value " + std::to_string(static_cast<int>(tightness)));
}

// Exactly uniform in [0, n) and the same in every standard library (unlike
// std::uniform_int_distribution): rejects the 2^64 mod n lowest draws.
std::uint64_t UniformBelow(std::mt19937_64& rng, std::uint64_t n) {
  const std::uint64_t threshold = (0 - n) % n;
  while (true) {
    const std::uint64_t x = rng();
    if (x >= threshold)
      return x % n;
  }
}

void ValidateProfile(const plan::TaskProfile& profile) {
  const std::string where = "task '" + profile.task + "': ";
  const int K = profile.num_stages;
  const int V = profile.num_variants();
  const int P = profile.num_processors();
  if (K < 1)
    Fail(where + "num_stages", "at least 1", std::to_string(K));
  if (V < 1)
    Fail(where + "variant_ids", "at least one variant", "none");
  if (P < 1)
    Fail(where + "processors", "at least one processor", "none");
  std::int64_t stitched = 1;
  for (int k = 0; k < K; ++k) {
    stitched *= V;
    if (stitched > kMaxStitched)
      Fail(where + "profile", "at most " + std::to_string(kMaxStitched) + " stitched variants",
           std::to_string(V) + "^" + std::to_string(K));
  }
  const auto check_size = [&](const std::string& field, std::size_t size, std::int64_t expected,
                              const std::string& formula) {
    if (static_cast<std::int64_t>(size) != expected)
      Fail(where + field, formula + " = " + std::to_string(expected) + " entries",
           std::to_string(size));
  };
  check_size("stage_latency_ms", profile.stage_latency_ms.size(), std::int64_t{K} * V * P, "K*V*P");
  check_size("accuracy", profile.accuracy.size(), stitched, "V^K");
  if (!profile.stitch_gap_ms.empty())
    check_size("stitch_gap_ms", profile.stitch_gap_ms.size(), stitched, "V^K (or none)");
  for (std::size_t i = 0; i < profile.stage_latency_ms.size(); ++i) {
    const double x = profile.stage_latency_ms[i];
    if (!std::isfinite(x) || x < 0.0)
      Fail(where + "stage_latency_ms[" + std::to_string(i) + "]", "a finite latency >= 0", Num(x));
  }
  for (std::size_t i = 0; i < profile.accuracy.size(); ++i) {
    const double x = profile.accuracy[i];
    if (!std::isfinite(x) || x < 0.0 || x > 1.0)
      Fail(where + "accuracy[" + std::to_string(i) + "]", "an accuracy in [0, 1]", Num(x));
  }
  for (std::size_t i = 0; i < profile.stitch_gap_ms.size(); ++i) {
    const double x = profile.stitch_gap_ms[i];
    if (!std::isfinite(x))
      Fail(where + "stitch_gap_ms[" + std::to_string(i) + "]", "a finite gap", Num(x));
  }
}

double Quantile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto low = static_cast<std::size_t>(std::floor(position));
  const std::size_t high = std::min(low + 1, sorted.size() - 1);
  const double t = position - static_cast<double>(low);
  // The clamp keeps rounding from lifting the value above an accuracy some variant has.
  return std::min(sorted[low] + t * (sorted[high] - sorted[low]), sorted[high]);
}

// The 3x3 grid of one task, indexed by IndexOf(accuracy) and IndexOf(latency).
using SloGrid = std::array<std::array<plan::Slo, 3>, 3>;

SloGrid GridOf(const plan::TaskProfile& profile) {
  ValidateProfile(profile);
  const std::vector<double> lat = BestSingleProcessorLatencies(profile);
  const std::vector<double>& acc = profile.accuracy;

  std::size_t best_original = static_cast<std::size_t>(plan::OriginalStitched(profile, 0));
  for (int v = 1; v < profile.num_variants(); ++v) {
    const auto s = static_cast<std::size_t>(plan::OriginalStitched(profile, v));
    if (acc[s] > acc[best_original] ||
        (acc[s] == acc[best_original] && lat[s] < lat[best_original]))
      best_original = s;
  }
  const double a_orig = acc[best_original];
  const double d = lat[best_original];

  std::vector<double> sorted = acc;
  std::sort(sorted.begin(), sorted.end());
  constexpr std::array<double, 3> kQuantiles = {0.90, 0.60, 0.25};  // tight, medium, loose

  SloGrid grid;
  for (std::size_t a = 0; a < 3; ++a) {
    const double min_accuracy = std::min(Quantile(sorted, kQuantiles[a]), a_orig);
    double f = std::numeric_limits<double>::infinity();
    for (std::size_t s = 0; s < acc.size(); ++s)
      if (acc[s] >= min_accuracy)
        f = std::min(f, lat[s]);
    const std::array<double, 3> max_latency = {1.5 * f, std::max(d, 2.0 * f),
                                               std::max(2.0 * d, 3.0 * f)};
    for (std::size_t l = 0; l < 3; ++l)
      grid[a][l] = plan::Slo{min_accuracy, max_latency[l]};
  }
  return grid;
}

}  // namespace

std::vector<double> BestSingleProcessorLatencies(const plan::TaskProfile& profile) {
  const int K = profile.num_stages;
  const int P = profile.num_processors();
  const std::int64_t count = plan::StitchedCount(profile);
  std::vector<double> best(static_cast<std::size_t>(count));
  std::vector<int> digits(static_cast<std::size_t>(K));
  std::vector<int> placement(static_cast<std::size_t>(K));
  plan::ChainCost chain;
  for (std::int64_t s = 0; s < count; ++s) {
    plan::DigitsOf(profile, s, digits);
    double fastest = std::numeric_limits<double>::infinity();
    for (int p = 0; p < P; ++p) {
      std::fill(placement.begin(), placement.end(), p);
      plan::ChainCostOf(profile, digits, placement, chain);
      fastest = std::min(fastest, chain.total_ms);
    }
    const auto i = static_cast<std::size_t>(s);
    if (!(fastest > 0.0))
      Fail("task '" + profile.task + "': stitched variant " + std::to_string(s),
           "a positive best single-processor latency (stages plus stitch gap)", Num(fastest));
    best[i] = fastest;
  }
  return best;
}

std::string ToString(Tightness tightness) {
  constexpr std::array<const char*, 3> kNames = {"tight", "medium", "loose"};
  return kNames[IndexOf(tightness)];
}

std::string ToString(ArrivalKind kind) {
  switch (kind) {
    case ArrivalKind::kClosedLoop:
      return "closed";
    case ArrivalKind::kPoisson:
      return "poisson";
  }
  Fail("arrival kind", "closed or poisson", "enum value " + std::to_string(static_cast<int>(kind)));
}

plan::Slo SloAt(const plan::TaskProfile& profile, Tightness accuracy, Tightness latency) {
  const std::size_t a = IndexOf(accuracy);
  const std::size_t l = IndexOf(latency);
  return GridOf(profile)[a][l];
}

std::vector<SloConfiguration> SloConfigurations(
    const std::vector<const plan::TaskProfile*>& profiles, int count, std::uint64_t seed) {
  if (profiles.empty())
    Fail("profiles", "at least one task profile", "none");
  for (std::size_t i = 0; i < profiles.size(); ++i)
    if (profiles[i] == nullptr)
      Fail("profiles[" + std::to_string(i) + "]", "a task profile", "a null pointer");
  if (count < 1)
    Fail("SLO configuration count", "at least 1", std::to_string(count));

  std::vector<SloGrid> grids;
  grids.reserve(profiles.size());
  for (const plan::TaskProfile* profile : profiles)
    grids.push_back(GridOf(*profile));

  std::mt19937_64 rng(seed);
  std::vector<SloConfiguration> configurations(static_cast<std::size_t>(count));
  for (std::size_t c = 0; c < configurations.size(); ++c) {
    SloConfiguration& configuration = configurations[c];
    for (const SloGrid& grid : grids) {
      std::size_t point = 4;  // the first configuration is medium/medium for every task
      if (c > 0)
        point = static_cast<std::size_t>(UniformBelow(rng, 9));
      const std::size_t a = point / 3;
      const std::size_t l = point % 3;
      configuration.slos.push_back(grid[a][l]);
      configuration.names.push_back(ToString(kTightnesses[a]) + "-acc/" +
                                    ToString(kTightnesses[l]) + "-lat");
    }
  }
  return configurations;
}

std::vector<std::vector<int>> ArrivalOrders(int num_tasks, int count, std::uint64_t seed) {
  if (num_tasks < 1)
    Fail("number of tasks", "at least 1", std::to_string(num_tasks));
  if (count < 1)
    Fail("arrival order count", "at least 1", std::to_string(count));

  std::vector<int> order(static_cast<std::size_t>(num_tasks));
  std::iota(order.begin(), order.end(), 0);
  std::int64_t permutations = 1;  // num_tasks!, computed only as far as it can stay <= count
  for (int n = 2; n <= num_tasks && permutations <= count; ++n)
    permutations *= n;

  std::vector<std::vector<int>> orders;
  if (permutations <= count) {
    do {
      orders.push_back(order);
    } while (std::next_permutation(order.begin(), order.end()));
    return orders;
  }

  // count < num_tasks!, so distinct draws always terminate.
  std::set<std::vector<int>> seen = {order};
  orders.push_back(order);
  std::mt19937_64 rng(seed);
  while (static_cast<int>(orders.size()) < count) {
    // Fisher-Yates with UniformBelow, so the orders do not depend on the standard library.
    for (std::size_t i = order.size() - 1; i > 0; --i)
      std::swap(order[i], order[static_cast<std::size_t>(UniformBelow(rng, i + 1))]);
    if (seen.insert(order).second)
      orders.push_back(order);
  }
  return orders;
}

PoissonArrivals::PoissonArrivals(double rate_per_s, std::uint64_t seed)
    : rate_per_s_(rate_per_s), rng_(seed) {
  if (!std::isfinite(rate_per_s) || rate_per_s <= 0.0)
    Fail("Poisson arrival rate", "a finite rate > 0 requests/s", Num(rate_per_s));
}

double PoissonArrivals::NextGapS() {
  std::exponential_distribution<double> gap(rate_per_s_);
  return gap(rng_);
}

SampleSequence::SampleSequence(std::int64_t set_size, std::uint64_t seed)
    : set_size_(set_size), rng_(seed) {
  if (set_size < 1)
    Fail("sample set size", "at least 1 sample", std::to_string(set_size));
}

std::int64_t SampleSequence::Next() {
  return static_cast<std::int64_t>(UniformBelow(rng_, static_cast<std::uint64_t>(set_size_)));
}

}  // namespace sparseloom::runtime
