"""Small seeded networks for the landscape tests (also loaded as ``--model landscape_helpers:…`` by the CLI in a
subprocess, so nothing here imports from outside this folder); the direct oracle is in ``network_oracles``."""

from __future__ import annotations

import torch
from torch import nn


def seeded(build, seed: int = 0) -> nn.Module:
    """A module initialised under a forked RNG (the global RNG is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def small_mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(16, 6), nn.Tanh(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))


class Image(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1, 1, 4, 4)


def small_cnn() -> nn.Module:
    return nn.Sequential(
        Image(), nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
        nn.Flatten(), nn.Linear(48, 3),
    )  # fmt: skip


class Residual(nn.Module):
    """Not an nn.Sequential: only the generic vmap path applies."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Linear(16, 16)
        self.norm = nn.BatchNorm1d(16)
        self.head = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(x + torch.tanh(self.inner(x))))
