r"""A curve of stationary points — a valley floor, a ring of minima, a ridge — traced through the box
as polylines whose every point is on it, so a picture can draw the set instead of one of its points.

Predictor–corrector continuation (Allgower & Georg, *Numerical Continuation Methods*, ch. 2): from a
point of the set, step along the Hessian's flat direction (the set's tangent, oriented as the last
step went), then Newton on ∇L = 0 with the Hessian's pseudo-inverse, whose steps have no part along
the set and so pull the prediction straight back onto it. The step adapts to the set's bend: it is
sized so that the chord between two points strays from the set by about :data:`SAG` of the box's
diagonal (a straight valley takes long steps, a tight ring short ones), and halves when a correction
fails. Each walk stops where the set leaves the box (drawn up to the frame), when it meets the
other walk (a ring: the polyline is closed) or when no step stays on the set; its points are stationary
at the set's value.

A polyline's chords stray from the set by up to a sag, so the set's reach along each coordinate is found
on the set itself, not on the chords: where a walk leaves the box, false position along the set (each trial
taken back onto it) finds the point where it crosses the box's face, to 1e-12 of the diagonal; where a
coordinate is largest or smallest inside the box (the leftmost point of a ring), the chords on either side
are halved until the extreme is pinned to ~1e-13. Those points are vertices of the polyline, so the ranges
the analysis prints (:func:`curve_extent`) are the set's own: |y − x²| crosses y = 5 at x = ±√5, the ellipse
x² + 2y² = 1 spans −1 ≤ x ≤ 1, −0.707107 ≤ y ≤ 0.707107.

Where a set crosses another (``(x·y)²``: two lines through the origin) or the Hessian is 0 on it (the
degenerate ring (x² + y² − 1)³), it says nothing of the way on, and the walk goes by its secant. A crease
(|x² + y² − 1|: L not differentiable along it) has no Hessian: the walk goes by its secant and a projection
(down along −∇L onto the crease) takes the place of Newton.
"""

from __future__ import annotations

from collections.abc import Callable

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
FACE_TRIALS = 40  # false-position trials at most to find where a walk crosses the box's face
FACE_TOLERANCE = 1e-12  # of the diagonal: how near the face the crossing found is
HALVINGS = 20  # of the chords around a coordinate's extreme: to a millionth of a step, the extreme to ~1e-13

# guesses, how far each may move → where they land on the set, whether they did, and the Hessians there (None
# on a crease)
Settle = Callable[[Tensor, Tensor], tuple[Tensor, Tensor, Tensor | None]]


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
    tolerance = _level_tolerance(objective, box, value)

    def settle(guesses: Tensor, reach: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        if project is None:
            return _corrected(objective, guesses, value, tolerance, reach, diagonal)
        return _projected(objective, guesses, value, tolerance, reach, project)

    curves: list[Tensor] = []
    budget = MOST_STEPS
    while inside.shape[0] and len(curves) < MOST_CURVES and budget > 0:
        seed, toward = inside[0], _toward(inside)
        curve, used = _walk_both_ways(objective, seed, toward, box, diagonal, budget, settle, project is None)
        budget -= used
        if curve.shape[0] >= 2:
            curves.append(_with_extremes(curve, box, settle))
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
    diagonal: float,
    budget: int,
    settle: Settle,
    smooth: bool,
) -> tuple[Tensor, int]:
    """The two walks from ``seed`` joined into one polyline (a closed one ends where it began), and the steps taken.
    ``toward`` is the way to go first where the Hessian does not tell (a crossing of two sets, or a degenerate set,
    where it is 0, or a crease, which has none): toward another point of the set."""
    n = objective.dim
    x = seed.reshape(1, n).repeat(2, 1).to(torch.float64)
    tangent = _tangents(objective.hessians(x[:1]), toward[None])[0] if smooth else toward
    heading = torch.stack([tangent, -tangent])
    step = torch.full((2,), LONGEST * diagonal / 16, dtype=torch.float64)  # short: it grows where the set is straight
    active = torch.ones(2, dtype=torch.bool)
    paths: list[list[Tensor]] = [[seed.to(torch.float64)], [seed.to(torch.float64)]]
    closed = False
    used = 0
    while bool(active.any()) and used < budget:
        rows = torch.nonzero(active).reshape(-1)
        used += int(rows.numel())
        # the first step may land as far off as it went (its heading can be a chord toward another point of the set)
        reach = torch.tensor([0.5 if len(paths[r]) > 1 else 1.0 for r in rows.tolist()], dtype=torch.float64)
        guesses = x[rows] + step[rows, None] * heading[rows]
        moved, ok, hessian = settle(guesses, reach * step[rows])
        progress = torch.linalg.vector_norm(moved - x[rows], dim=-1)
        ok &= progress >= 0.25 * step[rows]
        # the chord's sag: how far the corrector moved the prediction, a quarter of it (κh²/2 against κh²/8)
        sag = torch.linalg.vector_norm(moved - x[rows] - step[rows, None] * heading[rows], dim=-1) / 4
        for k, row in enumerate(rows.tolist()):
            if not bool(ok[k]):
                step[row] /= 2
                active[row] = step[row] >= SHORTEST * diagonal
                continue
            if not bool(box.contains(moved[k : k + 1])[0]):
                paths[row] += _to_the_face(x[row], moved[k], box, settle, diagonal)
                active[row] = False
                continue
            paths[row].append(moved[k])
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


