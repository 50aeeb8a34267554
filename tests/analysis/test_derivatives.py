"""Derivatives three ways: autodiff vs SymPy vs central differences, in float64.

Tolerances (written down once):
- autodiff vs symbolic (30-digit SymPy evaluation): 1e-10 relative to max(1, |∇L|∞).
- central differences vs symbolic: 1e-6 relative to max(1, |∇L|∞) (step ε^{1/3}·max(1,|θ|)).
- central-difference Hessian vs autodiff Hessian: 1e-4 relative.
"""

from __future__ import annotations

import pytest
import sympy
import torch

from losslab.analysis.derivatives import (
    clairaut,
    directional_derivative,
    gradient_report,
    symbolic_gradient,
    symbolic_hessian,
    taylor,
)
from losslab.errors import LosslabError
from losslab.objectives.finite_differences import central_difference_gradient, central_difference_hessian
from losslab.objectives.objective import formula
from losslab.serialize import jsonable

AUTODIFF_VS_SYMBOLIC = 1e-10
CENTRAL_VS_SYMBOLIC = 1e-6
CASE_STUDY_2 = "0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)"

# formula -> box the random points are drawn from (inside where the formula is smooth)
REGISTRY = {
    "case-study-2": (CASE_STUDY_2, (-3.0, 3.0)),
    "cubic-poly": ("w0**3 - 2*w0*w1**2 + 5*w1 - 1", (-2.0, 2.0)),
    "quartic-3d": ("w0**4 + w1**2*w2 - w2**3 + w0*w1*w2", (-2.0, 2.0)),
    "himmelblau": ("(x**2 + y - 11)**2 + (x + y**2 - 7)**2", (-5.0, 5.0)),
    "exp-log": ("exp(0.5*w0) * log(1 + w1**2)", (-2.0, 2.0)),
    "trig": ("sin(w0) * cos(2*w1) + tan(0.3*w0)", (-1.5, 1.5)),
    "sigmoid": ("sigmoid(2*w0 - w1)", (-3.0, 3.0)),
    "softplus": ("softplus(w0 * w1) + softplus(-w0)", (-3.0, 3.0)),
    "tanh": ("tanh(w0 + 0.5*w1)**2", (-2.0, 2.0)),
    "sqrt": ("sqrt(1 + w0**2 + 3*w1**2)", (-4.0, 4.0)),
    "rational": ("1/(1 + w0**2) + w1/(2 + w1**2)", (-3.0, 3.0)),
    "rosenbrock": ("(1 - x)**2 + 100*(y - x**2)**2", (-2.0, 2.0)),
}


def _random_points(lo: float, hi: float, dim: int, generator: torch.Generator, count: int = 3) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(count, dim, generator=generator, dtype=torch.float64)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_three_ways_agree(name: str, generator: torch.Generator) -> None:
    text, (lo, hi) = REGISTRY[name]
    obj = formula(text)
    for theta in _random_points(lo, hi, obj.dim, generator):
        report = gradient_report(obj, theta)
        assert report.differentiable, report.reason
        exact = report.symbolic
        scale = max(1.0, float(exact.abs().max()))
        assert float((report.autodiff - exact).abs().max()) <= AUTODIFF_VS_SYMBOLIC * scale
        assert float((report.numeric - exact).abs().max()) <= CENTRAL_VS_SYMBOLIC * scale
        assert report.discrepancies["autodiff-numeric"] is not None


@pytest.mark.parametrize("name", ["case-study-2", "quartic-3d", "trig", "softplus"])
def test_hessians_agree(name: str, generator: torch.Generator) -> None:
    text, (lo, hi) = REGISTRY[name]
    obj = formula(text)
    theta = _random_points(lo, hi, obj.dim, generator, count=1)[0]
    auto = obj.hessian(theta)
    subs = dict(zip(obj.symbols, theta.tolist(), strict=True))
    exact = torch.tensor(
        [[float(e.evalf(30, subs=subs)) for e in row] for row in symbolic_hessian(obj).tolist()],
        dtype=torch.float64,
    )
    scale = max(1.0, float(exact.abs().max()))
    assert torch.allclose(auto, exact, rtol=0, atol=AUTODIFF_VS_SYMBOLIC * scale)
    assert torch.allclose(central_difference_hessian(obj, theta), exact, rtol=0, atol=1e-4 * scale)


def test_case_study_2_symbolic_forms() -> None:
    obj = formula(CASE_STUDY_2)
    assert [str(g) for g in symbolic_gradient(obj)] == ["2*w0 + 3*w1 - 4", "3*w0 + 5*w1 - 6"]
    assert symbolic_hessian(obj) == sympy.Matrix([[2, 3], [3, 5]])
    report = gradient_report(obj, "w0=0,w1=0")
    assert report.symbolic.tolist() == [-4.0, -6.0] and report.autodiff.tolist() == [-4.0, -6.0]
    assert report.latex == ("2 w_{0} + 3 w_{1} - 4", "3 w_{0} + 5 w_{1} - 6")
    assert report.mathml[0].startswith("<mrow>") and "<msub>" in report.mathml[0]
    assert "2*w0 + 3*w1 - 4" in str(report) and jsonable(report)["differentiable"] is True


