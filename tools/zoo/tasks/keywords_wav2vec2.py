"""Keyword speech: a wav2vec2-style model on SYNTHETIC spoken keywords (`keywords.py`), 3 stages.

Data: ten keywords, 1 s at 8 kHz, from espeak-ng and flite voices plus sox noise, made by
scripts/fetch_data.sh into data/keywords/: 2,000 training clips, and 450 validation clips in voices
never heard in training (flite `slt`, espeak-ng `en-029+m7`, `en-029+f5`).

Model: per-clip normalisation and the 1-D convolutional feature encoder (strides 5, 2, 2, 4, 2:
one frame per 20 ms, 50 frames) | feature projection, convolutional position embedding and one
transformer block | one block, LayerNorm, mean over frames, classifier. Width 256, 4 heads, FFN
1024. Trained 10 epochs with matrix products in bf16 (`train_warmup_clipped`).
"""

import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/zoo, for `tasks`
from sparseloom_zoo import ZooSpec  # noqa: E402
from sparseloom_zoo.blocks import ConvBlock1d, TransformerBlock  # noqa: E402
from tasks import bf16_matmuls, keywords  # noqa: E402

DIM, HEADS, FFN = 256, 4, 1024


class FeatureEncoder(nn.Module):
    """Stage 1: raw audio [B, 8000] -> frames [B, 50, 128] (wav2vec2's conv feature encoder)."""

    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv1d(1, 32, 10, stride=5, padding=3, bias=False)     # 1600 frames
        self.norm0 = nn.GroupNorm(32, 32)
        self.blocks = nn.Sequential(ConvBlock1d(32, 48, 3, stride=2),            # 800
                                    ConvBlock1d(48, 64, 3, stride=2),            # 400
                                    ConvBlock1d(64, 96, 3, stride=4))            # 100
        self.out = nn.Conv1d(96, 128, 2, stride=2)                               # 50

    def forward(self, x):
        x = (x - x.mean(dim=1, keepdim=True)) / (x.std(dim=1, keepdim=True) + 1e-5)
        h = F.gelu(self.norm0(self.conv0(x[:, None, :])))
        return self.out(self.blocks(h)).transpose(1, 2)  # linear: LayerNorm follows


class Context(nn.Module):
    """Stage 2: feature projection, convolutional position embedding, one transformer block."""

    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(128)
        self.project = nn.Linear(128, DIM)
        self.position = nn.Conv1d(DIM, DIM, 15, padding=7, groups=16)
        self.block = TransformerBlock(DIM, HEADS, FFN)

    def forward(self, x):
        h = self.project(self.norm(x))
        # GELU on a contiguous [B, frames, DIM] tensor: torch 1.13's gelu_backward returns wrong
        # values when its incoming gradient is strided differently from its input (as it is
        # after a transpose), which made this stage's gradients garbage and the build
        # non-reproducible.
        h = h + F.gelu(self.position(h.transpose(1, 2)).transpose(1, 2).contiguous())
        return self.block(h, torch.ones_like(h[:, :, 0], dtype=torch.bool))


class Classify(nn.Module):
    """Stage 3: one transformer block, LayerNorm, mean over frames, classifier."""

    def __init__(self):
        super().__init__()
        self.block = TransformerBlock(DIM, HEADS, FFN)
        self.norm = nn.LayerNorm(DIM)
        self.fc = nn.Linear(DIM, len(keywords.WORDS))

    def forward(self, x):
        h = self.block(x, torch.ones_like(x[:, :, 0], dtype=torch.bool))
        return self.fc(self.norm(h).mean(dim=1))


def train_warmup_clipped(model, data, epochs, lr, seed, batch_size=32):
    """AdamW with a one-cycle lr (10% warm-up) and gradient clipping, matrix products in bf16
    (`bf16_matmuls`: ~3x faster here; weights, optimizer and norms stay float32)."""
    generator = torch.Generator().manual_seed(seed)
    n = data["input"].shape[0]
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=epochs * ((n + batch_size - 1) // batch_size),
        pct_start=0.1)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            with bf16_matmuls():
                logits = model(data["input"][idx])
            loss = F.cross_entropy(logits, data["labels"][idx])
            if not torch.isfinite(loss):
                raise RuntimeError(f"training diverged: loss {loss.item()}")
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
    model.eval()


def _tensors(audio, labels):
    return {"input": torch.from_numpy(audio), "labels": torch.from_numpy(labels)}


def make_spec(seed: int) -> ZooSpec:
    train, validation = _tensors(*keywords.load("train")), _tensors(*keywords.load("test"))
    torch.manual_seed(seed)
    return ZooSpec(task="keywords-wav2vec2", family="wav2vec2",
                   stages=[FeatureEncoder(), Context(), Classify()],
                   train=train, validation=validation,
                   epochs=10, lr=1e-3, batch_size=32, finetune_epochs=2, finetune_lr=3e-4,
                   train_fn=train_warmup_clipped)