def _to_the_face(inside: Tensor, outside: Tensor, box: Domain, settle: Settle, diagonal: float) -> list[Tensor]:
    """Where the set leaves the box between ``inside`` and ``outside`` (two of its points): false position along
    the set (Illinois: a side kept twice has its weight halved), each trial, the chord's crossing of the face,
    taken back onto the set; the points to end the walk with, the last within :data:`FACE_TOLERANCE` of the
    diagonal of the face. Where a trial does not land on the set, the last bracket (the chord between them is
    clipped at the face, as before the search)."""
    start, delta = inside, outside - inside
    safe = torch.where(delta != 0, delta, 1.0)
    exits = torch.where(delta > 0, (box.upper - start) / safe, torch.where(delta < 0, (box.lower - start) / safe, 2.0))
    axis = int(exits.argmin())  # the face the chord leaves the box by
    bound = float(box.upper[axis] if delta[axis] > 0 else box.lower[axis])
    sign = 1.0 if delta[axis] > 0 else -1.0

    def past(point: Tensor) -> float:  # how far beyond the face, along its outward normal
        return sign * (float(point[axis]) - bound)

    a, b = inside, outside
    fa, fb, kept = past(a), past(b), 0
    if not fa <= 0 < fb:  # both on the face (a degenerate chord): nothing to search
        return [outside]
    for _ in range(FACE_TRIALS):
        t = fa / (fa - fb)
        guess = a + t * (b - a)
        guess[axis] = bound
        moved, ok, _ = settle(guess[None], torch.linalg.vector_norm(b - a)[None])
        if not bool(ok[0]):
            break
        point, f = moved[0], past(moved[0])
        if abs(f) <= FACE_TOLERANCE * diagonal:
            return [point]
        if f < 0:
            a, fa = point, f
            kept = kept + 1 if kept > 0 else 1
            if kept > 1:
                fb /= 2
        else:
            b, fb = point, f
            kept = kept - 1 if kept < 0 else -1
            if kept < -1:
                fa /= 2
    return [a, b] if a is not inside else [b]


