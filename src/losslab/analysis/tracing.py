r"""A curve of stationary points — a valley floor, a ring of minima, a ridge — traced through the box
as polylines whose every point is on it, so a picture can draw the set instead of one of its points.

Predictor–corrector continuation (Allgower & Georg, *Numerical Continuation Methods*, ch. 2): from a
point of the set, step along the Hessian's flat direction (the set's tangent, oriented as the last
step went), then Newton on ∇L = 0 with the Hessian's pseudo-inverse, whose steps have no part along
the set and so pull the prediction straight back onto it. The step adapts to the set's bend: it is
sized so that the chord between two points strays from the set by about :data:`SAG` of the box's
diagonal (a straight valley takes long steps, a tight ring short ones), and halves when a correction
fails. Each walk stops at its first point outside the box (drawn up to the frame), when it meets the
other walk (a ring: the polyline is closed) or when no step stays on the set; its points are stationary
at the set's value.

Where a set crosses another (``(x·y)²``: two lines through the origin) or the Hessian is 0 on it (the
degenerate ring (x² + y² − 1)³), it says nothing of the way on, and the walk goes by its secant. A crease
(|x² + y² − 1|: L not differentiable along it) has no Hessian: the walk goes by its secant and a projection
(down along −∇L onto the crease) takes the place of Newton.
"""

from __future__ import annotations

import torch
from torch import Tensor

from losslab.analysis.continua import Projection, level_tolerance
from losslab.objectives.domain import Domain
from losslab.objectives.objective import Objective

SAG = 5e-4  # a chord strays from the set by about this share of the box's diagonal (under a pixel on a picture)
LONGEST = 1 / 16  # the longest step, of the diagonal
SHORTEST = 1e-4  # a walk whose step falls below this share of the diagonal stops
MOST_STEPS = 2000  # steps in all, over every walk of one set
MOST_CURVES = 8  # separate pieces of one set (a set's branches, or sets the box cuts apart)
CORRECTIONS = 12  # Newton iterations at most per step


def trace_curve(
    objective: Objective, members: Tensor, box: Domain, value: float, project: Projection | None = None
) -> tuple[Tensor, ...]:
    """Polylines ``(k, n)`` along the curve of stationary points at level ``value`` through ``members``
    (points of it): one walk each way from its first member, then from the first member left more
    than a step from every polyline drawn, up to :data:`MOST_CURVES` pieces. For a crease (L not differentiable
    along it: |x² + y² − 1|), ``project`` takes each prediction back onto it instead of Newton, and the walk goes
    by its secant.

    >>> from losslab.objectives.objective import formula
    >>> ring = formula("(x**2 + y**2 - 1)**2")
    >>> (loop,) = trace_curve(ring, torch.tensor([[1.0, 0.0]], dtype=torch.float64), Domain.box("xy", -2, 2), 0.0)
    >>> bool(((loop.square().sum(-1) - 1).abs() < 1e-9).all()), bool((loop[0] == loop[-1]).all())  # closed
    (True, True)
    """
    diagonal = float(torch.linalg.vector_norm(box.upper - box.lower))
    inside = members[box.contains(members)] if members.shape[0] else members
    curves: list[Tensor] = []
    budget = MOST_STEPS
    while inside.shape[0] and len(curves) < MOST_CURVES and budget > 0:
        curve, used = _walk_both_ways(objective, inside[0], _toward(inside), box, value, diagonal, budget, project)
        budget -= used
        if curve.shape[0] >= 2:
            curves.append(curve)
        far = torch.stack([_distance_to(c, inside) for c in curves]).amin(0) if curves else None
        keep = far > LONGEST * diagonal if far is not None else torch.ones(inside.shape[0], dtype=torch.bool)
        keep[0] = False  # its seed, whatever became of its walk (one that went nowhere: the next member is tried)
        inside = inside[keep]
    return tuple(curves)


def curve_extent(curve: tuple[Tensor, ...], box: Domain) -> tuple[Tensor, Tensor] | None:
    """The range of each coordinate over a traced curve's part inside ``box``: each chord clipped to the box
    (Liang–Barsky), so a line through the box spans it edge to edge, not only as far as the points found on
    it; None when no chord meets the box.

    >>> line = (torch.tensor([[-6.0, -6.0], [6.0, 6.0]], dtype=torch.float64),)
    >>> [t.tolist() for t in curve_extent(line, Domain.box("xy", -5, 5))]
    [[-5.0, -5.0], [5.0, 5.0]]
    """
    ends = []
    for piece in curve:
        start, delta = piece[:-1], piece[1:] - piece[:-1]
        moving = delta != 0
        safe = torch.where(moving, delta, 1.0)
        to_lower, to_upper = (box.lower - start) / safe, (box.upper - start) / safe
        inside = (start >= box.lower) & (start <= box.upper)  # an axis the chord does not move along
        enter = torch.where(moving, torch.minimum(to_lower, to_upper), torch.where(inside, -torch.inf, torch.inf))
        leave = torch.where(moving, torch.maximum(to_lower, to_upper), torch.where(inside, torch.inf, -torch.inf))
        t0, t1 = enter.amax(-1).clamp(min=0.0), leave.amin(-1).clamp(max=1.0)
        meets = t0 <= t1
        ends += [(start + t0[:, None] * delta)[meets], (start + t1[:, None] * delta)[meets]]
    rows = torch.cat(ends) if ends else torch.empty(0, box.lower.shape[0], dtype=torch.float64)
    if not rows.shape[0]:
        return None
    rows = rows.clamp(box.lower, box.upper)  # to the box's own bounds, not a rounding past them
    return rows.amin(0), rows.amax(0)


