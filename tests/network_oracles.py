"""The direct per-point oracle of the network tests: a deep copy of the model with θ written into it.

Shared by the landscape and network tests (``tests/`` is on the path through its conftest).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn


def twin_at(model: nn.Module, theta: Tensor) -> nn.Module:
    """A deep copy of ``model`` in eval mode with θ written into its parameters (in the copy's dtype)."""
    twin = copy.deepcopy(model).eval()
    nn.utils.vector_to_parameters(theta.to(next(twin.parameters())), twin.parameters())
    return twin


def direct_loss(model: nn.Module, theta: Tensor, x: Tensor, y: Tensor) -> tuple[float, float]:
    """Cross-entropy and accuracy of :func:`twin_at` on ``(x, y)``."""
    with torch.no_grad():
        out = twin_at(model, theta)(x)
        return float(nn.functional.cross_entropy(out, y)), float((out.argmax(-1) == y).double().mean())


def plane_thetas(surface: Any, directions: Any) -> Iterator[tuple[int, int, Tensor]]:
    """``(i, j, θ)`` at every point of a surveyed plane: θ = centre + a·d₁ + b·d₂."""
    for i, a in enumerate(surface.coordinates[0]):
        for j, b in enumerate(surface.coordinates[1]):
            yield i, j, directions.center + a * directions.vectors[0] + b * directions.vectors[1]


def with_statistics(model: nn.Module, x: Tensor) -> nn.Module:
    """Give BatchNorm layers non-trivial running statistics (three train-mode passes over ``x``), then eval mode."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(x)
    return model.eval()


def split_by_name(theta: Tensor, shapes: dict[str, Any]) -> dict[str, Tensor]:
    """A flat θ cut into the named parameters ``shapes`` lists, in that order (an oracle's own unflatten)."""
    parts, start = {}, 0
    for name, shape in shapes.items():
        size = torch.Size(shape).numel()
        parts[name], start = theta[start : start + size].reshape(shape), start + size
    return parts
