"""Issue 15, the analysis part: what a student types from the seeds must analyse without a crash.

Kinks and domain edges (the cone, √x, x·log x, √(1−x²)) are reported as minima or maxima that
are not differentiable; a constant and a cylinder give one entry for their set of stationary
points; log's undefined half is left out of the convexity search; the numeric search scales with
the number of parameters. Every number is checked against a closed form in float64.
"""

from __future__ import annotations

import math
import time

import pytest
import sympy
import torch

import losslab
from losslab.analysis.convexity import convexity
from losslab.analysis.newton import newton
from losslab.analysis.report import analyze
from losslab.analysis.stationary import MAX_NUMERIC_PARAMETERS, _starts, search_box, stationary_points
from losslab.errors import LosslabError
from losslab.objectives.from_text import objective_from_text
from losslab.objectives.objective import formula

ATOL = 1e-9  # a kink located by the compass search and snapped: exact where the answer is a round number


def only(points: list) -> losslab.StationaryPoint:
    assert len(points) == 1, [str(p) for p in points]
    return points[0]


@pytest.mark.parametrize("text", ["cone", "sqrt(w0**2+w1**2)", "sqrt(w0**2 + w1**2)"])
def test_the_cone_tip_is_a_minimum_that_is_not_differentiable(text: str) -> None:
    objective = objective_from_text(text)
    tip = only(stationary_points(objective, objective.domain))
    assert (tip.kind, tip.differentiable, tip.dimension) == ("minimum", False, 0)
    assert tip.point.tolist() == [0.0, 0.0] and tip.value == 0.0 and tip.hessian_eigenvalues.numel() == 0
    assert "not differentiable here" in str(tip) and "higher all around" in tip.note
    # the closed form: L = |w| > 0 = L(0) everywhere else, here at 1000 SymPy-evaluated points
    w0, w1 = sympy.symbols("w0 w1", real=True)
    around = torch.randn(1000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    exact = [float(sympy.sqrt(w0**2 + w1**2).subs({w0: a, w1: b})) for a, b in around.tolist()]
    assert min(exact) > tip.value


def test_analyze_the_cone_at_its_tip_reports_the_kink_and_no_lr() -> None:
    result = analyze(formula("sqrt(w0**2+w1**2)"), at="w0=0,w1=0")
    assert result.global_minimum is not None and not result.global_minimum.differentiable
    assert result.gradient_report is not None and not result.gradient_report.differentiable
    assert result.max_stable_lr is None and result.condition_number is None
    assert any("not finite" in note for note in result.notes)
    assert "not twice differentiable" in str(result.clairaut)


def test_newton_never_feeds_a_non_finite_hessian_to_pinv() -> None:
    cone = formula("sqrt(w0**2 + w1**2)")
    starts = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    moved = newton(cone, starts, iterations=10)  # the tip's ∇L and H are nan; pinv would raise
    assert moved[0].tolist() == [0.0, 0.0] and torch.isfinite(moved).all()


@pytest.mark.parametrize("text", ["sqrt(x)", "x**0.5"])
def test_the_edge_of_the_square_root_is_its_minimum(text: str) -> None:
    edge = only(stationary_points(formula(text)))
    assert (edge.kind, edge.differentiable, edge.point.tolist(), edge.value) == ("minimum", False, [0.0], 0.0)
    assert "edge of the formula's domain" in edge.note


def test_x_log_x_has_its_minimum_at_one_over_e() -> None:
    minimum = only(stationary_points(formula("x*log(x)")))
    # closed form: L' = log x + 1 = 0 at x = 1/e, L = -1/e, L'' = 1/x = e
    assert minimum.kind == "minimum" and minimum.differentiable
    assert float(minimum.point[0]) == pytest.approx(math.exp(-1), abs=1e-12)
    assert minimum.value == pytest.approx(-math.exp(-1), abs=1e-12)
    assert float(minimum.hessian_eigenvalues[0]) == pytest.approx(math.e, rel=1e-9)


def test_the_half_circle_has_a_smooth_maximum_and_two_edge_minima() -> None:
    points = stationary_points(formula("sqrt(1-x**2)"))
    assert [(p.kind, p.differentiable, p.point.tolist(), p.value) for p in points] == [
        ("minimum", False, [-1.0], 0.0),
        ("minimum", False, [1.0], 0.0),
        ("maximum", True, [0.0], 1.0),
    ]
    assert float(points[2].hessian_eigenvalues[0]) == pytest.approx(-1.0, abs=1e-12)  # L'' = -(1-x²)^(-3/2)


@pytest.mark.parametrize(
    ("text", "kind", "note"),
    [("abs(x)", "minimum", "higher all around"), ("abs(x) - abs(y)", "saddle", "nonsmooth saddle")],
)
def test_kinks_of_abs(text: str, kind: str, note: str) -> None:
    kink = only(stationary_points(formula(text)))
    assert (kink.kind, kink.differentiable, kink.value) == (kind, False, 0.0)
    assert float(kink.point.abs().max()) <= ATOL and note in kink.note


@pytest.mark.parametrize("text", ["2*x + abs(x)", "1/x", "log(x)", "exp(x)"])
def test_slopes_poles_and_log_have_no_stationary_point(text: str) -> None:
    assert stationary_points(formula(text)) == []


def test_a_constant_is_one_entry_and_descends_without_a_grad_error() -> None:
    constant = formula("(x - x)**2")
    entry = only(stationary_points(constant))
    assert (entry.dimension, entry.equations, entry.kind, entry.value) == (1, (), "degenerate", 0.0)
    assert "L is constant" in entry.note and str(entry).startswith("every point")
    theta = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    constant.value(theta).backward()  # once "element 0 of tensors does not require grad"
    assert theta.grad is not None and theta.grad.tolist() == [0.0]
    trajectory = losslab.descend(constant, "x=1", steps=3)
    assert trajectory.params[-1].tolist() == [1.0]


def test_the_cylinder_is_one_line_of_minima_and_its_lr_is_known() -> None:
    cylinder = formula("w0**2 + w1**2", ["w0", "w1", "w2"])
    line = only(stationary_points(cylinder))
    assert (line.dimension, line.equations, line.kind, line.method) == (
        1,
        ("w0 = 0", "w1 = 0", "w2 free"),
        "minimum",
        "exact",
    )
    assert line.hessian_eigenvalues.tolist() == [0.0, 2.0, 2.0] and "a line of minima" in line.note
    result = analyze(cylinder)
    assert result.max_stable_lr == 1.0 and result.lambda_max == 2.0  # closed form: H = diag(2, 2, 0)
    assert result.condition_number == math.inf and "everywhere" in result.curvature_at
    assert not any("no minimum" in n for n in result.notes) and "at=" not in str(result).replace("at= in Python", "")


def test_max_of_x_and_zero_is_one_flat_stretch_up_to_zero() -> None:
    flat = only(stationary_points(formula("max(x, 0)")))
    assert (flat.dimension, flat.equations, flat.kind, flat.value) == (1, ("-5 ≤ x ≤ 0",), "minimum", 0.0)


@pytest.mark.parametrize(
    ("text", "ranges", "kind", "share"),
    [
        # the disc: π/4 of the square around it; the ranges were -0.837 ≤ x ≤ 0.781 (the members' own)
        ("max(0, x**2 + y**2 - 1)", [(-1, 1), (-1, 1)], "minimum", math.pi / 4),
        # the ball: π/6 of the cube; it was "a curve of minima" (two members found inside it span a line)
        ("max(0, x**2 + y**2 + z**2 - 1)", [(-1, 1)] * 3, "minimum", math.pi / 6),
        # the half-plane x + y ≥ 1 in [-5, 5]²: x, y ≥ -4, and the anti-diagonal halves that square
        ("max(0, 1 - x - y)", [(-4, 5), (-4, 5)], "minimum", 0.5),
        ("-max(0, 1 - x - y)", [(-4, 5), (-4, 5)], "maximum", 0.5),
        # x + y + z ≥ 1 in the cube: P(V₁ + V₂ + V₃ ≥ 1.6), Vᵢ uniform on [0, 1] (Irwin–Hall's CDF at 1.6 is
        # (1.6³ − 3·0.6³)/6); it was "degenerate"
        ("max(0, 1 - x - y - z)", [(-5, 5)] * 3, "minimum", 1 - (1.6**3 - 3 * 0.6**3) / 6),
        ("max(0, x - 1) + max(0, -1 - x) + max(0, y - 1) + max(0, -1 - y)", [(-1, 1), (-1, 1)], "minimum", 1.0),
    ],
    ids=["disc", "ball", "half-plane", "half-plane-maxima", "half-space", "square"],
)
def test_a_flat_region_of_minima_has_its_extent_dimension_kind_and_share_of_its_box(
    text: str, ranges: list, kind: str, share: float
) -> None:
    """A region where L is constant and lowest, in 2 or 3 parameters, is one entry: its dimension is the number of
    parameters, its ranges are its extent along each axis (closed forms, to 1e-6 of the box), and where it is
    not the box those ranges span it says how much of it it fills (closed forms; 256 Sobol points: ±0.05)."""
    region = only(stationary_points(formula(text)))
    assert (region.dimension, region.kind, region.value) == (len(ranges), kind, 0.0)
    for row, (lo, hi), name in zip(region.equations, ranges, "xyz", strict=False):
        low, high = (float(v) for v in row.split(f" ≤ {name} ≤ "))
        assert low == pytest.approx(lo, abs=1e-5) and high == pytest.approx(hi, abs=1e-5), row
    if share == 1.0:
        assert "fills" not in region.note
    else:
        filled = float(region.note.split("it fills ")[1].split("%")[0]) / 100
        assert filled == pytest.approx(share, abs=0.05), region.note


def test_a_circle_of_minima_is_one_entry_with_its_equation_and_its_numeric_points_dropped() -> None:
    """Once two half circles "y = ±sqrt(1 - x**2); x free" (x is not free beyond ±1)."""
    points = stationary_points(formula("(x**2 + y**2 - 1)**2"))
    assert [(p.kind, p.dimension, p.method, p.equations) for p in points] == [
        ("minimum", 1, "exact", ("x**2 + y**2 = 1",)),
        ("maximum", 0, "exact", ()),
    ]
    assert float(points[0].point.norm()) == pytest.approx(1.0, abs=1e-12) and points[0].value == 0.0
    assert points[1].point.tolist() == [0.0, 0.0] and points[1].value == 1.0


@pytest.mark.parametrize(
    ("text", "sets", "isolated"),
    [
        ("(x*y - 1)**2", [("x*y = 1",)], [("saddle", [0.0, 0.0])]),
        ("(x**2 + y**2 + z**2 - 1)**2", [("x**2 + y**2 + z**2 = 1",)], [("maximum", [0.0, 0.0, 0.0])]),
        ("(x**2 - y)**2", [("y = x**2", "x free")], []),
        ("x**2*y**2", [("x = 0", "y free"), ("y = 0", "x free")], []),
        ("x**2*y**2*z**2", [("x = 0", "y, z free"), ("y = 0", "x, z free"), ("z = 0", "x, y free")], []),
        ("(x**2 + y**2 - 1)**2*(x - 2)**2", [("x**2 + y**2 = 1",), ("x = 2", "y free")], [("saddle", None)] * 1),
    ],
    ids=["hyperbola", "sphere", "parabola", "two-axes", "three-planes", "circle-and-line"],
)
def test_a_common_factor_of_the_gradient_is_a_set_with_its_equation(text, sets, isolated) -> None:
    """∇L = g·q: each factor of g is a set, shown solved where single-valued and polynomial, else as its
    equation; q's roots that lie on a set are not listed again. Every set's point is checked on the set
    (∇L = 0 there) and every isolated point against its closed form."""
    objective = formula(text)
    found = stationary_points(objective)
    assert sorted(p.equations for p in found if p.dimension) == sorted(sets)
    for entry in (p for p in found if p.dimension):
        assert entry.method == "exact" and entry.kind == "minimum" and entry.value == pytest.approx(0, abs=1e-24)
        assert float(objective.grad(entry.point).norm()) <= 1e-12
    alone = [(p.kind, p.point.tolist()) for p in found if not p.dimension]
    for (kind, where), (got_kind, got) in zip(isolated, alone[: len(isolated)], strict=True):
        assert got_kind == kind and (where is None or got == where)
    if text.startswith("(x**2 + y**2 - 1)**2*"):  # the saddle on the x axis between the circle and the line
        saddle = next(p for p in found if p.kind == "saddle")
        x = saddle.point[0].item()  # ∂L/∂x = 0 on y = 0: 2(x²−1)(x−2)·(2x(x−2) + (x²−1)) = 0
        assert 3 * x**2 - 4 * x - 1 == pytest.approx(0, abs=1e-12) and x == pytest.approx((2 + 7**0.5) / 3)


def test_circles_of_minima_and_maxima_are_each_one_equation() -> None:
    """The maxima between two circles of minima lie on r² = 5/2: read off the equation, not '2*x**2 + 2*y**2 = 5'."""
    found = stationary_points(formula("(x**2 + y**2 - 1)**2*(x**2 + y**2 - 4)**2"))
    sets = {p.equations: (p.kind, p.value) for p in found if p.dimension}
    assert sets == {("x**2 + y**2 = 1",): ("minimum", 0.0), ("x**2 + y**2 = 4",): ("minimum", 0.0),
                    ("x**2 + y**2 = 5/2",): ("maximum", pytest.approx((1.5 * 1.5) ** 2, rel=1e-12))}  # fmt: skip
    assert [(p.kind, p.point.tolist(), p.value) for p in found if not p.dimension] == [("maximum", [0.0, 0.0], 16.0)]


def test_a_factor_without_real_zeros_is_no_set_and_the_valley_stays_exact() -> None:
    """∇L = 2(w0 + w1)·(1 + 2(w0 + w1)²): the second factor is never 0, so the one set is w0 = -w1, solved exactly."""
    valley = only(stationary_points(formula("(w0 + w1)**2 + (w0 + w1)**4")))
    assert (valley.equations, valley.method, valley.kind) == (("w0 = -w1", "w1 free"), "exact", "minimum")


def test_a_set_whose_points_are_of_two_kinds_says_so() -> None:
    """(x² + y² − 1)²/(x − y) is 0 on the circle: a valley where x > y, a ridge where x < y."""
    circle = only(stationary_points(formula("(x**2 + y**2 - 1)**2/(x - y)")))
    assert circle.equations == ("x**2 + y**2 = 1",) and circle.kind == "degenerate" and circle.value == 0.0
    assert circle.note == "a curve of stationary points: maxima, minima in places"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("x**4", "L is higher all around: a minimum of higher order"),
        ("x**4 + y**4", "L is higher all around: a minimum of higher order"),
        ("-x**4 - y**2", "L is lower all around: a maximum of higher order"),
        ("x**3", "L rises on one side and falls on the other: an inflection"),
        ("x**3 - 3*x*y**2", "L is higher in some directions and lower in others"),
        ("x**2 + y**3", "L is higher in some directions and lower in others"),
    ],
)
def test_where_the_hessian_test_says_nothing_the_values_around_do(text: str, says: str) -> None:
    point = only(stationary_points(formula(text)))
    assert point.kind == "degenerate" and point.point.tolist() == [0.0] * point.point.numel()
    assert point.note == f"the Hessian test says nothing here; {says}" and says in str(point)


