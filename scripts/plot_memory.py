#!/usr/bin/env python3
"""Accounted stage bytes against the process's real memory over a `sparseloom run`.

    /usr/bin/python3 scripts/plot_memory.py TRACE.csv [-o out.png] [--budget-bytes N]

`sparseloom run --memory-trace TRACE.csv` samples, every 50 ms from before it makes its plans ahead
(and verifies their variants) to the end of serving, the bytes the
stage cache accounts as resident (what the budget limits) and the process RSS. The plot shows both
over time, the budget as a line, and the RSS less its first sample (what the run grew by), so that
the budget can be read as a promise about real memory. Needs Debian's python3-matplotlib.
"""

import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MIB = 1024.0 * 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csv", help="written by `sparseloom run --memory-trace`")
    parser.add_argument("-o", "--out", help="PNG to write (default: next to the CSV)")
    parser.add_argument("--budget-bytes", type=int, default=0, help="the cache budget, drawn as a line")
    args = parser.parse_args()

    with open(args.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    columns = ["t_s", "resident_stage_bytes", "rss_bytes"]
    if not rows:
        sys.exit(f"{args.csv}: expected at least one sample, got none")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        sys.exit(f"{args.csv}: expected columns {', '.join(missing)}, got {', '.join(rows[0])}")
    t = [float(r["t_s"]) for r in rows]
    stages = [int(r["resident_stage_bytes"]) / MIB for r in rows]
    rss = [int(r["rss_bytes"]) / MIB for r in rows]

    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(t, rss, label="process RSS", color="tab:red")
    ax.plot(t, [r - rss[0] for r in rss], label="RSS growth since the first sample", color="tab:orange")
    ax.plot(t, stages, label="resident stage bytes (accounted)", color="tab:blue")
    if args.budget_bytes > 0:
        ax.axhline(args.budget_bytes / MIB, color="k", linestyle="--", linewidth=1, label="cache budget")
    ax.set_xlabel("time since the trace started (s): plans made ahead and their verification, then serving")
    ax.set_ylabel("MiB")
    ax.set_title(os.path.basename(args.csv))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = args.out or os.path.splitext(args.csv)[0] + ".png"
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
