r"""Stationary points of a loss — where ∇L = 0 — and their kind; whole sets of them as one entry;
and the minima and maxima where L is not differentiable.

1. Exact where SymPy solves ∇L = 0 (:mod:`~losslab.analysis.exact_roots`): isolated roots to
   40 digits, and the equations of whole families (``w0 = 0, w1 = 0, w2 free``).
2. Otherwise — or besides, where SymPy's families may be incomplete — damped Newton on ∇L = 0
   from many starts at once (a grid plus Sobol points: at most ``starts`` of them whatever the
   number of parameters, and no numeric search above :data:`MAX_NUMERIC_PARAMETERS`). Starts where
   L is not finite (outside the formula's domain) are dropped, and so are rows whose ∇L or Hessian
   is not finite, instead of being fed to the pseudo-inverse.
3. Numeric points that lie on one set are joined into one entry (:mod:`~losslab.analysis.continua`).
4. Where the formula can have kinks, a search of L itself finds the minima and maxima where L is
   not differentiable (:mod:`~losslab.analysis.kinks`), which ∇L = 0 cannot find.

The small helpers every analysis module shares are re-exported here, next to their first user:
:func:`search_box` (the box to search), :func:`hessian_eigenvalues`, :func:`classify`.
"""

from __future__ import annotations

import math
from dataclasses import replace

import sympy
import torch
from torch import Tensor

from losslab.analysis.continua import (
    axis_extent,
    exact_set_points,
    filled_share,
    flat_dimension,
    level_tolerance,
    lone_set,
    numeric_sets,
    on_exact_set,
    ranges_text,
    set_entry,
)
from losslab.analysis.exact_roots import ExactSet, ExactSolution, exact_stationary
from losslab.analysis.kinds import (
    StationaryPoint,
    as_floats,
    classify,
    compare_around,
    distinct_rows,
    hessian_eigenvalues,
    is_stationary,
    snapped,
    sphere_directions,
)
from losslab.analysis.kinks import kink_points, may_have_kinks, not_differentiable
from losslab.analysis.newton import newton
from losslab.analysis.straight_sets import straight_equation, whole_points
from losslab.analysis.tracing import on_traced, trace_curve, widened
from losslab.errors import LosslabError, check_choice
from losslab.objectives.domain import Domain
from losslab.objectives.from_text import as_objective
from losslab.objectives.objective import Objective

__all__ = [
    "MAX_NUMERIC_PARAMETERS",
    "StationaryPoint",
    "as_floats",
    "classify",
    "hessian_eigenvalues",
    "lowest_minima",
    "search_box",
    "stationary_points",
]

MAX_NUMERIC_PARAMETERS = 12  # the starts cannot cover more dimensions in reasonable time


def search_box(objective: Objective, domain: Domain | str | None) -> Domain:
    """The box to analyse: ``domain`` (parsed if text), else ``objective.domain``, else ±5 on every axis."""
    if isinstance(domain, str):
        return Domain.parse(domain, objective.names)
    if domain is not None:
        return domain
    return objective.domain if objective.domain is not None else Domain.box(objective.names, -5.0, 5.0)


