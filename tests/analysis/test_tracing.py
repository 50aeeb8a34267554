"""Curves of stationary points traced through the box (a ring of minima, a valley floor, two crossing lines), so
that pictures draw the set and not one of its points. Oracle: each set's own equation in float64, to 1e-9 where
Newton converges quadratically (1e-3 on a degenerate set, where it converges linearly), and the true curve's
points, generated, each near the polyline drawn."""

from __future__ import annotations

import json
import math

import pytest
import sympy
import torch

from curve_oracles import (
    circle_extent,
    distance_to,
    line_extent,
    on_the_face,
    random_line,
    turns_once_round,
)
from losslab.analysis.kinks import down_to_crease
from losslab.analysis.stationary import stationary_points
from losslab.analysis.tracing import LONGEST, SAG, curve_extent, trace_curve
from losslab.objectives.domain import Domain
from losslab.objectives.objective import formula
from losslab.serialize import jsonable

BOX = Domain.box("xy", -5, 5)
DIAGONAL = math.hypot(10, 10)


def curves_of(text: str, names: list[str] | None = None) -> dict[tuple[str, ...], tuple[torch.Tensor, ...]]:
    return {p.equations: p.curve for p in stationary_points(formula(text, names)) if p.curve}


def spans(piece: torch.Tensor, axis: int) -> bool:
    """Whether the polyline goes from one side of the box to the other along ``axis``, its ends on the sides."""
    low, high = piece[:, axis].aminmax()
    return on_the_face(piece[0]) and on_the_face(piece[-1]) and bool(low < -5 + 1e-9) and bool(high > 5 - 1e-9)


def steps_ok(piece: torch.Tensor) -> bool:
    return bool((torch.linalg.vector_norm(piece[1:] - piece[:-1], dim=-1) <= LONGEST * DIAGONAL + 1e-9).all())


def test_a_ring_of_minima_is_one_closed_curve_on_the_circle() -> None:
    (((equations), (loop,)),) = curves_of("(x^2 + y^2 - 1)^2").items()
    assert equations == ("x**2 + y**2 = 1",)
    assert (loop.square().sum(-1) - 1).abs().max() < 1e-9
    assert torch.equal(loop[0], loop[-1]) and steps_ok(loop)
    assert turns_once_round(loop)
    assert loop.shape[0] >= 20  # a circle of radius 1 in a box 10 wide: chords stray under 5e-4 of the diagonal


def test_lines_run_from_edge_to_edge_and_cross() -> None:
    (line,) = curves_of("(x - y)^2 + 0.1")[("x = y", "y free")]
    assert torch.equal(line[:, 0], line[:, 1]) and on_the_face(line[0]) and on_the_face(line[-1]) and steps_ok(line)
    both = curves_of("(x*y)^2")  # two lines of minima through the origin, where the Hessian is 0
    (vertical,) = both[("x = 0", "y free")]
    (horizontal,) = both[("y = 0", "x free")]
    assert (vertical[:, 0] == 0).all() and spans(vertical, 1)
    assert (horizontal[:, 1] == 0).all() and spans(horizontal, 0)


def test_a_parabola_a_numeric_curve_and_a_line_in_three_dimensions() -> None:
    (parabola,) = curves_of("(y - x^2)^2")[("y = x**2", "x free")]
    assert (parabola[:, 1] - parabola[:, 0].square()).abs().max() < 1e-9
    assert on_the_face(parabola[0]) and on_the_face(parabola[-1]) and parabola[[0, -1], 1].min() > 4.99
    ((sine,),) = curves_of("(y - sin(x))^2").values()  # not solved by SymPy: found numerically
    assert (sine[:, 1] - sine[:, 0].sin()).abs().max() < 1e-9
    assert {round(float(sine[0, 0]), 9), round(float(sine[-1, 0]), 9)} == {-5.0, 5.0}  # from side to side
    (axis,) = curves_of("w0^2 + w1^2", ["w0", "w1", "w2"])[("w0 = 0", "w1 = 0", "w2 free")]
    assert (axis[:, :2] == 0).all() and spans(axis, 2)


