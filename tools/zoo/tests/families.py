"""Model families with no ``prune_structured`` anywhere, for the graph-pruning tests.

Small widths (seconds to train on 2 cores) but enough work per stage that structured pruning
shows at batch 1. Data is synthetic: these tests check pruning and export, not accuracy.
"""

import copy

import torch
from torch import nn
import torch.nn.functional as F

CLASSES = 5


def _data(seed: int, shape, n: int = 320, mask_len: int = 0):
    """256 train and 64 validation samples: noise plus a fixed pattern per class (learnable in a
    few steps, so that accuracies mean something)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, CLASSES, (n,), generator=g)
    patterns = torch.randn(CLASSES, *shape, generator=g)
    x = torch.randn(n, *shape, generator=g) + 0.5 * patterns[labels]
    data = {"input": x, "labels": labels}
    if mask_len:  # True = token; at least 4 tokens
        lengths = torch.randint(4, mask_len + 1, (n,), generator=g)
        data["mask"] = torch.arange(mask_len)[None, :] < lengths[:, None]
    return {k: v[:256] for k, v in data.items()}, {k: v[256:] for k, v in data.items()}


# -- depthwise-separable CNN (MobileNet v1 style) ----------------------------------------------

def separable(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin, bias=False),
        nn.BatchNorm2d(cin), nn.ReLU(),
        nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class SeparableHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = separable(96, 192, stride=2)
        self.fc = nn.Linear(192, CLASSES)

    def forward(self, x):
        return self.fc(self.block(x).mean(dim=(2, 3)))


def separable_cnn(seed: int):
    torch.manual_seed(seed)
    stages = [nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False),
                            nn.BatchNorm2d(32), nn.ReLU6(), separable(32, 64), separable(64, 64)),
              nn.Sequential(separable(64, 96, stride=2), separable(96, 96)),
              SeparableHead()]
    return stages, _data(seed, (3, 32, 32))


# -- dilated Conv1d with GroupNorm and a tanh x sigmoid gate (WaveNet style) -------------------

class GatedBlock(nn.Module):
    def __init__(self, ch: int, hidden: int, dilation: int):
        super().__init__()
        self.filter = nn.Conv1d(ch, hidden, 3, padding=dilation, dilation=dilation)
        self.gate = nn.Conv1d(ch, hidden, 3, padding=dilation, dilation=dilation)
        self.norm = nn.GroupNorm(8, hidden)
        self.out = nn.Conv1d(hidden, ch, 1)

    def forward(self, x):
        h = torch.tanh(self.filter(x)) * torch.sigmoid(self.gate(x))
        return x + self.out(self.norm(h))


class DilatedHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = GatedBlock(64, 128, 8)
        self.fc = nn.Linear(64, CLASSES)

    def forward(self, x):
        return self.fc(F.relu(self.block(x)).mean(-1))


def dilated_conv1d(seed: int):
    torch.manual_seed(seed)
    stages = [nn.Sequential(nn.Conv1d(4, 64, 3, padding=1), nn.GroupNorm(8, 64), nn.ReLU(),
                            GatedBlock(64, 128, 1)),
              nn.Sequential(GatedBlock(64, 128, 2), GatedBlock(64, 128, 4)),
              DilatedHead()]
    return stages, _data(seed, (4, 128))


# -- torchvision-style ResNet: BasicBlock with a downsample branch -----------------------------

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    """torchvision.models.ResNet's layout (conv1, bn1, relu, maxpool, layer1-4, avgpool, fc),
    narrow and for 32x32 inputs."""

    def __init__(self, widths=(16, 32, 64, 128), classes: int = CLASSES):
        super().__init__()
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity()
        self.layer1 = self._make_layer(widths[0], 1)
        self.layer2 = self._make_layer(widths[1], 2)
        self.layer3 = self._make_layer(widths[2], 2)
        self.layer4 = self._make_layer(widths[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3], classes)

    def _make_layer(self, planes: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride=stride,
                                                 bias=False), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample), BasicBlock(planes, planes)]
        self.inplanes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet(seed: int):
    torch.manual_seed(seed)
    return ResNet(), _data(seed, (3, 32, 32))


# -- a transformer of nn.TransformerEncoderLayer, with a padding mask --------------------------

def _layer() -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(128, 8, 512, dropout=0.0, batch_first=True)


class Embed(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(16, 128)
        self.position = nn.Parameter(torch.randn(1, 32, 128) * 0.02)
        self.layer = _layer()

    def forward(self, x, mask):
        return self.layer(self.proj(x) + self.position, src_key_padding_mask=~mask)


class Encode(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = _layer()

    def forward(self, x, mask):
        return self.layer(x, src_key_padding_mask=~mask)


class Classify(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = _layer()
        self.fc = nn.Linear(128, CLASSES)

    def forward(self, x, mask):
        h = self.layer(x, src_key_padding_mask=~mask)
        m = mask[..., None].to(h.dtype)  # bf16 variants run this in bf16
        return self.fc((h * m).sum(1) / m.sum(1))


def encoder_transformer(seed: int):
    torch.manual_seed(seed)
    return [Embed(), Encode(), Classify()], _data(seed, (32, 16), mask_len=32)


# -- what a user might bring: their own pruning of a trained ResNet ------------------------------

def narrowed(model: ResNet) -> ResNet:
    """A user's own structured pruning, done by hand: every block's inner width halved (the
    first half of conv1's filters kept), boundaries untouched."""
    model = copy.deepcopy(model)
    for block in model.modules():
        if not isinstance(block, BasicBlock):
            continue
        keep = block.conv1.out_channels // 2
        conv1 = nn.Conv2d(block.conv1.in_channels, keep, 3, stride=block.conv1.stride,
                          padding=1, bias=False)
        conv1.weight.data = block.conv1.weight.data[:keep].clone()
        bn1 = nn.BatchNorm2d(keep)
        bn1.load_state_dict({k: v[:keep] if v.dim() else v
                             for k, v in block.bn1.state_dict().items()})
        conv2 = nn.Conv2d(keep, block.conv2.out_channels, 3, padding=1, bias=False)
        conv2.weight.data = block.conv2.weight.data[:, :keep].clone()
        block.conv1, block.bn1, block.conv2 = conv1, bn1, conv2
    return model.eval()
