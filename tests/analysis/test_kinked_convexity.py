"""Convexity where L has kinks: a Hessian is only defined between them, so a concave kink (min(x², y²), x² − |y|)
left every sampled Hessian ≥ 0 and read "no counterexample found"; a convex kink (|sin(x + y)|) did not stop the
report from saying "it looks concave". The chords say it: L at a chord's midpoint against the chord, checked here
by evaluating the formula again in plain Python floats (the definition, not losslab's arithmetic)."""

from __future__ import annotations

import math
import random

import pytest
import torch

from losslab.analysis.convexity import convexity
from losslab.analysis.stationary import stationary_points
from losslab.objectives.objective import formula


def _midpoint_gap(f, a: list[float], b: list[float]) -> float:  # type: ignore[no-untyped-def]
    """L((a + b)/2) − ½[L(a) + L(b)] in Python floats: > 0 proves L not convex."""
    m = [(u + v) / 2 for u, v in zip(a, b, strict=True)]
    return f(*m) - (f(*a) + f(*b)) / 2


CONCAVE_KINKS = [
    ("min(x^2, y^2)", lambda x, y: min(x * x, y * y)),
    ("x^2 - |y|", lambda x, y: x * x - abs(y)),
    ("min(|x|, |y|)", lambda x, y: min(abs(x), abs(y))),
    ("x^2 + y^2 - 3|x - y|", lambda x, y: x * x + y * y - 3 * abs(x - y)),
    ("min(x^2 + y^2, (x - 2)^2 + y^2)", lambda x, y: min(x * x + y * y, (x - 2) ** 2 + y * y)),
    ("y^2 - relu(x)", lambda x, y: y * y - max(x, 0.0)),
]


@pytest.mark.parametrize(("text", "f"), CONCAVE_KINKS, ids=[c[0] for c in CONCAVE_KINKS])
def test_a_concave_kink_is_proved_by_a_chord(text: str, f) -> None:  # type: ignore[no-untyped-def]
    """Every sampled Hessian of these is ≥ 0; each read "no counterexample found (not proved)" before."""
    report = convexity(formula(text))
    assert (report.verdict, report.proved) == ("not convex", True), report.reason
    assert report.chord is not None and "chord from" in report.reason
    a, b, gap = report.chord
    independent = _midpoint_gap(f, a.tolist(), b.tolist())
    assert independent > 1e-6 and math.isclose(independent, gap, rel_tol=1e-9), (independent, gap)
    assert all(-5 <= v <= 5 for v in [*a.tolist(), *b.tolist()])  # inside the box it was asked about
    assert report.to_dict()["chord"]["midpoint_gap"] == gap


def test_the_chord_is_written_with_plain_ends() -> None:
    """The search's chord is rounded to the fewest decimals that still fail: ends a student can check by hand."""
    report = convexity(formula("min(x^2, y^2)"))
    assert report.chord is not None
    assert all(float(v).is_integer() for v in [*report.chord[0].tolist(), *report.chord[1].tolist()]), report.reason


@pytest.mark.parametrize("text", ["|sin(x + y)|", "|x| - y^2", "-(x^2) + |y - 1|"])
def test_a_convex_kink_is_not_called_concave_looking(text: str) -> None:
    """The Hessians of these are ≤ 0 wherever defined, but |·| bends them up: "it looks concave" was wrong."""
    report = convexity(formula(text))
    assert report.verdict == "not convex" and "looks concave" not in report.reason, report.reason


def test_a_smooth_concave_looking_function_still_says_so() -> None:
    report = convexity(formula("-(x^4) - y^2 + x*0"))
    assert report.verdict in ("concave", "not convex")
    if report.verdict == "not convex":  # pragma: no cover - SymPy proves it concave today
        assert "looks concave" in report.reason


def test_smooth_convex_functions_keep_their_verdict() -> None:
    """The chords never speak against a convex function: no false counterexample from rounding at large values."""
    for text in ["exp(x + y) + x^2", "x^4 + y^4 + 1e6", "log(1 + exp(3x - y)) + 1e-3*(x^2 + y^2)", "cosh(x) * 1e8"]:
        report = convexity(formula(text))
        assert report.verdict in ("convex", "no counterexample found"), (text, report.reason)


def test_generated_kinked_losses() -> None:
    """A positive semi-definite quadratic plus c·|a·x + b·y − d| over generated (seeded) coefficients: with c < 0
    and the crease crossing the box L is not convex, proved by a chord that evaluates so independently; with c > 0
    it is convex, proved by the composition rules. Each verdict checked against the definition."""
    rng = random.Random(7)
    proved_by_chord = 0
    for _ in range(30):
        p, q, r = (round(rng.uniform(-2, 2), 2) for _ in range(3))
        a, b = round(rng.uniform(-2, 2), 2), round(rng.uniform(0.2, 2), 2)
        d, c = round(rng.uniform(-3, 3), 2), round(rng.choice([-1, 1]) * rng.uniform(0.5, 3), 2)
        text = f"({p}*x + {q}*y)^2 + {r * r}*y^2 + ({c})*|{a}*x + {b}*y - ({d})|"

        def f(x: float, y: float, p=p, q=q, r=r, a=a, b=b, c=c, d=d) -> float:  # type: ignore[no-untyped-def]
            return (p * x + q * y) ** 2 + r * r * y * y + c * abs(a * x + b * y - d)

        report = convexity(formula(text))
        if c > 0:
            assert (report.verdict, report.proved) == ("convex", True), (text, report.reason)
            continue
        assert (report.verdict, report.proved) == ("not convex", True), (text, report.reason)
        if report.chord is not None:
            proved_by_chord += 1
            assert _midpoint_gap(f, report.chord[0].tolist(), report.chord[1].tolist()) > 0, text
        else:  # a Hessian counterexample can only come from the quadratic part, which is PSD here
            pytest.fail(f"{text}: {report.reason}")
    assert proved_by_chord >= 8


def test_lines_of_minima_of_a_min_are_shown_off_its_creases() -> None:
    """min(x², y²)'s axes were shown at (0, 0), on the crease x = ±y, with the Hessian torch reads for a tie
    ([[1, 0], [0, 1]], λ = [1, 1]) — a curvature L has on neither side — and 2/λmax = 2 taken from it."""
    found = stationary_points(formula("min(x^2, y^2)"))
    assert len(found) == 2 and all(p.dimension == 1 and p.kind == "minimum" for p in found)
    for p in found:
        x, y = p.point.tolist()
        assert abs(abs(x) - abs(y)) > 0.5, p  # not on a crease
        torch.testing.assert_close(p.hessian_eigenvalues, torch.tensor([0.0, 2.0], dtype=torch.float64))
    assert sorted(tuple(p.point.tolist()) for p in found) == [(0.0, 1.0), (1.0, 0.0)]


@pytest.mark.parametrize(
    ("text", "shown"),
    [("x^2*y^2", [[0.0, 1.0], [1.0, 0.0]]), ("x^2*y^2*z^2", [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])],
)
def test_exact_sets_are_shown_where_they_do_not_cross(text: str, shown: list[list[float]]) -> None:
    """x²y²'s axes were both shown at (0, 0), where they cross: λ = [0, 0] there against [0, 2] anywhere else on them,
    so the report took "λmax = 0: no 2/λmax" from the one point where the curvature across the valley vanishes."""
    found = stationary_points(formula(text))
    assert sorted(p.point.tolist() for p in found) == shown
    for p in found:
        assert int((p.hessian_eigenvalues.abs() > 1e-9).sum()) == len(shown[0]) - p.dimension, p
