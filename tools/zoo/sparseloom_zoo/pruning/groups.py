"""Channel groups: the unit of structured pruning, as a union-find over atomic channel spaces.

An *atom* is a run of channels that some op created (a conv's output channels, a parameter's
dimension). Ops that tie channels one to one (elementwise ops, residual additions, norms, a
depthwise conv) unite atoms; a concatenation lays several atoms side by side in one dimension.
A *member* is a dimension of a parameter or buffer that an atom's channels index: a conv's
output rows, a consumer's input columns, a BatchNorm's scale. One class of united atoms with all
its members is a ``Group``: removing its channel i removes index i from every member at once,
which is what keeps the pruned model consistent.

A class is *pinned* (never pruned) when one of its atoms reaches a stage boundary, an op whose
channel semantics the rules do not know, or anything else that fixes its size; the first reason
is kept for the report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import torch

ROUND_TO = 8  # kept channel counts are multiples of this where a group is wide enough


@dataclass
class Member:
    """Dimension ``dim`` of ``tensor`` holds the group's channels from index ``offset`` on."""

    tensor: torch.Tensor  # a Parameter or buffer of the stage (identity matters: it is replaced)
    dim: int
    offset: int
    owner: str            # "module.path.attr", for messages
    # > 0: the input columns of a grouped conv with that many groups, whose weight holds only
    # in_channels / groups columns: channel c sits at column c % (in / groups) of its block.
    grouped_in: int = 0
    producer: bool = False  # this dimension *makes* the channels (a layer's output rows)

    @property
    def key(self) -> Tuple[int, int, int]:
        return (id(self.tensor), self.dim, self.offset)


@dataclass
class Group:
    """A pruning unit: ``size`` channels, removed ``unit`` at a time (1, or a head's width), the
    same number from each of ``blocks`` equal blocks (GroupNorm groups, grouped convs)."""

    size: int
    unit: int
    blocks: int
    members: List[Member]
    origin: str                  # what made the channels, for the report
    pinned: List[str]            # why it stays; empty means prunable
    # Replaces the generic slicing for groups that need a module rebuilt (attention heads):
    # called with the kept channel indices.
    apply: Optional[Callable[[torch.Tensor], None]] = None

    @property
    def units(self) -> int:
        return self.size // self.unit

    def keep_units(self, ratio: float) -> int:
        """Units kept when removing ``ratio`` of them: at least one per block. Plain channels
        are kept in multiples of 8 (of the whole group) when it is at least 32 wide: oneDNN runs
        convolutions in blocks of 8/16 channels, and a depthwise conv 36 wide ran 25% slower
        than one 48 wide here; narrower groups would be cut too coarsely."""
        per_block = self.units // self.blocks
        step = ROUND_TO // self.blocks if self.unit == 1 and ROUND_TO % self.blocks == 0 else 1
        if per_block < 4 * step:
            step = 1
        kept = int(round(per_block * (1.0 - ratio) / step)) * step
        return min(per_block, max(step, kept)) * self.blocks


@dataclass
class _Class:
    size: int
    unit: int = 1
    blocks: int = 1
    members: List[Member] = field(default_factory=list)
    origin: str = ""
    pins: List[str] = field(default_factory=list)
    apply: Optional[Callable[[torch.Tensor], None]] = None
    origin_at: int = -1  # the atom that gave the origin: the oldest named one (graph order)


class Atoms:
    """Union-find over atoms; each root holds its class's members, constraints and pins."""

    def __init__(self):
        self._parent: List[int] = []
        self._classes: Dict[int, _Class] = {}

    def new(self, size: int, origin: str = "", pinned: str = "") -> int:
        atom = len(self._parent)
        self._parent.append(atom)
        self._classes[atom] = _Class(size=size, origin=origin, pins=[pinned] if pinned else [],
                                     origin_at=atom if origin else -1)
        return atom

    def find(self, atom: int) -> int:
        while self._parent[atom] != atom:
            self._parent[atom] = self._parent[self._parent[atom]]
            atom = self._parent[atom]
        return atom

    def size(self, atom: int) -> int:
        return self._classes[self.find(atom)].size

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        ca, cb = self._classes[ra], self._classes[rb]
        if ca.size != cb.size:  # the rules only tie equal sizes; refuse rather than guess
            self.pin(ra, f"internal: tied spaces of sizes {ca.size} and {cb.size}")
            self.pin(rb, f"internal: tied spaces of sizes {cb.size} and {ca.size}")
            return
        self._parent[rb] = ra
        ca.members += cb.members
        ca.pins += cb.pins
        if cb.origin and (not ca.origin or cb.origin_at < ca.origin_at):
            ca.origin, ca.origin_at = cb.origin, cb.origin_at
        ca.unit = math.lcm(ca.unit, cb.unit)
        ca.blocks = math.lcm(ca.blocks, cb.blocks)
        ca.apply = ca.apply or cb.apply
        del self._classes[rb]

    def pin(self, atom: int, reason: str) -> None:
        self._classes[self.find(atom)].pins.append(reason)

    def add_member(self, atom: int, member: Member) -> None:
        self._classes[self.find(atom)].members.append(member)

    def constrain(self, atom: int, *, blocks: int = 1, unit: int = 1) -> None:
        c = self._classes[self.find(atom)]
        c.blocks = math.lcm(c.blocks, blocks)
        c.unit = math.lcm(c.unit, unit)

    def set_apply(self, atom: int, apply: Callable[[torch.Tensor], None]) -> None:
        self._classes[self.find(atom)].apply = apply

    def groups(self) -> List[Group]:
        """Every class with at least one member, as a Group (pinned ones included)."""
        self._unite_shared_members()
        out = []
        for c in self._classes.values():
            if not c.members:
                continue
            pins = list(c.pins)
            if c.size % (c.unit * c.blocks) and not pins:
                pins.append(f"{c.size} channels do not split into {c.blocks} blocks of "
                            f"{c.unit}-channel units")
            if c.size <= c.unit * c.blocks:
                continue  # one unit per block: nothing could be removed, nothing to report
            origin = c.origin or f"channels read by '{c.members[0].owner.rpartition('.')[0]}'"
            out.append(Group(c.size, c.unit, c.blocks, _dedup(c.members), origin, pins, c.apply))
        return out

    def _unite_shared_members(self) -> None:
        """Atoms that index the same tensor dimension at the same offset are one space (a layer
        called on two inputs, a weight used twice): unite them, or the slices would disagree.
        Ranges that overlap without being equal cannot be sliced consistently: pin both."""
        ranges: Dict[Tuple[int, int], List[Tuple[int, int, int]]] = {}
        for root, c in list(self._classes.items()):
            for m in c.members:
                ranges.setdefault((id(m.tensor), m.dim), []).append((m.offset, c.size, root))
        for spans in ranges.values():
            for i, (off_a, size_a, a) in enumerate(spans):
                for off_b, size_b, b in spans[i + 1:]:
                    if (off_a, size_a) == (off_b, size_b):
                        self.union(a, b)
                    elif off_a < off_b + size_b and off_b < off_a + size_a:
                        self.pin(a, "indexes a tensor dimension that another space overlaps")
                        self.pin(b, "indexes a tensor dimension that another space overlaps")


def _dedup(members: List[Member]) -> List[Member]:
    out, keys = [], set()
    for m in members:
        if m.key not in keys:
            keys.add(m.key)
            out.append(m)
    return out
