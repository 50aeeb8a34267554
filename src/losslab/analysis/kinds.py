r"""What kind of point a stationary point is, and :class:`StationaryPoint`, the one record of it.

An entry is an isolated point where ∇L = 0 (kind from the Hessian eigenvalues), a point where
L is not differentiable but is still a minimum or maximum (the tip of a cone: kind from the
values around it), or a whole set of stationary points — a line, a plane, all of space for a
constant — given by its equations and dimension, with one of its points as an example.
Kept apart from the search (:mod:`losslab.analysis.stationary`) so the helpers of the search
(:mod:`~losslab.analysis.continua`, :mod:`~losslab.analysis.kinks`) can build entries too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.objectives.objective import Objective
from losslab.serialize import Readable


def as_floats(t: Tensor) -> list[float]:
    """A tensor's entries as a flat list of Python floats (non-finite ones kept)."""
    return [float(v) for v in t.reshape(-1).tolist()]


def hessian_eigenvalues(hessians: Tensor) -> Tensor:
    """Eigenvalues (ascending) of each Hessian in a stack, symmetrized first: :math:`\\tfrac12(H + H^T)`; NaN for
    a Hessian with a non-finite entry (LAPACK would return numbers for it) or one LAPACK cannot diagonalize
    (entries near the float64 limit: "failed to converge")."""
    symmetric = 0.5 * (hessians + hessians.transpose(-1, -2))
    finite = torch.isfinite(symmetric).all(-1).all(-1)
    safe = torch.where(finite[..., None, None], symmetric, 0.0)  # a non-finite one is answered NaN below
    try:
        eigenvalues = torch.linalg.eigvalsh(safe)
    except torch.linalg.LinAlgError:  # some matrix of the stack: each on its own
        flat = safe.reshape(-1, *safe.shape[-2:])
        eigenvalues = torch.stack([_eigenvalues_or_nan(h) for h in flat]).reshape(safe.shape[:-1])
    return torch.where(finite[..., None], eigenvalues, math.nan)


def _eigenvalues_or_nan(hessian: Tensor) -> Tensor:
    try:
        return torch.linalg.eigvalsh(hessian)
    except torch.linalg.LinAlgError:
        return torch.full(hessian.shape[:1], math.nan, dtype=hessian.dtype)


def is_stationary(objective: Objective, points: Tensor) -> Tensor:
    """Which rows of ``points`` ``(k, n)`` are stationary: L and ∇L finite and |∇L| < 1e-8, scaled
    by the curvature there (a non-finite Hessian counts as 1) so rounding in θ cannot fail a true root."""
    if points.shape[0] == 0:
        return torch.zeros(0, dtype=torch.bool)
    g = torch.linalg.vector_norm(objective.grads(points), dim=-1)
    h = objective.hessians(points).clamp(-1e150, 1e150)  # an SVD of non-finite entries raises
    h = torch.linalg.matrix_norm(torch.nan_to_num(h, nan=0.0), ord=2)
    scale = torch.clamp(h * torch.linalg.vector_norm(points, dim=-1).clamp(min=1.0), min=1.0)
    return torch.isfinite(objective.values(points)) & torch.isfinite(g) & (g < 1e-8 * scale)


def distinct_rows(points: Tensor) -> Tensor:
    """The rows of ``points`` less repeats: a row within 1e-6 of its size (max norm) of an earlier kept one.

    >>> distinct_rows(torch.tensor([[1.0, 2.0], [1.0, 2.0 + 1e-9], [0.0, 0.0]])).tolist()
    [[1.0, 2.0], [0.0, 0.0]]
    """
    if points.shape[0] <= 1:
        return points
    tol = 1e-6 * (1 + points.abs().amax(-1))
    close = torch.cdist(points, points, p=float("inf")) <= tol[None, :]
    taken = torch.zeros(points.shape[0], dtype=torch.bool)
    keep = []
    for i in range(points.shape[0]):
        if not taken[i]:
            keep.append(i)
            taken |= close[i]
    return points[keep]


