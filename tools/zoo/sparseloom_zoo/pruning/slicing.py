"""Which channels of a group to keep, and cutting the stage's tensors down to them.

Importance is the L1 norm of each channel's slice of every weight member (conv/linear rows and
columns, norm scales), each member normalised by its mean so that no one layer's scale
dominates. Tensors are replaced by smaller ones (not masked), so the pruned stage really is
smaller and faster; the modules' size attributes are then made to agree with their tensors.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import torch
from torch import nn

from .groups import Group, Member


def importance(group: Group) -> torch.Tensor:
    total = torch.zeros(group.size)
    for m in group.members:
        if not isinstance(m.tensor, nn.Parameter):
            continue
        if m.tensor.dim() < 2 and not m.owner.endswith(".weight"):
            continue  # biases say little about a channel; norm scales (".weight") do
        score = _channel_l1(m, group.size)
        total += score / (score.mean() + 1e-12)
    return total if total.any() else torch.ones(group.size)


def _channel_l1(m: Member, size: int) -> torch.Tensor:
    w = m.tensor.detach().abs().float()
    if m.grouped_in:  # weight [out, in/g, ...]: input channel c is column c % (in/g) of block
        g = m.grouped_in
        per = w.reshape(g, w.shape[0] // g, w.shape[1], -1).sum(dim=(1, 3))  # [g, in/g]
        return per.reshape(-1)[m.offset:m.offset + size]
    w = w.movedim(m.dim, 0)[m.offset:m.offset + size]
    return w.reshape(size, -1).sum(dim=1)


def keep_indices(group: Group, keep_units: int) -> torch.Tensor:
    """The kept channels, sorted: the most important units of each block, as many per block."""
    unit_score = importance(group).reshape(group.units, group.unit).sum(dim=1)
    per_block, keep_per_block = group.units // group.blocks, keep_units // group.blocks
    kept = []
    for b in range(group.blocks):
        block = unit_score[b * per_block:(b + 1) * per_block]
        order = torch.sort(-block, stable=True).indices  # stable: ties keep the lower index
        kept.append(order[:keep_per_block] + b * per_block)
    units = torch.sort(torch.cat(kept)).values
    return (units[:, None] * group.unit + torch.arange(group.unit)[None, :]).reshape(-1)


@torch.no_grad()
def apply(stage: nn.Module, plans: List[Tuple[Group, torch.Tensor]]) -> None:
    """Cut every member tensor to its groups' kept channels and fix the modules' sizes."""
    convs = {id(m): m.groups == m.in_channels == m.out_channels and m.groups > 1
             for m in stage.modules() if isinstance(m, nn.modules.conv._ConvNd)}
    by_tensor: Dict[int, Tuple[torch.Tensor, List[Tuple[Member, Group, torch.Tensor]]]] = {}
    for group, keep in plans:
        if group.apply is not None:
            group.apply(keep)
            continue
        for m in group.members:
            by_tensor.setdefault(id(m.tensor), (m.tensor, []))[1].append((m, group, keep))
    owners = _owners(stage)
    touched = set()
    for tensor, members in by_tensor.values():
        new = _cut(tensor, members)
        for module, attr in owners.get(id(tensor), []):
            if isinstance(tensor, nn.Parameter):
                setattr(module, attr, nn.Parameter(new, requires_grad=tensor.requires_grad))
            else:
                module._buffers[attr] = new
            touched.add(module)
    for module in touched:
        _refresh_sizes(module, convs.get(id(module), False))


def _cut(tensor: torch.Tensor, members: List[Tuple[Member, Group, torch.Tensor]]) -> torch.Tensor:
    t = tensor.detach()
    removed: Dict[int, set] = {}
    grouped = []
    for m, group, keep in members:
        if m.grouped_in:
            grouped.append((m, group, keep))
            continue
        drop = set(range(group.size)) - set(keep.tolist())
        removed.setdefault(m.dim, set()).update(m.offset + c for c in drop)
    for dim, drop in removed.items():
        idx = torch.tensor([i for i in range(t.shape[dim]) if i not in drop], dtype=torch.long)
        t = t.index_select(dim, idx)
    for m, group, keep in grouped:  # after the rows are cut, so blocks are rows // (rows / g)
        g, per_in = m.grouped_in, t.shape[1]
        rows = t.shape[0] // g
        blocks = []
        for b in range(g):
            local = keep[(keep >= b * per_in) & (keep < (b + 1) * per_in)] - b * per_in
            blocks.append(t[b * rows:(b + 1) * rows].index_select(1, local))
        t = torch.cat(blocks)
    return t.clone()


def _owners(stage: nn.Module) -> Dict[int, List[Tuple[nn.Module, str]]]:
    """Every (module, attribute) holding each tensor: a tied weight is replaced everywhere."""
    out: Dict[int, List[Tuple[nn.Module, str]]] = {}
    for module in stage.modules():
        for store in (module._parameters, module._buffers):
            for attr, t in store.items():
                if t is not None:
                    out.setdefault(id(t), []).append((module, attr))
    return out


def _refresh_sizes(m: nn.Module, depthwise: bool) -> None:
    """Size attributes follow the tensors (quantization and repr read them)."""
    if isinstance(m, nn.modules.conv._ConvNd):
        m.out_channels = m.weight.shape[0]
        if depthwise:
            m.groups = m.out_channels
        m.in_channels = m.weight.shape[1] * m.groups
    elif isinstance(m, nn.Linear):
        m.out_features, m.in_features = m.weight.shape
    elif isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm)):
        ref = m.weight if m.weight is not None else m.running_mean
        if ref is not None:
            m.num_features = ref.shape[0]
    elif isinstance(m, nn.GroupNorm) and m.weight is not None:
        m.num_channels = m.weight.shape[0]
    elif isinstance(m, nn.LayerNorm):
        m.normalized_shape = (m.weight.shape[0],)
    elif isinstance(m, nn.Embedding):
        m.embedding_dim = m.weight.shape[1]
    elif isinstance(m, nn.PReLU):
        m.num_parameters = m.weight.shape[0]
