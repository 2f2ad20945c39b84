"""Structured pruning of any traceable stage, from its torch.fx graph (no per-block methods).

``prune_stage(stage, inputs, ratio)`` finds the stage's coupled channel groups (graph.py; heads
and FFN units of torch's attention modules in attention.py), leaves alone every group tied to
the stage boundary or to an op it does not understand, and removes the least important units of
the others (slicing.py) in place. ``ratio`` is the fraction of the *prunable part's* parameters
to remove (the part = every parameter a free group indexes): one channel fraction, searched so
that the part shrinks by ``ratio``, is applied to every free group. A layer between two pruned
groups loses on both sides, so removing a plain ``ratio`` of channels would overshoot.

User blocks with their own ``prune_structured(ratio)`` are leaves of the graph: they are pruned by
that method (their widths at the edges stay, so the graph sees a fixed interface).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import torch
from torch import nn

from .graph import STAGE_INPUT, STAGE_OUTPUT, find_groups
from .groups import Group
from .slicing import apply, keep_indices

_GRID = [i / 200 for i in range(200)]  # candidate channel fractions, 0 .. 0.995


@dataclass
class StagePruning:
    """What pruning did to one stage, for the build log and the tests."""

    pruned: List[str] = field(default_factory=list)       # "output channels of 'x': 64 -> 32"
    left_alone: List[str] = field(default_factory=list)   # "output channels of 'x': <why>"
    boundary: List[str] = field(default_factory=list)     # groups tied to the stage boundary
    blocks: List[str] = field(default_factory=list)       # pruned by their own prune_structured
    prunable_modules: List[str] = field(default_factory=list)  # modules the pruned groups index
    params_before: int = 0   # of the prunable part
    params_after: int = 0
    channel_fraction: float = 0.0

    @property
    def removed(self) -> float:
        return 1.0 - self.params_after / self.params_before if self.params_before else 0.0


def prune_stage(stage: nn.Module, inputs: Sequence[torch.Tensor], ratio: float) -> StagePruning:
    """Prune ``stage`` in place (its input and output shapes stay); raises if fx cannot trace
    it (use ``prune_stage_or_keep`` for the builder's never-fail behaviour)."""
    stage.eval()
    groups = find_groups(stage, inputs)
    report = StagePruning()
    free = []
    for g in groups:
        if not g.pinned:
            free.append(g)
        elif not any(m.producer for m in g.members):
            continue  # only read here: whatever pinned it is reported where it is made
        elif g.pinned[0] in (STAGE_INPUT, STAGE_OUTPUT):
            report.boundary.append(f"{g.origin}: {g.pinned[0]}")
        else:
            report.left_alone.append(f"{g.origin}: {g.pinned[0]}")
    fraction = channel_fraction(free, ratio)
    plans = [(g, keep_indices(g, g.keep_units(fraction))) for g in free]
    plans = [(g, keep) for g, keep in plans if len(keep) < g.size]
    report.channel_fraction = fraction
    report.params_before, report.params_after = _part_params(free, fraction)
    report.pruned = [f"{g.origin}: {g.size} -> {len(keep)}" for g, keep in plans]
    report.prunable_modules = sorted({m.owner.rpartition(".")[0] for g in free for m in g.members
                                      if isinstance(m.tensor, nn.Parameter)})
    apply(stage, plans)
    blocks: List[Tuple[str, nn.Module]] = []
    for name, m in stage.named_modules():
        inside = any(name.startswith(outer + ".") for outer, _ in blocks)
        if m is not stage and not inside and callable(getattr(m, "prune_structured", None)):
            blocks.append((name, m))
    for name, block in blocks:
        block.prune_structured(ratio)
        report.blocks.append(f"'{name}' ({type(block).__name__})")
    stage.eval()  # blocks' new layers are born in training mode
    return report


def prune_stage_or_keep(stage: nn.Module, inputs: Sequence[torch.Tensor],
                        ratio: float) -> Tuple[nn.Module, StagePruning]:
    """``prune_stage`` on a copy; the original back, with the reason, if tracing fails or the
    pruned stage no longer runs or returns another shape (a size the rules did not see)."""
    pruned = copy.deepcopy(stage)
    with torch.no_grad():
        want = stage.eval()(*inputs).shape
    try:
        report = prune_stage(pruned, inputs, ratio)
    except Exception as err:
        return stage, StagePruning(left_alone=[
            f"the whole stage: torch.fx cannot trace it ({type(err).__name__}: "
            f"{str(err).splitlines()[0][:200]})"])
    try:
        with torch.no_grad():
            got = pruned.eval()(*inputs).shape
    except Exception as err:
        got = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
    if got != want:
        return stage, StagePruning(left_alone=[
            f"the whole stage: the pruned stage gave {got} instead of {list(want)} (a width "
            "fixed somewhere the graph does not show), so it is kept dense"])
    return pruned, report


def channel_fraction(groups: List[Group], ratio: float) -> float:
    """The channel fraction whose removal from every group shrinks their part by ``ratio``."""
    if not groups:
        return 0.0
    best, best_err = 0.0, float("inf")
    for f in _GRID:
        before, after = _part_params(groups, f)
        err = abs((1.0 - after / before) - ratio)
        if err < best_err - 1e-9:
            best, best_err = f, err
    return best


def _part_params(groups: List[Group], fraction: float) -> Tuple[int, int]:
    """Parameters indexed by ``groups`` before and after removing ``fraction`` of their units.
    A tensor indexed on several dims (a conv between two groups) shrinks on each."""
    kept: Dict[int, Dict[int, float]] = {}  # tensor id -> dim -> fraction of it kept
    tensors: Dict[int, torch.Tensor] = {}
    for g in groups:
        removed = g.size - g.keep_units(fraction) * g.unit
        for m in g.members:
            if not isinstance(m.tensor, nn.Parameter):
                continue
            tensors[id(m.tensor)] = m.tensor
            length = g.size if m.grouped_in else m.tensor.shape[m.dim]
            dims = kept.setdefault(id(m.tensor), {})
            dims[m.dim] = dims.get(m.dim, 1.0) - removed / length
    before = sum(t.numel() for t in tensors.values())
    after = 0.0
    for tid, t in tensors.items():
        share = 1.0
        for fraction_kept in kept[tid].values():
            share *= fraction_kept
        after += t.numel() * share
    return before, int(round(after))
