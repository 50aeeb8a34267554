"""The gallery registry, checked against independent oracles.

Oracles: autodiff gradients and ``torch.linalg.eigvalsh`` of the autodiff Hessian at each
stored point; a dense grid of the domain for the global minimum; ``scipy.optimize.minimize``
from a nearby start; SymPy's exact elimination (lex Gröbner basis, real roots of the
eliminant) for the number of stationary points of polynomial surfaces; one-sided differences
and neighbourhood sampling at kinks; and the seeds' own numbers.
"""

from __future__ import annotations

import json
from fractions import Fraction
from functools import reduce

import numpy as np
import pytest
import scipy.optimize
import sympy
import torch

from losslab.errors import LosslabError
from losslab.objectives.gallery import ENTRIES, GalleryEntry, gallery, gallery_entry, gallery_names

GRID = 201
VALUE_RTOL = 1e-8  # stored L vs float64 evaluation, relative to max(1, |L|)
GRAD_ATOL = 1e-6  # |∇L| at a stored stationary point
EIG_ZERO = 1e-8  # |λ| below this counts as zero curvature
MATCH_ATOL = 1e-8  # stored coordinates vs SymPy's roots
# Gröbner basis of the degree-8 Goldstein-Price gradient takes ~4 s; it is checked exactly
# at its rational points instead (test_goldstein_price_points_are_exact).
SLOW_ELIMINATION = {"goldstein_price"}

POINTS = [(e, i) for e in ENTRIES for i in range(len(e.points))]
POINT_IDS = [f"{e.name}-{i}-{e.points[i].kind}" for e, i in POINTS]
GLOBALS = [(e, p.point) for e in ENTRIES for p in e.points if p.is_global]
GLOBAL_IDS = [f"{e.name}-{','.join(f'{c:.3g}' for c in pt)}" for e, pt in GLOBALS]


def _ids(entries: list[GalleryEntry] | tuple[GalleryEntry, ...]) -> list[str]:
    return [e.name for e in entries]


def _scale(value: float) -> float:
    return max(1.0, abs(value))


def _polynomial(entry: GalleryEntry) -> bool:
    objective = gallery(entry.name)
    return bool(objective.expr.is_polynomial(*objective.symbols))


POLYNOMIALS = [e for e in ENTRIES if _polynomial(e) and e.name not in SLOW_ELIMINATION]


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_entry_builds_and_evaluates_its_grid_in_one_call(entry: GalleryEntry) -> None:
    objective = gallery(entry.name)
    assert objective.names == entry.variables
    assert objective.known_points == entry.points
    grid = objective.domain.grid(GRID)
    points = torch.tensor([p.point for p in entry.points], dtype=torch.float64)
    assert bool(objective.domain.contains(points).all()), f"{entry.name}: a point lies outside"
    values = objective.values(grid)
    assert values.shape == (GRID ** len(entry.variables),)
    assert bool(torch.isfinite(values).all()), f"{entry.name}: non-finite value on the grid"
    json.dumps(entry.to_dict())  # plain JSON, no tensors


@pytest.mark.parametrize(("entry", "index"), POINTS, ids=POINT_IDS)
def test_stored_point_value_gradient_and_kind(entry: GalleryEntry, index: int) -> None:
    known = entry.points[index]
    objective = gallery(entry.name)
    theta = torch.tensor(known.point, dtype=torch.float64)
    value = float(objective.value(theta))
    assert abs(value - known.value) <= VALUE_RTOL * _scale(known.value), (value, known.value)
    if not known.differentiable:
        pytest.skip("kink: no gradient or Hessian; see test_kink_is_a_minimum_without_gradient")
    gradient = objective.grad(theta)
    assert float(gradient.norm()) <= GRAD_ATOL, gradient.tolist()
    eigenvalues = torch.linalg.eigvalsh(objective.hessian(theta))
    assert _kind(eigenvalues) == known.kind, eigenvalues.tolist()


def _kind(eigenvalues: torch.Tensor) -> str:
    if bool((eigenvalues.abs() < EIG_ZERO).any()):
        return "degenerate"
    if bool((eigenvalues > 0).all()):
        return "minimum"
    if bool((eigenvalues < 0).all()):
        return "maximum"
    return "saddle"


KINKS = [(e, p) for e in ENTRIES for p in e.points if not p.differentiable]


