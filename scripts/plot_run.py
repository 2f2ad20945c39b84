#!/usr/bin/env python3
"""SLO violations and throughput of every planner of a `sparseloom run`, from its JSON results.

    /usr/bin/python3 scripts/plot_run.py RESULTS.json [-o out.png]

`sparseloom run --json RESULTS.json` writes one entry per planner, all on the same workload. The
plot has three panels: the share of requests that missed their SLO (late, on a variant below the
accuracy bound, dropped or failed) per task and planner, the share of task-episodes violated, and
the completed requests per second. Needs Debian's python3-matplotlib (scripts/setup.sh installs it).
"""

import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("json", help="results written by `sparseloom run --json`")
    parser.add_argument("-o", "--out", help="PNG to write (default: next to the JSON)")
    args = parser.parse_args()

    with open(args.json) as f:
        results = json.load(f)
    if results.get("format") != "sparseloom-run":
        raise SystemExit(f"{args.json}: format: expected \"sparseloom-run\", got {results.get('format')!r}")
    runs = results["runs"]
    if not runs:
        raise SystemExit(f"{args.json}: runs: expected at least one planner, got none")
    out = args.out or os.path.splitext(args.json)[0] + ".png"

    planners = [r["planner"] for r in runs]
    tasks = [t["task"] for t in runs[0]["tasks"]]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))

    width = 0.8 / max(1, len(tasks))
    for i, task in enumerate(tasks):
        rates = [100.0 * r["tasks"][i]["violation_rate"] for r in runs]
        axes[0].bar([p + i * width for p in range(len(runs))], rates, width, label=task)
    axes[0].set_xticks([p + 0.4 - width / 2 for p in range(len(runs))])
    axes[0].set_xticklabels(planners, rotation=30, ha="right")
    axes[0].set_ylabel("requests violating their SLO (%)")
    axes[0].set_title("SLO violations per request")
    axes[0].legend(fontsize="small")

    episodes = [100.0 * r["episodes_violated"] / max(1, r["task_episodes"]) for r in runs]
    axes[1].bar(range(len(runs)), episodes, color="tab:red")
    axes[1].set_xticks(range(len(runs)))
    axes[1].set_xticklabels(planners, rotation=30, ha="right")
    axes[1].set_ylabel("task-episodes violated (%)")
    axes[1].set_title("SLO violations per task-episode")

    throughput = [r["throughput_rps"] for r in runs]
    axes[2].bar(range(len(runs)), throughput, color="tab:green")
    axes[2].set_xticks(range(len(runs)))
    axes[2].set_xticklabels(planners, rotation=30, ha="right")
    axes[2].set_ylabel("completed requests / s (all tasks)")
    axes[2].set_title(f"throughput ({results['arrivals']} arrivals)")

    fig.suptitle(f"sparseloom run: {os.path.basename(results['task_file'])}, "
                 f"{len(runs[0]['episodes'])} episode(s), phase {results['phase_s']} s")
    fig.tight_layout()
    tmp = out + ".tmp.png"
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, out)  # atomic: a reader never sees half a PNG
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
