#include "sim/cost_model_fit.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "common/error.h"

namespace sparseloom::sim {
namespace {

// One free parameter: how to read it from a profile (in its fitting space), write it back, and
// the bounds of that space.
struct Parameter {
  std::string name;
  std::function<double(const ProcessorProfile&)> get;
  std::function<void(ProcessorProfile&, double)> set;
  double low = -50.0;
  double high = 50.0;
};

double Logit(double p) {
  const double q = std::clamp(p, 1e-6, 1.0 - 1e-6);
  return std::log(q / (1.0 - q));
}
double Sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

// Plain dense solve of the (small) normal equations; A is n×n row-major, overwritten.
std::vector<double> Solve(std::vector<double> a, std::vector<double> b, std::size_t n) {
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t pivot = col;
    for (std::size_t r = col + 1; r < n; ++r) {
      if (std::abs(a[r * n + col]) > std::abs(a[pivot * n + col]))
        pivot = r;
    }
    if (std::abs(a[pivot * n + col]) < 1e-300)
      return std::vector<double>(n, 0.0);
    if (pivot != col) {
      for (std::size_t k = 0; k < n; ++k)
        std::swap(a[col * n + k], a[pivot * n + k]);
      std::swap(b[col], b[pivot]);
    }
    for (std::size_t r = col + 1; r < n; ++r) {
      const double f = a[r * n + col] / a[col * n + col];
      for (std::size_t k = col; k < n; ++k)
        a[r * n + k] -= f * a[col * n + k];
      b[r] -= f * b[col];
    }
  }
  std::vector<double> x(n, 0.0);
  for (std::size_t i = n; i-- > 0;) {
    double sum = b[i];
    for (std::size_t k = i + 1; k < n; ++k)
      sum -= a[i * n + k] * x[k];
    x[i] = sum / a[i * n + i];
  }
  return x;
}

std::vector<Parameter> FreeParameters(const ProcessorProfile& initial,
                                      std::span<const LatencySample> samples,
                                      const FitOptions& options) {
  std::set<ComputePrecision> precisions;
  std::set<std::pair<std::string, ComputePrecision>> family_precisions;
  bool unstructured = false;
  bool structured = false;
  std::string reference = options.reference_family;
  for (const LatencySample& s : samples) {
    if (auto why = WhyUnsupported(initial, s.work))
      throw UsageError("cannot fit on a stage the processor cannot run: " + *why);
    ComputePrecision p = ComputePrecisionOf(s.work.precision);
    if (initial.Support(p).mode == PrecisionSupport::Mode::kExecutedAs)
      p = initial.Support(p).executed_as;
    precisions.insert(p);
    if (reference.empty())
      reference = s.work.family;
    if (s.work.family != reference)
      family_precisions.insert({s.work.family, p});
    unstructured = unstructured || (s.work.sparsity_kind == zoo::SparsityKind::kUnstructured &&
                                    s.work.sparsity_level > 0.0);
    structured = structured || (s.work.sparsity_kind == zoo::SparsityKind::kStructured &&
                                s.work.sparsity_level > 0.0);
  }

  std::vector<Parameter> params;
  if (options.fit_utilization) {
    for (ComputePrecision p : precisions) {
      const int i = static_cast<int>(p);
      // log(utilization) ≤ 0: a fit above the published peak means the peak is wrong.
      params.push_back(
          {"utilization." + ToString(p),
           [i](const ProcessorProfile& q) { return std::log(q.precisions[i].utilization); },
           [i](ProcessorProfile& q, double x) { q.precisions[i].utilization = std::exp(x); },
           std::log(1e-6), 0.0});
    }
  }
  if (options.fit_overhead) {
    params.push_back(
        {"dispatch_overhead_ms",
         [](const ProcessorProfile& q) { return std::log(std::max(q.dispatch_overhead_ms, 1e-6)); },
         [](ProcessorProfile& q, double x) { q.dispatch_overhead_ms = std::exp(x); },
         std::log(1e-6), std::log(1e4)});
  }
  if (options.fit_bandwidth) {
    params.push_back({"memory_bytes_per_s",
                      [](const ProcessorProfile& q) { return std::log(q.memory_bytes_per_s); },
                      [](ProcessorProfile& q, double x) { q.memory_bytes_per_s = std::exp(x); },
                      std::log(1e6), std::log(1e15)});
  }
  if (options.fit_sparsity && unstructured) {
    params.push_back({"sparsity.unstructured",
                      [](const ProcessorProfile& q) { return Logit(q.unstructured_exploited); },
                      [](ProcessorProfile& q, double x) { q.unstructured_exploited = Sigmoid(x); },
                      -12.0, 12.0});
  }
  if (options.fit_sparsity && structured) {
    params.push_back({"sparsity.structured",
                      [](const ProcessorProfile& q) { return Logit(q.structured_exploited); },
                      [](ProcessorProfile& q, double x) { q.structured_exploited = Sigmoid(x); },
                      -12.0, 12.0});
  }
  if (options.fit_family_factors) {
    for (const auto& [family, p] : family_precisions) {
      const int i = static_cast<int>(p);
      const std::string f = family;
      params.push_back(
          {"family_factors." + f + "." + ToString(p),
           [f, p](const ProcessorProfile& q) { return std::log(q.FamilyFactor(f, p)); },
           [f, i](ProcessorProfile& q, double x) {
             auto [it, fresh] = q.family_factors.try_emplace(f);
             if (fresh)
               it->second.fill(1.0);
             it->second[i] = std::exp(x);
           },
           std::log(1e-4), std::log(1e4)});
    }
  }
  return params;
}

// log(predicted) − log(measured) per sample.
std::vector<double> Residuals(const ProcessorProfile& p, std::span<const LatencySample> samples) {
  std::vector<double> r(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i)
    r[i] = std::log(StageLatencyMs(p, samples[i].work)) - std::log(samples[i].measured_ms);
  return r;
}

double SumSquares(const std::vector<double>& r) {
  double s = 0.0;
  for (double x : r)
    s += x * x;
  return s;
}

}  // namespace

