"""A line or plane through a network's parameter space, as an Objective of one or two parameters.

``f(a, b) = L(c + a·d1 + b·d2)`` is an :class:`~losslab.objectives.objective.Objective` with names
``("a", "b")`` (a line: ``("a",)``), so every tool of the core — contours, ``descend``,
``stationary_points``, plots, the explorer — works on a slice of a network unchanged.
Derivatives are exact: ``∂f/∂a = ∇L · d1`` by ``torch.func`` through the network.
:meth:`SliceObjective.values` takes the survey's fast path.
"""

from __future__ import annotations

import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.landscape.directions import Directions
from losslab.landscape.engine import SliceEvaluator
from losslab.objectives.domain import Domain
from losslab.objectives.network import NetworkObjective
from losslab.objectives.objective import Objective


class SliceObjective(Objective):
    """``f(a[, b]) = L(c + a·d1 [+ b·d2])`` for a network objective L and directions d.

    Args:
        network: the network objective L.
        directions: center c and one or two directions.
        method: the evaluation method for :meth:`values` (see :mod:`losslab.landscape.engine`).
        domain: the box to look at (default ``[-1, 1]`` on each axis).

    >>> from torch import nn
    >>> from losslab.landscape.directions import random_directions
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    >>> L = NetworkObjective(net, (torch.ones(4, 2).double(), torch.zeros(4, 1).double()), "mse")
    >>> plane = PlaneObjective(L, random_directions(L))
    >>> plane.names, bool(torch.isclose(plane.value([0.0, 0.0]), L.value(L.center)))
    (('a', 'b'), True)
    """

    def __init__(
        self, network: NetworkObjective, directions: Directions, *, method: str = "auto", domain: Domain | None = None
    ) -> None:
        names = ("a", "b")[: directions.k]
        super().__init__(
            names=names,
            title=f"{network.title} on a {directions.kind} {'plane' if directions.k == 2 else 'line'}",
            domain=domain or Domain.box(names, -1.0, 1.0),
            dtype=network.dtype,
        )
        self.network = network
        self.directions = directions
        self.evaluator = SliceEvaluator(network, directions, method)

    def theta(self, coords: Tensor) -> Tensor:
        """The network parameters ``c + coords·D`` at slice coordinates ``(..., k)``."""
        return self.evaluator.center + coords.to(self.evaluator.vectors) @ self.evaluator.vectors

    def _evaluate(self, thetas: Tensor) -> Tensor:
        return self.network._evaluate(self.theta(thetas))

    def values(self, thetas: Tensor, chunk_size: int | None = None) -> Tensor:
        """f at every point of a stack ``(..., k)`` through the survey's fast path (chunks of 16)."""
        coords = self._stack(thetas)
        flat = coords.reshape(-1, self.dim)
        out = [self.evaluator(chunk)[0] for chunk in flat.split(chunk_size or 16)]
        return torch.cat(out).reshape(coords.shape[:-1])

    def _stack(self, thetas: Tensor) -> Tensor:
        coords = torch.as_tensor(thetas, dtype=self.dtype)
        if coords.shape[-1] != self.dim:
            raise LosslabError(f"slice coordinates have last dimension {coords.shape[-1]}; expected {self.dim}")
        return coords


class PlaneObjective(SliceObjective):
    """The 2-parameter slice ``f(a, b) = L(c + a·d1 + b·d2)``."""

    def __init__(self, network: NetworkObjective, directions: Directions, **options: object) -> None:
        if directions.k != 2:
            raise LosslabError(f"a plane needs 2 directions, got {directions.k}; use LineObjective for one")
        super().__init__(network, directions, **options)  # type: ignore[arg-type]


class LineObjective(SliceObjective):
    """The 1-parameter slice ``f(a) = L(c + a·d)`` (e.g. the interpolation between two checkpoints)."""

    def __init__(self, network: NetworkObjective, directions: Directions, **options: object) -> None:
        if directions.k != 1:
            raise LosslabError(f"a line needs 1 direction, got {directions.k}; use PlaneObjective for two")
        super().__init__(network, directions, **options)  # type: ignore[arg-type]