@pytest.mark.parametrize(("entry", "known"), KINKS, ids=[e.name for e, _ in KINKS])
def test_kink_is_a_minimum_without_gradient(entry, known, generator: torch.Generator) -> None:
    objective = gallery(entry.name)
    theta = torch.tensor(known.point, dtype=torch.float64)
    h = 1e-6
    for axis in range(objective.dim):
        step = torch.zeros_like(theta)
        step[axis] = h
        forward = float(objective.value(theta + step) - objective.value(theta)) / h
        backward = float(objective.value(theta) - objective.value(theta - step)) / h
        assert forward - backward > 0.1, (axis, forward, backward)  # a V, not a slope
    unit = torch.rand(2000, objective.dim, generator=generator, dtype=torch.float64)
    around = theta + 1e-3 * (2 * unit - 1)
    assert float(objective.values(around).min()) > known.value
    # The description says so: autodiff meets 0·∞ at √0 and gives NaN, not a zero gradient.
    assert not bool(torch.isfinite(objective.grad(theta)).all())


@pytest.mark.parametrize(("entry", "point"), GLOBALS, ids=GLOBAL_IDS)
def test_global_minimum_beats_the_grid_and_attracts_scipy(entry, point, generator) -> None:
    objective = gallery(entry.name)
    known = next(p for p in entry.points if p.point == point)
    lowest = float(objective.values(objective.domain.grid(GRID)).min())
    assert lowest >= known.value - VALUE_RTOL * _scale(known.value), (lowest, known.value)
    direction = torch.randn(objective.dim, generator=generator, dtype=torch.float64)
    start = (torch.tensor(point, dtype=torch.float64) + 0.05 * direction / direction.norm()).numpy()

    def fun(x: np.ndarray) -> float:
        return float(objective.value(torch.from_numpy(x)))

    def jac(x: np.ndarray) -> np.ndarray:
        return objective.grad(torch.from_numpy(x)).numpy()

    if known.differentiable:
        options = {"gtol": 1e-10}
        result = scipy.optimize.minimize(fun, start, jac=jac, method="BFGS", options=options)
    else:
        options = {"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000}
        result = scipy.optimize.minimize(fun, start, method="Nelder-Mead", options=options)
    np.testing.assert_allclose(result.x, point, atol=1e-5)
    assert abs(result.fun - known.value) <= VALUE_RTOL * _scale(known.value)


@pytest.mark.parametrize("entry", POLYNOMIALS, ids=_ids(POLYNOMIALS))
def test_sympy_finds_the_same_stationary_points(entry: GalleryEntry) -> None:
    objective = gallery(entry.name)
    roots = _real_stationary_points(objective.expr, objective.symbols)
    inside = [r for r in roots if bool(objective.domain.contains(torch.tensor(r)))]
    stored = [p.point for p in entry.points]
    assert len(inside) == len(stored), (inside, stored)
    for root in inside:
        assert any(np.allclose(root, s, rtol=0, atol=MATCH_ATOL) for s in stored), root


def _real_stationary_points(expr, symbols) -> list[tuple[float, ...]]:
    """Real solutions of ∇L = 0 for a polynomial in one or two variables.

    Lex Gröbner basis (exact, rational arithmetic); the real roots of its last element,
    univariate in the last variable; back-substitution into the rest at 40 digits.
    """
    gradient = [sympy.expand(sympy.diff(expr, s)) for s in symbols]
    if len(symbols) == 1:
        return [(float(r),) for r in _distinct_real_roots(sympy.Poly(gradient[0], symbols[0]))]
    x, y = symbols
    basis = sympy.groebner(gradient, x, y, order="lex").exprs
    points = []
    for y_root in _distinct_real_roots(sympy.Poly(basis[-1], y)):
        if y_root.is_Rational:  # exact back-substitution (keeps multiple roots exact)
            rest = [sympy.Poly(g.subs(y, y_root), x) for g in basis[:-1]]
            common = reduce(sympy.Poly.gcd, [p for p in rest if not p.is_zero])
            points += [(float(r), float(y_root)) for r in _distinct_real_roots(common)]
            continue
        y_value = sympy.Float(y_root.evalf(40), 40)
        rest = [sympy.Poly(g.subs(y, y_value), x) for g in basis[:-1]]
        rest = [p for p in rest if max(abs(c) for c in p.all_coeffs()) > 1e-25]
        for x_root in min(rest, key=lambda p: p.degree()).nroots(n=40):
            x_real = sympy.re(x_root)
            if abs(sympy.im(x_root)) < 1e-20 and all(abs(p.eval(x_real)) < 1e-15 for p in rest):
                points.append((float(x_real), float(y_value)))
    return points


def _distinct_real_roots(poly: sympy.Poly) -> list[sympy.Expr]:
    return [] if poly.degree() < 1 else poly.sqf_part().real_roots()


def test_goldstein_price_points_are_exact() -> None:
    objective = gallery("goldstein_price")
    gradient = [sympy.diff(objective.expr, s) for s in objective.symbols]
    for known in gallery_entry("goldstein_price").points:
        coords = zip(objective.symbols, known.point, strict=True)
        exact = {s: sympy.Rational(str(c)) for s, c in coords}
        assert [g.subs(exact) for g in gradient] == [0, 0]
        assert objective.expr.subs(exact) == sympy.Rational(str(known.value))


def test_case_study_1_matches_the_seed_numbers() -> None:
    xs = np.array([1, 2, 3, 4, 5], dtype=np.float64)
    ys = np.array([2.1, 3.9, 6.1, 8.0, 9.9])
    m_star = np.sum(xs * ys) / np.sum(xs**2)
    (known,) = gallery_entry("case_study_1").points
    assert known.point[0] == pytest.approx(m_star, rel=1e-14)
    assert known.value == pytest.approx(np.mean((ys - m_star * xs) ** 2), rel=1e-10)
    assert f"{known.point[0]:.6f}" == "1.994545" and f"{known.value:.6f}" == "0.007673"
    assert Fraction(known.point[0]).limit_denominator(1000) == Fraction(1097, 550)
    objective = gallery("case_study_1")
    ms = torch.linspace(-1, 5, 7, dtype=torch.float64)
    direct = [np.mean((ys - float(m) * xs) ** 2) for m in ms]
    np.testing.assert_allclose(objective.values(ms[:, None]).numpy(), direct, rtol=1e-13)


def test_case_study_2_gradient_at_the_origin_is_the_seeds() -> None:
    assert gallery("case_study_2").grad([0.0, 0.0]).tolist() == [-4.0, -6.0]


def test_double_well_left_minimum_is_deeper_near_minus_1_3() -> None:
    left, _, right = gallery_entry("double_well").points
    assert left.point[0] == pytest.approx(-1.3, abs=0.1)
    assert right.point[0] == pytest.approx(1.3, abs=0.1)
    assert left.value < right.value and left.is_global and not right.is_global


def test_unknown_name_lists_the_accepted_names() -> None:
    with pytest.raises(LosslabError, match="did you mean 'rosenbrock'") as caught:
        gallery("rosenbrok")
    assert all(name in str(caught.value) for name in gallery_names())
    with pytest.raises(LosslabError, match="is not one of case_study_2"):
        gallery_entry(42)  # type: ignore[arg-type]


def test_registry_names_are_unique_snake_case_and_seeds_come_first() -> None:
    names = gallery_names()
    assert len(set(names)) == len(names) and names[0] == "case_study_2"
    with pytest.raises(LosslabError, match="snake_case"):
        GalleryEntry("x**2", "x**2", ("x",), "", "x=-1:1", (), "", "")


def test_to_dict_names_each_coordinate() -> None:
    data = gallery_entry("himmelblau").to_dict()
    maximum = next(p for p in data["points"] if p["kind"] == "maximum")
    assert maximum["point"] == {"x": -0.2708445906673476, "y": -0.9230385564799815}
    assert data["variables"] == ["x", "y"] and data["domain"] == "x=-5:5,y=-5:5"


# Rastrigin and Ackley list only their global minimum (hundreds of local ones), and the cone's
# only point is a kink, where a root search on ∇L has nothing to find.
PARTIAL_LISTS = {"rastrigin", "ackley", "cone"}
COMPLETE = [e for e in ENTRIES if e.name not in PARTIAL_LISTS]


@pytest.mark.parametrize("entry", COMPLETE, ids=_ids(COMPLETE))
def test_numeric_multistart_finds_exactly_the_stored_points(entry: GalleryEntry) -> None:
    """An oracle independent of SymPy for completeness: vmapped Newton on ∇L = 0 from 400
    grid and Sobol starts over the domain must find every stored point and no other."""
    from losslab.analysis.stationary import stationary_points

    objective = gallery(entry.name)
    found = stationary_points(objective, objective.domain, method="numeric", generator=torch.Generator().manual_seed(1))
    stored = torch.tensor([p.point for p in entry.points], dtype=torch.float64)
    assert len(found) == len(stored), [str(p) for p in found]
    for point in found:
        gaps = torch.linalg.vector_norm(stored - point.point, dim=1)
        match = int(gaps.argmin())
        assert float(gaps[match]) < 1e-6 * max(1.0, float(stored[match].norm()))
        assert point.kind == entry.points[match].kind


def test_seed_examples_come_first_and_say_so() -> None:
    from losslab.objectives.gallery import ENTRIES

    families = [entry.family for entry in ENTRIES]
    seeds = families.count("seed")
    assert families == ["seed"] * seeds + ["test function"] * (len(ENTRIES) - seeds)
    assert {e.name for e in ENTRIES[:seeds]} >= {"case_study_1", "case_study_2", "double_well", "hand_simulation"}
    assert all("(seed " in e.source for e in ENTRIES[:seeds])
    assert not any("(seed " in e.source for e in ENTRIES[seeds:])
