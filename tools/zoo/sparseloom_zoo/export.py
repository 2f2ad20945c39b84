"""Export one eager stage to TorchScript and prove the file reproduces it.

Tracing (not scripting) so that users' stages need not be TorchScript-compatible Python. Tracing
can silently bake in a batch size, so the saved file is reloaded and compared with the eager stage
on a *different* batch size than the one traced.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from .errors import ExportError

# Max |exported - eager| allowed. fp32 is the brief's 1e-5; bf16/int8 stages run the same kernels
# eagerly and exported, so they are held to a small multiple of their own rounding.
TOLERANCE = {"fp32": 1e-5, "bf16": 1e-2, "int8": 1e-3}


def export_stage(stage: nn.Module, example: Sequence[torch.Tensor], check: Sequence[torch.Tensor],
                 path: Path, precision: str, what: str) -> None:
    """Trace ``stage`` on ``example``, save to ``path``, verify the saved file on ``check``."""
    if example[0].shape[0] == check[0].shape[0]:
        raise ValueError("export_stage: the check batch must differ in size from the traced one")
    stage.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # Tracer warnings are about shape-dependence; the check below catches what matters.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            traced = torch.jit.trace(stage, tuple(example), check_trace=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.jit.save(traced, str(path))
    except Exception as err:
        raise ExportError(f"{what}: torch.jit.trace/save failed: {type(err).__name__}: {err}") \
            from err

    loaded = torch.jit.load(str(path))
    with torch.no_grad():
        want = stage(*check)
        try:
            got = loaded(*check)
        except Exception as err:
            raise ExportError(f"{path}: {what}: the exported stage fails on batch size "
                              f"{check[0].shape[0]} (traced with {example[0].shape[0]}); is the "
                              f"batch size baked into the code? {type(err).__name__}: {err}") \
                from err
    if got.dtype != torch.float32:
        raise ExportError(f"{path}: {what}: expected a float32 output, got {got.dtype}")
    if got.shape != want.shape:
        raise ExportError(f"{path}: {what}: exported output shape {list(got.shape)} differs from "
                          f"eager {list(want.shape)} at batch {check[0].shape[0]}")
    diff = float((got - want.float()).abs().max()) if got.numel() else 0.0
    if not diff <= TOLERANCE[precision]:
        raise ExportError(f"{path}: {what}: exported stage differs from eager by {diff:.3g} "
                          f"(max allowed for {precision}: {TOLERANCE[precision]}) at batch "
                          f"{check[0].shape[0]}; the trace does not generalise")
