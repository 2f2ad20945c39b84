"""Heads and FFN width of torch's attention modules, pruned inside them.

``nn.MultiheadAttention``, ``nn.TransformerEncoderLayer`` and ``nn.TransformerEncoder`` are
leaves of the traced graph: their embedding width is their interface and stays, while each
attention module's heads and each encoder layer's FFN hidden units become groups of their own.
``nn.MultiheadAttention`` insists on ``embed_dim == num_heads * head_dim``, so an attention
module that loses heads is replaced by ``PrunedMultiheadAttention``: the same call and results
layout with fewer heads of the same width. It reports ``_qkv_same_embed_dim = False``, which sends
an encoder layer down torch's ordinary (non-fused) path, the one that calls ``self_attn``.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
from torch import nn
import torch.nn.functional as F

from .groups import Atoms, Member

_ELEMENTWISE_ACTIVATIONS = (F.relu, F.gelu)


def handles(m: nn.Module) -> bool:
    return isinstance(m, (nn.MultiheadAttention, nn.TransformerEncoderLayer,
                          nn.TransformerEncoder))


def register(atoms: Atoms, stage: nn.Module, name: str, m: nn.Module) -> str:
    """Add the module's head and FFN groups; returns why its interface is pinned."""
    if isinstance(m, nn.MultiheadAttention):
        _heads(atoms, stage, name, m)
    elif isinstance(m, nn.TransformerEncoderLayer):
        _encoder_layer(atoms, stage, name, m)
    else:
        for i, layer in enumerate(m.layers):
            if isinstance(layer, nn.TransformerEncoderLayer):
                _encoder_layer(atoms, stage, f"{name}.layers.{i}", layer)
    return (f"the width of {type(m).__name__} '{name}' stays (its attention heads and FFN units "
            "are pruned inside it)")


def _encoder_layer(atoms: Atoms, stage: nn.Module, name: str, layer: nn.TransformerEncoderLayer):
    _heads(atoms, stage, f"{name}.self_attn", layer.self_attn)
    act = layer.activation
    elementwise = act in _ELEMENTWISE_ACTIVATIONS or isinstance(act, (nn.ReLU, nn.GELU))
    ffn = atoms.new(layer.linear1.out_features, origin=f"FFN units of '{name}'",
                    pinned="" if elementwise else
                    f"the activation of '{name}' is not known to act per unit")
    for tensor, dim, attr in ((layer.linear1.weight, 0, "linear1.weight"),
                              (layer.linear1.bias, 0, "linear1.bias"),
                              (layer.linear2.weight, 1, "linear2.weight")):
        if tensor is not None:
            atoms.add_member(ffn, Member(tensor, dim, 0, f"{name}.{attr}",
                                         producer=attr == "linear1.weight"))


def _heads(atoms: Atoms, stage: nn.Module, name: str, mha: nn.Module) -> None:
    if isinstance(mha, PrunedMultiheadAttention):
        return
    E, H = mha.embed_dim, mha.num_heads
    why = ""
    if mha.bias_k is not None or mha.add_zero_attn:
        why = f"'{name}' has bias_k/bias_v or add_zero_attn, which head pruning does not handle"
    elif H < 2:
        why = f"'{name}' has a single head"
    heads = atoms.new(E, origin=f"attention heads of '{name}'", pinned=why)
    atoms.constrain(heads, unit=mha.head_dim)
    if mha._qkv_same_embed_dim:
        projections = [(mha.in_proj_weight, k * E, "in_proj_weight") for k in range(3)]
    else:
        projections = [(getattr(mha, f"{p}_proj_weight"), 0, f"{p}_proj_weight") for p in "qkv"]
    for tensor, offset, attr in projections:
        atoms.add_member(heads, Member(tensor, 0, offset, f"{name}.{attr}", producer=True))
    if mha.in_proj_bias is not None:
        for k in range(3):
            atoms.add_member(heads, Member(mha.in_proj_bias, 0, k * E, f"{name}.in_proj_bias"))
    atoms.add_member(heads, Member(mha.out_proj.weight, 1, 0, f"{name}.out_proj.weight"))

    def apply(keep: torch.Tensor) -> None:
        parent_name, _, attr = name.rpartition(".")
        parent = stage.get_submodule(parent_name) if parent_name else stage
        kept_heads = keep[::mha.head_dim] // mha.head_dim
        setattr(parent, attr, PrunedMultiheadAttention.from_mha(mha, kept_heads))

    atoms.set_apply(heads, apply)


