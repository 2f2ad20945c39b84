#include "plan/joint_search.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <numeric>
#include <tuple>
#include <utility>

#include "plan/choice_costing.h"
#include "plan/pareto_front.h"
#include "plan/simplex_weights.h"

namespace sparseloom::plan {
namespace {

constexpr std::int64_t kUnlimited = std::numeric_limits<std::int64_t>::max();
constexpr int kLocalSearchRounds = 50;
constexpr double kFinestStep = 1e-3;         // of the refined weight vector
constexpr std::size_t kIncumbentTries = 19;  // weight vectors the incumbent starts from

// The part of the objective the search moves; the budget is a constraint here.
struct Score {
  int violations = 0;
  double max_load = 0.0;
  std::int64_t bytes = 0;
};

int Compare(const Score& a, const Score& b) {
  return CompareObjectives({0, a.violations, a.max_load, a.bytes},
                           {0, b.violations, b.max_load, b.bytes});
}

Score Worst() {
  return {std::numeric_limits<int>::max(), 0.0, 0};
}

// A task's smallest possible contribution to each part of the objective, over some candidates.
struct Minima {
  int violation = 0;
  std::int64_t bytes = 0;
  double load_sum = 0.0;     // over processors
  std::vector<double> load;  // per processor
};

Minima MinimaOf(const CandidateSet& set, const std::vector<int>& pool, std::size_t P) {
  Minima m;
  m.violation = std::numeric_limits<int>::max();
  m.bytes = kUnlimited;
  m.load_sum = std::numeric_limits<double>::infinity();
  m.load.assign(P, std::numeric_limits<double>::infinity());
  for (const int c : pool) {
    const std::size_t i = static_cast<std::size_t>(c);
    m.violation = std::min(m.violation, set.violation[i]);
    m.bytes = std::min(m.bytes, set.bytes[i]);
    double sum = 0.0;
    for (std::size_t p = 0; p < P; ++p) {
      m.load[p] = std::min(m.load[p], set.loads[i * P + p]);
      sum += set.loads[i * P + p];
    }
    m.load_sum = std::min(m.load_sum, sum);
  }
  return m;
}

// Lower bounds of the tasks still to be chosen: entry i covers order[i..].
struct Suffix {
  std::vector<int> violations;
  std::vector<std::int64_t> bytes;
  std::vector<double> load_sum;
  std::vector<double> load;  // [i * P + p]

  Suffix(const std::vector<Minima>& minima, const std::vector<std::size_t>& order, std::size_t P)
      : violations(order.size() + 1, 0),
        bytes(order.size() + 1, 0),
        load_sum(order.size() + 1, 0.0),
        load((order.size() + 1) * P, 0.0) {
    for (std::size_t i = order.size(); i-- > 0;) {
      const Minima& m = minima[order[i]];
      violations[i] = violations[i + 1] + m.violation;
      bytes[i] = bytes[i + 1] + m.bytes;
      load_sum[i] = load_sum[i + 1] + m.load_sum;
      for (std::size_t p = 0; p < P; ++p)
        load[i * P + p] = load[(i + 1) * P + p] + m.load[p];
    }
  }
};

class JointSearch {
 public:
  JointSearch(const std::vector<CandidateSet>& tasks, std::size_t P, std::int64_t budget,
              SearchLimits limits)
      : tasks_(tasks), P_(P), budget_(budget), limits_(limits) {}

