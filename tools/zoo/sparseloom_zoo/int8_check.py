"""Is an int8 stage worth its name? Where its work runs, and whether it is faster than fp32.

FX static int8 quantizes the layers it has kernels for and leaves the rest in fp32, with a
dequantize before and a quantize after each: a stage whose activations stayed fp32 around
GroupNorm and GELU (4 dequantize/quantize pairs) ran slower than its fp32 base, with no word of
it. The builder warns when a quantized stage keeps most of its multiply-accumulates in fp32, or
measures slower than its fp32 base at batch 1 (TorchScript, as the engine runs it).
"""

from __future__ import annotations

import copy
import statistics
import time
import warnings
from pathlib import Path
from typing import List, Sequence, Tuple

import torch
from torch import nn

from .measure import quantized_macs

# Warm-up as bench.py (the profiling executor and oneDNN's first-use work), then timed runs,
# interleaved so that a busy machine slows both alike.
WARMUP, WARMUP_S, RUNS = 10, 0.1, 30
MOST_IN_FP32 = 0.5  # warn when at least this share of the MACs stays fp32


def check_int8_stage(int8_stage: nn.Module, float_stage: nn.Module, exported: Path,
                     x: torch.Tensor, side: Sequence[torch.Tensor], what: str) -> List[str]:
    """Warnings about one int8 stage: ``int8_stage`` the eager module, ``exported`` its
    TorchScript file, ``float_stage`` the fp32 stage it was made from, ``x``/``side`` batch-1
    inputs."""
    try:
        return _check(int8_stage, float_stage, exported, x, side, what)
    except Exception as err:  # a check, not the build: say so and go on
        return [f"{what}: could not be checked against fp32 ({type(err).__name__}: "
                f"{str(err).splitlines()[0][:160]})"]


def _check(int8_stage, float_stage, exported, x, side, what) -> List[str]:
    out = []
    # A copy: oneDNN's int8 depthwise convolution, run at one batch size, failed at another
    # ("could not create a primitive descriptor for a reorder primitive"); a fresh copy runs.
    q_macs, total = quantized_macs(copy.deepcopy(int8_stage), x, side)
    fp32_share = (total - q_macs) / total if total > 0 else 0.0
    pairs, islands = fp32_islands(int8_stage)
    around = (f"; {pairs} dequantize/quantize pair(s) keep activations fp32 around "
              f"{', '.join(islands)}" if pairs else "")
    if fp32_share >= MOST_IN_FP32:
        out.append(f"{what}: {100.0 * fp32_share:.0f}% of its multiply-accumulates stay fp32 "
                   f"(layers int8 has no kernel for){around}")
    int8_ms, fp32_ms = time_against_fp32(torch.jit.load(str(exported)), float_stage, x, side)
    if int8_ms > fp32_ms:
        out.append(f"{what}: measured {int8_ms:.3f} ms at batch 1 against {fp32_ms:.3f} ms for "
                   f"its fp32 base ({int8_ms / fp32_ms:.2f}x slower){around}")
    return out


def fp32_islands(stage: nn.Module) -> Tuple[int, List[str]]:
    """Dequantize/quantize pairs inside an FX-quantized stage (the stage's own quantize of its
    input and dequantize of its output are not counted) and the ops that run between them."""
    graph = getattr(stage, "graph", None)
    if graph is None:  # dynamic int8: no graph, activations are quantized inside each Linear
        return 0, []
    modules = dict(stage.named_modules())
    pairs, ops = 0, []
    for node in [n for n in graph.nodes if _is_dequantize(n)]:
        if any(u.op == "output" for u in node.users):
            continue  # the stage's output
        pairs += 1
        # Everything from here to the next quantize (or the output) runs in fp32.
        todo, seen = list(node.users), set()
        while todo:
            user = todo.pop(0)
            if user in seen or user.op == "output" or _is_quantize(user):
                continue
            seen.add(user)
            name = _op_name(user, modules)
            if user.op in ("call_module", "call_function", "call_method") and name not in ops:
                ops.append(name)
            todo.extend(user.users)
    return pairs, ops


def _is_quantize(node) -> bool:
    return node.op == "call_function" and node.target in (torch.quantize_per_tensor,
                                                          torch.quantize_per_channel)


def _is_dequantize(node) -> bool:
    return ((node.op == "call_method" and node.target == "dequantize")
            or (node.op == "call_function" and node.target is torch.dequantize))


def _op_name(node, modules) -> str:
    if node.op == "call_module":
        return type(modules[node.target]).__name__
    target = node.target
    return target if isinstance(target, str) else getattr(target, "__name__", str(target))


@torch.no_grad()
def time_against_fp32(int8_module, float_stage: nn.Module, x: torch.Tensor,
                      side: Sequence[torch.Tensor]) -> Tuple[float, float]:
    """Median batch-1 ms of the int8 TorchScript module and of ``float_stage`` traced."""
    args = (x, *side)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        fp32_module = torch.jit.trace(float_stage.eval(), args, check_trace=False)
    modules = [int8_module, fp32_module]
    for m in modules:
        warm_until, runs = time.perf_counter() + WARMUP_S, 0
        while runs < WARMUP or time.perf_counter() < warm_until:
            m(*args)
            runs += 1
    times = [[], []]
    for _ in range(RUNS):
        for i, m in enumerate(modules):
            t0 = time.perf_counter()
            m(*args)
            times[i].append(time.perf_counter() - t0)
    return statistics.median(times[0]) * 1e3, statistics.median(times[1]) * 1e3
