"""Prunable building blocks for spec authors.

Each block has ``prune_structured(ratio)``: it physically removes the fraction ``ratio`` of its
*internal* units (channels between its two convolutions, attention heads, FFN hidden units),
least important first by L1 norm of their weights, and never changes its input or output shape.
The builder calls ``prune_structured`` on every submodule of a stage that has it, so a user block
takes part in structured pruning just by defining the same method.

Inner widths shrink, so weights are rebuilt as smaller modules rather than masked: that is what
makes structured variants faster, unlike unstructured zeros.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn
import torch.nn.functional as F


def units_to_keep(total: int, ratio: float) -> int:
    """How many of ``total`` units survive removing ``ratio`` of them (at least one)."""
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"prune_structured: ratio must be in [0, 1), got {ratio}")
    return max(1, int(round(total * (1.0 - ratio))))


def top_units(importance: torch.Tensor, keep: int) -> torch.Tensor:
    """Indices of the ``keep`` most important units, in their original order (stable layout)."""
    idx = torch.topk(importance, keep, largest=True, sorted=False).indices
    return torch.sort(idx).values


def _slice_conv(conv: nn.Module, out_idx: Optional[torch.Tensor] = None,
                in_idx: Optional[torch.Tensor] = None) -> nn.Module:
    """A copy of a Conv1d/Conv2d keeping only the given output and/or input channels."""
    weight = conv.weight.detach()
    bias = conv.bias.detach() if conv.bias is not None else None
    if out_idx is not None:
        weight = weight[out_idx]
        bias = bias[out_idx] if bias is not None else None
    if in_idx is not None:
        weight = weight[:, in_idx]
    new = type(conv)(weight.shape[1], weight.shape[0], conv.kernel_size, stride=conv.stride,
                     padding=conv.padding, dilation=conv.dilation, bias=bias is not None,
                     padding_mode=conv.padding_mode)
    new.weight.data.copy_(weight)
    if bias is not None:
        new.bias.data.copy_(bias)
    return new


def _slice_bn(bn: nn.Module, idx: torch.Tensor) -> nn.Module:
    new = type(bn)(len(idx), eps=bn.eps, momentum=bn.momentum)
    new.weight.data.copy_(bn.weight.detach()[idx])
    new.bias.data.copy_(bn.bias.detach()[idx])
    new.running_mean.copy_(bn.running_mean[idx])
    new.running_var.copy_(bn.running_var[idx])
    new.num_batches_tracked.copy_(bn.num_batches_tracked)
    return new


def _slice_linear(lin: nn.Linear, out_idx: Optional[torch.Tensor] = None,
                  in_idx: Optional[torch.Tensor] = None) -> nn.Linear:
    weight = lin.weight.detach()
    bias = lin.bias.detach() if lin.bias is not None else None
    if out_idx is not None:
        weight = weight[out_idx]
        bias = bias[out_idx] if bias is not None else None
    if in_idx is not None:
        weight = weight[:, in_idx]
    new = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    new.weight.data.copy_(weight)
    if bias is not None:
        new.bias.data.copy_(bias)
    return new


class ResidualBlock(nn.Module):
    """ResNet basic block: conv3x3-BN-ReLU-conv3x3-BN, plus a shortcut, then ReLU.

    ``stride`` > 1 or ``in_ch != out_ch`` adds a 1x1 conv + BN shortcut. Structured pruning removes
    channels between the two 3x3 convolutions (the block's ``width``), so the block's input and
    output channels, and hence any stage boundary, are untouched.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, width: Optional[int] = None):
        super().__init__()
        width = width or out_ch
        self.conv1 = nn.Conv2d(in_ch, width, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, out_ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.shortcut = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))

    def prune_structured(self, ratio: float) -> None:
        # L1 filter norm of conv1 (Li et al., "Pruning Filters for Efficient ConvNets").
        importance = self.conv1.weight.detach().abs().sum(dim=(1, 2, 3))
        keep = top_units(importance, units_to_keep(len(importance), ratio))
        self.conv1 = _slice_conv(self.conv1, out_idx=keep)
        self.bn1 = _slice_bn(self.bn1, keep)
        self.conv2 = _slice_conv(self.conv2, in_idx=keep)