def test_a_degenerate_ring_is_traced_too() -> None:
    """(x² + y² − 1)³: the Hessian is 0 on the circle (no tangent there), so the walk goes by its secant; Newton
    converges linearly to a triple root, hence the looser 1e-3."""
    ((loop,),) = curves_of("(x^2 + y^2 - 1)^3").values()
    assert (loop.square().sum(-1).sqrt() - 1).abs().max() < 1e-3 and torch.equal(loop[0], loop[-1])


def test_no_curve_where_there_is_none() -> None:
    found = stationary_points(formula("min(x^2, 1)"))  # a flat stretch of a one-parameter loss: no curve in a plane
    assert found and all(p.curve == () for p in found)
    assert all(p.curve == () for p in stationary_points(formula("(x - 1)^2 + (y + 2)^2")))
    disc = stationary_points(formula("max(0, x^2 + y^2 - 1)"))  # a flat region is hatched, not traced
    assert [(p.dimension, p.curve) for p in disc] == [(2, ())]


def test_the_curve_is_in_the_analysis_json() -> None:
    (ring,) = [p for p in stationary_points(formula("(x^2 + y^2 - 1)^2")) if p.dimension == 1]
    data = json.loads(json.dumps(jsonable(ring.to_dict(("x", "y")))))
    (piece,) = data["curve"]
    assert torch.tensor(piece, dtype=torch.float64).equal(ring.curve[0])


def on_circle(a: float, b: float, r: float, count: int) -> torch.Tensor:
    angle = torch.linspace(0, 2 * math.pi, count + 1, dtype=torch.float64)[:-1]
    return torch.stack([a + r * angle.cos(), b + r * angle.sin()], -1)


@pytest.mark.parametrize("seed", range(8))
def test_generated_circles_are_traced_whole_inside_the_box(seed: int) -> None:
    """Circles anywhere, of any size: inside the box one closed loop; cut by the box, one piece per arc, each
    ending outside it. Every true point of the circle inside the box is within a chord's stray of the curve."""
    g = torch.Generator().manual_seed(seed)
    a, b = (torch.rand(2, generator=g, dtype=torch.float64) * 8 - 4).tolist()
    r = float(torch.rand(1, generator=g, dtype=torch.float64)) * 2.7 + 0.3
    objective = formula(f"((x - {a!r})**2 + (y - {b!r})**2 - {r!r}**2)**2")
    members = on_circle(a, b, r, 16)
    members = members[BOX.contains(members)]
    curves = trace_curve(objective, members[torch.randperm(members.shape[0], generator=g)], BOX, 0.0)
    for piece in curves:
        assert ((piece[:, 0] - a).square() + (piece[:, 1] - b).square() - r * r).abs().max() < 1e-9 * (1 + r * r)
        assert steps_ok(piece)
    whole = -5 < a - r and a + r < 5 and -5 < b - r and b + r < 5
    if whole:
        assert len(curves) == 1 and torch.equal(curves[0][0], curves[0][-1])
    else:  # each arc ends where the circle crosses the box's side, not a step beyond it
        assert all(on_the_face(piece[0]) and on_the_face(piece[-1]) for piece in curves)
    truth = on_circle(a, b, r, 720)
    truth = truth[BOX.contains(truth)]
    assert distance_to(curves, truth).max() < 4 * SAG * DIAGONAL


@pytest.mark.parametrize("seed", range(4))
def test_generated_lines_cross_the_box(seed: int) -> None:
    g = torch.Generator().manual_seed(100 + seed)
    c, s, offset = random_line(g, 3.0)
    objective = formula(f"({c!r}*x + {s!r}*y - {offset!r})**2")
    point = torch.tensor([[c * offset, s * offset]], dtype=torch.float64)
    (line,) = trace_curve(objective, point, BOX, 0.0)
    assert (line @ torch.tensor([c, s], dtype=torch.float64) - offset).abs().max() < 1e-9
    assert on_the_face(line[0]) and on_the_face(line[-1]) and steps_ok(line)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("crease", [False, True], ids=["smooth", "crease"])
