"""Activity recognition: a ViT-style encoder over patches of a SYNTHETIC accelerometer series.

Data (`accelerometer.py`, generated here from the seed, ~1 s): 30 simulated subjects, 16
windows of 5.12 s (256 samples at 50 Hz, 3 axes) per subject and activity; the model trains on
subjects 0-23 and is validated on subjects 24-29, whom it never saw.

Model: patches of 8 samples x 3 axes -> linear embedding + position embedding + one encoder
block | one block | one block, LayerNorm, mean over patches, classifier. 32 patch tokens, width
256, 4 heads, FFN 1024 (the size at which int8 and bf16 pay on this CPU). No padding, so every
stage makes its own all-true attention mask. Trained with the generic trainer, its matrix
products in bf16 (`train_bf16`).
"""

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/zoo, for `tasks`
from sparseloom_zoo import ZooSpec  # noqa: E402
from sparseloom_zoo.blocks import TransformerBlock  # noqa: E402
from sparseloom_zoo.training import fit  # noqa: E402
from tasks import accelerometer, bf16_matmuls  # noqa: E402

LENGTH, PATCH = 256, 8
TOKENS = LENGTH // PATCH
DIM, HEADS, FFN = 256, 4, 1024
SUBJECTS, TRAIN_SUBJECTS, WINDOWS = 30, 24, 16
BATCH = 32


class Encoder(nn.Module):
    """One encoder block over unpadded tokens."""

    def __init__(self):
        super().__init__()
        self.block = TransformerBlock(DIM, HEADS, FFN)

    def forward(self, x):
        return self.block(x, torch.ones_like(x[:, :, 0], dtype=torch.bool))


class PatchEmbed(Encoder):
    """Stage 1: [B, 3, 256] -> 32 patches of 8 samples x 3 axes -> linear + positions, a block."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(3 * PATCH, DIM)
        self.positions = nn.Parameter(torch.randn(TOKENS, DIM) * 0.02)

    def forward(self, x):
        patches = x.reshape(-1, 3, TOKENS, PATCH).transpose(1, 2).reshape(-1, TOKENS, 3 * PATCH)
        return super().forward(self.embed(patches) + self.positions)


class Classify(Encoder):
    """Stage 3: a block, LayerNorm, mean over patches, classifier."""

    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(DIM)
        self.fc = nn.Linear(DIM, len(accelerometer.ACTIVITIES))

    def forward(self, x):
        return self.fc(self.norm(super().forward(x)).mean(dim=1))


def train_bf16(model, data, epochs, lr, seed):
    """The generic trainer with every matrix product in bf16 (~3x faster here; weights, optimizer
    and norms stay float32)."""
    with bf16_matmuls():
        fit(model, data, [], epochs=epochs, lr=lr, batch_size=BATCH, seed=seed)


def make_spec(seed: int) -> ZooSpec:
    x, y, subject = accelerometer.generate(SUBJECTS, WINDOWS, LENGTH, seed)
    x, y, subject = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(subject)
    seen = subject < TRAIN_SUBJECTS
    torch.manual_seed(seed)
    stages = [PatchEmbed(), Encoder(), Classify()]
    return ZooSpec(task="har-vit", family="vit", stages=stages,
                   train={"input": x[seen], "labels": y[seen]},
                   validation={"input": x[~seen], "labels": y[~seen]},
                   epochs=6, lr=1e-3, batch_size=BATCH, finetune_epochs=2, train_fn=train_bf16)