def _with_extremes(curve: Tensor, box: Domain, settle: Settle) -> Tensor:
    """``curve`` with a vertex added at each coordinate's largest and smallest value inside the box, where that is
    not an end of the polyline: the two chords around the extreme vertex halved :data:`HALVINGS` times, each midpoint
    taken back onto the set, keeping the extreme one of the five and its two neighbours (a ring's leftmost point to
    ~1e-13, not a chord's sag of it)."""
    closed = curve.shape[0] > 3 and bool((curve[0] == curve[-1]).all())
    ring = curve[:-1] if closed else curve
    count = ring.shape[0]
    inside = box.contains(ring)
    extremes: list[tuple[int, float, int]] = []  # (axis, +1 largest / −1 smallest, vertex)
    for axis in range(ring.shape[-1]):
        for sign in (1.0, -1.0):
            k = int(torch.where(inside, sign * ring[:, axis], -torch.inf).argmax())
            if bool(inside[k]) and (closed or 0 < k < count - 1):
                extremes.append((axis, sign, k))
    if count < 3 or not extremes:
        return curve
    axes = torch.tensor([e[0] for e in extremes])
    signs = torch.tensor([e[1] for e in extremes], dtype=torch.float64)
    at = torch.tensor([e[2] for e in extremes])
    m = len(extremes)
    triple = torch.stack([ring[(at - 1) % count], ring[at], ring[(at + 1) % count]], 1)  # (m, 3, n)
    position = torch.zeros(m, dtype=torch.float64)  # along the arc, in chords: −1 at the left neighbour, +1 right
    live = torch.ones(m, dtype=torch.bool)
    for halving in range(HALVINGS):
        guesses = torch.cat([(triple[:, 0] + triple[:, 1]) / 2, (triple[:, 1] + triple[:, 2]) / 2])
        reach = torch.linalg.vector_norm(torch.cat([triple[:, 1] - triple[:, 0], triple[:, 2] - triple[:, 1]]), dim=-1)
        moved, ok, _ = settle(guesses, reach)
        ok &= box.contains(moved)
        live &= ok[:m] & ok[m:]
        five = torch.stack([triple[:, 0], moved[:m], triple[:, 1], moved[m:], triple[:, 2]], 1)  # (m, 5, n)
        score = signs[:, None] * five[torch.arange(m), :, axes]
        best = score[:, 1:4].argmax(-1) + 1  # the extreme of the three inner ones: it keeps a neighbour each side
        chosen = five[torch.arange(m)[:, None], best[:, None] + torch.arange(-1, 2)[None]]
        triple = torch.where(live[:, None, None], chosen, triple)
        position = torch.where(live, position + (best - 2).to(torch.float64) / 2 ** (halving + 1), position)
        if not bool(live.any()):
            break
    added = sorted(
        ((int(at[i]) + (1 if float(position[i]) > 0 else 0), float(position[i]), triple[i, 1]) for i in range(m)
         if float(position[i]) != 0.0),
        key=lambda row: (row[0], row[1]), reverse=True,
    )  # fmt: skip
    rows = list(ring)
    for index, _, point in added:  # from the last, so that each index still means the vertex it was found at
        rows.insert(index, point)
    joined = torch.stack(rows)
    return torch.cat([joined, joined[:1]]) if closed else joined


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
    the Hessian is 0) or where the Hessian is not finite (a pole close by), ``previous`` itself: the secant
    predictor."""
    finite = torch.isfinite(hessians).all(-1).all(-1)
    hessians = torch.where(finite[:, None, None], hessians, torch.zeros_like(hessians))
    lam, vectors = torch.linalg.eigh(0.5 * (hessians + hessians.transpose(-1, -2)))
    order = lam.abs().argsort(-1)
    flat = torch.gather(vectors, -1, order[:, None, :1].expand(-1, vectors.shape[-2], 1))[..., 0]
    flat = torch.where(((flat * previous).sum(-1) < 0)[:, None], -flat, flat)
    if lam.shape[-1] > 1:
        sizes = lam.abs().gather(-1, order)
        crossing = sizes[:, 1] <= 1e-6 * sizes[:, -1].clamp(min=1.0)
        flat = torch.where(crossing[:, None], previous, flat)
    return torch.where(finite[:, None], flat, previous)


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
