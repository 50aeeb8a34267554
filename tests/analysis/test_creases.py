"""Creases — where L is not differentiable along a curve (|x² + y² − 1|, the distance to a circle) — and kinks at
the bottom of a curved crease (|y − x²| + 0.1x²). The compass search stalled on a curved crease wherever it
landed, so each stop passed for a minimum of its own: |x² + y² − 1| read as 347 entries (320 "minima", 24
"curves", 2 "flat regions"), |y − x²| + 0.1x² as 369 minima and 9 saddles. Oracles: closed forms in float64."""

from __future__ import annotations

import math
from typing import Any

import pytest
import sympy
import torch

from curve_oracles import line_extent, line_of, on_the_face, random_line, turns_once_round
from losslab.analysis.stationary import stationary_points
from losslab.objectives.objective import formula


def kinds(text: str) -> list[tuple[str, int, bool]]:
    return [(p.kind, p.dimension, p.differentiable) for p in stationary_points(formula(text))]


@pytest.mark.parametrize("text", ["|x^2 + y^2 - 1|", "sqrt((x^2 + y^2 - 1)^2)", "relu(x^2+y^2-1) + relu(1-x^2-y^2)"])
def test_the_distance_to_a_circle_has_one_crease_of_minima_traced_round_it(text: str) -> None:
    crease, top = stationary_points(formula(text))
    assert (crease.kind, crease.dimension, crease.differentiable, crease.value) == ("minimum", 1, False, 0.0)
    assert "a curve of minima where L is not differentiable (a crease)" in crease.note
    assert (top.kind, top.point.tolist(), top.value) == ("maximum", [0.0, 0.0], 1.0)
    (loop,) = crease.curve
    assert (loop.square().sum(-1) - 1).abs().max() < 1e-9 and torch.equal(loop[0], loop[-1]) and turns_once_round(loop)


def test_a_kink_at_the_bottom_of_a_curved_crease_is_the_one_minimum() -> None:
    """|y − x²| + 0.1x²: 0 on the parabola only at x = 0, and higher along it; the search now follows the crease
    down (gradient sampling) instead of stopping wherever it meets it."""
    (bottom,) = stationary_points(formula("|y - x^2| + 0.1*x^2"))
    assert (bottom.kind, bottom.point.tolist(), bottom.value, bottom.differentiable) == ("minimum", [0.0, 0.0], 0.0,
                                                                                         False)  # fmt: skip
    (cusp,) = stationary_points(formula("sqrt(|x|) + y^2"))  # a cusp: its gradient is unbounded beside x = 0
    assert (cusp.kind, cusp.point.tolist(), cusp.value) == ("minimum", [0.0, 0.0], 0.0)


def test_two_creases_a_kink_and_a_nonsmooth_saddle() -> None:
    """|x² + y² − 4| + |x|: minima (0, ±2) where both creases meet, a nonsmooth saddle at (0, 0) (|x| up, −y²
    down), maxima where 4 − x² + |x| peaks, x = ±1/2 (closed forms)."""
    found = stationary_points(formula("|x^2 + y^2 - 4| + |x|"))
    inside = [p for p in found if bool((p.point.abs() < 5 - 1e-9).all())]  # less the box's corners
    got = sorted((p.kind, tuple(p.point.tolist()), p.value) for p in inside)
    assert got == [("maximum", (-0.5, 0.0), 4.25), ("maximum", (0.5, 0.0), 4.25), ("minimum", (0.0, -2.0), 0.0),
                   ("minimum", (0.0, 2.0), 0.0), ("saddle", (0.0, 0.0), 4.0)]  # fmt: skip


