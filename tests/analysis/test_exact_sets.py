"""Valleys of losses with exponentials, logarithms and trigonometric functions: solved by SymPy where ∇L's components
share a factor with finitely many real branches, otherwise found numerically and, where straight, read as their line's
equation. Oracles: the closed form of each set, ∇L at points of it (float64, 1e-12), and the period of the family."""

from __future__ import annotations

import math

import pytest
import sympy
import torch

from curve_oracles import line_of, random_line
from losslab.analysis.exact_roots import exact_stationary
from losslab.analysis.stationary import stationary_points
from losslab.objectives.domain import Domain
from losslab.objectives.objective import formula

SOLVED = [
    # (formula, the set's equations, the set as a function of the free parameter: (x, y) on it)
    ("exp(x + y) - x - y", ("x = -y", "y free"), lambda t: (-t, t)),
    ("cosh(x - y)", ("x = y", "y free"), lambda t: (t, t)),
    ("log(1 + exp(x + y)) - (x + y)/2", ("x = -y", "y free"), lambda t: (-t, t)),
    ("(exp(x)*exp(y) - 2)**2", ("x = -y + log(2)", "y free"), lambda t: (math.log(2) - t, t)),
    ("(y - exp(x))**2", ("y = exp(x)", "x free"), lambda t: (t, math.exp(t))),
    ("(x*exp(y) - 1)**2", ("x = exp(-y)", "y free"), lambda t: (math.exp(-t), t)),
    ("(sin(x) - y)**2", ("y = sin(x)", "x free"), lambda t: (t, math.sin(t))),
    ("tanh(x - y)**2", ("x = y", "y free"), lambda t: (t, t)),
]


@pytest.mark.parametrize(("text", "equations", "on_set"), SOLVED, ids=[s[0] for s in SOLVED])
def test_transcendental_valleys_are_solved_exactly(text: str, equations: tuple[str, ...], on_set) -> None:
    """eˣ⁺ʸ − x − y read "-5 ≤ x ≤ 5; -5 ≤ y ≤ 5 … a curve of minima (numeric)": the whole box, for the line
    x + y = 0, which SymPy solves once ∇L = (eˣ⁺ʸ − 1)(1, 1) is factored."""
    objective = formula(text)
    (valley,) = stationary_points(objective)
    assert (valley.equations, valley.method, valley.kind, valley.dimension) == (equations, "exact", "minimum", 1)
    points = torch.tensor([on_set(t) for t in (-1.3, 0.0, 0.4, 1.1)], dtype=torch.float64)
    assert objective.grads(points).abs().max() < 1e-12  # the closed form is stationary all along
    values = objective.values(points)
    assert (values - valley.value).abs().max() < 1e-12 and "a line of" in valley.note or "a curve of" in valley.note


def test_a_solved_factor_with_nothing_left_over_is_complete() -> None:
    """∇L = (eˣ⁺ʸ − 1)·(1, 1): (1, 1) never vanishes, so nothing is left for the numeric search; (sin x − y)² leaves
    −cos x·(…) and 1: also complete. A periodic factor (sin(x + y) = 0 on every x + y = kπ) is solved only for the
    lines that cross the box it is asked about, and so is not complete; without a box it is not solved."""
    assert exact_stationary(formula("exp(x + y) - x - y")).complete
    assert exact_stationary(formula("(sin(x) - y)**2")).complete
    assert exact_stationary(formula("sin(x + y)**2")) is None
    lines = exact_stationary(formula("sin(x + y)**2"), Domain(("x", "y"), ((-5.0, 5.0), (-5.0, 5.0))))
    assert lines is not None and not lines.complete and len(lines.sets) >= 13


def test_a_periodic_family_is_every_line_of_it_each_read_as_its_equation() -> None:
    """sin²(x + y): minima on x + y = kπ (k = −3 … 3 cross the box [−5, 5]²: |kπ| ≤ 10), maxima on x + y = π/2 + kπ
    (six). Two lines 4π apart were one set (a bridge whose quarter points lay on the lines between), the lines at the
    corners were points ("a minimum of higher order"), each set read as the whole box, and four of them were shown
    at (0, 0), a point of another line."""
    found = [p for p in stationary_points(formula("sin(x + y)**2")) if p.dimension == 1]
    minima = sorted(round(float(p.point.sum()) / math.pi, 9) for p in found if p.kind == "minimum")
    maxima = sorted(round(float(p.point.sum()) / math.pi - 0.5, 9) for p in found if p.kind == "maximum")
    assert minima == [float(k) for k in range(-3, 4)] and maxima == [float(k) for k in range(-3, 3)]
    for p in found:
        c = float(p.point.sum())
        (equation,) = p.equations  # exact: x + y = -3*pi, not the x + y = -9.424777961 found numerically before
        left, right = equation.split(" = ")
        assert left == "x + y" and abs(float(sympy.sympify(right)) - c) < 1e-12 and p.note.startswith("a line of")
        assert p.value == 0.0 or p.value == 1.0  # SymPy's level, not float64's 1.5e-32
        assert all((piece.sum(-1) - c).abs().max() < 1e-9 for piece in p.curve)  # its curve is its own line
        # shown at a point with a whole coordinate, (3, 3.283185307), not where a search stopped (4.29543880, 1.98…)
        assert any(abs(v - round(v)) < 1e-9 for v in p.point.tolist()), p.point


