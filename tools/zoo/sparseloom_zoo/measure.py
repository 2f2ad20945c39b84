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
    return sum(t.numel() for t in _weights(module))


def count_nonzeros(module: nn.Module) -> int:
    return sum(int(torch.count_nonzero(t)) for t in _weights(module))


def _weights(module: nn.Module):
    """Parameters, plus the packed weights of quantized modules (a user's int8 variant), which
    are not parameters. The builder counts its own variants before quantizing them."""
    for p in module.parameters():
        yield p.detach()
    for m in module.modules():
        if _is_quantized(m):
            w = m.weight()
            yield w.int_repr() if w.is_quantized else w
            b = m.bias() if callable(getattr(m, "bias", None)) else None
            if b is not None:
                yield b.detach()


def _is_quantized(m: nn.Module) -> bool:
    return ".quantized" in type(m).__module__ and callable(getattr(m, "weight", None))


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
        weight = args[1] if len(args) > 1 else kwargs.get("weight")
        if not isinstance(weight, torch.Tensor):
            weight = None  # quantized ops pass packed weights: counted by module hooks instead
        if name == "linear" and weight is not None:
            self.macs += out.numel() * weight.shape[1]
        elif name in ("conv1d", "conv2d", "conv3d") and weight is not None:
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
    hooks = [m.register_forward_hook(_count_quantized(counter)) for m in stage.modules()
             if _is_quantized(m)]  # quantized ops are not torch functions: the mode misses them
    try:
        with counter:
            stage(x, *side)
    finally:
        stage.train(was_training)
        for h in hooks:
            h.remove()
    return 2 * counter.macs


@torch.no_grad()
def flops_by_module(stage: nn.Module, x: torch.Tensor, side: Sequence[torch.Tensor]) -> dict:
    """``estimate_flops`` split by the innermost module running when each product ran
    (``""``: the stage's own code), e.g. to measure the FLOPs of a pruned part."""
    counter, stack, by_name = _MacCounter(), [""], {}

    def enter(name):
        def hook(module, inputs):
            by_name[stack[-1]] = by_name.get(stack[-1], 0) + counter.macs
            counter.macs = 0
            stack.append(name)
        return hook

    def leave(module, inputs, out):
        by_name[stack[-1]] = by_name.get(stack[-1], 0) + counter.macs
        counter.macs = 0
        stack.pop()

    hooks = []
    for name, m in stage.named_modules():
        if name:
            hooks += [m.register_forward_pre_hook(enter(name)), m.register_forward_hook(leave)]
    was_training = stage.training
    stage.eval()
    try:
        with counter:
            stage(x, *side)
    finally:
        stage.train(was_training)
        for h in hooks:
            h.remove()
    by_name[""] = by_name.get("", 0) + counter.macs
    return {name: 2 * macs for name, macs in by_name.items()}


def _count_quantized(counter: _MacCounter):
    def hook(module, inputs, out):
        counter.macs += out.numel() * math.prod(module.weight().shape[1:])
    return hook


@torch.no_grad()
def quantized_macs(stage: nn.Module, x: torch.Tensor, side: Sequence[torch.Tensor]):
    """(MACs in quantized layers, all MACs) of one batch-1 sample through ``stage``: the share of
    a quantized stage's work int8 really does."""
    stage.eval()
    counter, quantized = _MacCounter(), _MacCounter()
    hooks = [m.register_forward_hook(_count_quantized(quantized)) for m in stage.modules()
             if _is_quantized(m)]
    try:
        with counter:
            stage(x, *side)
    finally:
        for h in hooks:
            h.remove()
    return quantized.macs, quantized.macs + counter.macs
