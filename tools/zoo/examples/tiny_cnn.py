"""Tiny ResNet-style CNN on synthetic 1x16x16 shapes (8 classes), cut into 3 stages.

The task is generated, not real data: each image is one class-dependent shape (bars, diagonals,
square outline, disk, plus, X) at a random position, size, thickness and brightness, under
Gaussian noise strong enough that the dense model is good but not perfect, so pruning shows.
"""

import torch
from torch import nn

from sparseloom_zoo import ZooSpec
from sparseloom_zoo.blocks import ResidualBlock

CLASSES = 8
SIZE = 16


def make_shapes(n: int, generator: torch.Generator):
    """n images [n, 1, 16, 16] float32 and their labels [n] int64."""
    labels = torch.randint(0, CLASSES, (n,), generator=generator)
    grid = torch.arange(SIZE, dtype=torch.float32)
    yy, xx = grid[None, :, None], grid[None, None, :]

    def uniform(lo, hi):
        return (lo + (hi - lo) * torch.rand(n, generator=generator))[:, None, None]

    dx, dy = xx - uniform(5.5, 10.5), yy - uniform(5.5, 10.5)
    size, thick = uniform(3.0, 6.0), uniform(0.5, 1.3)
    within = (dx.abs() <= size) & (dy.abs() <= size)
    hbar = (dy.abs() <= thick) & (dx.abs() <= size)
    vbar = (dx.abs() <= thick) & (dy.abs() <= size)
    diag = ((dx - dy).abs() <= thick) & within
    anti = ((dx + dy).abs() <= thick) & within
    box = torch.maximum(dx.abs(), dy.abs())
    shapes = torch.stack([hbar, vbar, diag, anti, (box <= size) & (box >= size - thick),
                          dx ** 2 + dy ** 2 <= (size * 0.8) ** 2, hbar | vbar, diag | anti], dim=1)
    image = shapes[torch.arange(n), labels].float() * uniform(0.5, 1.2)
    image = image + 0.4 * torch.randn(n, SIZE, SIZE, generator=generator)
    return image[:, None], labels


class Stem(nn.Module):
    """Stage 1: conv stem + one residual block at full resolution."""

    def __init__(self, width: int):
        super().__init__()
        self.conv = nn.Conv2d(1, width, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.block = ResidualBlock(width, width)

    def forward(self, x):
        return self.block(torch.relu(self.bn(self.conv(x))))


class Head(nn.Module):
    """Stage 3: a downsampling block, global average pool, classifier."""

    def __init__(self, in_ch: int, width: int):
        super().__init__()
        self.block = ResidualBlock(in_ch, width, stride=2)
        self.fc = nn.Linear(width, CLASSES)

    def forward(self, x):
        return self.fc(self.block(x).mean(dim=(2, 3)))


def make_spec(seed: int) -> ZooSpec:
    generator = torch.Generator().manual_seed(seed)
    x_train, y_train = make_shapes(3000, generator)
    x_val, y_val = make_shapes(1000, generator)
    torch.manual_seed(seed)  # weight init
    stages = [
        Stem(32),                                          # [1,16,16] -> [32,16,16]
        nn.Sequential(ResidualBlock(32, 64, stride=2)),    # -> [64,8,8]
        Head(64, 128),                                     # -> logits [8]
    ]
    return ZooSpec(
        task="tiny-shapes-cnn", family="resnet", stages=stages,
        train={"input": x_train, "labels": y_train},
        validation={"input": x_val, "labels": y_val},
        epochs=5, lr=3e-3, batch_size=64, finetune_epochs=1)
