"""Shared objects for the curvature tests: a small float64 network and its exact Hessian."""

from __future__ import annotations

from collections.abc import Iterator
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
def one_thread() -> Iterator[None]:
    """Small products are fastest on one thread; on the shared 2-core machine two threads per
    process measured 20-40x slower (oversubscription). Restored after each test."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def small_net() -> Exact:
    """The moons MLP 2-16-16-2 (354 parameters), trained a little, in float64."""
    built = demo("moons-mlp", steps=100, dtype=torch.float64)
    objective = NetworkObjective(built.model, (built.inputs, built.targets), built.loss)
    hessian = torch.func.hessian(objective._evaluate)(objective.center)
    values, vectors = torch.linalg.eigh(hessian)
    return Exact(objective, hessian, values, vectors)
