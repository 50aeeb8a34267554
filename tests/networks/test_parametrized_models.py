"""Models whose weights are parametrizations (``weight_norm``, ``spectral_norm``): a layer's weight is then
computed from its parameters (``parametrizations.weight.original0/1``), not one of them, and not linear in θ.

The fused path took the first layer's output as linear in θ: a weight-normed Linear first in a Sequential
surveyed 1.26604 at a corner where a deep copy evaluates 1.24069. Oracles: a deep copy with θ written into its
parameters, evaluated directly; ``torch.func.hessian`` of the loss through ``functional_call`` (float64) and
its ``eigvalsh``.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

from losslab.curvature import hessian_operator, top_eigenvalues
from losslab.landscape import random_directions, survey
from losslab.landscape.engine import SliceEvaluator
from losslab.objectives.network import network
from network_oracles import direct_loss, plane_thetas, split_by_name


def _legacy_weight_norm(layer: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.nn.utils.weight_norm: deprecated, still in use
        return nn.utils.weight_norm(layer)


def _models() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {
        "legacy-weight-norm": nn.Sequential(_legacy_weight_norm(nn.Linear(5, 8)), nn.Tanh(), nn.Linear(8, 3)),
        "weight-norm-first": nn.Sequential(weight_norm(nn.Linear(5, 8)), nn.Tanh(), nn.Linear(8, 3)),
        "weight-norm-later": nn.Sequential(nn.Linear(5, 8), nn.Tanh(), weight_norm(nn.Linear(8, 3))),
        "spectral-norm": nn.Sequential(spectral_norm(nn.Linear(5, 8)), nn.Tanh(), nn.Linear(8, 3)),
        "conv-weight-norm": nn.Sequential(
            weight_norm(nn.Conv2d(1, 3, 3)), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 3)
        ),
    }


@pytest.mark.parametrize("name", list(_models()))
def test_every_grid_value_of_a_parametrized_model_is_a_direct_evaluation(name: str) -> None:
    model = _models()[name].double().eval()
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(24, *((1, 6, 6) if name.startswith("conv") else (5,)), generator=generator, dtype=torch.float64)
    y = torch.randint(0, 3, (24,), generator=generator)
    objective = network(model, (x, y))
    directions = random_directions(objective, seed=2)
    assert SliceEvaluator(objective, directions).method != "fused"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "performance drop" from vmap's fallback for aten::_weight_norm
        surface = survey(objective, directions, grid=(3, 3), progress=False)
    for i, j, theta in plane_thetas(surface, directions):
        loss, accuracy = direct_loss(model, theta, x, y)
        assert float(surface.values["loss"][i, j]) == pytest.approx(loss, rel=1e-12)
        assert float(surface.values["accuracy"][i, j]) == pytest.approx(accuracy)


def _written_out(parts: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The weight-norm-first model written out: w = g · v/‖v‖ row by row, from its parameters by name."""
    legacy = "0.weight_g" in parts
    g = parts["0.weight_g" if legacy else "0.parametrizations.weight.original0"]
    v = parts["0.weight_v" if legacy else "0.parametrizations.weight.original1"]
    weight = v * (g / v.norm(dim=1, keepdim=True))
    hidden = torch.tanh(x @ weight.T + parts["0.bias"])
    return hidden @ parts["2.weight"].T + parts["2.bias"]


@pytest.mark.parametrize("name", ["weight-norm-first", "legacy-weight-norm"])
@pytest.mark.parametrize("method", ["graph", "jvp"])
def test_the_hessian_of_a_weight_normed_model_is_that_of_its_parameters(method: str, name: str) -> None:
    """torch's fused weight norm has a wrong second derivative (its Hessian here is not symmetric: entries apart
    by up to 0.09); losslab's must be the Hessian of w = g · v/‖v‖ written out."""
    model = _models()[name].double().eval()
    generator = torch.Generator().manual_seed(4)
    x, y = torch.randn(16, 5, generator=generator, dtype=torch.float64), torch.randint(0, 3, (16,), generator=generator)
    objective = network(model, (x, y))

    def loss(theta: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(_written_out(split_by_name(theta, objective.shapes), x), y)

    hessian = torch.func.hessian(loss)(objective.center)
    assert float((hessian - hessian.T).abs().max()) < 1e-12
    vectors = torch.randn(3, objective.dim, generator=generator, dtype=torch.float64)
    products = hessian_operator(objective, method=method).matmat(vectors)  # jvp: torch's kernel has no forward AD
    torch.testing.assert_close(products, vectors @ hessian, rtol=1e-10, atol=1e-12)
    spectrum = torch.linalg.eigvalsh(hessian)
    result = top_eigenvalues(objective, 1, which="both", method=method)
    assert sorted(result.eigenvalues.tolist()) == pytest.approx([float(spectrum[0]), float(spectrum[-1])], rel=1e-8)