Stays = Callable[[Tensor, Tensor], Tensor]  # (rows, where rounding takes them) → whether each is still on its set


def snapped(
    points: Tensor,
    score: Callable[[Tensor], Tensor],
    digits: tuple[int, ...] = (6, 8, 10),
    stays: Stays | None = None,
) -> Tensor:
    """Each row rounded to 6, else 8, else 10 digits below each coordinate's size (at least 1; other ``digits`` where
    given) — all coordinates at once, then each one — the coarsest where ``score`` (lower is better, one value per
    row) gets no worse, and, with ``stays``, where the rounded row is still on the row's own set: a search that
    stops 1e-12 from a kink or 1e-8 along a flat valley reads (0, 1), not (3e-13, 1.000000008).

    >>> snapped(torch.tensor([[3e-13, 1.000000008]]), lambda p: p[:, 0].abs() + (p[:, 1] - 1) ** 2).tolist()
    [[0.0, 1.0]]
    """
    out, best = points.clone(), score(points)

    def take(trial: Tensor) -> None:
        nonlocal best
        after = score(trial)
        better = torch.isfinite(after) & (after <= best) & (trial != out).any(-1)
        if stays is not None and bool(better.any()):
            better[better.clone()] = stays(out[better], trial[better])
        out[better], best = trial[better], torch.where(better, after, best)

    top = torch.ceil(torch.log10(out.abs().clamp(min=1.0)))
    for places in digits:  # all coordinates at once first: a kink at the bottom of a curved crease (|y − x²|
        # + 0.1x² stops at (−2e-7, 5e-14)) is no better with one of them rounded, only with both
        size = 10.0 ** (top - places)
        take(torch.round(out / size) * size + 0.0)
    for i in range(points.shape[-1]):
        top = torch.ceil(torch.log10(out[:, i].abs().clamp(min=1.0)))
        for places in digits:
            size = 10.0 ** (top - places)
            trial = out.clone()
            trial[:, i] = torch.round(out[:, i] / size) * size + 0.0  # + 0.0: no -0
            take(trial)
    return out


#: a set's shown point may be rounded this far: any of its points will do, so the plainest is shown
SET_DIGITS = (0, 1, 2, 3, 4, 6, 8, 10)


