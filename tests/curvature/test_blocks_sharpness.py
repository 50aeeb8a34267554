"""Per-block curvature and sharpness tracking against eigh of the full Hessian."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from losslab.curvature import SharpnessTracker, blocks, edge_of_stability_demo, groups, top_eigenvalues
from losslab.errors import LosslabError
from losslab.objectives.network import NetworkObjective
from losslab.objectives.objective import formula


@pytest.mark.parametrize("by", ["layer", "parameter"])
def test_each_block_matches_the_diagonal_block_of_the_full_hessian(small_net, by):
    result = blocks(small_net.objective, by=by, tol=1e-8, probes=30)
    expected = {
        "layer": ["0", "2", "4"],
        "parameter": ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"],
    }
    assert result.names == expected[by]
    for (start, stop), lam, estimate in zip(result.slices, result.top_eigenvalues, result.traces, strict=True):
        block = small_net.hessian[start:stop, start:stop]
        assert lam == pytest.approx(float(torch.linalg.eigvalsh(block)[-1]), rel=1e-6, abs=1e-9)
        assert abs(estimate.estimate - float(block.trace())) <= 5 * estimate.stderr + 1e-9
    assert result.slices[-1][1] == small_net.objective.dim
    assert "λmax" in str(result) and len(result.to_dict()["blocks"]) == len(expected[by])


def test_groups_cover_theta_in_order(small_net):
    spans = list(groups(small_net.objective, "parameter").values())
    assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))


def _train_with_tracker(make_tracker, steps=6, lr=0.05):
    torch.manual_seed(0)  # test-only: the model's initialisation
    net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).double().train()
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(64, 2, generator=g, dtype=torch.float64), torch.randn(64, 1, generator=g, dtype=torch.float64)
    tracker = make_tracker(net, x, y)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    snapshots = []
    for step in range(steps):
        if tracker.step(step, lr=lr) is not None:
            snapshots.append(nn.utils.parameters_to_vector(net.parameters()).detach().clone())
        optimizer.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        optimizer.step()
    training = net.training
    return tracker, snapshots, NetworkObjective(net, (x, y), "mse"), training


TRACKERS = {
    "for-model": lambda net, x, y: SharpnessTracker.for_model(net, (x, y), "mse", every=2, tol=1e-9),
    "closure": lambda net, x, y: SharpnessTracker(
        lambda: nn.functional.mse_loss(net(x), y), every=2, parameters=net.parameters(), tol=1e-9
    ),
}


@pytest.mark.parametrize("kind", list(TRACKERS))
def test_tracker_records_lambda_max_of_the_current_parameters(kind):
    tracker, snapshots, objective, training = _train_with_tracker(TRACKERS[kind])
    series = tracker.series
    assert series.steps == [0, 2, 4] and series.lrs == [0.05] * 3
    assert series.thresholds == [pytest.approx(40.0)] * 3
    for theta, lam, loss in zip(snapshots, series.lambda_max, series.losses, strict=True):
        exact = float(torch.linalg.eigvalsh(objective.hessian(theta))[-1])
        assert lam == pytest.approx(exact, rel=1e-6)
        assert loss == pytest.approx(float(objective.value(theta)), rel=1e-12)
    assert training, "the tracker must leave the user's model in train mode"


def test_tracker_refuses_bad_input():
    with pytest.raises(LosslabError, match="every \\(steps between measurements\\) must be a whole number ≥ 1, got 0"):
        SharpnessTracker(lambda: torch.zeros(()), every=0, parameters=[])
    with pytest.raises(LosslabError, match="a loss closure needs model=model \\(or parameters=...\\)"):
        SharpnessTracker(lambda: torch.zeros(()), every=1)
    with pytest.raises(LosslabError, match="expected a NetworkObjective or a loss closure"):
        SharpnessTracker(formula("w**2"), every=1)  # type: ignore[arg-type]


def test_edge_of_stability_demo_short_run():
    """Two measurements (steps 0 and 5); the first is λmax of the untrained digits MLP, measured independently."""
    from losslab.networks.demos import demo

    series = edge_of_stability_demo(lr=1.0, steps=5, every=5)
    assert series.steps == [0, 5] and series.thresholds == [2.0, 2.0]
    built = demo("mlp", trained=False)
    targets = nn.functional.one_hot(built.targets, 10).to(built.inputs.dtype)
    fresh = top_eigenvalues(NetworkObjective(built.model, (built.inputs, targets), "mse"), 1, tol=1e-4)
    assert series.lambda_max[0] == pytest.approx(float(fresh.eigenvalues[0]), rel=2e-3)
    assert series.losses[1] < series.losses[0]
    assert "2/lr" in str(series)
    with pytest.raises(LosslabError, match="loss 'hinge' is not one of mse, cross_entropy"):
        edge_of_stability_demo(steps=0, loss="hinge")