  JointResult Run() {
    JointResult result;
    for (const CandidateSet& set : tasks_)
      result.stats.choices_evaluated += static_cast<std::int64_t>(set.size());
    if (tasks_.empty())
      return result;
    ChoosePools();
    Incumbent();
    const std::vector<Minima> minima = AllMinima();
    for (std::size_t t = 0; t < tasks_.size(); ++t) {
      FilterByBound(t, minima);
      ParetoPrune(t);
      result.stats.candidates_kept += static_cast<std::int64_t>(pools_[t].size());
    }
    // An emptied pool means no candidate of that task can beat the incumbent.
    const bool improvable = std::none_of(pools_.begin(), pools_.end(),
                                         [](const std::vector<int>& pool) { return pool.empty(); });
    if (improvable) {
      ChooseWeights();
      ImproveIncumbent();
      BranchAndBound();
    }
    result.stats.nodes = nodes_;
    result.stats.complete = complete_;
    for (std::size_t t = 0; t < tasks_.size(); ++t)
      result.choices.push_back(tasks_[t].choices[static_cast<std::size_t>(best_pick_[t])]);
    return result;
  }

 private:
  const double* Loads(std::size_t t, int c) const {
    return &tasks_[t].loads[static_cast<std::size_t>(c) * P_];
  }
  int Violation(std::size_t t, int c) const {
    return tasks_[t].violation[static_cast<std::size_t>(c)];
  }
  std::int64_t Bytes(std::size_t t, int c) const {
    return tasks_[t].bytes[static_cast<std::size_t>(c)];
  }

  // A task that can meet its SLO only competes with SLO-meeting choices, unless the memory budget
  // forces some task below its SLO; then every choice stays in play.
  void ChoosePools() {
    const std::size_t T = tasks_.size();
    std::int64_t min_all = 0;
    std::int64_t min_needed = 0;
    std::vector<bool> can_meet(T, false);
    for (std::size_t t = 0; t < T; ++t) {
      std::int64_t smallest = kUnlimited;
      std::int64_t smallest_meeting = kUnlimited;
      for (std::size_t c = 0; c < tasks_[t].size(); ++c) {
        smallest = std::min(smallest, tasks_[t].bytes[c]);
        if (tasks_[t].violation[c] == 0)
          smallest_meeting = std::min(smallest_meeting, tasks_[t].bytes[c]);
      }
      can_meet[t] = smallest_meeting != kUnlimited;
      min_all += smallest;
      min_needed += can_meet[t] ? smallest_meeting : smallest;
    }
    budget_ = budget_ == 0 ? kUnlimited : std::max(budget_, min_all);
    const bool budget_binds = min_needed > budget_;
    pools_.assign(T, {});
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t c = 0; c < tasks_[t].size(); ++c)
        if (!can_meet[t] || budget_binds || tasks_[t].violation[c] == 0)
          pools_[t].push_back(static_cast<int>(c));
  }

  std::vector<Minima> AllMinima() const {
    std::vector<Minima> minima;
    for (std::size_t t = 0; t < tasks_.size(); ++t)
      minima.push_back(MinimaOf(tasks_[t], pools_[t], P_));
    return minima;
  }

  Score ScoreOf(const std::vector<int>& picks) const {
    Score score;
    std::vector<double> load(P_, 0.0);
    for (std::size_t t = 0; t < tasks_.size(); ++t) {
      score.violations += Violation(t, picks[t]);
      score.bytes += Bytes(t, picks[t]);
      for (std::size_t p = 0; p < P_; ++p)
        load[p] += Loads(t, picks[t])[p];
    }
    score.max_load = *std::max_element(load.begin(), load.end());
    return score;
  }

