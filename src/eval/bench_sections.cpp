#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "eval/bench_markdown.h"
#include "eval/format.h"
#include "eval/run_report.h"

namespace sparseloom::eval {
namespace {

std::string PlotLine(const std::string& plots_dir, const std::string& file,
                     const std::string& alt) {
  if (plots_dir.empty())
    return "(no plot: the run was made with --no-plots)\n\n";
  return "![" + alt + "](" + plots_dir + "/" + file + ")\n\n";
}

// A table's header row and rule: `first`, then one column per platform.
void PlatformColumns(std::ostream& md, const std::string& first, const BenchReport& report) {
  md << "| " << first << " |";
  for (const PlatformResults& p : report.platforms)
    md << " " << p.name << " |";
  md << "\n|---|";
  for (std::size_t i = 0; i < report.platforms.size(); ++i)
    md << "---|";
  md << "\n";
}

// How the accuracy SLOs of (a) were planned and judged, per platform: the margin, the ground
// truth, verification, and how many completed requests were judged on an estimate all the same.
std::string AccuracyParagraph(const BenchReport& report) {
  std::ostringstream md;
  md << "Accuracy SLOs are judged against each stitched variant's accuracy measured on its whole "
        "validation set: the zoo's accuracy ground truth (`sparseloom truth`, which `make "
        "results` runs once per zoo) where it exists, never against the planner's estimate; "
        "without one, against what verification measured, else the estimate (counted below). "
        "Planners plan on a lower bound (an estimate less its estimator's conformal margin) and "
        "verify the estimated variants they choose.\n\n"
     << "| platform | ground truth | margin planned with | verified on selection | below their "
        "SLO (plans made again) | SparseLoom's completed requests judged on an estimate |\n"
     << "|---|---|---|---|---|---|\n";
  for (const PlatformResults& p : report.platforms) {
    const AccuracyFigures& a = p.accuracy;
    std::vector<std::string> truth, margins;
    for (std::size_t t = 0; t < a.tasks.size(); ++t) {
      if (a.truth[t])
        truth.push_back(a.tasks[t]);
      margins.push_back(a.tasks[t] + " " + Fixed(100.0 * a.margin[t], 2) + " pp");
    }
    std::int64_t on_estimate = 0, completed = 0;
    if (!p.violations.empty()) {
      const ViolationFigures& v = p.violations.front();
      on_estimate = v.judged_on_estimate;
      completed = v.requests - v.dropped;
    }
    md << "| " << p.name << " | " << (truth.empty() ? "none" : Join(truth, ", ")) << " | "
       << Join(margins, ", ") << " | "
       << (a.verified ? std::to_string(a.verified_variants) + " variants" +
                            (a.unavailable > 0 ? " (" + std::to_string(a.unavailable) +
                                                     " chosen without a truth to verify them)"
                                               : "")
                      : std::string("off"))
       << " | " << a.below_slo << " (" << a.replans << ") | " << on_estimate << " of " << completed
       << " |\n";
  }
  md << "\n";
  return md.str();
}

}  // namespace

void WriteComparisonSections(std::ostream& md, const BenchReport& report,
                             const std::string& plots_dir) {
  const double tol = report.memory_tolerance_pp;
  // Platforms.
  md << "## Platforms\n\n| platform | processors | source | rate scale | notes "
        "|\n|---|---|---|---|---|\n";
  for (const PlatformResults& p : report.platforms) {
    std::string processors, notes;
    for (const std::string& x : p.processors) {
      processors += processors.empty() ? "" : ", ";
      processors += x;
    }
    for (const std::string& n : p.notes) {
      notes += notes.empty() ? "" : "; ";
      notes += n;
    }
    md << "| " << p.name << " | " << processors << " | `" << p.source << "` | x"
       << Fixed(p.rate_scale, 3) << " | " << (notes.empty() ? "-" : notes) << " |\n";
  }
  md << "\nRates: each platform's task rates are the task file's times its scale, so that every "
        "task's most accurate original variant, each request whole on one processor, would load "
        "the platform's processors, pooled, to "
     << (report.platforms.empty() ? std::string("-")
                                  : Percent(report.platforms.front().offered_load))
     << " (Σ_t rate_t / Σ_p 1000/latency_tp): the same pressure on every platform, whatever its "
        "speed. The violation rates depend on this choice (`--offered-load`); a processor too "
        "slow for a task's SLOs still counts in its capacity, which makes this pressure higher "
        "on SoCs whose processors differ much.\n\n";

  // (a)
  md << "## (a) SLO violations: SparseLoom against the six baselines\n\n"
     << "Poisson arrivals; every planner serves the same episodes (SLO configuration x arrival "
        "order), arrival times and samples. Per request: share of requests late, on a variant "
        "below the accuracy bound, or dropped. Per task-episode: share of (episode, task) pairs "
        "with more than 5% of their requests violated.\n\n";
  for (const PlatformResults& p : report.platforms) {
    md << "**" << p.name << "** (" << p.slo_configs << " SLO configurations x " << p.orders
       << " orders = " << p.slo_configs * p.orders << " episodes)\n\n"
       << "| planner | requests | violations (per request) | task-episodes violated | dropped | "
          "late | below accuracy | planned misses | completed/s |\n"
       << "|---|---|---|---|---|---|---|---|---|\n";
    for (const ViolationFigures& v : p.violations) {
      md << "| " << v.planner << " | " << v.requests << " | " << Percent(v.RequestRate()) << " | "
         << v.episodes_violated << "/" << v.task_episodes << " (" << Percent(v.EpisodeRate())
         << ") | " << v.dropped << " | " << v.late << " | " << v.inaccurate << " | "
         << v.planned_miss << " | " << Fixed(v.completed_rps, 1) << " |\n";
    }
    md << "\n";
  }
  md << "Planned misses: violated requests whose phase plan already predicted the miss (its "
        "latency above the SLO or its accuracy below it, in the planner's own model).\n\n"
     << AccuracyParagraph(report)
     << PlotLine(plots_dir, "violations.png", "violation rate per planner and platform");

  bool any_host_load = false;
  for (const PlatformResults& p : report.platforms)
    any_host_load = any_host_load || !p.violations_at_host_load.empty();
  if (any_host_load) {
    md << "### (a') The same episodes at the load the task file's rates put on the host\n\n"
       << "The demo's rates are chosen to overload the most accurate originals on this host (a "
          "pooled load of "
       << Percent(report.platforms.front().host_load)
       << "); here every platform gets that load. How much lighter SparseLoom's variants make the "
          "load than the "
          "most accurate originals depends on the platform: on the host, int8 and bf16 stages run "
          "several times faster than fp32; in the SoC profiles a fixed dispatch cost per stage "
          "narrows that spread.\n\n"
       << "| platform | SparseLoom | worst baseline | AV-P | reduction vs worst | reduction vs "
          "AV-P "
          "|\n|---|---|---|---|---|---|\n";
    for (const PlatformResults& p : report.platforms) {
      if (p.violations_at_host_load.empty())
        continue;
      PlatformResults q;  // the same accounting over the second run
      q.violations = p.violations_at_host_load;
      const ViolationFigures& sl = q.violations.front();
      const ViolationFigures* worst = WorstBaseline(q);
      const ViolationFigures* avp = FindViolations(q, "AV-P");
      md << "| " << p.name << " | " << Percent(sl.RequestRate()) << " | "
         << (worst ? worst->planner + " " + Percent(worst->RequestRate()) : std::string("-"))
         << " | " << (avp ? Percent(avp->RequestRate()) : std::string("-")) << " | "
         << (worst && worst->RequestRate() > 0.0
                 ? Percent(Reduction(sl.RequestRate(), worst->RequestRate()), 0)
                 : std::string("-"))
         << " | "
         << (avp && avp->RequestRate() > 0.0
                 ? Percent(Reduction(sl.RequestRate(), avp->RequestRate()), 0)
                 : std::string("-"))
         << " |\n";
    }
    md << "\n";
  }

  // (b)
  md << "## (b) Throughput: closed loop, every task present\n\n"
     << "Each task keeps a window of requests in flight; completed requests per second with all "
        "tasks present (the last phase), averaged over the episodes, and the planner's bound for "
        "the mix it completed.\n\n";
  PlatformColumns(md, "planner", report);
  if (!report.platforms.empty()) {
    for (const ThroughputFigures& t0 : report.platforms.front().throughput) {
      md << "| " << t0.planner << " |";
      for (const PlatformResults& p : report.platforms) {
        const double ao = ThroughputOf(p, "SV-AO-NP");
        const double x = ThroughputOf(p, t0.planner);
        md << " " << Fixed(x, 1) << "/s (" << (ao > 0.0 ? Fixed(x / ao, 2) : "-") << "x; bound "
           << Fixed(BoundOf(p, t0.planner), 1) << ") |";
      }
      md << "\n";
    }
  }
  md << "\n" << PlotLine(plots_dir, "throughput.png", "throughput relative to SV-AO-NP");

  // (c)
  md << "## (c) Profiling time with and without estimators (a model)\n\n"
     << "Not a measurement: the profiler's design (docs/profiler.md) counts its runs, and each "
        "run is priced with the platform's latencies (`src/sim/profiling_model.h`). Every "
        "stage on every processor: loaded, 3 + 5 + 4 warm-up and 30 timed batch-1 runs. Chains: "
        "sampled P^K x max(4, 1% V^K) or all supported V^K x P^K, 2 + 9 runs each. Accuracy: "
        "the validation set in batches of 250 through every distinct stitched prefix of the "
        "evaluated variants (prefix sharing, as the profiler does), on the processor that does "
        "it fastest; sampled = originals + single substitutions + 2% of V^K at random, "
        "exhaustive = all V^K. Estimator training: the host's measured time (CPU work, the "
        "same on every platform).\n\n"
     << "| platform | task | with estimators | exhaustive | reduction | accuracy points "
        "(sampled / all) | accuracy on | host: measured (model of the same sample) |\n"
     << "|---|---|---|---|---|---|---|---|\n";
  for (const PlatformResults& p : report.platforms) {
    for (const ProfilingFigures& f : p.profiling) {
      md << "| " << p.name << " | " << f.task << " | " << Fixed(f.sampled.total_s() / 60.0, 2)
         << " min | " << Fixed(f.exhaustive.total_s() / 60.0, 1) << " min | "
         << Percent(Reduction(f.sampled.total_s(), f.exhaustive.total_s())) << " | "
         << f.sampled.accuracy_points << " / " << f.exhaustive.accuracy_points << " | "
         << f.accuracy_processor << " | "
         << (f.measured_s >= 0.0 ? Fixed(f.measured_s / 60.0, 2) + " min (" +
                                       Fixed(f.modelled_measured_s / 60.0, 2) + " min)"
                                 : std::string("-"))
         << " |\n";
    }
    const ProfilingTotals t = ProfilingTotalsOf(p);
    md << "| " << p.name << " | **all** | **" << Fixed(t.sampled_s / 60.0, 2) << " min** | **"
       << Fixed(t.exhaustive_s / 60.0, 1) << " min** | **"
       << Percent(Reduction(t.sampled_s, t.exhaustive_s)) << "** | | | "
       << (t.has_measured ? Fixed(t.measured_s / 60.0, 2) + " min (" +
                                Fixed(t.modelled_measured_s / 60.0, 2) + " min)"
                          : std::string("-"))
       << " |\n";
  }
  md << "\nThe paper: " << Fixed(kPaperExhaustiveMin, 0)
     << " min exhaustive for ten variants, under 5 min with its estimators. On the host the "
        "last column checks the model against the profiler's measured wall time for the sample "
        "it really took (its table's time_s; the budget may have stopped its random points "
        "early).\n\n"
     << PlotLine(plots_dir, "profiling.png", "profiling time with and without estimators");

  // (d)
  md << "## (d) Fixed against optimized placement order\n\n"
     << "SparseLoom with its free choice of stage -> processor mapping per task and phase, "
        "against SparseLoom restricted to one fixed mapping for every task (the other "
        "processors made unavailable to each stage: `sim::PinnedToPlacement`). Fixed mappings: "
        "the K! orders when K <= P, else every mapping that uses every processor. Same "
        "episodes for all.\n\n"
     << "| platform | episodes | free choice | best fixed | median fixed | worst fixed |\n"
     << "|---|---|---|---|---|---|\n";
  for (const PlatformResults& p : report.platforms) {
    std::vector<const PlacementFigures*> fixed;
    const PlacementFigures* free = nullptr;
    for (const PlacementFigures& f : p.placement) {
      if (f.free)
        free = &f;
      else
        fixed.push_back(&f);
    }
    std::sort(fixed.begin(), fixed.end(), [](const auto* a, const auto* b) {
      return a->figures.RequestRate() < b->figures.RequestRate();
    });
    auto show = [](const PlacementFigures* f) {
      return f ? Percent(f->figures.RequestRate()) + " (" + f->placement + ")" : std::string("-");
    };
    md << "| " << p.name << " | " << p.placement_episodes << " | "
       << (free ? Percent(free->figures.RequestRate()) : std::string("-")) << " | "
       << show(fixed.empty() ? nullptr : fixed.front()) << " | "
       << show(fixed.empty() ? nullptr : fixed[fixed.size() / 2]) << " | "
       << show(fixed.empty() ? nullptr : fixed.back()) << " |\n";
  }
  md << "\n" << PlotLine(plots_dir, "placement.png", "violation rate per fixed placement order");

  // (e)
  md << "## (e) Violation rate against the stage memory budget\n\n"
     << "SparseLoom with a stage cache of the given share of the full zoo set (every stage of "
        "every variant of every task on every processor): the hottest stages of its expected "
        "plans preloaded, the rest loaded on demand from the platform's storage (per-load cost "
        "+ bytes / read bandwidth, counted in the request's latency), coldest evicted. 100% = "
        "preloading everything. \"Equal\": within "
     << Fixed(tol, 1)
     << " percentage points of the 100% rate, at that budget and every larger one.\n\n"
     << "| platform | episodes | full set | 100% (preload all) | smallest equal budget | saving | "
        "rate there | loads on demand there |\n|---|---|---|---|---|---|---|---|\n";
  for (const PlatformResults& p : report.platforms) {
    const MemoryFigures* m = SmallestEquivalentBudget(p, tol);
    md << "| " << p.name << " | " << p.memory_episodes << " | "
       << HumanBytes(static_cast<double>(p.full_set_bytes)) << " | "
       << (p.memory.empty() ? std::string("-") : Percent(p.memory.back().figures.RequestRate()))
       << " | "
       << (m ? Percent(m->fraction, 0) + " (" + HumanBytes(double(m->budget_bytes)) + ")" : "-")
       << " | " << (m ? Percent(1.0 - m->fraction, 0) : "-") << " | "
       << (m ? Percent(m->figures.RequestRate()) : "-") << " | "
       << (m ? std::to_string(m->cache.misses) : "-") << " |\n";
  }
  md << "\nEvery budget:\n\n";
  PlatformColumns(md, "budget", report);
  if (!report.platforms.empty()) {
    for (const MemoryFigures& row : report.platforms.front().memory) {
      md << "| " << Percent(row.fraction, 0) << " |";
      for (const PlatformResults& p : report.platforms) {
        const auto it = std::find_if(p.memory.begin(), p.memory.end(), [&](const auto& x) {
          return std::abs(x.fraction - row.fraction) < 1e-9;
        });
        md << " "
           << (it == p.memory.end() ? std::string("-")
                                    : Percent(it->figures.RequestRate()) + " (" +
                                          std::to_string(it->cache.misses) + " loads)")
           << " |";
      }
      md << "\n";
    }
  }
  md << "\n" << PlotLine(plots_dir, "memory.png", "violation rate against memory budget");
  WriteCachePolicies(md, report);

  // (f)
  md << "## (f) SLO changes while served\n\n"
     << "Each planner on the same episodes, in which a task present moves to another point of its "
        "SLO grid at Poisson times and is re-planned while the others keep flowing (";
  if (!report.platforms.empty())
    md << report.platforms.front().change_episodes << " episodes per platform, ";
  md << "the same changes for every planner). The changed task's requests are judged against "
        "the SLO asked when they arrived: before a change (since its join or previous change) "
        "and after it. On the virtual clock a plan is in place when its change comes; `sparseloom "
        "run --slo-changes` measures the re-plan latency and the requests during it on the real "
        "host (docs/runtime.md).\n\n"
     << "| platform | planner | changes | violated before | violated after | new plans meeting "
        "the SLO | all requests violated |\n|---|---|---|---|---|---|---|\n";
  for (const PlatformResults& p : report.platforms) {
    for (const SloChangeBenchFigures& f : p.slo_changes) {
      md << "| " << p.name << " | " << f.planner << " | " << f.changes << " | "
         << Percent(Ratio(f.before_violations, f.before_requests)) << " of " << f.before_requests
         << " | " << Percent(Ratio(f.after_violations, f.after_requests)) << " of "
         << f.after_requests << " | " << f.plans_met << "/" << f.changes << " | "
         << Percent(f.figures.RequestRate()) << " |\n";
    }
  }
  md << "\n";

  md << "## Reading these figures\n\n"
     << "- The device profiles' utilizations and dispatch overheads are partly assumed "
        "(docs/devices.md, \"Gaps\"); the per-processor ordering they give drives the placement "
        "results.\n"
     << "- The host platform replays its measured tables on the virtual clock: no background "
        "load, no preemption, so its violation rates are lower than `sparseloom run`'s on this "
        "shared machine (docs/runtime.md).\n"
     << "- Planners plan on the host tables' accuracies (measured on a sample, estimated for the "
        "rest); the requests are judged as section (a) says. The activity and keyword tasks use "
        "synthetic data (docs/demo-zoos.md).\n"
     << "- Run time of this bench: ";
  double total = 0.0;
  for (const PlatformResults& p : report.platforms) {
    md << p.name << " " << Fixed(p.wall_s, 0) << " s; ";
    total += p.wall_s;
  }
  md << "total " << Fixed(total, 0) << " s.\n";
}

}  // namespace sparseloom::eval
