"""Vision backbones from ``torch.nn``: a ResNet with BatchNorm, the architecture of torchvision's ``resnet18``.

torchvision is not needed: its only wheels next to the pinned CPU torch are CUDA builds that fail
to import ("operator torchvision::nms does not exist"), and ``transformers`` imports torchvision
whenever it is installed. The blocks here are torchvision's (``BasicBlock``: two 3×3 convolutions
with BatchNorm and a projection shortcut when the shape changes), with the CIFAR stem (one 3×3
convolution, no max-pool) for 32×32 images. ``resnet18_like()`` has 11 173 962 parameters for 10
classes, like ``torchvision.models.resnet18(num_classes=10)`` with that stem.

>>> net = resnet(width=4, blocks=(1, 1), num_classes=3)
>>> net(torch.zeros(2, 3, 8, 8)).shape, sum(p.numel() for p in net.parameters())
(torch.Size([2, 3]), 1391)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class BasicBlock(nn.Module):
    """``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``; the shortcut is a strided 1×1 conv + BN when the
    width or the resolution changes."""

    def __init__(self, inputs: int, outputs: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(
                nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False), nn.BatchNorm2d(outputs)
            )

    def forward(self, x: Tensor) -> Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class ResNet(nn.Module):
    """A 3×3 stem, stages of :class:`BasicBlock` (width doubling and resolution halving after the first),
    global average pooling and a linear classifier."""

    def __init__(self, width: int = 64, blocks: tuple[int, ...] = (2, 2, 2, 2), num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        stages: list[nn.Module] = []
        channels = width
        for i, count in enumerate(blocks):
            out = width * 2**i
            for j in range(count):
                stages.append(BasicBlock(channels, out, stride=2 if i > 0 and j == 0 else 1))
                channels = out
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.stages(self.stem(x)).mean(dim=(2, 3)))  # type: ignore[no-any-return]


def resnet(width: int = 64, blocks: tuple[int, ...] = (2, 2, 2, 2), num_classes: int = 10) -> ResNet:
    """A ResNet of ``blocks`` basic blocks per stage, starting ``width`` channels wide."""
    return ResNet(width, blocks, num_classes)


def resnet18_like(num_classes: int = 10) -> ResNet:
    """ResNet-18 (2 basic blocks in each of 4 stages, widths 64–512) with the CIFAR stem."""
    return ResNet(64, (2, 2, 2, 2), num_classes)


def synthetic_images(
    n: int = 256, num_classes: int = 10, size: int = 32, seed: int = 0, dtype: torch.dtype = torch.float32
) -> tuple[Tensor, Tensor]:
    """``n`` random 3×``size``×``size`` images (standard normal pixels) and random labels, seeded."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(n, 3, size, size, generator=generator, dtype=dtype)
    return images, torch.randint(0, num_classes, (n,), generator=generator)