class ConvBlock1d(nn.Module):
    """1-D conv block (audio / sensor streams): conv-BN-ReLU-conv-BN, residual when shapes allow.

    Structured pruning removes the ``width`` channels between the two convolutions.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 5, stride: int = 1,
                 width: Optional[int] = None):
        super().__init__()
        width = width or out_ch
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(in_ch, width, kernel_size, stride=stride, padding=pad, bias=False)
        self.bn1 = nn.BatchNorm1d(width)
        self.conv2 = nn.Conv1d(width, out_ch, kernel_size, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm1d(out_ch)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.residual:
            y = y + x
        return F.relu(y)

    def prune_structured(self, ratio: float) -> None:
        importance = self.conv1.weight.detach().abs().sum(dim=(1, 2))
        keep = top_units(importance, units_to_keep(len(importance), ratio))
        self.conv1 = _slice_conv(self.conv1, out_idx=keep)
        self.bn1 = _slice_bn(self.bn1, keep)
        self.conv2 = _slice_conv(self.conv2, in_idx=keep)


class TransformerBlock(nn.Module):
    """Pre-LayerNorm transformer encoder block: x + MHSA(LN(x), mask), then x + FFN(LN(x)).

    ``forward(x, mask)``: x float ``[B, L, dim]``, mask bool ``[B, L]``, True = real token; padded
    keys get no attention. Q, K and V are separate Linear layers so that a head is a contiguous
    slice of rows and can be removed. Structured pruning removes ``ratio`` of the heads and
    ``ratio`` of the FFN hidden units; ``dim`` (the boundary width) never changes.
    """

    def __init__(self, dim: int, heads: int, ffn_dim: int, head_dim: Optional[int] = None):
        super().__init__()
        head_dim = head_dim or dim // heads
        self.heads = heads
        self.head_dim = head_dim
        self.norm1 = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, heads * head_dim)
        self.k = nn.Linear(dim, heads * head_dim)
        self.v = nn.Linear(dim, heads * head_dim)
        self.proj = nn.Linear(heads * head_dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n = x.shape[1]
        h = self.norm1(x)
        # [B, L, H*D] -> [B, H, L, D]; -1 keeps the batch dimension dynamic under tracing.
        q = self.q(h).reshape(-1, n, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(h).reshape(-1, n, self.heads, self.head_dim).transpose(1, 2)
        v = self.v(h).reshape(-1, n, self.heads, self.head_dim).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        scores = scores.masked_fill(~mask[:, None, None, :], -1e4)
        attn = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(attn, v).transpose(1, 2).reshape(-1, n, self.heads * self.head_dim)
        x = x + self.proj(ctx)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))

    def prune_structured(self, ratio: float) -> None:
        self._prune_heads(ratio)
        self._prune_ffn(ratio)

    def _prune_heads(self, ratio: float) -> None:
        d = self.head_dim

        def per_head(w: torch.Tensor) -> torch.Tensor:  # rows [H*D, dim] -> [H]
            return w.detach().abs().reshape(self.heads, d, -1).sum(dim=(1, 2))

        importance = (per_head(self.q.weight) + per_head(self.k.weight) + per_head(self.v.weight)
                      + per_head(self.proj.weight.t()))
        heads = top_units(importance, units_to_keep(self.heads, ratio))
        rows = (heads[:, None] * d + torch.arange(d)[None, :]).reshape(-1)
        self.q = _slice_linear(self.q, out_idx=rows)
        self.k = _slice_linear(self.k, out_idx=rows)
        self.v = _slice_linear(self.v, out_idx=rows)
        self.proj = _slice_linear(self.proj, in_idx=rows)
        self.heads = len(heads)

    def _prune_ffn(self, ratio: float) -> None:
        importance = self.fc1.weight.detach().abs().sum(1) + self.fc2.weight.detach().abs().sum(0)
        keep = top_units(importance, units_to_keep(len(importance), ratio))
        self.fc1 = _slice_linear(self.fc1, out_idx=keep)
        self.fc2 = _slice_linear(self.fc2, in_idx=keep)