def widened(lower: Tensor, upper: Tensor, curve: tuple[Tensor, ...], box: Domain) -> tuple[Tensor, Tensor]:
    """A set's coordinate ranges over its points found, widened to its traced curve's part in the box
    (:func:`curve_extent`): |x·y|'s crease found at −3.75 ≤ x ≤ 1.25 spans −5 ≤ x ≤ 5."""
    extent = curve_extent(curve, box) if curve else None
    if extent is None:
        return lower, upper
    return torch.minimum(lower, extent[0]), torch.maximum(upper, extent[1])


def on_traced(point: Tensor, curve: tuple[Tensor, ...], box: Domain) -> bool:
    """Whether ``point`` lies on a traced curve: within 4·:data:`SAG` of the box's diagonal of one of its polylines
    (its chords stray from the set by about SAG)."""
    diagonal = float(torch.linalg.vector_norm(box.upper - box.lower))
    rows = point.reshape(1, -1).to(torch.float64)
    return any(float(_distance_to(piece, rows)[0]) <= 4 * SAG * diagonal for piece in curve if piece.shape[0] >= 2)


def _walk_both_ways(
    objective: Objective,
    seed: Tensor,
    toward: Tensor,
    box: Domain,
    value: float,
    diagonal: float,
    budget: int,
    project: Projection | None,
) -> tuple[Tensor, int]:
    """The two walks from ``seed`` joined into one polyline (a closed one ends where it began), and the steps taken.
    ``toward`` is the way to go first where the Hessian does not tell (a crossing of two sets, or a degenerate set,
    where it is 0): toward another point of the set."""
    n = objective.dim
    x = seed.reshape(1, n).repeat(2, 1).to(torch.float64)
    tangent = toward if project is not None else _tangents(objective.hessians(x[:1]), toward[None])[0]
    heading = torch.stack([tangent, -tangent])
    step = torch.full((2,), LONGEST * diagonal / 16, dtype=torch.float64)  # short: it grows where the set is straight
    active = torch.ones(2, dtype=torch.bool)
    paths: list[list[Tensor]] = [[seed.to(torch.float64)], [seed.to(torch.float64)]]
    closed = False
    used = 0
    tolerance = _level_tolerance(objective, box, value)
    while bool(active.any()) and used < budget:
        rows = torch.nonzero(active).reshape(-1)
        used += int(rows.numel())
        # the first step may land as far off as it went (its heading can be a chord toward another point of the set)
        reach = torch.tensor([0.5 if len(paths[r]) > 1 else 1.0 for r in rows.tolist()], dtype=torch.float64)
        guesses = x[rows] + step[rows, None] * heading[rows]
        if project is None:
            moved, ok, hessian = _corrected(objective, guesses, value, tolerance, reach * step[rows], diagonal)
        else:
            moved, ok, hessian = _projected(objective, guesses, value, tolerance, reach * step[rows], project)
        progress = torch.linalg.vector_norm(moved - x[rows], dim=-1)
        ok &= progress >= 0.25 * step[rows]
        # the chord's sag: how far the corrector moved the prediction, a quarter of it (κh²/2 against κh²/8)
        sag = torch.linalg.vector_norm(moved - x[rows] - step[rows, None] * heading[rows], dim=-1) / 4
        for k, row in enumerate(rows.tolist()):
            if not bool(ok[k]):
                step[row] /= 2
                active[row] = step[row] >= SHORTEST * diagonal
                continue
            paths[row].append(moved[k])
            if not bool(box.contains(moved[k : k + 1])[0]):
                active[row] = False
                continue
            if len(paths[row]) > 3 and float(torch.linalg.vector_norm(moved[k] - x[1 - row])) < step[row]:
                active[:] = False  # it met the other walk (or its start, where that one stopped): a closed curve
                closed = True
                break
            secant = (moved[k] - x[row]) / progress[k]
            x[row] = moved[k]
            heading[row] = secant if hessian is None else _tangents(hessian[k : k + 1], secant[None])[0]
            bend = float(torch.sqrt(SAG * diagonal / sag[k].clamp(min=1e-300)))
            step[row] = min(LONGEST * diagonal, float(step[row]) * min(2.0, max(0.5, bend)))
    forward, backward = torch.stack(paths[0]), torch.stack(paths[1])
    curve = torch.cat([backward.flip(0), forward[1:]])
    if closed:
        curve = torch.cat([curve, curve[:1]])
    return curve + 0.0, used  # + 0.0: no -0


