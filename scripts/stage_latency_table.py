#!/usr/bin/env python3
"""Per-stage batch-1 latency and accuracy of every variant of a zoo, as a Markdown table.

    scripts/stage_latency_table.py BUILD/src/sparseloom ZOO [--runs N] [--threads T]

Runs `sparseloom zoo eval ZOO --stitch <variant> --json` for each variant (plain python3, no torch)
and prints one row per variant: accuracy measured by the C++ engine, median and p90 per stage.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sparseloom", type=Path)
    parser.add_argument("zoo", type=Path)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    manifest = json.loads((args.zoo / "zoo.json").read_text())
    k = manifest["num_stages"]
    header = ["variant", "accuracy (C++)"] + [f"stage {i + 1} ms (p50 / p90)" for i in range(k)]
    header += ["total ms (p50)", "size on disk"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant in manifest["variants"]:
            out = Path(tmp) / f"{variant['id']}.json"
            cmd = [str(args.sparseloom), "zoo", "eval", str(args.zoo), "--stitch", variant["id"],
                   "--runs", str(args.runs), "--threads", str(args.threads), "--json", str(out)]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            r = json.loads(out.read_text())
            size = sum(s["bytes"] for s in variant["stages"])
            rows.append([variant["id"], f"{100 * r['accuracy']:.2f}%"]
                        + [f"{m:.3f} / {p:.3f}" for m, p in zip(r["stage_median_ms"], r["stage_p90_ms"])]
                        + [f"{r['total_median_ms']:.3f}", f"{size / 1024:.0f} KiB"])
            print(f"  {variant['id']} done", file=sys.stderr)
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
