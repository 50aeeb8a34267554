"""λmax at every training step from a warm start: at most 3 products a step on average, within 1e-3 of exact."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from losslab.curvature import SharpnessTracker, top_eigenvalues
from losslab.curvature.warm_lanczos import settled_lambda_max
from losslab.errors import LosslabError
from losslab.networks.demos import demo
from losslab.objectives.network import NetworkObjective


def test_every_step_costs_at_most_three_products_on_average() -> None:
    built = demo("moons-mlp", steps=50, dtype=torch.float64)
    model, x, y = built.model, built.inputs, built.targets
    tracker = SharpnessTracker.for_model(model, (x, y), "cross_entropy", every=1, eigenvalue_tol=1e-3)
    reference = NetworkObjective(model, (x, y), "cross_entropy")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    exact, products = [], []
    for step in range(16):
        theta = nn.utils.parameters_to_vector(model.parameters()).detach().clone()
        exact.append(float(top_eigenvalues(reference, 1, at=theta, tol=1e-9).eigenvalues[0]))
        tracker.step(step)
        products.append(tracker.series.products)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    for measured, true in zip(tracker.series.lambda_max, exact, strict=True):
        assert measured == pytest.approx(true, rel=2e-3)
    warm = (products[-1] - products[0]) / (len(products) - 1)  # after the first, a full Lanczos run
    assert warm <= 3.0, f"{warm:.2f} products a step"


def test_settled_lambda_max_refuses_a_bad_tolerance() -> None:
    from losslab.curvature.hvp import hessian_operator
    from losslab.objectives.objective import formula

    operator = hessian_operator(formula("x**2 + y**2"), [0.0, 0.0])
    with pytest.raises(LosslabError, match="need tol > 0"):
        settled_lambda_max(operator, torch.ones(2, dtype=torch.float64), eigenvalue_tol=0.0)