def test_crossing_creases_and_a_parabola_are_traced() -> None:
    (axes,) = [p for p in stationary_points(formula("|x*y|")) if p.dimension == 1]
    assert axes.kind == "minimum" and len(axes.curve) == 2
    for piece in axes.curve:
        assert (piece[:, 0] == 0).all() or (piece[:, 1] == 0).all()
        along = piece[:, 1] if bool((piece[:, 0] == 0).all()) else piece[:, 0]
        assert abs(float(along.min()) + 5) < 1e-9 and abs(float(along.max()) - 5) < 1e-9  # from side to side
    ((parabola,),) = [p.curve for p in stationary_points(formula("|x^2 - y|"))]
    assert (parabola[:, 1] - parabola[:, 0].square()).abs().max() < 1e-9 and parabola[:, 1].max() > 5 - 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_generated_circles_of_creases(seed: int) -> None:
    """The distance to a circle anywhere in the box, of any radius: one crease of minima, traced on the circle
    (whole where the circle is, cut where the box cuts it), and a maximum at its centre."""
    g = torch.Generator().manual_seed(seed)
    a, b = (torch.rand(2, generator=g, dtype=torch.float64) * 6 - 3).tolist()
    r = float(torch.rand(1, generator=g, dtype=torch.float64)) * 2 + 0.5
    found = stationary_points(formula(f"|(x - {a!r})^2 + (y - {b!r})^2 - {r!r}^2|"))
    (crease,) = [p for p in found if p.dimension == 1]
    assert crease.kind == "minimum" and not crease.differentiable and crease.curve
    for piece in crease.curve:
        assert ((piece[:, 0] - a).square() + (piece[:, 1] - b).square() - r * r).abs().max() < 1e-9 * (1 + r * r)
    (centre,) = [p for p in found if p.kind == "maximum" and p.dimension == 0 and (p.point.abs() < 5).all()]
    assert torch.allclose(centre.point, torch.tensor([a, b], dtype=torch.float64), atol=1e-6)
    if all(-5 < c - r and c + r < 5 for c in (a, b)):
        (loop,) = crease.curve
        assert torch.equal(loop[0], loop[-1]) and turns_once_round(loop, (a, b))
    else:
        assert all(on_the_face(p[0]) and on_the_face(p[-1]) for p in crease.curve)  # each piece ends on the side


@pytest.mark.parametrize("seed", range(3))
def test_generated_straight_creases(seed: int) -> None:
    g = torch.Generator().manual_seed(50 + seed)
    c, s, offset = random_line(g, 2.0)
    (crease,) = stationary_points(formula(f"|{c!r}*x + {s!r}*y - {offset!r}|"))
    assert (crease.kind, crease.dimension, crease.differentiable) == ("minimum", 1, False)
    (line,) = crease.curve
    assert (line @ torch.tensor([c, s], dtype=torch.float64) - offset).abs().max() < 1e-9
    assert on_the_face(line[0]) and on_the_face(line[-1])
    # it reads as its line's equation (its ranges, the box for most lines, said nothing of where it is)
    sign = 1 if c > 0 else -1
    (equation,) = crease.equations
    assert all(abs(a - sign * b) < 1e-8 for a, b in zip(line_of(equation), (c, s, offset), strict=True)), equation
    assert crease.note.startswith("a line of minima")
    # and it is traced edge to edge (the ranges were the points the search stopped at)
    for got, want in zip((line.amin(0).tolist(), line.amax(0).tolist()), line_extent(c, s, offset), strict=True):
        assert all(abs(a - b) <= 1e-5 * max(1.0, abs(b)) for a, b in zip(got, want, strict=True))


def test_crossing_creases_are_one_set_spanning_the_box() -> None:
    """|x·y| is 0 along both axes: the origin, where they cross, was listed again as a separate "degenerate" point,
    and the set's ranges were its found points' (−3.75 ≤ x ≤ 1.25); then the whole box's, which said no more than
    that. Now the crease's own equation."""
    (crease,) = stationary_points(formula("|x*y|"))
    assert (crease.kind, crease.dimension, crease.equations) == ("minimum", 1, ("x*y = 0",))
    points = torch.cat(list(crease.curve))
    assert (points[:, 0] * points[:, 1]).abs().max() < 1e-9