  // Greedy (heaviest task first, against the lower bounds of the rest), then best-response moves
  // until none improves: a good first bound for the pruning and the branch and bound.
  void Incumbent() {
    const std::size_t T = tasks_.size();
    const std::vector<Minima> minima = AllMinima();
    std::vector<std::size_t> order(T);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return minima[a].load_sum > minima[b].load_sum;
    });
    const Suffix rest(minima, order, P_);
    std::vector<int> picks(T, 0);
    std::vector<double> load(P_, 0.0);
    int violations = 0;
    std::int64_t bytes = 0;
    for (std::size_t i = 0; i < T; ++i) {
      const std::size_t t = order[i];
      Score best = Worst();
      for (const int c : pools_[t]) {
        const std::int64_t b = bytes + Bytes(t, c) + rest.bytes[i + 1];
        if (b > budget_)
          continue;
        double m = 0.0;
        for (std::size_t p = 0; p < P_; ++p)
          m = std::max(m, load[p] + Loads(t, c)[p] + rest.load[(i + 1) * P_ + p]);
        const Score s{violations + Violation(t, c) + rest.violations[i + 1], m, b};
        if (Compare(s, best) < 0) {
          best = s;
          picks[t] = c;
        }
      }
      violations += Violation(t, picks[t]);
      bytes += Bytes(t, picks[t]);
      for (std::size_t p = 0; p < P_; ++p)
        load[p] += Loads(t, picks[t])[p];
    }
    BestResponses(picks);
    best_pick_ = picks;
    best_ = ScoreOf(picks);
  }

  // Moves one task at a time to its best choice given the others, until no move improves.
  void BestResponses(std::vector<int>& picks) const {
    const std::size_t T = tasks_.size();
    for (int round = 0; round < kLocalSearchRounds; ++round) {
      bool moved = false;
      for (std::size_t t = 0; t < T; ++t) {
        std::vector<double> others(P_, 0.0);
        int others_violations = 0;
        std::int64_t others_bytes = 0;
        for (std::size_t j = 0; j < T; ++j) {
          if (j == t)
            continue;
          others_violations += Violation(j, picks[j]);
          others_bytes += Bytes(j, picks[j]);
          for (std::size_t p = 0; p < P_; ++p)
            others[p] += Loads(j, picks[j])[p];
        }
        Score best = Worst();
        int best_c = picks[t];
        for (const int c : pools_[t]) {
          const std::int64_t b = others_bytes + Bytes(t, c);
          if (b > budget_)
            continue;
          double m = 0.0;
          for (std::size_t p = 0; p < P_; ++p)
            m = std::max(m, others[p] + Loads(t, c)[p]);
          const Score s{others_violations + Violation(t, c), m, b};
          // The current pick wins ties, so the moves end.
          if (Compare(s, best) < 0 || (Compare(s, best) == 0 && c == picks[t])) {
            best = s;
            best_c = c;
          }
        }
        if (best_c != picks[t]) {
          picks[t] = best_c;
          moved = true;
        }
      }
      if (!moved)
        break;
    }
  }

  // The LP relaxation's bound for weights w: every task at its least w-weighted load.
  double DualBound(const double* w) const {
    double total = 0.0;
    for (std::size_t t = 0; t < tasks_.size(); ++t) {
      double least = std::numeric_limits<double>::infinity();
      for (const int c : pools_[t])
        least = std::min(least, Dot(w, Loads(t, c), P_));
      total += least;
    }
    return total;
  }

  // The weights the search bounds with, the best first: the weight vector of the highest
  // DualBound (the coarse grid's best, refined by moving weight between two processors in halving
  // steps; the bound is concave in w), a few near it, where the best weights of the search's
  // subtrees tend to lie, then the whole coarse grid. The coarse grid alone bounds 4 to 8%
  // below the best plan on 8 tasks x 27 mappings, the refined vector 1 to 3%.
  void ChooseWeights() {
    std::size_t grid_count = 0;
    const std::vector<double> grid = SimplexGrid(P_, grid_count);
    std::vector<double> best(grid.begin(), grid.begin() + static_cast<std::ptrdiff_t>(P_));
    double best_bound = -1.0;
    for (std::size_t j = 0; j < grid_count; ++j) {
      const double bound = DualBound(&grid[j * P_]);
      if (bound > best_bound) {
        best_bound = bound;
        std::copy(&grid[j * P_], &grid[j * P_] + P_, best.begin());
      }
    }
    std::vector<double> w(P_);
    for (double step = 0.5 / static_cast<double>(grid_count); step > kFinestStep; step /= 2.0) {
      for (bool moved = true; moved;) {
        moved = false;
        for (std::size_t a = 0; a < P_; ++a)
          for (std::size_t b = 0; b < P_; ++b) {
            if (a == b || best[a] < step)
              continue;
            w = best;
            w[a] -= step;
            w[b] += step;
            const double bound = DualBound(w.data());
            if (bound > best_bound) {
              best_bound = bound;
              best = w;
              moved = true;
            }
          }
      }
    }
    weights_ = best;
    for (const double step : {0.01, 0.03, 0.08})
      for (std::size_t a = 0; a < P_; ++a)
        for (std::size_t b = 0; b < P_; ++b)
          if (a != b && best[a] >= step) {
            w = best;
            w[a] -= step;
            w[b] += step;
            weights_.insert(weights_.end(), w.begin(), w.end());
          }
    weights_.insert(weights_.end(), grid.begin(), grid.end());
    num_weights_ = weights_.size() / P_;
  }

  // Starts from each weight vector's LP-like plan (every task at its least w-weighted load, SLO
  // first) and moves to best responses: near the LP's optimum, such plans are close to the best
  // plan, so the branch and bound starts with a tight bound.
  void ImproveIncumbent() {
    const std::size_t T = tasks_.size();
    const std::size_t tries = std::min(num_weights_, kIncumbentTries);
    std::vector<int> picks(T);
    for (std::size_t j = 0; j < tries; ++j) {
      const double* w = &weights_[j * P_];
      for (std::size_t t = 0; t < T; ++t) {
        auto key = [&](int c) {
          return std::make_tuple(Violation(t, c), Dot(w, Loads(t, c), P_), Bytes(t, c));
        };
        picks[t] = *std::min_element(pools_[t].begin(), pools_[t].end(),
                                     [&](int a, int b) { return key(a) < key(b); });
      }
      BestResponses(picks);
      const Score score = ScoreOf(picks);
      if (score.bytes <= budget_ && Compare(score, best_) < 0) {
        best_ = score;
        best_pick_ = picks;
      }
    }
  }

  // Drops candidates that cannot beat the incumbent even with every other task at its minima.
  void FilterByBound(std::size_t t, const std::vector<Minima>& minima) {
    Minima others;
    others.load.assign(P_, 0.0);
    for (std::size_t j = 0; j < tasks_.size(); ++j) {
      if (j == t)
        continue;
      others.violation += minima[j].violation;
      others.bytes += minima[j].bytes;
      others.load_sum += minima[j].load_sum;
      for (std::size_t p = 0; p < P_; ++p)
        others.load[p] += minima[j].load[p];
    }
    std::vector<int> kept;
    for (const int c : pools_[t]) {
      const std::int64_t b = Bytes(t, c) + others.bytes;
      if (b > budget_)
        continue;
      double m = 0.0;
      double sum = 0.0;
      for (std::size_t p = 0; p < P_; ++p) {
        m = std::max(m, Loads(t, c)[p] + others.load[p]);
        sum += Loads(t, c)[p];
      }
      m = std::max(m, (sum + others.load_sum) / static_cast<double>(P_));
      if (Compare({Violation(t, c) + others.violation, m, b}, best_) < 0)
        kept.push_back(c);
    }
    pools_[t] = std::move(kept);
  }

  // Keeps the candidates no other candidate of the task dominates on (violation, bytes, load on
  // every processor); among identical ones, the most accurate.
  void ParetoPrune(std::size_t t) {
    const CandidateSet& set = tasks_[t];
    // A subset of a non-dominated set keeps every member, in the same (ascending) order.
    if (set.non_dominated)
      return;
    ParetoFront front(P_);
    for (const int c : pools_[t]) {
      const std::size_t i = static_cast<std::size_t>(c);
      // The choice's index in the set stands in for the choice itself.
      front.Insert({c, 0}, set.violation[i], set.bytes[i], set.accuracy[i], Loads(t, c));
    }
    std::vector<int>& pool = pools_[t];
    pool.clear();
    for (std::size_t i = 0; i < front.size(); ++i)
      pool.push_back(static_cast<int>(front.choice(i).stitched_variant));
    std::sort(pool.begin(), pool.end());
  }

  // One level per task: its candidates copied contiguously, in the order they are tried.
  struct Level {
    std::size_t task = 0;
    std::vector<int> pick;  // candidate index in the task's set
    std::vector<int> violation;
    std::vector<std::int64_t> bytes;
    std::vector<double> key;    // load weighted by the first weight vector
    std::vector<double> loads;  // [i * P + p]
  };

  void BranchAndBound() {
    const std::size_t T = tasks_.size();
    const std::vector<Minima> minima = AllMinima();
    // Heaviest tasks (least load at the best weights) branch near the root: their choices move
    // the bounds the most, so subtrees are ruled out early (8 tasks x 27 mappings: p99 nodes
    // 430,000 with the small pools first, 21,000 with the heaviest first).
    std::vector<double> heaviness(T, std::numeric_limits<double>::infinity());
    for (std::size_t t = 0; t < T; ++t)
      for (const int c : pools_[t])
        heaviness[t] = std::min(heaviness[t], Dot(weights_.data(), Loads(t, c), P_));
    std::vector<std::size_t> order(T);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return heaviness[a] > heaviness[b]; });
    suffix_ = std::make_unique<Suffix>(minima, order, P_);
    levels_.assign(T, {});
    for (std::size_t i = 0; i < T; ++i) {
      const std::size_t t = order[i];
      Level& level = levels_[i];
      level.task = t;
      // By violation, then load weighted by the best weights: the LP's choices first, and the
      // bound from those weights only grows along a level (within a violation count), so the
      // scan of a level stops at the first candidate it rules out.
      std::vector<std::tuple<int, double, int>> keyed;
      for (const int c : pools_[t])
        keyed.emplace_back(Violation(t, c), Dot(weights_.data(), Loads(t, c), P_), c);
      std::sort(keyed.begin(), keyed.end());
      for (const auto& [violation, key, c] : keyed) {
        level.pick.push_back(c);
        level.violation.push_back(violation);
        level.key.push_back(key);
        level.bytes.push_back(Bytes(t, c));
        level.loads.insert(level.loads.end(), Loads(t, c), Loads(t, c) + P_);
      }
    }
    // rest_weighted_[d * W + j]: sum over levels d.. of each level's least w_j-weighted load.
    const std::size_t W = num_weights_;
    rest_weighted_.assign((T + 1) * W, 0.0);
    for (std::size_t d = T; d-- > 0;) {
      const Level& level = levels_[d];
      for (std::size_t j = 0; j < W; ++j) {
        double least = std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < level.pick.size(); ++i)
          least = std::min(least, Dot(&weights_[j * P_], &level.loads[i * P_], P_));
        rest_weighted_[d * W + j] = rest_weighted_[(d + 1) * W + j] + least;
      }
    }
    partial_.assign((T + 1) * P_, 0.0);
    path_.assign(T, 0);
    Descend(0, 0, 0);
  }

  // True when a candidate with these violations and this load bound, whatever its bytes, is worse
  // than the best plan so far; so is every candidate after it on its level.
  bool RuledOut(int violations, double load_bound) const {
    return Compare({violations, load_bound, std::numeric_limits<std::int64_t>::min()}, best_) > 0;
  }

  // True when for some weights w, w . load + the rest's least w-weighted loads from level
  // `depth` on, with these violations and bytes, is no better than the best plan so far. The
  // weights that last ruled a node out are tried first: neighbouring nodes tend to share them.
  bool WeightedRuledOut(const double* load, std::size_t depth, int violations, std::int64_t bytes) {
    const std::size_t W = num_weights_;
    const double* rest = &rest_weighted_[depth * W];
    for (std::size_t n = 0; n < W; ++n) {
      const std::size_t j = (last_weights_ + n) % W;
      if (Compare({violations, rest[j] + Dot(&weights_[j * P_], load, P_), bytes}, best_) >= 0) {
        last_weights_ = j;
        return true;
      }
    }
    return false;
  }

  void Descend(std::size_t depth, int violations, std::int64_t bytes) {
    const Level& level = levels_[depth];
    const double* load = &partial_[depth * P_];
    const std::size_t n = level.pick.size();
    const double key = Dot(weights_.data(), load, P_);
    if (depth + 1 == levels_.size()) {
      for (std::size_t i = 0; i < n; ++i) {
        ++nodes_;
        if (RuledOut(violations + level.violation[i], key + level.key[i]))
          break;
        const std::int64_t b = bytes + level.bytes[i];
        if (b > budget_)
          continue;
        const double* u = &level.loads[i * P_];
        double m = 0.0;
        for (std::size_t p = 0; p < P_; ++p)
          m = std::max(m, load[p] + u[p]);
        const Score s{violations + level.violation[i], m, b};
        if (Compare(s, best_) < 0) {
          best_ = s;
          path_[depth] = static_cast<int>(i);
          for (std::size_t d = 0; d < levels_.size(); ++d)
            best_pick_[levels_[d].task] = levels_[d].pick[static_cast<std::size_t>(path_[d])];
        }
      }
      return;
    }
    const Suffix& rest = *suffix_;
    double* next = &partial_[(depth + 1) * P_];
    const double* rest_load = &rest.load[(depth + 1) * P_];
    for (std::size_t i = 0; i < n; ++i) {
      if (nodes_ >= limits_.max_nodes) {
        complete_ = false;
        return;
      }
      ++nodes_;
      const int v = violations + level.violation[i];
      if (RuledOut(v + rest.violations[depth + 1],
                   key + level.key[i] + rest_weighted_[(depth + 1) * num_weights_]))
        break;
      const std::int64_t b = bytes + level.bytes[i];
      if (b + rest.bytes[depth + 1] > budget_)
        continue;
      const double* u = &level.loads[i * P_];
      double m = 0.0;
      for (std::size_t p = 0; p < P_; ++p) {
        next[p] = load[p] + u[p];
        m = std::max(m, next[p] + rest_load[p]);
      }
      const Score bound{v + rest.violations[depth + 1], m, b + rest.bytes[depth + 1]};
      if (Compare(bound, best_) >= 0)
        continue;
      if (WeightedRuledOut(next, depth + 1, bound.violations, bound.bytes))
        continue;
      path_[depth] = static_cast<int>(i);
      Descend(depth + 1, v, b);
    }
  }

  const std::vector<CandidateSet>& tasks_;
  const std::size_t P_;
  std::int64_t budget_;
  const SearchLimits limits_;
  std::vector<std::vector<int>> pools_;  // candidate indices still in play, per task
  std::vector<int> best_pick_;
  Score best_;
  std::vector<Level> levels_;
  std::unique_ptr<Suffix> suffix_;
  std::vector<double> weights_;  // [j * P + p]: ChooseWeights
  std::size_t num_weights_ = 0;
  std::size_t last_weights_ = 0;
  std::vector<double> rest_weighted_;
  std::vector<double> partial_;  // [depth * P + p]: load of the tasks above depth
  std::vector<int> path_;
  std::int64_t nodes_ = 0;
  bool complete_ = true;
};

}  // namespace

JointResult SearchJoint(const std::vector<CandidateSet>& tasks, int num_processors,
                        std::int64_t memory_budget_bytes, SearchLimits limits) {
  return JointSearch(tasks, static_cast<std::size_t>(num_processors), memory_budget_bytes, limits)
      .Run();
}

}  // namespace sparseloom::plan
