#pragma once
// Fitting a processor profile's free parameters to measured stage latencies (docs/devices.md
// "Fit to this host"): least squares on log(predicted) − log(measured), so a 10% miss on a 0.2 ms
// stage weighs as much as one on a 5 ms stage. Levenberg–Marquardt with a numerical Jacobian; the
// parameters live in log space (throughputs, overhead, bandwidth) or logit space (exploited
// sparsity fractions), which keeps them positive or in [0, 1].

#include <map>
#include <span>
#include <string>
#include <vector>

#include "sim/cost_model.h"

namespace sparseloom::sim {

struct LatencySample {
  StageWork work;
  double measured_ms = 0.0;  // > 0
  std::string group;         // reported separately (e.g. the zoo's task)
};

struct FitOptions {
  bool fit_utilization = true;  // per precision the samples use (peak stays as published)
  bool fit_overhead = true;
  bool fit_bandwidth = true;
  bool fit_sparsity = true;  // unstructured/structured exploited fractions, where samples have them
  // Per-family, per-precision throughput factors for every family but `reference_family` (empty:
  // the family of the first sample), whose factors stay 1.
  bool fit_family_factors = true;
  std::string reference_family;
  int max_iterations = 1000;
};

struct FitResult {
  ProcessorProfile processor;           // the initial profile with the fitted parameters
  std::vector<std::string> parameters;  // names of the fitted parameters
  std::vector<double> predicted_ms;     // per sample
  double mape = 0.0;                    // mean |predicted − measured| / measured
  double rms_log_error = 0.0;
  std::map<std::string, double> mape_by_group;
  int iterations = 0;
};

// Fits `initial`'s free parameters (FitOptions) to `samples`. UsageError when there are no
// samples, a measurement is not positive, or a sample is one the processor cannot run.
FitResult FitProcessor(const ProcessorProfile& initial, std::span<const LatencySample> samples,
                       const FitOptions& options = {});

// Mean absolute percentage error of `processor` on `samples`, overall and per group.
double Mape(const ProcessorProfile& processor, std::span<const LatencySample> samples,
            std::map<std::string, double>* by_group = nullptr);

}  // namespace sparseloom::sim