def stationary_points(
    objective: Objective | str,
    domain: Domain | str | None = None,
    *,
    starts: int = 400,
    generator: torch.Generator | None = None,
    method: str = "auto",
) -> list[StationaryPoint]:
    """All stationary points (∇L = 0) in the domain, sorted by L, each with its kind; a set of
    them (a line, a plane) as one entry; minima and maxima where L is not differentiable.

    Exact (SymPy) when ∇L is a linear system, or a polynomial or rational one of modest degree
    in up to three parameters; otherwise damped Newton on ∇L = 0 from ``starts`` points (grid +
    Sobol) at once, keeping roots with |∇L| < 1e-8 inside the domain (default
    ``objective.domain``, else ±5), for up to :data:`MAX_NUMERIC_PARAMETERS` parameters.
    ``method`` forces one path: ``"exact"`` (error when SymPy cannot solve) or ``"numeric"``.

    >>> from losslab.objectives.objective import formula
    >>> [str(p) for p in stationary_points(formula("0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)"))]
    ['(2, 0)  L = 0  minimum  λ = [0.145898, 6.8541]  (exact)']
    >>> [str(p) for p in stationary_points(formula("sqrt(w0**2 + w1**2)"))]
    ['(0, 0)  L = 0  minimum, not differentiable here: L is higher all around (a kink or cusp)  (numeric)']
    >>> (cylinder,) = stationary_points(formula("w0**2 + w1**2", ["w0", "w1", "w2"]))
    >>> cylinder.equations, cylinder.dimension, cylinder.kind, cylinder.point.tolist()
    (('w0 = 0', 'w1 = 0', 'w2 free'), 1, 'minimum', [0.0, 0.0, 0.0])
    """
    objective = as_objective(objective)
    if starts < 1:
        raise LosslabError(f"starts = {starts}; give a positive number of starting points")
    check_choice("method", method, ("auto", "exact", "numeric"))
    box = search_box(objective, domain)
    exact = None if method == "numeric" else exact_stationary(objective, box)
    if method == "exact" and exact is None:
        raise LosslabError("SymPy cannot solve ∇L = 0 for this objective exactly; use method='numeric'")
    found: list[StationaryPoint] = []
    if exact is not None:
        points = (
            exact.points if domain is None and objective.domain is None else exact.points[box.contains(exact.points)]
        )
        found += _describe(objective, distinct_rows(points[is_stationary(objective, points)]), "exact")
        found += _exact_sets(objective, box, exact)
    if exact is None or not exact.complete:
        found += _numeric(objective, box, starts, generator, exact)
    found += _known_kinks(objective, box, found)
    # ties (a periodic family's lines, all at L = 0) nearest the origin first: x + y = 0 before x + y = -2*pi
    return sorted(_off_the_sets(found, box), key=lambda s: (s.value, s.dimension, _reach(s), as_floats(s.point)))


def _reach(entry: StationaryPoint) -> float:
    """How near a set comes to the origin (its traced curve, else its shown point), to list the sets of one level
    nearest first: x + y = 0 before x + y = -2*pi and 2*pi, the ring x² + y² = 1 + π before 1 + 2π. 0 for a point,
    which keeps the order of its coordinates."""
    if entry.dimension == 0:
        return 0.0
    rows = torch.cat([entry.point[None], *entry.curve])
    return round(float(torch.linalg.vector_norm(rows, dim=-1).min()), 9)


def _off_the_sets(found: list[StationaryPoint], box: Domain) -> list[StationaryPoint]:
    """Less each isolated point that lies on a traced set at the set's value: that set found again (|x·y|'s
    origin, where its crease of minima along the axes crosses itself, read as a separate degenerate point)."""
    sets = [s for s in found if s.curve]

    def on_a_set(p: StationaryPoint) -> bool:
        same = [s for s in sets if abs(s.value - p.value) <= 1e-8 * max(1.0, abs(s.value))]
        return any(on_traced(p.point, s.curve, box) for s in same)

    return [p for p in found if p.dimension or not on_a_set(p)]


def lowest_minima(objective: Objective, count: int = 2, domain: Domain | str | None = None) -> list[Tensor]:
    """The ``count`` lowest isolated minima (a kink counts; a set of minima does not), lowest first: the gallery's
    known ones where it has them, else :func:`stationary_points` in the domain.

    >>> from losslab.objectives.objective import formula
    >>> [round(float(p), 6) for p in lowest_minima(formula("(x**2 - 1)**2 + 0.1*x"))]  # 4x(x² − 1) + 0.1 = 0
    [-1.012273, 0.987257]
    """
    if objective.known_points and domain is None:
        known = sorted((p for p in objective.known_points if p.kind == "minimum"), key=lambda p: p.value)
        found = [torch.tensor(p.point, dtype=torch.float64) for p in known]
    else:
        points = stationary_points(objective, domain)
        found = [p.point for p in points if p.kind == "minimum" and p.dimension == 0]
    if len(found) < count:
        box = search_box(objective, domain)
        raise LosslabError(
            f"{len(found)} isolated minim{'um' if len(found) == 1 else 'a'} found in {box}, "
            f"{count} needed: name them (--from and --to in the CLI)"
        )
    return found[:count]


