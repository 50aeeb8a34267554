"""Shared objects for the curvature tests: a small float64 network and its exact Hessian."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import Tensor

from losslab.networks.demos import demo
from losslab.objectives.network import NetworkObjective


@dataclass
class Exact:
    """A network objective with its full Hessian from torch.func.hessian and eigh of it."""

    objective: NetworkObjective
    hessian: Tensor
    eigenvalues: Tensor  # ascending
    eigenvectors: Tensor  # columns


@pytest.fixture(autouse=True)
def _one_thread_each(one_thread: None) -> None:
    """Every curvature test module on one thread (tests/conftest.py's one_thread)."""


@pytest.fixture(scope="session")
def small_net() -> Exact:
    """The moons MLP 2-16-16-2 (354 parameters), trained a little, in float64."""
    built = demo("moons-mlp", steps=100, dtype=torch.float64)
    objective = NetworkObjective(built.model, (built.inputs, built.targets), built.loss)
    hessian = torch.func.hessian(objective._evaluate)(objective.center)
    values, vectors = torch.linalg.eigh(hessian)
    return Exact(objective, hessian, values, vectors)
