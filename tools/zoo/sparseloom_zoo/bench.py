"""Per-stage latency of an exported zoo, as the C++ engine would see it (TorchScript files).

A quick sanity check that the variants really spread in latency (int8 and structured faster than
dense); the real profiler is SparseLoom's `profile` part.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import List

import torch

# The profiling executor optimises after the first runs and oneDNN builds its kernels on first
# use, so each stage runs untimed for at least WARMUP runs and WARMUP_S seconds.
WARMUP, WARMUP_S = 10, 0.1


def bench_zoo(zoo: Path, *, batch: int, iters: int, threads: int) -> List[dict]:
    torch.set_num_threads(threads)
    torch.backends.quantized.engine = "onednn"
    manifest = json.loads((zoo / "zoo.json").read_text())
    val = torch.load(str(zoo / manifest["validation"]["file"]))
    side = [val[s["name"]][:batch] for s in manifest["side_inputs"]]
    # Every variant's stage k is timed on the same input: dense's boundary k-1.
    dense = next(v for v in manifest["variants"] if v["id"] == "dense") \
        if any(v["id"] == "dense" for v in manifest["variants"]) else manifest["variants"][0]
    inputs = [val["input"][:batch]]
    with torch.no_grad():
        for stage in dense["stages"][:-1]:
            inputs.append(torch.jit.load(str(zoo / stage["file"]))(inputs[-1], *side))
    rows = []
    for variant in manifest["variants"]:
        for k, stage in enumerate(variant["stages"]):
            module = torch.jit.load(str(zoo / stage["file"]))
            args = (inputs[k], *side)
            times = []
            with torch.no_grad():
                warm_until, runs = time.perf_counter() + WARMUP_S, 0
                while runs < WARMUP or time.perf_counter() < warm_until:
                    module(*args)
                    runs += 1
                for _ in range(iters):
                    t0 = time.perf_counter()
                    module(*args)
                    times.append(time.perf_counter() - t0)
            rows.append({"variant": variant["id"], "stage": k + 1,
                         "precision": stage["precision"], "flops": stage["flops"],
                         "ms": statistics.median(times) * 1e3, "accuracy": variant["accuracy"]})
    return rows


def format_table(rows: List[dict]) -> str:
    stages = sorted({r["stage"] for r in rows})
    header = f"{'variant':<16}{'acc':>8}" + "".join(f"{'stage' + str(k) + ' ms':>12}"
                                                   for k in stages) + f"{'total ms':>11}"
    lines = [header]
    for vid in dict.fromkeys(r["variant"] for r in rows):
        mine = {r["stage"]: r for r in rows if r["variant"] == vid}
        total = sum(r["ms"] for r in mine.values())
        lines.append(f"{vid:<16}{mine[stages[0]]['accuracy']:>8.4f}"
                     + "".join(f"{mine[k]['ms']:>12.3f}" for k in stages) + f"{total:>11.3f}")
    return "\n".join(lines)
