#!/usr/bin/env python3
"""Accuracy versus latency of every stitched variant of a task, from the profiler's CSV.

    /usr/bin/python3 scripts/plot_profile.py PROFILE_DIR/stitched.csv [-o out.png]

`sparseloom profile` writes PROFILE_DIR/stitched.csv (one row per stitched variant at its best
placement). The plot shows the stitched variants (grey; hollow where estimated), the original
variants (labelled), and the Pareto front, and says how many stitched variants lie on the front.
Needs Debian's python3-matplotlib (scripts/setup.sh installs it).
"""

import argparse
import csv
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csv", help="stitched.csv written by `sparseloom profile`")
    parser.add_argument("-o", "--out", help="PNG to write (default: next to the CSV)")
    parser.add_argument("--task", help="title (default: the CSV's folder name)")
    args = parser.parse_args()

    with open(args.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"{args.csv}: no rows")
    for r in rows:
        r["accuracy"] = 100.0 * float(r["accuracy"])
        r["latency_ms"] = float(r["latency_ms"])

    task = args.task or os.path.basename(os.path.dirname(os.path.abspath(args.csv)))
    out = args.out or os.path.join(os.path.dirname(args.csv), "accuracy_latency.png")

    stitched = [r for r in rows if r["original"] == "0"]
    originals = [r for r in rows if r["original"] == "1"]
    front = sorted((r for r in rows if r["on_front"] == "1"), key=lambda r: r["latency_ms"])
    front_stitched = sum(1 for r in front if r["original"] == "0")
    measured = [r for r in stitched if r["accuracy_measured"] == "1"]
    estimated = [r for r in stitched if r["accuracy_measured"] == "0"]

    # Left: everything. Right: the top few points of accuracy, where the front and the choices an
    # SLO would make are.
    fig, (full, zoom) = plt.subplots(1, 2, figsize=(13, 5.5), dpi=110)
    top = max(r["accuracy"] for r in rows)
    for ax, labels in ((full, False), (zoom, True)):
        if estimated:
            ax.scatter([r["latency_ms"] for r in estimated], [r["accuracy"] for r in estimated],
                       s=10, facecolors="none", edgecolors="0.6", linewidths=0.6,
                       label=f"stitched, estimated ({len(estimated)})")
        if measured:
            ax.scatter([r["latency_ms"] for r in measured], [r["accuracy"] for r in measured],
                       s=10, color="0.35", label=f"stitched, measured ({len(measured)})")
        ax.step([r["latency_ms"] for r in front], [r["accuracy"] for r in front], where="post",
                color="tab:red", linewidth=1.5,
                label=f"Pareto front ({len(front)} points, {front_stitched} stitched)")
        ax.scatter([r["latency_ms"] for r in front], [r["accuracy"] for r in front], s=18,
                   color="tab:red", zorder=3)
        ax.scatter([r["latency_ms"] for r in originals], [r["accuracy"] for r in originals], s=80,
                   marker="*", color="tab:blue", zorder=4,
                   label=f"original variants ({len(originals)})")
        if labels:
            for r in originals:
                if r["accuracy"] >= top - 4.0:
                    ax.annotate(r["stitched"].split("/")[0], (r["latency_ms"], r["accuracy"]),
                                textcoords="offset points", xytext=(4, -10), fontsize=8,
                                color="tab:blue")
        ax.set_xlabel("batch-1 latency, best placement (ms)")
        ax.grid(True, alpha=0.3)
    full.set_ylabel("top-1 accuracy on the validation set (%)")
    full.set_title("all stitched variants")
    full.legend(loc="lower right", fontsize=8)
    near = [r for r in rows if r["accuracy"] >= top - 4.0]
    zoom.set_ylim(top - 4.0, top + 0.5)
    near_ms = sorted(r["latency_ms"] for r in near)  # 95th percentile: outliers need the left panel
    zoom.set_xlim(0.95 * near_ms[0], 1.05 * near_ms[int(0.95 * (len(near_ms) - 1))])
    zoom.set_title("within 4 points of the best accuracy")
    fig.suptitle(f"{task}: {len(rows)} stitched variants, {len(front)} on the Pareto front, "
                 f"{front_stitched} of them stitched")
    fig.tight_layout()
    fig.savefig(out)
    print(f"{out}: {len(front)} variants on the Pareto front, {front_stitched} of them stitched")


if __name__ == "__main__":
    main()