def _exact_sets(objective: Objective, box: Domain, exact: ExactSolution) -> list[StationaryPoint]:
    entries = []
    for family in exact.sets:
        members = exact_set_points(objective, box, family)
        if members.shape[0]:
            dimension, equations = len(family.free), family.equations()
            level = _level(objective, family)
            entry = set_entry(objective, members, box, dimension, equations, "exact", linear=family.linear, level=level)
            entries.append(_traced(objective, entry, members, box))
    return entries


def _level(objective: Objective, family: ExactSet) -> float | None:
    """L on an exact set, by SymPy (sin²(x + y) on x = π − y: sin(π)² = 0), where it simplifies to a number."""
    if objective.expr is None or sympy.count_ops(objective.expr) > 100:
        return None
    level = sympy.simplify(objective.expr.xreplace(dict(family.solved)))
    return float(level) if level.is_number and level.is_real else None


def _traced(objective: Objective, entry: StationaryPoint, members: Tensor, box: Domain) -> StationaryPoint:
    """A curve of stationary points with the curve itself (:func:`~losslab.analysis.tracing.trace_curve`); a flat
    stretch of a one-parameter loss is no curve in the plane, and keeps none."""
    if entry.dimension != 1 or objective.dim < 2:
        return entry
    return replace(entry, curve=trace_curve(objective, members, box, entry.value))


def _too_many(objective: Objective) -> str:
    return (
        f"the numeric search for stationary points is skipped above {MAX_NUMERIC_PARAMETERS} parameters "
        f"(this loss has {objective.dim}) and SymPy cannot solve ∇L = 0 for it; examine a point instead "
        f"(--at in the CLI, at= in Python), or fix some parameters to numbers"
    )


def _numeric(
    objective: Objective, box: Domain, starts: int, generator: torch.Generator | None, exact: ExactSolution | None
) -> list[StationaryPoint]:
    """Newton's points (less those SymPy found), joined into sets where they lie on one, and the kinks."""
    if objective.dim > MAX_NUMERIC_PARAMETERS:
        if exact is not None:
            return []  # SymPy's families stand alone
        raise LosslabError(_too_many(objective))
    thetas = _starts(box, starts, generator)
    values = objective.values(thetas)
    thetas, values = thetas[torch.isfinite(values)], values[torch.isfinite(values)]
    if thetas.shape[0] == 0:
        return []  # L is not finite anywhere in the box
    points = _newton_points(objective, box, thetas)
    if exact is not None:
        points = points[~_on_exact(objective, exact, points, box)]
    kinky = may_have_kinks(objective)
    smooth = ~not_differentiable(objective, points) if kinky else torch.ones(points.shape[0], dtype=torch.bool)
    # what "the same value" means along a set: the spread of L over the box, robust to a pole's huge values
    spread = float(values.quantile(0.9) - values.quantile(0.1))
    found, sets, members = _joined(objective, box, points[smooth], spread)
    if kinky:
        generator = generator if generator is not None else torch.Generator().manual_seed(0)
        found += kink_points(objective, thetas, box, generator, points[~smooth], spread, members)
    return found + sets


