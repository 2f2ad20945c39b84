#!/usr/bin/env python3
"""Real-host claims with their uncertainty (docs/runtime.md, "Repeated host comparison").

Reads the JSON files of repeated `sparseloom run --planner all ... --json FILE` runs (the same
workload each time; within a run the planners are interleaved episode by episode) and prints, per
planner, the per-request SLO violation rate's mean over the runs with its 95% confidence interval
(Student t, n - 1 degrees of freedom), and SparseLoom's difference to each baseline, paired by run,
with its interval. A difference is called significant only where its interval excludes zero.

    python3 scripts/host_repeats.py results/host_rep_*.json
"""

import json
import math
import sys

# Two-sided 95% Student t quantiles by degrees of freedom (no scipy needed).
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
       9: 2.262, 10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042}


def t95(df):
    best = max(k for k in T95 if k <= df)
    return T95[best]


def mean_ci(values):
    n = len(values)
    m = sum(values) / n
    if n < 2:
        return m, float("nan")
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))
    return m, t95(n - 1) * sd / math.sqrt(n)


def main(files):
    if len(files) < 2:
        sys.exit("usage: host_repeats.py RUN.json RUN.json ... (at least two runs)")
    rates = {}  # planner -> [violation rate per run]
    for f in files:
        with open(f) as fh:
            d = json.load(fh)
        if d.get("simulated"):
            sys.exit(f"{f}: a simulated run; this is for real-host runs")
        for run in d["runs"]:
            rates.setdefault(run["planner"], []).append(run["violation_rate"])
    n = len(files)
    for planner, values in rates.items():
        if len(values) != n:
            sys.exit(f"planner {planner} is in {len(values)} of the {n} runs")
    print(f"{n} runs: " + " ".join(files))
    print(f"{'planner':<12} {'violations (mean)':>18} {'95% CI':>18} {'runs':>40}")
    for planner, values in rates.items():
        m, h = mean_ci(values)
        runs = ", ".join(f"{100 * v:.1f}" for v in values)
        print(f"{planner:<12} {100 * m:>17.2f}% {'+-' + format(100 * h, '.2f') + ' pp':>18}   {runs}")
    ours = rates.get("SparseLoom")
    if ours is None:
        return
    print("\nSparseLoom minus each baseline, paired by run (negative: fewer violations):")
    for planner, values in rates.items():
        if planner == "SparseLoom":
            continue
        diffs = [a - b for a, b in zip(ours, values)]
        m, h = mean_ci(diffs)
        verdict = ("below" if m + h < 0 else "above" if m - h > 0
                   else "not distinguishable (the interval includes 0)")
        print(f"  vs {planner:<8} {100 * m:+.2f} pp, 95% CI [{100 * (m - h):+.2f}, "
              f"{100 * (m + h):+.2f}] pp: {verdict}")


if __name__ == "__main__":
    main(sys.argv[1:])
