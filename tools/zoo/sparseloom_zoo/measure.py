"""Stage size and cost: parameter counts and a FLOP estimate.

Both are measured on the float eager stage *before* quantization or bf16 casting (quantized
modules hide their weights in packed params); casting changes neither the count nor the MACs.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from torch.overrides import TorchFunctionMode


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def count_nonzeros(module: nn.Module) -> int:
    return sum(int(torch.count_nonzero(p.detach())) for p in module.parameters())


class _MacCounter(TorchFunctionMode):
    """Counts multiply-accumulates of every conv, linear and matmul call made under it.

    A torch-function mode sees the functional calls, so attention's ``q @ k^T`` and user code are
    counted as well as nn.Conv/nn.Linear, with no per-module rules to maintain.
    """

    def __init__(self):
        super().__init__()
        self.macs = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if name == "linear":
            weight = args[1] if len(args) > 1 else kwargs["weight"]
            self.macs += out.numel() * weight.shape[1]
        elif name in ("conv1d", "conv2d", "conv3d"):
            weight = args[1] if len(args) > 1 else kwargs["weight"]
            self.macs += out.numel() * math.prod(weight.shape[1:])
        elif name in ("matmul", "__matmul__", "bmm", "mm"):
            self.macs += out.numel() * args[0].shape[-1]
        elif name in ("addmm", "baddbmm"):
            self.macs += out.numel() * args[1].shape[-1]
        elif name == "multi_head_attention_forward":
            self.macs += _attention_macs(*args[:3], args[4])
        return out


def _attention_macs(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                    num_heads: int) -> int:
    """nn.MultiheadAttention runs as one functional call whose inner products this mode does not
    see: q, k, v and output projections plus the two attention products ([L, B, E] inputs)."""
    L, B, E = query.shape
    S = key.shape[0]
    projections = L * B * E * E + S * B * E * key.shape[-1] + S * B * E * value.shape[-1]
    return projections + 2 * B * L * S * E + L * B * E * E


@torch.no_grad()
def estimate_flops(stage: nn.Module, x: torch.Tensor, side: Sequence[torch.Tensor]) -> int:
    """MACs x 2 of one sample through ``stage`` (x and side inputs must have batch 1).

    Structured removal shows up because the smaller layers are what runs; unstructured zeros do
    not (they are still multiplied).
    """
    assert x.shape[0] == 1, "FLOPs are defined for batch 1"
    was_training = stage.training
    stage.eval()
    counter = _MacCounter()
    try:
        with counter:
            stage(x, *side)
    finally:
        stage.train(was_training)
    return 2 * counter.macs