def _joined(
    objective: Objective, box: Domain, points: Tensor, spread: float
) -> tuple[list[StationaryPoint], list[StationaryPoint], list[Tensor]]:
    """Isolated points, one entry per set of points found numerically, and each set's points (a set met at one
    point only, :func:`~losslab.analysis.continua.lone_set`, too)."""
    groups, repeats, flat = numeric_sets(objective, points, box, spread)
    lone = set(flat)  # only a point with a flat direction can be a set met once
    grouped = {i for g in groups for i in g} | set(repeats)
    found_sets = [points[group] for group in groups]
    sets = [_numeric_set(objective, box, found, spread) for found in found_sets]
    values, alone = objective.values(points).tolist(), []
    for i in (i for i in range(points.shape[0]) if i not in grouped):
        same = [s for s in sets if abs(s.value - values[i]) <= 1e-8 * max(1.0, abs(values[i]))]
        if any(on_traced(points[i], s.curve, box) for s in same):
            continue  # a point of a set traced already
        extended = lone_set(objective, points[i], box, spread) if i in lone else None
        if extended is None:
            alone.append(i)
        else:
            found_sets.append(extended)
            sets.append(_numeric_set(objective, box, extended, spread))
    return _describe(objective, points[alone], "numeric"), sets, found_sets


def _numeric_set(objective: Objective, box: Domain, found: Tensor, spread: float) -> StationaryPoint:
    """One entry for the points ``found`` on one set: its dimension, ranges or line equation, kind, and curve."""
    found = found[torch.linalg.vector_norm(found - found.mean(0), dim=-1).argsort()]  # the central one first
    lower, upper, edges = axis_extent(objective, found, box, spread)
    dimension = flat_dimension(objective, found, box, spread)
    traced = dimension == 1 < objective.dim
    curve = trace_curve(objective, found, box, float(objective.value(found[0]))) if traced else ()
    # a line through the box spans it edge to edge, not only as far as Newton's roots on it; a straight one is
    # shown by its equation (sin²(x + y)'s x + y = π, whose ranges are the whole box)
    straight = straight_equation(objective.names, found, curve, box)
    if straight:  # its points with a whole coordinate, where they are on it, for the plainest to be shown
        plain = whole_points(curve)
        level = objective.values(found[:1]).expand(plain.shape[0])
        at_level = (objective.values(plain) - level).abs() <= level_tolerance(level, spread)
        on_it = is_stationary(objective, plain) & at_level
        found = torch.cat([found[:1], plain[on_it], found[1:]])
    ranges = ranges_text(objective.names, *widened(lower, upper, curve, box) if curve else (lower, upper))
    equations = (straight,) if straight else ranges
    entry = set_entry(
        objective, found, box, dimension, equations, "numeric", linear=bool(straight), edges=edges, spread=spread
    )
    if entry.dimension == objective.dim > 1:  # a flat region: say if it is not the box its ranges span
        share = filled_share(objective, lower, upper, entry.value, spread)
        if share < 1:
            entry = replace(entry, note=f"{entry.note}; it fills {share:.0%} of the box those ranges span")
    return replace(entry, curve=curve)


def _on_exact(objective: Objective, exact: ExactSolution, points: Tensor, box: Domain) -> Tensor:
    """Which of Newton's ``points`` SymPy found already: an isolated root, or a point of a set to 1e-5 of the
    box (Newton creeps towards a set where L is flat to high order: x²y²z² near its planes stopped 2e-6 off)."""
    near = torch.zeros(points.shape[0], dtype=torch.bool)
    width = float((box.upper - box.lower).max())
    for family in exact.sets:
        near |= on_exact_set(objective, family, points, tol=1e-5 * max(1.0, width))
    if exact.points.shape[0] and points.shape[0]:
        gaps = torch.cdist(points, exact.points, p=float("inf")).amin(-1)
        near |= gaps <= 1e-6 * (1 + points.abs().amax(-1))
    return near


def _starts(box: Domain, starts: int, generator: torch.Generator | None) -> Tensor:
    """A grid (where it has at least 3 points per axis within half the budget) plus scrambled Sobol
    points over the box (unscrambled without a generator): ``starts`` points whatever the dimension."""
    n = len(box.names)
    per_axis = int((starts / 2) ** (1 / n))
    grid = box.grid(per_axis) if per_axis >= 3 else torch.zeros(0, n, dtype=torch.float64)
    seed = None if generator is None else int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    sobol = torch.quasirandom.SobolEngine(n, scramble=generator is not None, seed=seed)
    unit = sobol.draw(max(starts - grid.shape[0], 1), dtype=torch.float64)
    return torch.cat([grid, box.lower + unit * (box.upper - box.lower)])