def _corrected(
    objective: Objective, guesses: Tensor, value: float, tolerance: float, reach: Tensor, diagonal: float
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Newton on ∇L = 0 from each guess (pseudo-inverse: no move along the set), until its step is below 1e-12 of
    the diagonal; whether each landed on the set (at ``value``, within ``reach`` of the guess) and the Hessians
    there. A degenerate set (L − value changing sign as a cube) converges linearly and takes more iterations."""
    x = guesses.clone()
    hessian = objective.hessians(x)
    for _ in range(CORRECTIONS):
        gradient = objective.grads(x)
        finite = torch.isfinite(gradient).all(-1) & torch.isfinite(hessian).all(-1).all(-1)
        if not bool(finite.any()):
            break
        delta = torch.zeros_like(x)
        try:
            delta[finite] = (torch.linalg.pinv(hessian[finite]) @ gradient[finite][..., None])[..., 0]
        except torch.linalg.LinAlgError:  # an SVD that does not converge: the walk halves its step
            return x, torch.zeros(x.shape[0], dtype=torch.bool), hessian
        x = x - delta
        hessian = objective.hessians(x)
        if float(torch.linalg.vector_norm(delta, dim=-1).max()) <= 1e-12 * diagonal:
            break
    values = objective.values(x)
    gradient = torch.linalg.vector_norm(objective.grads(x), dim=-1)
    curvature = torch.linalg.matrix_norm(torch.nan_to_num(hessian, nan=0.0), ord=2)
    ok = torch.isfinite(values) & ((values - value).abs() <= tolerance)
    ok &= gradient <= 1e-6 * torch.clamp(curvature * diagonal, min=1.0)
    ok &= torch.linalg.vector_norm(x - guesses, dim=-1) <= reach
    return x, ok, hessian


def _projected(
    objective: Objective, guesses: Tensor, value: float, tolerance: float, reach: Tensor, project: Projection
) -> tuple[Tensor, Tensor, None]:
    """Each guess taken onto a crease by ``project``; whether it landed on it (at ``value``, within ``reach``)."""
    x = project(guesses, reach)
    values = objective.values(x)
    ok = torch.isfinite(values) & ((values - value).abs() <= tolerance)
    ok &= torch.linalg.vector_norm(x - guesses, dim=-1) <= reach
    return x, ok, None


def _tangents(hessians: Tensor, previous: Tensor) -> Tensor:
    """The flat direction of each Hessian (its eigenvalue of least size), turned to go on as ``previous`` (a unit
    vector: the last step) went; where a second direction is as flat (a crossing of two sets; a degenerate set, where
    the Hessian is 0), ``previous`` itself: the secant predictor."""
    lam, vectors = torch.linalg.eigh(0.5 * (hessians + hessians.transpose(-1, -2)))
    order = lam.abs().argsort(-1)
    flat = torch.gather(vectors, -1, order[:, None, :1].expand(-1, vectors.shape[-2], 1))[..., 0]
    flat = torch.where(((flat * previous).sum(-1) < 0)[:, None], -flat, flat)
    if lam.shape[-1] > 1:
        sizes = lam.abs().gather(-1, order)
        crossing = sizes[:, 1] <= 1e-6 * sizes[:, -1].clamp(min=1.0)
        flat = torch.where(crossing[:, None], previous, flat)
    return flat


def _level_tolerance(objective: Objective, box: Domain, value: float) -> float:
    """What "at the set's value" means: the analysis's own tolerance over L's spread in the box (256 Sobol points,
    its 10–90 % range, robust to a pole's huge values)."""
    unit = torch.quasirandom.SobolEngine(objective.dim, scramble=True, seed=0).draw(256, dtype=torch.float64)
    values = objective.values(box.lower + unit * (box.upper - box.lower))
    values = values[torch.isfinite(values)]
    spread = float(values.quantile(0.9) - values.quantile(0.1)) if values.numel() else 0.0
    return float(level_tolerance(torch.tensor(value, dtype=torch.float64), spread))


def _toward(members: Tensor) -> Tensor:
    """The unit direction from the first member to the nearest other one (any unit vector when there is none)."""
    gaps = torch.linalg.vector_norm(members[1:] - members[0], dim=-1)
    usable = gaps > 0
    if not bool(usable.any()):
        return torch.nn.functional.one_hot(torch.tensor(0), members.shape[-1]).to(torch.float64)
    nearest = int(torch.where(usable, gaps, torch.inf).argmin()) + 1
    return (members[nearest] - members[0]) / gaps[nearest - 1]


def _distance_to(curve: Tensor, points: Tensor) -> Tensor:
    """Each point's distance to the polyline ``curve``: to the nearest of its segments."""
    a, b = curve[:-1], curve[1:]
    along = b - a
    length = along.square().sum(-1).clamp(min=1e-300)
    s = (((points[:, None] - a[None]) * along[None]).sum(-1) / length).clamp(0.0, 1.0)
    return torch.linalg.vector_norm(points[:, None] - (a[None] + s[..., None] * along[None]), dim=-1).amin(-1)