@pytest.mark.parametrize("seed", range(3))
def test_generated_periodic_valleys_read_as_their_lines(seed: int) -> None:
    """1 − cos(c·x + s·y − d): minima on c·x + s·y = d + 2πk, for random directions and offsets; each set found is
    one of them and reads as its equation."""
    c, s, d = random_line(torch.Generator().manual_seed(70 + seed), 2.0)
    lines = [p for p in stationary_points(formula(f"1 - cos({c!r}*x + {s!r}*y - {d!r})")) if p.dimension == 1]
    minima = [p for p in lines if p.kind == "minimum"]
    assert minima
    for p in minima:
        a, b, r = line_of(p.equations[0])
        sign = 1 if c > 0 else -1
        assert abs(a - sign * c) < 1e-8 and abs(b - sign * s) < 1e-8
        k = (sign * r - d) / (2 * math.pi)
        assert abs(k - round(k)) < 1e-8, (p.equations, k)


@pytest.mark.parametrize(("text", "point"), [("x**10 + y**2", [0.0, 0.0]), ("(x - 1)**4 + (y + 2)**6", [1.0, -2.0])])
def test_a_repeated_root_is_solved_exactly(text: str, point: list[float]) -> None:
    """x¹⁰ + y²: ∇L's x⁹ stalled SymPy's root finder (NoConvergence), and the numeric search, flat to 1e-9 there,
    read "−0.108 ≤ x ≤ 0.108, y ≈ 0: a curve of minima"; its square-free part x has the one root."""
    (p,) = stationary_points(formula(text))
    assert (p.point.tolist(), p.method, p.dimension, p.kind) == (point, "exact", 0, "degenerate")
    assert "a minimum of higher order" in p.note


@pytest.mark.parametrize("text", ["exp(x*y) - x*y", "atan(x*y)**2"])
def test_a_factor_solved_for_one_parameter_gives_its_other_branches_too(text: str) -> None:
    """e^(xy) − xy is lowest on both axes (xy = 0); SymPy's solveset gives x = 0 for x, all of it only where y ≠ 0,
    and the y-axis was all that was listed (the numeric search, which starts off the axes, finds neither)."""
    objective = formula(text)
    found = sorted(p.equations for p in stationary_points(objective))
    assert found == [("x = 0", "y free"), ("y = 0", "x free")]
    axes = torch.tensor([[0.0, -3.0], [0.0, 2.5], [-4.0, 0.0], [1.5, 0.0]], dtype=torch.float64)
    assert objective.grads(axes).abs().max() < 1e-12


@pytest.mark.parametrize(
    ("text", "points"),
    [
        ("exp(-x**2 - y**2)", [(0.0, 0.0)]),
        ("x*exp(-x**2 - y**2)", [(-(0.5**0.5), 0.0), (0.5**0.5, 0.0)]),
        ("(x**2 - y**2)*exp(-x**2 - y**2)", [(0.0, -1.0), (0.0, 1.0), (0.0, 0.0), (-1.0, 0.0), (1.0, 0.0)]),
    ],
)
def test_what_remains_of_a_gaussian_gradient_is_solved_as_a_polynomial(
    text: str, points: list[tuple[float, float]]
) -> None:
    """∇(x·e^(−x² − y²)) = e^(−x² − y²)·(1 − 2x², −2xy): the factor never vanishes and the rest is polynomial, so the
    stationary points are exact (closed form: x = ±1/√2, y = 0) and nothing is left to the numeric search."""
    found = stationary_points(formula(text))
    assert all(p.method == "exact" for p in found) and exact_stationary(formula(text)).complete
    got = sorted(tuple(p.point.tolist()) for p in found)
    assert len(got) == len(points)
    for a, b in zip(got, sorted(points), strict=True):
        assert max(abs(u - v) for u, v in zip(a, b, strict=True)) < 1e-12


def test_a_ring_of_maxima_beside_its_polynomial_rest() -> None:
    """(x² + y²)·e^(−(x² + y²)): a ring of maxima at r = 1, from the polynomial factor, and the minimum at 0."""
    found = {p.kind: p for p in stationary_points(formula("(x**2 + y**2)*exp(-(x**2 + y**2))"))}
    assert found["maximum"].equations == ("x**2 + y**2 = 1",) and found["maximum"].method == "exact"
    assert found["minimum"].point.tolist() == [0.0, 0.0] and found["minimum"].method == "exact"
