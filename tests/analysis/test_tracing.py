"""Curves of stationary points traced through the box (a ring of minima, a valley floor, two crossing lines), so
that pictures draw the set and not one of its points. Oracle: each set's own equation in float64, to 1e-9 where
Newton converges quadratically (1e-3 on a degenerate set, where it converges linearly), and the true curve's
points, generated, each near the polyline drawn."""

from __future__ import annotations

import json
import math

import pytest
import torch

from curve_oracles import distance_to, line_extent, random_line, ranges_of, turns_once_round
from losslab.analysis.stationary import stationary_points
from losslab.analysis.tracing import LONGEST, SAG, trace_curve
from losslab.objectives.domain import Domain
from losslab.objectives.objective import formula
from losslab.serialize import jsonable

BOX = Domain.box("xy", -5, 5)
DIAGONAL = math.hypot(10, 10)


def curves_of(text: str, names: list[str] | None = None) -> dict[tuple[str, ...], tuple[torch.Tensor, ...]]:
    return {p.equations: p.curve for p in stationary_points(formula(text, names)) if p.curve}


def outside(point: torch.Tensor, box: Domain = BOX) -> bool:
    return not bool(box.contains(point[None])[0])


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
    assert torch.equal(line[:, 0], line[:, 1]) and outside(line[0]) and outside(line[-1]) and steps_ok(line)
    both = curves_of("(x*y)^2")  # two lines of minima through the origin, where the Hessian is 0
    (vertical,) = both[("x = 0", "y free")]
    (horizontal,) = both[("y = 0", "x free")]
    assert (vertical[:, 0] == 0).all() and vertical[:, 1].min() < -5 and vertical[:, 1].max() > 5
    assert (horizontal[:, 1] == 0).all() and horizontal[:, 0].min() < -5 and horizontal[:, 0].max() > 5


def test_a_parabola_a_numeric_curve_and_a_line_in_three_dimensions() -> None:
    (parabola,) = curves_of("(y - x^2)^2")[("y = x**2", "x free")]
    assert (parabola[:, 1] - parabola[:, 0].square()).abs().max() < 1e-9
    assert outside(parabola[0]) and outside(parabola[-1]) and parabola[0, 1] > 5 and parabola[-1, 1] > 5
    ((sine,),) = curves_of("(y - sin(x))^2").values()  # not solved by SymPy: found numerically
    assert (sine[:, 1] - sine[:, 0].sin()).abs().max() < 1e-9
    assert {bool(sine[0, 0] < -5), bool(sine[-1, 0] < -5)} == {True, False} and sine[:, 0].abs().max() > 5
    (axis,) = curves_of("w0^2 + w1^2", ["w0", "w1", "w2"])[("w0 = 0", "w1 = 0", "w2 free")]
    assert (axis[:, :2] == 0).all() and axis[:, 2].min() < -5 and axis[:, 2].max() > 5


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
    else:
        assert all(outside(piece[0]) and outside(piece[-1]) for piece in curves)
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
    assert outside(line[0]) and outside(line[-1]) and steps_ok(line)


def test_a_line_of_stationary_points_spans_the_box_edge_to_edge() -> None:
    """sin(x + y)'s minima and maxima are the lines x + y = π/2 + kπ: each set's ranges are its line's inside the box
    (closed form), not as far as Newton's roots on it reached (−4.82543 ≤ x ≤ −3.02855 for x + y = −5π/2)."""
    sets = [p for p in stationary_points(formula("sin(x + y)")) if p.dimension == 1]
    assert len(sets) == 6
    for entry in sets:
        level = float(entry.point.sum())
        assert abs(math.sin(level) - (1 if entry.kind == "maximum" else -1)) < 1e-9
        want = line_extent(math.sqrt(0.5), math.sqrt(0.5), level * math.sqrt(0.5))
        for got, truth in zip(ranges_of(entry.equations), want, strict=True):
            assert all(abs(a - b) <= 1e-5 * max(1.0, abs(b)) for a, b in zip(got, truth, strict=True))