class PrunedMultiheadAttention(nn.Module):
    """``nn.MultiheadAttention`` keeping the heads ``kept_heads`` (same call, same head width,
    so the same softmax scale). ``need_weights`` returns weights over the kept heads only."""

    def __init__(self, embed_dim: int, num_heads: int, head_dim: int, total_heads: int,
                 kept_heads: torch.Tensor, batch_first: bool, dropout: float,
                 kdim: Optional[int] = None, vdim: Optional[int] = None, bias: bool = True):
        super().__init__()
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, head_dim
        self.total_heads = total_heads
        self.batch_first, self.dropout = batch_first, dropout
        self._qkv_same_embed_dim = False  # keeps torch's fused encoder path away (see above)
        width = num_heads * head_dim
        kdim, vdim = kdim or embed_dim, vdim or embed_dim
        self.fused = kdim == vdim == embed_dim
        if self.fused:  # one matrix product for q, k and v in self-attention
            self.in_proj = nn.Linear(embed_dim, 3 * width, bias=bias)
        else:
            self.q_proj = nn.Linear(embed_dim, width, bias=bias)
            self.k_proj = nn.Linear(kdim, width, bias=bias)
            self.v_proj = nn.Linear(vdim, width, bias=bias)
        self.out_proj = nn.Linear(width, embed_dim, bias=bias)
        self.register_buffer("kept_heads", kept_heads.clone(), persistent=False)

    @classmethod
    @torch.no_grad()
    def from_mha(cls, mha: nn.MultiheadAttention, kept_heads: torch.Tensor):
        d, E = mha.head_dim, mha.embed_dim
        rows = (kept_heads[:, None] * d + torch.arange(d)[None, :]).reshape(-1)
        bias = mha.in_proj_bias is not None
        new = cls(E, len(kept_heads), d, mha.num_heads, kept_heads, mha.batch_first, mha.dropout,
                  mha.kdim, mha.vdim, bias)
        b = [mha.in_proj_bias[k * E:(k + 1) * E][rows] if bias else None for k in range(3)]
        if mha._qkv_same_embed_dim:
            w = [mha.in_proj_weight[k * E:(k + 1) * E][rows] for k in range(3)]
        else:
            w = [getattr(mha, f"{p}_proj_weight")[rows] for p in "qkv"]
        if new.fused:
            new.in_proj.weight.copy_(torch.cat(w))
            if bias:
                new.in_proj.bias.copy_(torch.cat(b))
        else:
            for proj, wk, bk in zip((new.q_proj, new.k_proj, new.v_proj), w, b):
                proj.weight.copy_(wk)
                if bias:
                    proj.bias.copy_(bk)
        new.out_proj.weight.copy_(mha.out_proj.weight[:, rows])
        if bias:
            new.out_proj.bias.copy_(mha.out_proj.bias)
        return new.train(mha.training)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                key_padding_mask: Optional[torch.Tensor] = None, need_weights: bool = True,
                attn_mask: Optional[torch.Tensor] = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        self_attention = query is key and key is value
        if not self.batch_first:  # [L, B, E] -> [B, L, E]
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        if self.fused and self_attention:
            q, k, v = self.in_proj(query).chunk(3, dim=-1)
        elif self.fused:
            w, b = self.in_proj.weight.chunk(3), [None] * 3
            if self.in_proj.bias is not None:
                b = self.in_proj.bias.chunk(3)
            q, k, v = (F.linear(t, wi, bi) for t, wi, bi in zip((query, key, value), w, b))
        else:
            q, k, v = self.q_proj(query), self.k_proj(key), self.v_proj(value)
        q, k, v = (self._split(t) for t in (q, k, v))
        scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        if attn_mask is not None:
            if attn_mask.dim() == 3:  # [B * heads, L, S]: keep the rows of the kept heads
                attn_mask = attn_mask.reshape(-1, self.total_heads, attn_mask.shape[1],
                                              attn_mask.shape[2])[:, self.kept_heads]
            scores = _masked(scores, attn_mask)
        if key_padding_mask is not None:
            scores = _masked(scores, key_padding_mask[:, None, None, :])
        attn = torch.softmax(scores, dim=-1)
        attn = F.dropout(attn, self.dropout, self.training)
        ctx = torch.matmul(attn, v).transpose(1, 2)
        out = self.out_proj(ctx.reshape(ctx.shape[0], ctx.shape[1], -1))
        if not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        return out, attn.mean(dim=1) if average_attn_weights else attn

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        """[B, L, heads * head_dim] -> [B, heads, L, head_dim]; the batch stays dynamic."""
        return t.reshape(t.shape[0], t.shape[1], self.num_heads, self.head_dim).transpose(1, 2)


def _masked(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """torch's convention: a bool mask is True where attention is *not* allowed; a float mask
    is added."""
    if mask.dtype == torch.bool:
        return scores.masked_fill(mask, float("-inf"))
    return scores + mask