def test_a_curved_set_reaches_as_far_as_the_set_itself(seed: int, crease: bool) -> None:
    """The ranges of a curved set are the set's, not its chords': generated circles, whole or cut by the box, as a
    valley floor ((x − a)² + (y − b)² − r²)² and as a crease |…| (projected onto, no Hessian). Their extent equals
    the closed form (the circle's own extreme points and its crossings of the box's sides) to 1e-9: a chord's sag
    is ~1e-3 here (the ring |x² + y² − 1| read −0.999937 ≤ x ≤ 0.999999 before)."""
    g = torch.Generator().manual_seed(300 + seed)
    a, b = (torch.rand(2, generator=g, dtype=torch.float64) * 8 - 4).tolist()
    r = float(torch.rand(1, generator=g, dtype=torch.float64)) * 2.7 + 0.3
    inner = f"(x - {a!r})**2 + (y - {b!r})**2 - {r!r}**2"
    objective = formula(f"|{inner}|" if crease else f"({inner})**2")
    project = (lambda points, reach: down_to_crease(objective, points, reach)) if crease else None
    members = on_circle(a, b, r, 16)
    curves = trace_curve(objective, members[BOX.contains(members)], BOX, 0.0, project)
    extent = curve_extent(curves, BOX)
    assert extent is not None
    truth = circle_extent(a, b, r)
    for got, want in zip(extent, truth, strict=True):
        assert torch.allclose(got, torch.tensor(want, dtype=torch.float64), rtol=0, atol=1e-9 * (1 + r)), (got, want)
    for piece in curves:
        assert ((piece[:, 0] - a).square() + (piece[:, 1] - b).square() - r * r).abs().max() < 1e-9 * (1 + r * r)


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        # a crease of a polynomial is that polynomial's zeros: its equation (these read the ranges -1 ≤ x ≤ 1, -1 ≤
        # y ≤ 1 and -2.23607 ≤ x ≤ 2.23607, 0 ≤ y ≤ 5, which did not say which curve)
        ("|x^2 + y^2 - 1|", ("x**2 + y**2 = 1",)),
        ("|y - x^2|", ("y = x**2",)),
        ("(x^2 + 2*y^2 - 1)^2*exp(x)", ("-1 ≤ x ≤ 1", "-0.707107 ≤ y ≤ 0.707107")),  # an ellipse, found numerically
    ],
)
def test_the_analysis_prints_a_curved_sets_own_ranges(text: str, ranges: tuple[str, ...]) -> None:
    (entry,) = [p for p in stationary_points(formula(text), method="numeric") if p.dimension == 1]
    assert entry.equations == ranges
    # and its value and flat eigenvalue as 0, not the rounding noise Newton leaves (L = 7.3e-33, λ = -1.1e-15)
    assert "none strict: L = 0 all along it" in str(entry) and f"{'; '.join(ranges)}  L = 0  minimum" in str(entry)
    if entry.differentiable:
        assert "λ = [0, " in str(entry)


def test_a_line_of_stationary_points_spans_the_box_edge_to_edge() -> None:
    """sin(x + y)'s minima and maxima are the lines x + y = π/2 + kπ, which SymPy solves for the k whose line
    crosses the box (it left them to the numeric search before): each set's traced curve spans its line inside the
    box (closed form), not only as far as Newton's roots on it reached (−4.82543 ≤ x ≤ −3.02855 for
    x + y = −5π/2), and is shown by its exact equation, x + y = -5*pi/2, as the ranges (the whole box for most of
    them) do not say where it is."""
    sets = [p for p in stationary_points(formula("sin(x + y)")) if p.dimension == 1]
    assert len(sets) == 6
    for entry in sets:
        level = float(entry.point.sum())
        assert abs(math.sin(level) - (1 if entry.kind == "maximum" else -1)) < 1e-9
        k = round((level - math.pi / 2) / math.pi)
        (equation,) = entry.equations
        left, right = equation.split(" = ")
        assert left == "x + y" and "pi" in right and "a line of" in entry.note and entry.method == "exact"
        assert abs(float(sympy.sympify(right)) - (math.pi / 2 + k * math.pi)) < 1e-12  # our own words, not user text
        want = line_extent(math.sqrt(0.5), math.sqrt(0.5), level * math.sqrt(0.5))
        rows = torch.cat(entry.curve)
        for got, truth in zip((rows.amin(0).tolist(), rows.amax(0).tolist()), want, strict=True):
            assert all(abs(a - b) <= 1e-5 * max(1.0, abs(b)) for a, b in zip(got, truth, strict=True))
