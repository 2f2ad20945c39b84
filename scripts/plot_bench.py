#!/usr/bin/env python3
"""Plots of a `sparseloom bench` run, from the CSV files it wrote.

    /usr/bin/python3 scripts/plot_bench.py DIR

DIR holds violations.csv, throughput.csv, profiling.csv, placement.csv and memory.csv (one row per
platform and planner, task, placement or budget). Writes into DIR:

  violations.png  SLO violation rate per request and per task-episode, every planner per platform
  throughput.png  closed-loop completed requests per second, relative to SV-AO-NP
  profiling.png   modelled profiling minutes with estimators and exhaustive (log scale)
  placement.png   violation rate of each fixed placement order against SparseLoom's free choice
  memory.png      violation rate against the stage memory budget, per cache policy and platform

Needs Debian's python3-matplotlib (scripts/setup.sh installs it). A missing file or column is an
error naming it.
"""

import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(directory, name, columns):
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        sys.exit(f"{path}: expected a file written by `sparseloom bench`, got none")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows:
        missing = [c for c in columns if c not in rows[0]]
        if missing:
            sys.exit(f"{path}: expected columns {', '.join(missing)}, got {', '.join(rows[0])}")
    return rows


def platforms_of(rows):
    seen = []
    for r in rows:
        if r["platform"] not in seen:
            seen.append(r["platform"])
    return seen


def grouped_bars(ax, groups, series, values, ylabel, title, percent=False):
    """Bars of values[(group, series)] clustered by group."""
    width = 0.8 / max(1, len(series))
    for i, s in enumerate(series):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ys = [values.get((grp, s), 0.0) * (100.0 if percent else 1.0) for grp in groups]
        ax.bar(xs, ys, width, label=s)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=15)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)


def plot_violations(d):
    rows = read(d, "violations.csv", ["platform", "planner", "violation_rate", "episode_violation_rate"])
    platforms = platforms_of(rows)
    planners = list(dict.fromkeys(r["planner"] for r in rows))
    per_request = {(r["platform"], r["planner"]): float(r["violation_rate"]) for r in rows}
    per_episode = {(r["platform"], r["planner"]): float(r["episode_violation_rate"]) for r in rows}
    fig, axes = plt.subplots(1, 2, figsize=(15, 4.8))
    grouped_bars(axes[0], platforms, planners, per_request, "violated requests (%)",
                 "SLO violation rate, per request", percent=True)
    grouped_bars(axes[1], platforms, planners, per_episode, "violated task-episodes (%)",
                 "SLO violation rate, per task-episode (>5% of its requests)", percent=True)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(d, "violations.png"), dpi=110)
    plt.close(fig)


def plot_throughput(d):
    rows = read(d, "throughput.csv", ["platform", "planner", "measured_rps", "ratio_to_sv_ao_np"])
    platforms = platforms_of(rows)
    planners = list(dict.fromkeys(r["planner"] for r in rows))
    ratio = {(r["platform"], r["planner"]): float(r["ratio_to_sv_ao_np"] or 0.0) for r in rows}
    fig, ax = plt.subplots(figsize=(10, 4.5))
    grouped_bars(ax, platforms, planners, ratio, "completed requests/s relative to SV-AO-NP",
                 "closed-loop throughput, every task present")
    ax.axhline(2.31, color="k", linestyle="--", linewidth=1, label="paper: up to 2.31x")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(d, "throughput.png"), dpi=110)
    plt.close(fig)


def plot_profiling(d):
    rows = read(d, "profiling.csv", ["platform", "task", "mode", "minutes"])
    platforms = platforms_of(rows)
    totals = {}
    for r in rows:
        key = (r["platform"], "with estimators" if r["mode"] == "sampled" else "exhaustive")
        totals[key] = totals.get(key, 0.0) + float(r["minutes"])
    fig, ax = plt.subplots(figsize=(9, 4.5))
    grouped_bars(ax, platforms, ["with estimators", "exhaustive"], totals, "minutes (model)",
                 "profiling time, all tasks (a model of the profiler's runs)")
    ax.set_yscale("log")
    ax.axhline(5, color="k", linestyle="--", linewidth=1, label="paper: under 5 min")
    ax.axhline(468, color="grey", linestyle=":", linewidth=1, label="paper: 468 min exhaustive")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(d, "profiling.png"), dpi=110)
    plt.close(fig)


def plot_placement(d):
    rows = read(d, "placement.csv", ["platform", "placement", "free", "violation_rate"])
    platforms = platforms_of(rows)
    fig, axes = plt.subplots(1, max(1, len(platforms)), figsize=(4.2 * max(1, len(platforms)), 4.5),
                             squeeze=False)
    for ax, platform in zip(axes[0], platforms):
        mine = [r for r in rows if r["platform"] == platform]
        mine.sort(key=lambda r: (r["free"] != "1", float(r["violation_rate"])))
        names = [r["placement"] for r in mine]
        values = [100.0 * float(r["violation_rate"]) for r in mine]
        colors = ["tab:green" if r["free"] == "1" else "tab:blue" for r in mine]
        ax.bar(range(len(names)), values, color=colors)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
        ax.set_title(platform, fontsize=9)
        ax.set_ylabel("violated requests (%)")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("SparseLoom: free placement (green) against each fixed order")
    fig.tight_layout()
    fig.savefig(os.path.join(d, "placement.png"), dpi=110)
    plt.close(fig)


def plot_memory(d):
    rows = read(d, "memory.csv", ["platform", "budget_percent", "violation_rate", "policy"])
    platforms = platforms_of(rows)
    fig, axes = plt.subplots(1, max(1, len(platforms)), figsize=(5 * max(1, len(platforms)), 4.2),
                             squeeze=False)
    for ax, platform in zip(axes[0], platforms):
        for policy in ("hotness", "lru", "lfu", "none"):
            mine = sorted((float(r["budget_percent"]), 100.0 * float(r["violation_rate"]))
                          for r in rows if r["platform"] == platform and r["policy"] == policy)
            if mine:
                ax.plot([m[0] for m in mine], [m[1] for m in mine], marker="o", markersize=3,
                        label=policy)
        ax.set_xscale("log")
        ax.set_xlabel("stage memory budget (% of the full zoo set, log)")
        ax.set_ylabel("violated requests (%)")
        ax.set_title(platform, fontsize=10)
        ax.axvline(72, color="k", linestyle="--", linewidth=1, label="paper: 28% less than 100%")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Violation rate against the stage memory budget, per cache policy")
    fig.tight_layout()
    fig.savefig(os.path.join(d, "memory.png"), dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir", help="the --out folder of `sparseloom bench`")
    args = parser.parse_args()
    for plot in (plot_violations, plot_throughput, plot_profiling, plot_placement, plot_memory):
        plot(args.dir)
    print(f"plots written to {args.dir}")


if __name__ == "__main__":
    main()