def test_a_tilted_crease_has_its_one_minimum_and_separate_kinks_stay_apart() -> None:
    """|x² + y² − 1| + 0.1x is lowest where the circle meets x = −1 (L = −0.1): two searches stalled on the circle
    where its slope along it is slight read as two more minima. |sin x| + |cos y| has its minima apart, at
    (kπ, π/2 + mπ), 12 in the box: a projection that slid along the crease x = 0 joined them into two "curves"."""
    (bottom, top) = stationary_points(formula("|x^2 + y^2 - 1| + 0.1*x"))
    # along the circle L is smooth, −0.1 + 0.05θ² near θ = 0: its place is known to √(rounding) ≈ 1e-7
    assert bottom.kind == "minimum" and torch.allclose(bottom.point, torch.tensor([-1.0, 0.0], dtype=torch.float64),
                                                       atol=1e-6)  # fmt: skip
    assert abs(bottom.value + 0.1) < 1e-9 and top.kind == "maximum" and top.point.tolist() == [0.05, 0.0]
    minima = [p for p in stationary_points(formula("|sin(x)| + |cos(y)|")) if p.kind == "minimum"]
    assert [p.dimension for p in minima] == [0] * 12
    expected = sorted((k * math.pi, math.pi / 2 + m * math.pi) for k in (-1, 0, 1) for m in (-2, -1, 0, 1))
    got = [tuple(p.point.tolist()) for p in minima]
    assert all(min(math.dist(a, b) for b in got) < 1e-9 for a in expected)  # each expected one found, 12 in all


@pytest.mark.parametrize("seed", [2, 3])
def test_the_tilted_crease_has_one_minimum_whatever_the_starts(seed: int) -> None:
    """With these starts one search stalled 0.006 from (−1, 0) on |x² + y² − 1| + 0.1x and read as a second
    minimum; an isolated minimum that close to a lower one is that one found again."""
    found = stationary_points(formula("|x^2 + y^2 - 1| + 0.1*x"), generator=torch.Generator().manual_seed(seed))
    (bottom,) = [p for p in found if p.kind == "minimum"]
    # L along the circle is −0.1 + 0.05θ²: θ = 1e-5 changes it by 5e-12, what the searches resolve
    assert abs(bottom.value + 0.1) < 1e-9 and math.dist(bottom.point.tolist(), (-1.0, 0.0)) < 1e-5


@pytest.mark.parametrize("seed", range(3))
def test_kinks_where_creases_cross_at_irrational_points_are_found_to_rounding(seed: int) -> None:
    """Kinks at points no rounding reaches (a cube root, π/2 − a, a product): the search stops ~1e-12 off them and
    read L = 1e-13..1e-12; Newton on the creases puts them on the kink, L = 0 to rounding, the point to 1e-12."""
    rng = torch.Generator().manual_seed(seed)
    a, b, c = (torch.rand(3, generator=rng, dtype=torch.float64) * torch.tensor([3.0, 1.0, 1.5]) + 0.2).tolist()
    text = f"|x^3 - {a!r}| + |cos(y + {b!r})| + {c!r}*|y - x + {a ** (1 / 3) - math.pi / 2 + b!r}|"
    kink = min((p for p in stationary_points(formula(text)) if p.kind == "minimum"), key=lambda p: p.value)
    x, y = a ** (1 / 3), math.pi / 2 - b
    assert (kink.dimension, kink.differentiable, kink.method) == (0, False, "numeric")
    assert abs(kink.point[0] - x) < 1e-12 and abs(kink.point[1] - y) < 1e-12, (text, kink.point.tolist())
    assert abs(kink.value) < 1e-14 and f"L = {0.0:.10g}" in str(kink), (text, kink.value)


def test_the_minima_of_sin_and_cos_creases_read_zero() -> None:
    minima = [p for p in stationary_points(formula("|sin x| + |cos y|")) if p.kind == "minimum"]
    assert len(minima) == 12 and all(abs(p.value) < 1e-15 and "L = 0 " in str(p) for p in minima)
    for p in minima:
        assert abs(math.sin(p.point[0])) < 1e-15 and abs(math.cos(p.point[1])) < 1e-15