@pytest.mark.parametrize(
    ("text", "on_set"),
    [
        ("(sin(x) - y)**2", lambda p: math.sin(p[0]) - p[1]),
        ("exp((x + y)**2)", lambda p: p[0] + p[1]),
        ("abs(x - y)", lambda p: p[0] - p[1]),
    ],
    ids=["sine-valley", "exp-valley", "abs-crease"],
)
def test_numeric_continua_are_one_entry(text: str, on_set) -> None:
    """(SymPy solves the two smooth valleys: the numeric search is asked for here.)"""
    valley = only(stationary_points(formula(text), method="numeric"))
    assert (valley.kind, valley.dimension, valley.method) == ("minimum", 1, "numeric")
    assert abs(on_set(valley.point.tolist())) <= 1e-9


def test_the_lr_of_a_valley_is_taken_on_it() -> None:
    result = analyze(formula("(w0 + w1)**2 + (w0 + w1)**4"))
    # on w0 = -w1 the Hessian is [[2, 2], [2, 2]]: λmax = 4, 2/λmax = 0.5
    assert result.global_minimum is not None and result.global_minimum.dimension == 1
    assert result.max_stable_lr == pytest.approx(0.5, abs=1e-12)


def test_no_minimum_says_how_to_pass_a_point_in_both_faces() -> None:
    result = analyze(formula("x**3"))
    assert any("(--at in the CLI, at= in Python)" in note for note in result.notes)
    given = analyze(formula("x**3"), at="x=1")
    assert given.max_stable_lr == pytest.approx(2 / 6, abs=1e-12) and "given point" in given.curvature_at