def _newton_points(objective: Objective, box: Domain, thetas: Tensor) -> Tensor:
    found = newton(objective, thetas, iterations=60)
    found = found[is_stationary(objective, found) & box.contains(found)]
    found = newton(objective, distinct_rows(found), iterations=3)
    return distinct_rows(_snapped(objective, found[is_stationary(objective, found)]))


def _snapped(objective: Objective, roots: Tensor) -> Tensor:
    """Each root's coordinates rounded where |∇L| is no larger there: a degenerate root, which
    Newton approaches only linearly (x⁴ + sin y: x ≈ 5e-9), reads 0; a regular one is kept."""
    if roots.shape[0] == 0:
        return roots
    return snapped(roots, lambda trial: torch.linalg.vector_norm(objective.grads(trial), dim=-1))


def _describe(objective: Objective, points: Tensor, method: str) -> list[StationaryPoint]:
    """Entries for isolated stationary points: kind from the Hessian, or from the values around
    where the Hessian is not finite (x**(4/3) at 0)."""
    if points.shape[0] == 0:
        return []
    values, hessians = objective.values(points), objective.hessians(points)
    found = []
    for p, v, h in zip(points, values, hessians, strict=True):
        if bool(torch.isfinite(h).all()):
            lam = hessian_eigenvalues(h)
            kind = classify(lam)
            note = _higher_order(objective, p, float(v)) if kind == "degenerate" else ""
            found.append(StationaryPoint(p, float(v), kind, lam, method, note=note))
            continue
        around = objective.values(p + 1e-5 * max(1.0, float(p.abs().max())) * sphere_directions(objective.dim))
        note = "the Hessian is not finite here; the kind comes from the values around"
        unknown = torch.full((objective.dim,), math.nan, dtype=torch.float64)
        found.append(StationaryPoint(p, float(v), compare_around(float(v), around), unknown, method, note=note))
    return found


HIGHER_ORDER = {
    "minimum": "the Hessian test says nothing here; L is higher all around: a minimum of higher order",
    "maximum": "the Hessian test says nothing here; L is lower all around: a maximum of higher order",
    "saddle": "the Hessian test says nothing here; L is higher in some directions and lower in others",
}


def _higher_order(objective: Objective, point: Tensor, value: float) -> str:
    """What the values close around a point where the Hessian test says nothing show (x⁴: a minimum;
    the monkey saddle: a saddle; x³: an inflection), where two radii agree; else nothing."""
    scale = max(1.0, float(point.abs().max()))
    seen = {
        compare_around(value, objective.values(point + radius * scale * sphere_directions(objective.dim)))
        for radius in (1e-3, 1e-2)
    }
    if len(seen) != 1 or "degenerate" in seen:
        return ""
    (kind,) = seen
    if kind == "saddle" and objective.dim == 1:
        return "the Hessian test says nothing here; L rises on one side and falls on the other: an inflection"
    return HIGHER_ORDER[kind]


def _known_kinks(objective: Objective, box: Domain, found: list[StationaryPoint]) -> list[StationaryPoint]:
    """Points the objective lists as not differentiable (the gallery's cone), when not found already."""
    extra = []
    for known in (k for k in objective.known_points if not k.differentiable):
        point = torch.tensor(known.point, dtype=torch.float64)
        seen = any(float((e.point - point).abs().max()) <= 1e-6 * (1 + float(point.abs().max())) for e in found)
        if box.contains(point[None])[0] and not seen:
            note = "listed with the objective: L is not differentiable here"
            empty = torch.zeros(0, dtype=torch.float64)
            value = float(objective.value(point))
            extra.append(StationaryPoint(point, value, known.kind, empty, "known", differentiable=False, note=note))
    return extra
