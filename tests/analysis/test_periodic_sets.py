"""Stationary sets of a loss F(u) with u polynomial — sin²(x² + y² − 1), cos(x·y), 1 − cos(a·x² + b·y² − d) — solved
by SymPy level by level: F's zeros t = c (every kπ for a periodic F, the k whose level set can meet the box), each
u = c a polynomial's zeros. They were found numerically, arc by arc (sin²(x² + y² − 1): 83 entries, rings split into
up to six pieces, each read as its bounding box). Each equation is checked against the closed form, each set's
points against ∇L = 0 and the level."""

from __future__ import annotations

import math

import pytest
import sympy
import torch

from losslab.analysis.stationary import stationary_points
from losslab.objectives.objective import formula


def _level_of(equation: str, left: str) -> float:
    """The number on the right of ``left = …`` (our own printed words, read by SymPy: not user text)."""
    got_left, right = equation.split(" = ")
    assert got_left == left, equation
    return float(sympy.sympify(right))


def test_the_rings_of_a_periodic_loss_are_each_one_exact_set() -> None:
    """sin²(x² + y² − 1) on [−3, 3]²: minima on x² + y² = 1 + kπ (k = 0 … 5: x² + y² reaches 18 at the corners),
    maxima on x² + y² = 1 + π/2 + kπ (k = 0 … 4), and the maximum at the origin: 12 entries, each exact. (On the
    default box [−5, 5]², 33 of them, where the numeric search listed 83.)"""
    found = stationary_points(formula("sin(x^2 + y^2 - 1)^2"), "-3:3")
    assert len(found) == 12 and all(p.method == "exact" for p in found)
    rings = [p for p in found if p.dimension == 1]
    minima = sorted(
        round((_level_of(p.equations[0], "x**2 + y**2") - 1) / math.pi, 9) for p in rings if p.kind == "minimum"
    )
    maxima = sorted(
        round((_level_of(p.equations[0], "x**2 + y**2") - 1 - math.pi / 2) / math.pi, 9)
        for p in rings
        if p.kind == "maximum"
    )
    assert minima == [float(k) for k in range(6)] and maxima == [float(k) for k in range(5)]
    for p in rings:
        level = _level_of(p.equations[0], "x**2 + y**2")
        assert p.value == (0.0 if p.kind == "minimum" else 1.0)  # SymPy's level: not float64's 1.5e-32
        x, y = p.point.tolist()
        assert abs(x * x + y * y - level) < 1e-9 and "a curve of" in p.note
        for piece in p.curve:
            assert (piece.square().sum(-1) - level).abs().max() < 1e-7
    (origin,) = [p for p in found if p.dimension == 0]
    assert origin.point.tolist() == [0.0, 0.0] and origin.kind == "maximum"


def test_hyperbolas_and_the_axes_of_cos_xy() -> None:
    """cos(x·y): minima on x·y = (2k + 1)π, maxima on x·y = 2kπ — the level 0 being the two axes, each its own set."""
    found = stationary_points(formula("cos(x*y)"))
    equations = {p.equations: p.kind for p in found}
    assert equations[("x = 0", "y free")] == "maximum" and equations[("y = 0", "x free")] == "maximum"
    curves = [p for p in found if p.equations[0].startswith("x*y = ")]
    levels = sorted(round(_level_of(p.equations[0], "x*y") / math.pi, 9) for p in curves)
    assert levels == [float(k) for k in range(-7, 8) if k != 0]  # |x·y| ≤ 25 in the box: |k| ≤ 7
    for p in curves:
        k = round(_level_of(p.equations[0], "x*y") / math.pi)
        assert p.kind == ("minimum" if k % 2 else "maximum") and p.value == (-1.0 if k % 2 else 1.0)


@pytest.mark.parametrize(
    ("text", "equation"),
    [
        ("(exp(x^2 + y^2) - 2)^2", "x**2 + y**2 = log(2)"),
        ("log(cosh(x^2 + 2y^2 - 4))", "x**2 + 2*y**2 = 4"),
        ("tanh(x^2 - y - 1)^2", "y = x**2 - 1"),
    ],
)
def test_one_level_of_a_function_of_a_polynomial(text: str, equation: str) -> None:
    """e^(x² + y²) = 2 read "exp(x**2 + y**2) = 2  L = 4.930380658e-32", sinh(x² + 2y² − 4) = 0 as itself."""
    lowest = min(stationary_points(formula(text)), key=lambda p: p.value)
    assert ", ".join(lowest.equations).split(";")[0].startswith(equation.split(";")[0]), lowest.equations
    assert lowest.value == 0.0 and lowest.method == "exact"


@pytest.mark.parametrize("seed", range(4))
def test_generated_elliptic_rings(seed: int) -> None:
    """1 − cos(a·x² + b·y² − d) for seeded a, b > 0 and d: its minima are the ellipses a·x² + b·y² = d + 2πk that
    meet the box [−3, 3]² — every one of them (0 < d + 2πk < 9a + 9b), each read exactly and on its closed form."""
    g = torch.Generator().manual_seed(40 + seed)
    a, b = (round(float(v), 2) for v in 0.2 + 0.6 * torch.rand(2, generator=g, dtype=torch.float64))
    d = round(float(4 * torch.rand((), generator=g, dtype=torch.float64)), 2)
    a_s, b_s, d_s = (sympy.nsimplify(v) for v in (a, b, d))
    found = stationary_points(formula(f"1 - cos({a}*x^2 + {b}*y^2 - {d})"), "-3:3")
    minima = [p for p in found if p.kind == "minimum" and p.dimension == 1]
    ks = [k for k in range(-5, 20) if 0 < d + 2 * math.pi * k < 9 * (a + b)]
    assert len(minima) == len(ks), [p.equations for p in minima]
    for p in minima:
        left, right = p.equations[0].split(" = ")
        form = sympy.sympify(left) - sympy.sympify(right)  # our own printed words
        x, y = sympy.symbols("x y")
        scale = form.coeff(x, 2) / a_s
        assert sympy.simplify(form - scale * (a_s * x**2 + b_s * y**2 - d_s)).free_symbols == set()
        k = float(-(form - scale * (a_s * x**2 + b_s * y**2 - d_s)) / scale) / (2 * math.pi)
        assert abs(k - round(k)) < 1e-12 and round(k) in ks
        px, py = p.point.tolist()
        assert abs(a * px * px + b * py * py - d - 2 * math.pi * round(k)) < 1e-9 and p.value == 0.0