def test_log_keeps_its_convexity_search_inside_its_domain(generator: torch.Generator) -> None:
    report = convexity(formula("log(x) - x**3"), generator=generator, samples=500)
    point, lam = report.counterexample
    x = float(point[0])
    assert x > 0 and lam == pytest.approx(-1 / x**2 - 6 * x, rel=1e-9)  # L'' = −1/x² − 6x
    assert report.undefined > 0 and "outside the formula's domain" in report.reason
    result = analyze(formula("log(x)"))
    assert any("outside the formula's domain" in note for note in result.notes)
    # log alone is concave by the composition rules, where it is defined: the report says the rest is not
    proved = convexity(formula("log(x)"), generator=generator, samples=500)
    assert (proved.verdict, proved.proved) == ("concave", True) and proved.undefined > 0
    assert "outside the formula's domain" in proved.reason


@pytest.mark.parametrize("n", [5, 12, 20, 30])
def test_the_number_of_starts_does_not_grow_with_the_dimension(n: int) -> None:
    box = search_box(formula("w0**2", [f"w{i}" for i in range(n)]), None)
    assert _starts(box, 400, None).shape == (400, n)


def test_above_the_numeric_limit_the_search_says_so_in_one_line() -> None:
    names = [f"w{i}" for i in range(MAX_NUMERIC_PARAMETERS + 1)]
    with pytest.raises(LosslabError, match=f"skipped above {MAX_NUMERIC_PARAMETERS} parameters"):
        stationary_points(formula("sin(w0) + w1**2", names))
    started = time.perf_counter()
    result = analyze(formula("sin(w0) + w1**2", names))
    assert result.stationary_points == [] and any("--at in the CLI" in note for note in result.notes)
    assert time.perf_counter() - started < 60