double Mape(const ProcessorProfile& processor, std::span<const LatencySample> samples,
            std::map<std::string, double>* by_group) {
  if (samples.empty())
    throw UsageError("no latency samples to compare with");
  std::map<std::string, std::pair<double, int>> groups;
  double total = 0.0;
  for (const LatencySample& s : samples) {
    const double ape = std::abs(StageLatencyMs(processor, s.work) - s.measured_ms) / s.measured_ms;
    total += ape;
    groups[s.group].first += ape;
    groups[s.group].second += 1;
  }
  if (by_group) {
    by_group->clear();
    for (const auto& [group, sum_count] : groups)
      (*by_group)[group] = sum_count.first / sum_count.second;
  }
  return total / static_cast<double>(samples.size());
}

FitResult FitProcessor(const ProcessorProfile& initial, std::span<const LatencySample> samples,
                       const FitOptions& options) {
  if (samples.empty())
    throw UsageError("no latency samples to fit the cost model to");
  for (const LatencySample& s : samples) {
    if (!(s.measured_ms > 0.0) || !std::isfinite(s.measured_ms))
      throw UsageError("a measured latency must be a positive number of milliseconds");
  }
  const std::vector<Parameter> params = FreeParameters(initial, samples, options);
  const std::size_t n = params.size();
  const std::size_t m = samples.size();

  ProcessorProfile current = initial;
  std::vector<double> theta(n);
  for (std::size_t j = 0; j < n; ++j) {
    theta[j] = std::clamp(params[j].get(current), params[j].low, params[j].high);
    params[j].set(current, theta[j]);
  }
  auto with = [&](const std::vector<double>& t) {
    ProcessorProfile p = current;
    for (std::size_t j = 0; j < n; ++j)
      params[j].set(p, t[j]);
    return p;
  };

  std::vector<double> r = Residuals(current, samples);
  double cost = SumSquares(r);
  double lambda = 1e-2;
  int iteration = 0;
  for (; iteration < options.max_iterations && n > 0; ++iteration) {
    // Forward-difference Jacobian, J[i][j] = d r_i / d theta_j.
    std::vector<double> jacobian(m * n);
    for (std::size_t j = 0; j < n; ++j) {
      std::vector<double> t = theta;
      const double h = 1e-6 * std::max(1.0, std::abs(t[j]));
      t[j] += h;
      const std::vector<double> rj = Residuals(with(t), samples);
      for (std::size_t i = 0; i < m; ++i)
        jacobian[i * n + j] = (rj[i] - r[i]) / h;
    }
    std::vector<double> jtj(n * n, 0.0);
    std::vector<double> jtr(n, 0.0);
    for (std::size_t i = 0; i < m; ++i) {
      for (std::size_t a = 0; a < n; ++a) {
        jtr[a] += jacobian[i * n + a] * r[i];
        for (std::size_t b = 0; b < n; ++b)
          jtj[a * n + b] += jacobian[i * n + a] * jacobian[i * n + b];
      }
    }
    bool improved = false;
    while (lambda < 1e12) {
      std::vector<double> damped = jtj;
      std::vector<double> rhs(n);
      for (std::size_t a = 0; a < n; ++a) {
        damped[a * n + a] += lambda * (jtj[a * n + a] + 1e-9);
        rhs[a] = -jtr[a];
      }
      const std::vector<double> step = Solve(damped, rhs, n);
      std::vector<double> trial(n);
      for (std::size_t j = 0; j < n; ++j)
        trial[j] = std::clamp(theta[j] + step[j], params[j].low, params[j].high);
      const std::vector<double> trial_r = Residuals(with(trial), samples);
      const double trial_cost = SumSquares(trial_r);
      if (trial_cost < cost) {
        const double gain = cost - trial_cost;
        theta = trial;
        r = trial_r;
        cost = trial_cost;
        lambda = std::max(lambda / 3.0, 1e-12);
        improved = gain > 1e-12 * std::max(1.0, cost);
        break;
      }
      lambda *= 4.0;
    }
    if (!improved)
      break;
  }

  FitResult result;
  result.processor = with(theta);
  // The logit bounds stop a fraction just short of 0 or 1; report those ends as what they mean.
  for (double* fraction :
       {&result.processor.unstructured_exploited, &result.processor.structured_exploited}) {
    if (*fraction < 1e-4)
      *fraction = 0.0;
    if (*fraction > 1.0 - 1e-4)
      *fraction = 1.0;
  }
  for (const Parameter& p : params)
    result.parameters.push_back(p.name);
  result.iterations = iteration;
  result.predicted_ms.reserve(m);
  for (const LatencySample& s : samples)
    result.predicted_ms.push_back(StageLatencyMs(result.processor, s.work));
  result.mape = Mape(result.processor, samples, &result.mape_by_group);
  result.rms_log_error =
      std::sqrt(SumSquares(Residuals(result.processor, samples)) / static_cast<double>(m));
  return result;
}

}  // namespace sparseloom::sim
