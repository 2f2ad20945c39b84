#pragma once
// One task's non-dominated choices on what the joint objective sees of a choice: its SLO
// violation, its resident bytes and its load on every processor. Built online as the choices are
// costed, so the tens of thousands a task has are never stored (docs/planner.md, "The algorithm").
// Internal to plan/.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "plan/evaluation.h"

namespace sparseloom::plan {

class ParetoFront {
 public:
  explicit ParetoFront(std::size_t num_processors) : P_(num_processors) {}

  // Keeps `choice` unless a kept choice is no worse on every term; drops the kept choices it is
  // better than. Of choices equal on every term, the most accurate stays, then the first.
  void Insert(const Choice& choice, int violation, std::int64_t bytes, double accuracy,
              const double* loads) {
    for (std::size_t i = 0; i < violation_.size();) {
      const int order = Order(i, violation, bytes, loads);
      if (order == kKeptNoWorse) {
        if (IsEqual(i, violation, bytes, loads) && accuracy > accuracy_[i]) {
          choices_[i] = choice;
          accuracy_[i] = accuracy;
        }
        // Whatever rules choices out once tends to again: try it first next time.
        if (i > 0)
          Swap(i, 0);
        return;
      }
      if (order == kNewBetter) {
        Remove(i);
        continue;
      }
      ++i;
    }
    choices_.push_back(choice);
    violation_.push_back(violation);
    bytes_.push_back(bytes);
    accuracy_.push_back(accuracy);
    loads_.insert(loads_.end(), loads, loads + P_);
  }

  std::size_t size() const { return choices_.size(); }
  const Choice& choice(std::size_t i) const { return choices_[i]; }
  int violation(std::size_t i) const { return violation_[i]; }
  std::int64_t bytes(std::size_t i) const { return bytes_[i]; }
  double accuracy(std::size_t i) const { return accuracy_[i]; }
  const double* loads(std::size_t i) const { return &loads_[i * P_]; }

 private:
  static constexpr int kKeptNoWorse = -1;  // kept i is <= the new choice on every term
  static constexpr int kNewBetter = 1;     // the new choice is <= kept i everywhere, and differs
  static constexpr int kNeither = 0;

  // Every term is compared, with no early exit: which way a comparison goes is close to random,
  // so a branch per term costs more in mispredictions than the compares it would skip.
  int Order(std::size_t i, int violation, std::int64_t bytes, const double* loads) const {
    bool kept_le = (violation_[i] <= violation) & (bytes_[i] <= bytes);
    bool new_le = (violation <= violation_[i]) & (bytes <= bytes_[i]);
    const double* kept = &loads_[i * P_];
    for (std::size_t p = 0; p < P_; ++p) {
      kept_le &= kept[p] <= loads[p];
      new_le &= loads[p] <= kept[p];
    }
    if (kept_le)
      return kKeptNoWorse;
    return new_le ? kNewBetter : kNeither;
  }

  bool IsEqual(std::size_t i, int violation, std::int64_t bytes, const double* loads) const {
    if (violation_[i] != violation || bytes_[i] != bytes)
      return false;
    for (std::size_t p = 0; p < P_; ++p)
      if (loads_[i * P_ + p] != loads[p])
        return false;
    return true;
  }

  void Swap(std::size_t i, std::size_t j) {
    std::swap(choices_[i], choices_[j]);
    std::swap(violation_[i], violation_[j]);
    std::swap(bytes_[i], bytes_[j]);
    std::swap(accuracy_[i], accuracy_[j]);
    for (std::size_t p = 0; p < P_; ++p)
      std::swap(loads_[i * P_ + p], loads_[j * P_ + p]);
  }

  void Remove(std::size_t i) {
    const std::size_t last = choices_.size() - 1;
    if (i != last)
      Swap(i, last);
    choices_.pop_back();
    violation_.pop_back();
    bytes_.pop_back();
    accuracy_.pop_back();
    loads_.resize(last * P_);
  }

  std::size_t P_;
  std::vector<Choice> choices_;
  std::vector<int> violation_;
  std::vector<std::int64_t> bytes_;
  std::vector<double> accuracy_;
  std::vector<double> loads_;  // [i * P + p]
};

}  // namespace sparseloom::plan
