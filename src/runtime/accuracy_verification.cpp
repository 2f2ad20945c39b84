#include "runtime/accuracy_verification.h"

#include <string>
#include <utility>

#include "common/error.h"
#include "runtime/phase_planning.h"

namespace sparseloom::runtime {

AccuracyVerification::AccuracyVerification(std::vector<plan::TaskProfile*> profiles,
                                           Measure measure)
    : profiles_(std::move(profiles)), measure_(std::move(measure)) {
  if (!measure_)
    throw UsageError("accuracy verification: no way to measure");
  for (const plan::TaskProfile* p : profiles_) {
    if (p == nullptr)
      throw UsageError("accuracy verification: a task without a profile");
  }
}

bool AccuracyVerification::VerifyLocked(const PhasePlan& phase,
                                        const std::vector<plan::Slo>& slos) {
  bool replan = false;
  for (std::size_t i = 0; i < phase.plan.tasks.size(); ++i) {
    const plan::TaskPlan& tp = phase.plan.tasks[i];
    const int t = phase.task_of_plan_task.at(i);
    if (t < 0 || static_cast<std::size_t>(t) >= profiles_.size())
      throw UsageError("accuracy verification: no profile of served task " + std::to_string(t));
    plan::TaskProfile& profile = *profiles_[static_cast<std::size_t>(t)];
    const std::int64_t s = tp.stitched_variant;
    if (profile.AccuracyMeasured(s))
      continue;
    const std::optional<double> measured = measure_(t, s);
    if (!measured) {
      ++counts_.unavailable;
      continue;
    }
    ++counts_.verified;
    if (profile.accuracy_measured.empty())  // every other accuracy was measured already
      profile.accuracy_measured.assign(profile.accuracy.size(), 1);
    profile.accuracy[static_cast<std::size_t>(s)] = *measured;
    profile.accuracy_measured[static_cast<std::size_t>(s)] = 1;
    const double min_accuracy = slos.at(static_cast<std::size_t>(t)).min_accuracy;
    if (*measured < min_accuracy && tp.accuracy_bound >= min_accuracy) {
      ++counts_.below_slo;
      replan = true;
    }
  }
  return replan;
}

AccuracyVerification::Counts AccuracyVerification::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

}  // namespace sparseloom::runtime