@pytest.mark.parametrize(
    ("text", "on_the_set", "shown"),
    [
        ("|x^2 + y^2 - 1|", lambda x, y: x * x + y * y - 1, [0.0, 1.0]),
        ("|y - x^2|", lambda x, y: y - x * x, [0.0, 0.0]),
        ("|x*y|", lambda x, y: x * y, [0.0, 0.0]),
        ("|x - y|", lambda x, y: x - y, [0.0, 0.0]),
        ("exp(x)*(x^2 + 2y^2 - 1)^2", lambda x, y: x * x + 2 * y * y - 1, [1.0, 0.0]),
    ],
)
def test_a_set_is_shown_at_its_plainest_point(text: str, on_the_set: Any, shown: list[float]) -> None:
    """Any point of a set will do, so the plainest is shown: the ring read "e.g. at (−0.971732309, 0.2360854076)",
    |x·y|'s axes "(−0.096154, 0)", where a search had stopped. (The ellipse under eˣ, which SymPy solves, is taken
    by the numeric search here.)"""
    entry = min(stationary_points(formula(text), method="numeric"), key=lambda p: p.value)
    assert entry.dimension == 1 and entry.point.tolist() == shown and on_the_set(*shown) == 0
    if entry.differentiable:  # the ellipse under eˣ: its λ are the shown point's, 0 along the set and 8e across it
        torch.testing.assert_close(entry.hessian_eigenvalues, torch.tensor([0.0, 8 * math.e], dtype=torch.float64))


def test_a_minimum_shown_on_a_crease_says_it_lies_on_one() -> None:
    """|x·y| is differentiable at the origin (its gradient is 0 there) but not twice: the note says the point lies on
    a crease, not that L has no derivative at it."""
    from losslab.analysis.report import analyze

    report = str(analyze(formula("|x*y|")))
    assert "the lowest minimum found, (0, 0), lies on a crease, where L is not differentiable: there is no Hessian" in (
        report.replace("\n", " ")
    )


@pytest.mark.parametrize("text", ["sin(x+y)^2", "|sin(x+y)|", "cos(x - 2y)"])
def test_a_line_of_a_periodic_family_is_shown_at_a_point_of_its_own(text: str) -> None:
    """Rounding a set's point may not take it onto another set at the same level: sin²(x + y)'s line x + y = π was
    shown at (0, 0), on x + y = 0, four lines of minima all "at (0, 0)"; and a bridge between two groups of one
    level may not join two lines of the family (x + y = π with −3π, whose quarter points lie on the lines between)."""
    sets = [p for p in stationary_points(formula(text)) if p.dimension == 1]
    a, b = (1.0, 2.0) if "2y" in text else (1.0, 1.0)
    for entry in sets:
        c = a * float(entry.point[0]) - b * float(entry.point[1]) if "2y" in text else float(entry.point.sum())
        pieces = [piece[:, 0] * a - piece[:, 1] * b if "2y" in text else piece.sum(-1) for piece in entry.curve]
        assert all((q - c).abs().max() < 1e-8 for q in pieces), (entry.equations, c)  # one line per entry
    shown = [round(a * float(e.point[0]) + (-b if "2y" in text else b) * float(e.point[1]), 6) for e in sets]
    assert len(shown) == len(set(shown))  # each line once, each at a point of its own


@pytest.mark.parametrize("seed", range(3))
def test_a_generated_circular_crease_reads_as_its_own_equation(seed: int) -> None:
    """|(x − a)² + (y − b)² − r²| for seeded a, b, r: its crease of minima is printed as the circle's equation (it read
    as the ranges of x and y over it), equal to the generated one up to a constant factor."""
    g = torch.Generator().manual_seed(90 + seed)
    a, b = (round(float(v), 1) for v in 2 * torch.rand(2, generator=g, dtype=torch.float64) - 1)
    r = round(float(1 + 2 * torch.rand((), generator=g, dtype=torch.float64)), 1)
    (crease,) = [p for p in stationary_points(formula(f"|(x - {a})^2 + (y - {b})^2 - {r}^2|")) if p.dimension == 1]
    left, right = crease.equations[0].split(" = ")
    x, y = sympy.symbols("x y")
    printed = sympy.sympify(left) - sympy.sympify(right)  # our own words, not user text
    truth = sympy.expand((x - sympy.nsimplify(a)) ** 2 + (y - sympy.nsimplify(b)) ** 2 - sympy.nsimplify(r) ** 2)
    ratio = sympy.nsimplify(printed.coeff(x, 2))
    assert sympy.simplify(printed - ratio * truth) == 0, (crease.equations, truth)
    assert crease.kind == "minimum" and not crease.differentiable
