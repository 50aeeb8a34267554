"""Small seeded networks for the landscape tests, and the direct per-point oracle."""

from __future__ import annotations

import copy

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


def with_statistics(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """Give BatchNorm layers non-trivial running statistics, then switch to eval mode."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(x)
    return model.eval()


def direct_loss(model: nn.Module, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """The oracle: a deep copy with θ written into its parameters, run in eval mode."""
    clone = copy.deepcopy(model).eval()
    nn.utils.vector_to_parameters(theta.to(next(clone.parameters())), clone.parameters())
    with torch.no_grad():
        out = clone(x)
        return float(nn.functional.cross_entropy(out, y)), float((out.argmax(-1) == y).double().mean())
