"""Image classification: a ResNet-style CNN on Fashion-MNIST (real data), cut into 3 stages.

Stem (3x3 conv, stride 2) + residual block at 14x14 | residual block at 14x14 | downsampling
residual block at 7x7, global average pool, classifier. Trained on a fixed random 30,000-image
subset of the 60,000 training images (time budget: `make demo` builds all four zoos in 20
minutes on 2 cores); validated on the 10,000 test images.
"""

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/zoo, for `tasks`
from sparseloom_zoo import ZooSpec  # noqa: E402
from sparseloom_zoo.blocks import ResidualBlock  # noqa: E402
from tasks import fashion_mnist  # noqa: E402

WIDTH = 64
TRAIN_SUBSET = 30000
MEAN, STD = 0.286, 0.353  # Fashion-MNIST pixel statistics


class Stem(nn.Module):
    """Stage 1: 3x3 conv stride 2 (28 -> 14) + BN + ReLU, one residual block."""

    def __init__(self, width: int):
        super().__init__()
        self.conv = nn.Conv2d(1, width, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.block = ResidualBlock(width, width)

    def forward(self, x):
        return self.block(torch.relu(self.bn(self.conv(x))))


class Head(nn.Module):
    """Stage 3: downsampling residual block (14 -> 7), global average pool, classifier."""

    def __init__(self, in_ch: int, width: int, classes: int):
        super().__init__()
        self.block = ResidualBlock(in_ch, width, stride=2)
        self.fc = nn.Linear(width, classes)

    def forward(self, x):
        return self.fc(self.block(x).mean(dim=(2, 3)))


def _tensors(images, labels):
    x = (torch.from_numpy(images.astype("float32")) / 255.0 - MEAN) / STD
    return {"input": x[:, None].contiguous(), "labels": torch.from_numpy(labels)}


def make_spec(seed: int) -> ZooSpec:
    images, labels = fashion_mnist.load("train")
    subset = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    subset = subset[:TRAIN_SUBSET].sort().values.numpy()
    train = _tensors(images[subset], labels[subset])
    validation = _tensors(*fashion_mnist.load("test"))
    torch.manual_seed(seed)  # weight init
    stages = [
        Stem(WIDTH),                                                     # -> [64, 14, 14]
        ResidualBlock(WIDTH, WIDTH),                                     # -> [64, 14, 14]
        Head(WIDTH, 2 * WIDTH, len(fashion_mnist.CLASSES)),              # -> logits [10]
    ]
    return ZooSpec(task="fmnist-resnet", family="resnet", stages=stages, train=train,
                   validation=validation, epochs=3, lr=3e-3, batch_size=128, finetune_epochs=1)