def test_central_difference_is_one_vectorized_call(monkeypatch: pytest.MonkeyPatch) -> None:
    obj = formula("w0**2 * w1 + w2")
    calls: list[tuple[int, ...]] = []
    original = obj.values
    monkeypatch.setattr(
        obj,
        "values",
        lambda thetas, chunk_size=None: calls.append(tuple(thetas.shape)) or original(thetas),
    )
    gradient, step = central_difference_gradient(obj, [1.0, 2.0, 100.0])
    assert calls == [(6, 3)]
    assert torch.allclose(gradient, torch.tensor([4.0, 1.0, 1.0], dtype=torch.float64), atol=1e-8)
    eps_cbrt = torch.finfo(torch.float64).eps ** (1 / 3)
    assert torch.allclose(step, eps_cbrt * torch.tensor([1.0, 2.0, 100.0], dtype=torch.float64))


def test_explicit_step_and_bad_step() -> None:
    obj = formula("w**3")
    gradient, step = central_difference_gradient(obj, [2.0], step=1e-3)
    assert step.tolist() == [1e-3] and abs(float(gradient[0]) - (12 + 1e-6)) < 1e-9  # error h² exactly
    with pytest.raises(LosslabError, match="step"):
        central_difference_gradient(obj, [2.0], step=-1.0)


NON_DIFFERENTIABLE = {
    "cone-at-origin": ("sqrt(w0**2 + w1**2)", [0.0, 0.0]),
    "abs-at-0": ("abs(w)", [0.0]),
    "relu-at-0": ("relu(w)", [0.0]),
    "max-on-diagonal": ("max(w0, w1) + w0**2", [1.0, 1.0]),
    "sqrt-at-0": ("sqrt(w) + w", [0.0]),
}


@pytest.mark.parametrize("name", sorted(NON_DIFFERENTIABLE))
def test_non_differentiable_points_are_reported(name: str) -> None:
    text, at = NON_DIFFERENTIABLE[name]
    report = gradient_report(formula(text), at)
    assert report.differentiable is False
    assert "kink" in report.reason or "undefined" in report.reason


@pytest.mark.parametrize(("text", "at"), [("abs(w)", [0.5]), ("relu(w)", [-0.5]), ("sqrt(w0**2 + w1**2)", [1.0, -2.0])])
def test_away_from_kinks_is_differentiable(text: str, at: list[float]) -> None:
    assert gradient_report(formula(text), at).differentiable


def test_cone_kink_names_the_disagreeing_one_sided_differences() -> None:
    report = gradient_report(formula("sqrt(w0**2 + w1**2)"), [0.0, 0.0])
    assert torch.isnan(report.autodiff).all()  # what torch says; the report does not pass it on as the answer
    assert report.forward[0] == pytest.approx(1.0) and report.backward[0] == pytest.approx(-1.0)
    assert "kink" in report.reason


@pytest.mark.parametrize("text", ["sin(x*y)*exp(x)", "x**3*y**2 - log(1 + x**2*y**2)", CASE_STUDY_2])
def test_clairaut(text: str) -> None:
    report = clairaut(formula(text), [0.3, -0.7])
    assert report.symbolic_equal is True
    assert report.asymmetry is not None and report.asymmetry <= 1e-12


def test_clairaut_case_study_2_mixed_partial_is_3() -> None:
    assert clairaut(formula(CASE_STUDY_2)).mixed == (("w0", "w1", "3"),)


def test_directional_derivative() -> None:
    obj = formula("2*w0**2 + 3*w1**2")
    # ∇L(3,4) = (12, 24); along (3,4)/5: (36 + 96)/5 = 26.4; scaling the direction changes nothing
    assert directional_derivative(obj, [3.0, 4.0], [30.0, 40.0]) == pytest.approx(26.4, abs=1e-12)
    assert directional_derivative(obj, [3.0, 4.0], [-2.0, 1.0]) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(LosslabError, match="zero vector"):
        directional_derivative(obj, [3.0, 4.0], [0.0, 0.0])


def test_taylor_seed_chapter_3() -> None:
    obj = formula("2*w0**2 + 3*w1**2")
    r = taylor(obj, [3.0, 4.0], [0.0003, 0.0004])
    assert r.value == 66.0
    assert r.change == pytest.approx(0.01320066, abs=1e-12)
    assert r.first_order == pytest.approx(0.0132, abs=1e-15)
    assert r.second_order == pytest.approx(r.change, abs=1e-12)  # quadratic: second order is exact
    assert r.first_order_error == pytest.approx(6.6e-7, abs=1e-12)
    other = taylor(obj, [3.0, 4.0], [0.0004, 0.0003])
    assert other.change == pytest.approx(0.0120006, abs=1e-7)  # the seed's rounded figure
    assert other.change == pytest.approx(0.01200059, abs=1e-12)  # exact: 2·0.00240016 + 3·0.00240009
    assert set(r.to_dict()) >= {"change", "first_order", "second_order", "first_order_error"}


def test_taylor_second_order_beats_first_on_a_curved_loss() -> None:
    obj = formula("exp(w0) * sin(w1)")
    for size in (1e-1, 1e-2):
        r = taylor(obj, [0.2, 0.7], [size, -size])
        assert abs(r.second_order_error) < abs(r.first_order_error)
        assert abs(r.second_order_error) < 2 * size**3 and abs(r.first_order_error) < 2 * size**2


def test_no_formula_means_no_symbolic_part() -> None:
    from losslab.objectives.objective import Objective

    class Bowl(Objective):
        def _evaluate(self, thetas: torch.Tensor) -> torch.Tensor:
            return (thetas**2).sum(-1)

    obj = Bowl(names=("a", "b"))
    report = gradient_report(obj, [1.0, 2.0])
    assert report.symbolic is None and report.expressions is None and report.differentiable
    assert symbolic_gradient(obj) is None and symbolic_hessian(obj) is None
    assert clairaut(obj, [1.0, 2.0]).symbolic_equal is None