def test_thirty_parameters_of_a_quadratic_are_solved_exactly() -> None:
    names = [f"w{i}" for i in range(30)]
    started = time.perf_counter()
    result = analyze(formula("w0**2", names))
    plane = only(result.stationary_points)
    assert (plane.dimension, plane.kind, plane.equations[0]) == (29, "minimum", "w0 = 0")
    assert result.max_stable_lr == 1.0 and (result.convexity.verdict, result.convexity.proved) == ("convex", True)
    assert time.perf_counter() - started < 60


def test_rounding_noise_in_l_at_a_numeric_point_reads_0() -> None:
    """sin(x)·cos(y)'s saddles at (kπ, π/2 + mπ) have L = 0 exactly; found numerically they printed
    "L = -2.249639674e-32". The value is kept as computed; its line reads 0."""
    saddles = [p for p in stationary_points(formula("sin(x)*cos(y)")) if p.kind == "saddle"]
    assert saddles and all(abs(p.value) < 1e-15 for p in saddles)
    assert all("  L = 0  saddle" in str(p) for p in saddles)
    assert any(p.value != 0.0 for p in saddles)  # the noise is still in the number


@pytest.mark.parametrize("seed", range(4))
def test_generated_discs_of_minima_have_their_closed_form_extent_and_share(seed: int) -> None:
    """Discs max(0, (x − a)² + (y − b)² − r²) at generated centres and radii inside the box: one flat region of
    minima, extent a ± r, b ± r (to 1e-5), filling π/4 of the box its ranges span (±0.05, 256 Sobol points)."""
    generator = torch.Generator().manual_seed(seed)
    a, b = (float(v) for v in torch.rand(2, generator=generator, dtype=torch.float64) * 4 - 2)
    r = 0.5 + float(torch.rand(1, generator=generator, dtype=torch.float64)) * 2
    region = only(stationary_points(formula(f"max(0, (x - ({a!r}))**2 + (y - ({b!r}))**2 - {r!r}**2)")))
    assert (region.dimension, region.kind, region.value) == (2, "minimum", 0.0)
    for row, centre, name in zip(region.equations, (a, b), "xy", strict=True):
        low, high = (float(v) for v in row.split(f" ≤ {name} ≤ "))
        assert low == pytest.approx(centre - r, abs=1e-5) and high == pytest.approx(centre + r, abs=1e-5), row
    filled = float(region.note.split("it fills ")[1].split("%")[0]) / 100
    assert filled == pytest.approx(math.pi / 4, abs=0.05), region.note
