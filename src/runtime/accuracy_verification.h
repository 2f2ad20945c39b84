#pragma once
// Verify on selection (docs/runtime.md, "Verified accuracy"): a stitched variant a plan chooses
// whose accuracy is the estimator's is measured on the task's validation set before the plan is
// served, and recorded in the task's profile as measured; a plan whose chosen variant measures
// below its SLO's min_accuracy is made again (phase planning, runtime/phase_planning.h). Plans
// made ahead are verified up front, background re-plans in the background; a re-plan after a
// processor fault is made at once, unverified.

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "plan/problem.h"

namespace sparseloom::runtime {

struct PhasePlan;  // runtime/phase_planning.h

class AccuracyVerification {
 public:
  // The measured accuracy of served task `task`'s stitched variant `s` on its whole validation set,
  // or nothing when it cannot be measured here (a simulated run without the zoo's ground truth).
  using Measure = std::function<std::optional<double>(int task, std::int64_t s)>;

  // `profiles`: per served task, the profile its ServedTask points to (tasks that share a table
  // share it), written when a variant is measured; they must outlive this.
  AccuracyVerification(std::vector<plan::TaskProfile*> profiles, Measure measure);
  AccuracyVerification(const AccuracyVerification&) = delete;
  AccuracyVerification& operator=(const AccuracyVerification&) = delete;

  // Held by phase planning for the whole of a plan: the profiles are read by the planner and
  // written here, one plan at a time.
  std::mutex& mutex() { return mutex_; }

  // With mutex() held: measures every chosen stitched variant of `phase` that is estimated in its
  // task's profile and records it there as measured. True when one of them measured below its
  // task's min_accuracy (`slos` per served task) although the plan held it to meet it: the phase
  // must be planned again. UsageError for a served task this was not given a profile of.
  bool VerifyLocked(const PhasePlan& phase, const std::vector<plan::Slo>& slos);
  // With mutex() held: one more plan made again after a verification.
  void CountReplanLocked() { ++counts_.replans; }

  struct Counts {
    int verified = 0;     // chosen estimated variants measured
    int below_slo = 0;    // ... that measured below the min_accuracy the plan held them to
    int replans = 0;      // plans made again because of them
    int unavailable = 0;  // chosen estimated variants that could not be measured
  };
  Counts counts() const;

 private:
  std::vector<plan::TaskProfile*> profiles_;
  Measure measure_;
  mutable std::mutex mutex_;
  Counts counts_;  // guarded by mutex_ (read by counts() under it too)
};

}  // namespace sparseloom::runtime
