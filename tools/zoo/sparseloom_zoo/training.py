"""The staged model, the generic trainer and the accuracy metric.

Training always sees the K stages chained as one model, so a variant is trained or fine-tuned as a
whole while keeping its cut points.
"""

from __future__ import annotations

from typing import Iterator, List, Sequence, Tuple

import torch
from torch import nn
import torch.nn.functional as F

from .spec import Data


class StagedModel(nn.Module):
    """Chains stages: ``x = stage_k(x, *side)`` for k = 1..K; the side inputs go to every stage."""

    def __init__(self, stages: Sequence[nn.Module]):
        super().__init__()
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor, *side: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = stage(x, *side)
        return x

    def boundaries(self, x: torch.Tensor, *side: torch.Tensor) -> List[torch.Tensor]:
        """Every stage's input: ``[input, boundary1, ..., boundary{K-1}]``."""
        inputs = []
        for stage in self.stages:
            inputs.append(x)
            x = stage(x, *side)
        return inputs


def batches(data: Data, side_names: Sequence[str], batch_size: int,
            generator: torch.Generator = None) -> Iterator[Tuple[torch.Tensor, list, torch.Tensor]]:
    """(input, side inputs, labels) minibatches; shuffled when a generator is given."""
    n = data["input"].shape[0]
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield data["input"][idx], [data[s][idx] for s in side_names], data["labels"][idx]


def fit(model: nn.Module, data: Data, side_names: Sequence[str], *, epochs: int, lr: float,
        batch_size: int, seed: int) -> None:
    """Generic trainer: AdamW + cross-entropy, cosine-decayed lr, seeded shuffling."""
    if epochs <= 0:
        return
    generator = torch.Generator().manual_seed(seed)
    steps = epochs * ((data["input"].shape[0] + batch_size - 1) // batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    # Cosine decay: a short schedule that still ends calm, which matters for few-epoch fine-tunes.
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, steps))
    model.train()
    for _ in range(epochs):
        for x, side, y in batches(data, side_names, batch_size, generator):
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x, *side), y)
            loss.backward()
            optimizer.step()
            schedule.step()
    model.eval()


@torch.no_grad()
def predict(model: nn.Module, data: Data, side_names: Sequence[str],
            batch_size: int = 256) -> torch.Tensor:
    """The model's outputs on a dataset, in eval mode, concatenated over fixed-size batches.

    The batch size is fixed because dynamic int8 picks its activation scale per batch.
    """
    model.eval()
    outs = [model(x, *side) for x, side, _ in batches(data, side_names, batch_size)]
    return torch.cat(outs)


def top1_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The manifest's metric: argmax of the last dim against the labels."""
    return float((logits.argmax(dim=-1) == labels).float().mean())