def plainest(
    members: Tensor,
    score: Callable[[Tensor], Tensor],
    stays: Stays | None = None,
    avoid: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """The members of a set with its plainest point first: each member rounded (:func:`snapped` to as few as 0
    digits) where ``score`` (its distance from the set: lower is better) gets no worse and ``stays`` says the
    rounded point is on the member's own set (not on another one at the same level: sin²(x + y)'s line
    x + y = π is not shown at (0, 0), which lies on x + y = 0), and the one written with the fewest digits
    (the nearest the origin of those) put first, the others after it in their order. The ring
    |x² + y² − 1| is shown at (0, 1), not at the (−0.971732309, 0.2360854076) a search stopped at; |x·y|'s axes
    at (0, 0), not at (−0.096154, 0). Rows ``avoid`` marks (say, on a crease, where the Hessian the entry shows is not
    defined) come after the others: min(x², y²)'s axis y = 0 is shown at (1, 0), not at (0, 0) on x = ±y.

    >>> ring = torch.tensor([[-0.971732309, 0.2360854076], [0.6, 0.8]], dtype=torch.float64)
    >>> plainest(ring, lambda p: (p.square().sum(-1) - 1).abs())[0].tolist()
    [-1.0, 0.0]
    """
    if members.shape[0] == 0:
        return members
    rounded = snapped(members, score, SET_DIGITS, stays)
    first = plainest_index(rounded, avoid)
    return torch.cat([rounded[first : first + 1], members[:first], members[first + 1 :]])


def plainest_index(rows: Tensor, avoid: Callable[[Tensor], Tensor] | None = None) -> int:
    """The row written plainest: off what ``avoid`` marks, with the fewest digits, the nearest the origin ((0, 0)
    before (1, 1) on |x − y|), the fewest minus signs ((1, 0) before (−1, 0)), then the first.

    >>> plainest_index(torch.tensor([[-2.035090331, 0.0], [2.035090331, 0.0], [1.5, 1.5]]))
    2
    >>> plainest_index(torch.tensor([[-2.035090331, 0.0], [2.035090331, 0.0]]))
    1
    """
    avoided = avoid(rows).tolist() if avoid is not None else [False] * rows.shape[0]
    plain = [
        (bad, sum(len(f"{v:.10g}".lstrip("-")) for v in row), sum(v * v for v in row), sum(v < 0 for v in row))
        for bad, row in zip(avoided, rows.tolist(), strict=True)
    ]
    return min(range(len(plain)), key=plain.__getitem__)


def classify(eigenvalues: Tensor | list[float], tol: float | None = None) -> str:
    """The kind of a stationary point from its Hessian eigenvalues.

    Args:
        eigenvalues: Hessian eigenvalues there.
        tol: what counts as zero; default :math:`10^{-10}\\max(1, \\max|\\lambda|)`.

    >>> classify([2.0, 5.0]), classify([-1.0, 3.0]), classify([-2.0, -1.0]), classify([0.0, 1.0])
    ('minimum', 'saddle', 'maximum', 'degenerate')
    """
    lam = torch.as_tensor(eigenvalues, dtype=torch.float64).reshape(-1)
    if lam.numel() == 0 or not torch.isfinite(lam).all():
        raise LosslabError(f"eigenvalues {lam.tolist()} must be a nonempty list of finite numbers")
    tol = 1e-10 * max(1.0, float(lam.abs().max())) if tol is None else tol
    if bool((lam > tol).any()) and bool((lam < -tol).any()):
        return "saddle"
    if bool((lam.abs() <= tol).any()):
        return "degenerate"
    return "minimum" if bool((lam > 0).all()) else "maximum"


def sphere_directions(n: int) -> Tensor:
    """Unit directions to look around a point in: ±each axis and 2n fixed random ones (seed 0)."""
    spin = torch.randn(2 * n, n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    directions = torch.cat([torch.eye(n, dtype=torch.float64), -torch.eye(n, dtype=torch.float64), spin])
    return directions / torch.linalg.vector_norm(directions, dim=-1, keepdim=True)


def compare_around(centre: float, around: Tensor) -> str:
    """The kind of a point from L there and L at points close around it (the non-finite ones
    left out): all higher or equal → ``minimum``, all lower or equal → ``maximum``, both →
    ``saddle``, all equal (flat) or none finite → ``degenerate``.

    >>> compare_around(0.0, torch.tensor([1.0, 0.5, float("nan")])), compare_around(0.0, torch.tensor([1.0, -1.0]))
    ('minimum', 'saddle')
    """
    values = around[torch.isfinite(around)]
    tol = 1e-13 * (1 + abs(centre) + float(values.abs().max())) if values.numel() else 0.0
    higher, lower = bool((values > centre + tol).any()), bool((values < centre - tol).any())
    if higher and lower:
        return "saddle"
    return "minimum" if higher else "maximum" if lower else "degenerate"


def shown_value(value: float, method: str) -> float:
    """L as the words print it: at a point found numerically where it is exactly 0 (sin·cos at (π, π/2), a valley
    floor found by Newton) L reads rounding noise, ±1e-32; below 1e-15 that is all it can be, and it reads 0.

    >>> shown_value(7.3e-33, "numeric"), shown_value(7.3e-33, "exact"), shown_value(-0.0, "exact")
    (0.0, 7.3e-33, 0.0)
    """
    return 0.0 if method == "numeric" and abs(value) < 1e-15 else value + 0.0


@dataclass
class StationaryPoint(Readable):
    """A point where ∇L = 0 — or a set of them, or a kink that is a minimum or maximum — with L
    there, its kind and the Hessian eigenvalues.

    Attributes:
        point: the point; for a set (``dimension`` ≥ 1), one point of it.
        value: L there (the same all along a connected set of stationary points).
        kind: ``minimum``, ``maximum``, ``saddle`` or ``degenerate``.
        hessian_eigenvalues: at ``point``; empty where L is not differentiable.
        method: ``exact`` (SymPy: algebraic elimination, roots to 40 digits, or the solved
            equations of a set), ``numeric`` (multi-start Newton on ∇L = 0, or a search of L
            itself for kinks) or ``known`` (listed with the objective, e.g. by the gallery).
        dimension: 0 for an isolated point; d ≥ 1 for a set of stationary points (1: a line or
            curve, 2: a plane or surface, … the number of parameters: L is flat there).
        equations: a set's equations (``w0 = 0``), then its free parameters (``w2 free``); for
            a set found numerically, the range its points span.
        differentiable: False at a kink, a cusp or the edge of the formula's domain, where the
            gradient does not exist and the kind comes from the values around, not the Hessian.
        note: a sentence saying what is special about the entry, when something is.
        curve: for a curve of stationary points (``dimension`` 1, L differentiable), the set traced through
            the search box as polylines ``(k, n)`` (:mod:`~losslab.analysis.tracing`), for pictures to draw.
    """

    point: Tensor
    value: float
    kind: str
    hessian_eigenvalues: Tensor
    method: str
    dimension: int = 0
    equations: tuple[str, ...] = ()
    differentiable: bool = True
    note: str = ""
    curve: tuple[Tensor, ...] = ()

    def to_dict(self, names: tuple[str, ...] | None = None) -> dict[str, object]:
        coords = as_floats(self.point)
        keys = names if names is not None else tuple(f"θ{i}" for i in range(len(coords)))
        return {
            "point": dict(zip(keys, coords, strict=True)),
            "value": self.value,
            "kind": self.kind,
            "hessian_eigenvalues": as_floats(self.hessian_eigenvalues),
            "method": self.method,
            "dimension": self.dimension,
            "equations": list(self.equations),
            "differentiable": self.differentiable,
            "note": self.note,
            "curve": [piece.tolist() for piece in self.curve],
        }

    def __str__(self) -> str:
        size = max([1.0, *(abs(v) for v in as_floats(self.point))])
        # display only: rounding noise next to 0 (4.9e-16 on a valley floor, -0) reads 0
        at = "(" + ", ".join(f"{v if abs(v) > 1e-12 * size else 0.0:.10g}" for v in as_floats(self.point)) + ")"
        eigenvalues = as_floats(self.hessian_eigenvalues)
        # display only: an eigenvalue within 1e-12·max(1, largest |λ|) of 0 is rounding noise (-1.1e-15 along a valley)
        flat = 1e-12 * max([1.0, *(abs(v) for v in eigenvalues)])
        lam = "λ = [" + ", ".join(f"{v if abs(v) > flat else 0.0:.6g}" for v in eigenvalues) + "]"  # no -0
        value = f"L = {shown_value(self.value, self.method):.10g}"
        if self.dimension == 0 and not self.differentiable:
            return f"{at}  {value}  {self.kind}, not differentiable here: {self.note}  ({self.method})"
        if self.dimension == 0:
            note = f" — {self.note}" if self.note else ""
            return f"{at}  {value}  {self.kind}  {lam}  ({self.method}){note}"
        where = "; ".join(self.equations) if self.equations else "every point"
        there = f"{lam} at {at}" if self.differentiable else f"e.g. at {at}"
        return f"{where}  {value}  {self.kind}  {there}  ({self.method}) — {self.note}"
