"""Hessian-vector products of every kind of objective against the full Hessian and SymPy."""

from __future__ import annotations

import pytest
import sympy
import torch
from torch.utils.data import DataLoader, TensorDataset

from losslab.curvature import closure_operator, hessian_operator, hvp
from losslab.errors import LosslabError
from losslab.objectives.data import DataObjective
from losslab.objectives.network import NetworkObjective
from losslab.objectives.objective import Objective, formula

TOL = 1e-10  # float64: products and the full Hessian agree to roundoff


class PlaneSlice(Objective):
    """f(a, b) = L(θ* + a·d1 + b·d2): a two-parameter slice through a network."""

    def __init__(self, network: NetworkObjective, d1: torch.Tensor, d2: torch.Tensor) -> None:
        super().__init__(names=("a", "b"), title="plane slice")
        self.network, self.directions = network, torch.stack([d1, d2])

    def _evaluate(self, thetas: torch.Tensor) -> torch.Tensor:
        return self.network._evaluate(self.network.center + thetas @ self.directions)


def _formula():
    objective = formula("w0**2*w1 + sin(w1)*w2 + exp(w0*w2/4) - w2**4/12")
    return objective, torch.tensor([0.3, -1.2, 0.7], dtype=torch.float64)


def _data():
    objective = DataObjective("sigmoid(w0 + w1*x)", {"x": [-2, -1, 0, 1, 3], "y": [0, 0, 1, 1, 1]}, loss="bce")
    return objective, torch.tensor([0.2, 0.9], dtype=torch.float64)


def _slice(net):
    g = torch.Generator().manual_seed(1)
    d1, d2 = (torch.randn(net.objective.dim, generator=g, dtype=torch.float64) for _ in range(2))
    return PlaneSlice(net.objective, d1, d2), torch.tensor([0.1, -0.2], dtype=torch.float64)


def _streamed(net):
    """The same network and data through a DataLoader of uneven batches (a DataLoader iterated inside vmap
    failed: "called random operation while in randomness error mode")."""
    x, y = net.objective.data
    loader = DataLoader(TensorDataset(x, y), batch_size=37, shuffle=False)
    return NetworkObjective(net.objective.model, loader, net.objective.loss_fn), net.objective.center


OBJECTIVES = {
    "formula": lambda net: _formula(),
    "data": lambda net: _data(),
    "network": lambda net: (net.objective, net.objective.center),
    "streamed-network": _streamed,
    "plane-slice": _slice,
}


@pytest.mark.parametrize("method", ["jvp", "graph", "auto"])
@pytest.mark.parametrize("kind", list(OBJECTIVES))
def test_products_match_the_full_hessian(kind, method, small_net, generator):
    objective, theta = OBJECTIVES[kind](small_net)
    # the streamed network's oracle is the held one's Hessian (torch.func.hessian cannot iterate a DataLoader)
    full = small_net.hessian if kind == "streamed-network" else torch.func.hessian(objective._evaluate)(theta)
    vectors = torch.randn(4, objective.dim, generator=generator, dtype=torch.float64)
    operator = hessian_operator(objective, theta, method=method)
    one = operator.matvec(vectors[0])
    many = operator.matmat(vectors)
    scale = float(full.abs().max())
    torch.testing.assert_close(one, full @ vectors[0], rtol=0, atol=TOL * scale)
    torch.testing.assert_close(many, vectors @ full, rtol=0, atol=TOL * scale)
    assert operator.products == 5


def test_auto_reuses_the_graph_for_networks_only(small_net):
    assert hessian_operator(small_net.objective).method == "graph"
    assert hessian_operator(*_formula()).method == "jvp"


def test_formula_products_match_the_exact_sympy_hessian(generator):
    objective, theta = _formula()
    exact = sympy.hessian(objective.expr, objective.symbols).subs(
        dict(zip(objective.symbols, theta.tolist(), strict=True))
    )
    exact = torch.tensor([[float(e) for e in row] for row in exact.tolist()], dtype=torch.float64)
    v = torch.randn(3, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(hvp(objective, v, theta), exact @ v, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(hvp(objective, torch.eye(3, dtype=torch.float64), theta), exact, rtol=1e-12, atol=1e-12)


def test_closure_operator_over_a_models_parameters(small_net, generator):
    net = small_net.objective
    x, y = net.data
    operator = closure_operator(lambda: net.loss_fn(net.model(x), y), net.model.parameters())
    v = torch.randn(net.dim, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(operator.matvec(v), small_net.hessian @ v, rtol=0, atol=1e-10)
    assert operator.value == pytest.approx(float(net.value(net.center)), rel=1e-12)


BAD = {
    "wrong-length": (lambda op: op.matvec(torch.zeros(op.dim + 1, dtype=torch.float64)), "does not fit"),
    "matrix-to-matvec": (lambda op: op.matvec(torch.zeros(2, op.dim, dtype=torch.float64)), r"expected \(n,\)"),
    "not-a-tensor": (lambda op: op.matmat([[1.0, 2.0, 3.0]]), "does not fit"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_vectors_are_refused_with_a_message(case):
    call, message = BAD[case]
    with pytest.raises(LosslabError, match=message):
        call(hessian_operator(*_formula()))


def test_bad_method_and_missing_point_are_refused():
    with pytest.raises(LosslabError, match="not one of auto, jvp, graph"):
        hessian_operator(*_formula(), method="finite-differences")
    with pytest.raises(LosslabError, match="pass the point with at="):
        hessian_operator(formula("x**2*y"))
