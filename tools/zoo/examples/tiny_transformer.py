"""Tiny BERT-style encoder on synthetic token sequences (5 classes), cut into 3 stages.

Each sequence has a random real length; the class says whether marker tokens A and B occur in the
real part and in which order: none, only A, only B, A before B, B before A. The padding is filled
with random tokens (markers included), so only the attention mask, a side input passed to every
stage, tells real tokens from padding: a model that ignores it cannot get the task right.
"""

import torch
from torch import nn

from sparseloom_zoo import ZooSpec
from sparseloom_zoo.blocks import TransformerBlock

VOCAB, SEQ, CLASSES = 32, 24, 5
MARK_A, MARK_B = 1, 2  # filler tokens are 3..VOCAB-1


def make_sequences(n: int, generator: torch.Generator):
    """tokens int64 [n, SEQ], mask bool [n, SEQ] (True = real token), labels int64 [n]."""
    labels = torch.randint(0, CLASSES, (n,), generator=generator)
    lengths = torch.randint(6, SEQ + 1, (n,), generator=generator)
    tokens = torch.randint(3, VOCAB, (n, SEQ), generator=generator)
    mask = torch.arange(SEQ)[None, :] < lengths[:, None]
    for i in range(n):
        length, label = int(lengths[i]), int(labels[i])
        pos = torch.randperm(length, generator=generator)[:2].sort().values.tolist()
        markers = {1: [MARK_A], 2: [MARK_B], 3: [MARK_A, MARK_B], 4: [MARK_B, MARK_A]}.get(label, [])
        for p, m in zip(pos if len(markers) == 2 else pos[:1], markers):
            tokens[i, p] = m
        # Padding: random tokens, markers likely, so the mask is needed to read the label.
        pad = SEQ - length
        if pad:
            tokens[i, length:] = torch.randint(1, VOCAB, (pad,), generator=generator)
            tokens[i, length:][torch.rand(pad, generator=generator) < 0.2] = MARK_A
    return tokens, mask, labels


class Embed(nn.Module):
    """Stage 1: token + learned position embeddings, then one encoder block."""

    def __init__(self, dim: int, heads: int, ffn: int):
        super().__init__()
        self.tokens = nn.Embedding(VOCAB, dim)
        self.positions = nn.Parameter(torch.randn(SEQ, dim) * 0.02)
        self.block = TransformerBlock(dim, heads, ffn)

    def forward(self, x, mask):
        return self.block(self.tokens(x) + self.positions, mask)


class Classify(nn.Module):
    """Stage 3: one encoder block, LayerNorm, mean over real tokens, classifier."""

    def __init__(self, dim: int, heads: int, ffn: int):
        super().__init__()
        self.block = TransformerBlock(dim, heads, ffn)
        self.norm = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, CLASSES)

    def forward(self, x, mask):
        h = self.norm(self.block(x, mask))
        weights = mask.to(h.dtype)[:, :, None]
        pooled = (h * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return self.fc(pooled)


def make_spec(seed: int) -> ZooSpec:
    generator = torch.Generator().manual_seed(seed)
    x_train, m_train, y_train = make_sequences(3000, generator)
    x_val, m_val, y_val = make_sequences(1000, generator)
    torch.manual_seed(seed)
    dim, heads, ffn = 64, 4, 256
    stages = [Embed(dim, heads, ffn), TransformerBlock(dim, heads, ffn),
              Classify(dim, heads, ffn)]
    return ZooSpec(
        task="tiny-markers-bert", family="bert", stages=stages, side_inputs=["mask"],
        train={"input": x_train, "mask": m_train, "labels": y_train},
        validation={"input": x_val, "mask": m_val, "labels": y_val},
        epochs=8, lr=2e-3, batch_size=64, finetune_epochs=2)
