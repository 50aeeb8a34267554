r"""The shape of a surveyed landscape: its basins, the levels at which they merge, and their persistence.

For values :math:`f` on a regular grid of 1, 2 or 3 axes (a :class:`~losslab.objectives.grid.Grid`
or a survey's :class:`~losslab.landscape.surface.Surface`, where only computed, finite points
count), the sublevel sets :math:`\{f \le r\}` grow with :math:`r`; a component is born at a
grid-local minimum and dies when it meets the component of a deeper minimum (the elder rule).
The levels at which components meet are the merge tree; each basin's pair ``(value, merges_at)``
is a 0-dimensional persistence pair, ``persistence = merges_at − value`` (the deepest basin never
merges: ``inf``). Grid points are neighbours when they differ by at most one step on every axis
(8 neighbours in 2-D, 26 in 3-D): the connectivity of gudhi's cubical complex of top-dimensional
cells, against which ``tests/test_basins.py`` checks every pair.

How it is computed, vectorized except for a loop over basins (no library computes a merge tree
with each merge's partner and saddle, so this part is written here; gudhi gives the pairs only):

1. each point points to its lowest neighbour when that is lower than itself (steepest descent), and
   pointer jumping (``ptr ← ptr[ptr]``) takes every point to the minimum it drains to: the
   catchment basins, labelled;
2. between two adjacent catchment basins, the pass is the lowest grid edge joining them, an edge
   standing at the higher of its two values (each point reaches its minimum through lower
   points of its own basin, so passes are the only places where basins join);
3. Kruskal's algorithm over the passes, cheapest first, with the elder rule, gives each basin the
   level and the saddle point where it merges, and the basin it merges into. Basins that merge at
   their own value (plateaus, a flat shelf) are folded into their partner.

(Just over 400 lines because the three steps share one labelled grid and its index arithmetic, and the
result types are read beside them; the pictures and the CLI are their own modules.)

Given the formula itself (``objective=``), grid minima and passes are tightened to exact stationary points by
Newton before step 3.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.objectives.grid import Grid
from losslab.objectives.objective import Objective
from losslab.serialize import Readable

MAX_AXES = 3
NEWTON_STEPS = 50  # from a grid point a grid step away, damped Newton converges in far fewer
STATIONARY = 1e-8  # |∇L| below which Newton has converged


@dataclass(frozen=True)
class Basin(Readable):
    """One basin of a grid: its minimum, the level where it merges into a deeper basin, its persistence.

    Attributes:
        index: its position in :attr:`BasinReport.basins` (deepest first).
        point: coordinates of its lowest grid point.
        value: the value there.
        merges_at: the level at which it merges into a deeper basin (``inf`` for the deepest of a
            connected region).
        merges_into: the index of that basin (None for the deepest).
        saddle: coordinates of the grid point where it merges (None for the deepest).
        persistence: ``merges_at − value``.
        size: grid points that drain into it (by steepest descent).
        exact_point, exact_value, exact_merges_at, exact_saddle: the stationary points Newton
            converges to from ``point`` and ``saddle`` (:func:`refine_basins`); None when not refined
            or not converged.
        on_edge: its lowest grid point lies on the frame's edge, where the loss may go on falling
            outside: a basin of the frame, perhaps not of the loss (exact minima are never on it).
    """

    index: int
    point: tuple[float, ...]
    value: float
    merges_at: float
    merges_into: int | None
    saddle: tuple[float, ...] | None
    persistence: float
    size: int
    exact_point: tuple[float, ...] | None = None
    exact_value: float | None = None
    exact_saddle: tuple[float, ...] | None = None
    exact_merges_at: float | None = None
    on_edge: bool = False


@dataclass
class BasinReport(Readable):
    """The basins of a grid (deepest first), their merge tree, and each point's basin.

    Attributes:
        axis_names: the grid's axes.
        coordinates: the grid's coordinates.
        basins: deepest first.
        labels: the basin each grid point drains to (``-1`` where nothing was computed).
        value_name: which values were analysed (``loss``).
        min_persistence: basins less persistent than this were folded into their partner.
        value_span: the highest minus the lowest value analysed.
        relief: the median value analysed minus the lowest — the landscape's typical height above its floor,
            what "shallow" is measured against (the span is set by the box's walls: a quartic double well
            over ±5 spans 601 while its wells are 1 deep).
    """

    axis_names: tuple[str, ...]
    coordinates: tuple[Tensor, ...]
    basins: list[Basin]
    labels: Tensor
    value_name: str = "loss"
    min_persistence: float = 0.0
    value_span: float = math.nan
    relief: float = math.nan

    @property
    def persistence_pairs(self) -> list[tuple[float, float]]:
        """The 0-dimensional persistence pairs ``(birth, death)``, deepest first."""
        return [(b.value, b.merges_at) for b in self.basins]

    def to_dict(self) -> dict[str, object]:
        return {
            "axis_names": list(self.axis_names),
            "grid": [len(c) for c in self.coordinates],
            "value": self.value_name,
            "min_persistence": self.min_persistence,
            "value_span": self.value_span,
            "relief": self.relief,
            "basins": [{**_basin_dict(b), "tree_x": x} for b, x in zip(self.basins, self._tree_x(), strict=True)],
            "summary": self.summary(),
        }

    def _tree_x(self) -> list[int]:
        positions = tree_positions(self)
        return [positions[b.index] for b in self.basins]

    def summary(self) -> str:
        """One paragraph: how many basins, how deep, how separated."""
        return basin_summary(self)

    def __str__(self) -> str:
        lines = [self.summary(), ""]
        for b in self.basins:
            where = ", ".join(f"{v:.4g}" for v in b.point)
            merge = "never merges" if b.merges_into is None else f"merges into #{b.merges_into} at {b.merges_at:.6g}"
            if b.exact_merges_at is not None:
                merge += f" (exact saddle {b.exact_merges_at:.10g})"
            edge = "  on the frame's edge" if b.on_edge else ""
            lines.append(f"  #{b.index}  ({where})  {self.value_name} {b.value:.6g}  {merge}  "
                         f"persistence {b.persistence:.4g}  {b.size} points{edge}")  # fmt: skip
        return "\n".join(lines)


def tree_positions(report: BasinReport) -> dict[int, int]:
    """Where each basin stands along a drawn merge tree: each basin, then the basins merging into it in the
    order they merge (lowest first), each with its own subtree — so no joint crosses another basin's line.

    >>> from losslab.objectives.gallery import gallery
    >>> from losslab.objectives.grid import evaluate_grid
    >>> tree_positions(basins(evaluate_grid(gallery("six_hump_camel"), resolution=101)))
    {0: 0, 1: 1, 3: 2, 2: 3, 5: 4, 4: 5}
    """
    children: dict[int, list[int]] = {b.index: [] for b in report.basins}
    for b in report.basins:
        if b.merges_into is not None:
            children[b.merges_into].append(b.index)
    order: list[int] = []
    stack = [b.index for b in reversed(report.basins) if b.merges_into is None]
    while stack:
        i = stack.pop()
        order.append(i)
        stack.extend(sorted(children[i], key=lambda c: (report.basins[c].merges_at, c), reverse=True))
    return {basin: x for x, basin in enumerate(order)}


def _basin_dict(basin: Basin) -> dict[str, object]:
    out: dict[str, object] = {
        "index": basin.index,
        "point": list(basin.point),
        "value": basin.value,
        "merges_at": basin.merges_at,
        "merges_into": basin.merges_into,
        "saddle": None if basin.saddle is None else list(basin.saddle),
        "persistence": basin.persistence,
        "size": basin.size,
        "on_edge": basin.on_edge,
    }
    if basin.exact_point is not None:
        out |= {"exact_point": list(basin.exact_point), "exact_value": basin.exact_value}
    if basin.exact_saddle is not None:
        out |= {"exact_saddle": list(basin.exact_saddle), "exact_merges_at": basin.exact_merges_at}
    return out


# values whose highest is best, and the name of 1 − them, whose basins are theirs
BEST_HIGHEST = {"accuracy": "error"}


def basins(
    grid: Grid, value: str = "loss", *, min_persistence: float = 0.0, objective: Objective | None = None
) -> BasinReport:
    """The basins of ``grid.values[value]``, their merge levels and persistence (see the module docstring).

    Args:
        grid: values on a 1-, 2- or 3-axis grid; a Surface's points not computed are left out, and so
            are points where the value is not finite.
        value: which of the grid's values (``loss``, ``accuracy``…); for ``accuracy``, whose highest is best,
            the basins are those of the error 1 − accuracy (the report's ``value_name`` is ``error``).
        min_persistence: fold basins whose persistence is below this into the basin they merge into.
        objective: the loss over the grid's own parameters (a formula): each grid minimum and each pass
            is then tightened by Newton to the exact stationary point it stands for, and the merge tree
            is built on the exact saddle values (two passes closer than the grid's resolution are
            told apart). Without it, everything is to the grid's resolution.

    >>> from losslab.objectives.gallery import gallery
    >>> from losslab.objectives.grid import evaluate_grid
    >>> report = basins(evaluate_grid(gallery("himmelblau"), resolution=101))
    >>> len(report.basins), sorted(round(b.merges_at, 1) for b in report.basins)
    (4, [13.3, 67.7, 104.0, inf])
    """
    if value not in grid.values:
        raise LosslabError(f"the grid has no values {value!r}; it holds {', '.join(grid.values)}")
    if not math.isfinite(min_persistence) or min_persistence < 0:
        raise LosslabError(f"min_persistence = {min_persistence}; give a finite number ≥ 0")
    values = grid.values[value].detach().to("cpu", torch.float64).numpy() + 0.0  # no -0 (x·y at x = 0)
    if value in BEST_HIGHEST:  # its basins are those of what is best lowest, 1 − it
        values, value = 1.0 - values, BEST_HIGHEST[value]
    if not 1 <= values.ndim <= MAX_AXES:
        raise LosslabError(f"basins need a grid of 1 to {MAX_AXES} axes; this one has {values.ndim}")
    usable = np.isfinite(values)
    computed = getattr(grid, "computed", None)
    if computed is not None:
        usable &= computed.numpy().astype(bool)
    if not usable.any():
        raise LosslabError(f"no grid point has a finite {value}; nothing to analyse")
    f = np.where(usable, values, np.inf).reshape(-1)
    drains = _drain(f, values.shape, usable.reshape(-1))
    roots, labels = np.unique(drains[usable.reshape(-1)], return_inverse=True)
    label_of = np.full(f.size, -1)
    label_of[usable.reshape(-1)] = labels
    passes = _passes(f, label_of, values.shape)
    exact = None if objective is None else _exact(objective, grid, values.shape, roots, passes)
    merges = _kruskal(f, roots, passes, exact)
    return _report(grid, value, f, roots, label_of, merges, min_persistence, exact)


def analysed_key(grid: Grid, report: BasinReport) -> str:
    """The grid's values a report was made from: ``accuracy`` for a report of the error, else its own name."""
    source = {lowest: highest for highest, lowest in BEST_HIGHEST.items()}.get(report.value_name)
    return source if source is not None and report.value_name not in grid.values else report.value_name


def analysed_values(grid: Grid, report: BasinReport) -> Tensor:
    """The values a report's basins are of: the grid's own, or 1 − accuracy for a report of the error."""
    key = analysed_key(grid, report)
    return 1.0 - grid.values[key] if key != report.value_name else grid.values[key]


def _offsets(ndim: int, half: bool) -> list[tuple[int, ...]]:
    """Neighbour offsets (every axis −1, 0 or 1, not all 0); ``half``: one of each ± pair."""
    every = [o for o in itertools.product((-1, 0, 1), repeat=ndim) if any(o)]
    return [o for o in every if o > (0,) * ndim] if half else every


def _pairs(shape: tuple[int, ...], offset: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices ``(u, v)`` of every pair of grid points ``v = u + offset``."""
    index = np.arange(math.prod(shape)).reshape(shape)
    source = tuple(slice(max(0, -o), n - max(0, o)) for o, n in zip(offset, shape, strict=True))
    target = tuple(slice(max(0, o), n - max(0, -o)) for o, n in zip(offset, shape, strict=True))
    return index[source].reshape(-1), index[target].reshape(-1)


def _drain(f: np.ndarray, shape: tuple[int, ...], usable: np.ndarray) -> np.ndarray:
    """For every point, the minimum it reaches by always stepping to its lowest lower neighbour."""
    pointer = np.arange(f.size)
    lowest = f.copy()
    for offset in _offsets(len(shape), half=False):
        u, v = _pairs(shape, offset)
        lower = f[v] < lowest[u]
        lowest[u[lower]], pointer[u[lower]] = f[v[lower]], v[lower]
    pointer[~usable] = np.flatnonzero(~usable)
    while True:  # pointer jumping: the paths halve in length each round
        jumped = pointer[pointer]
        if np.array_equal(jumped, pointer):
            return pointer
        pointer = jumped


def _passes(f: np.ndarray, label_of: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Rows ``(level, label a, label b, saddle index)``: the lowest edge between each pair of adjacent basins."""
    rows = []
    for offset in _offsets(len(shape), half=True):
        u, v = _pairs(shape, offset)
        keep = (label_of[u] != label_of[v]) & (label_of[u] >= 0) & (label_of[v] >= 0)
        u, v = u[keep], v[keep]
        higher = np.where(f[u] >= f[v], u, v)
        a, b = np.minimum(label_of[u], label_of[v]), np.maximum(label_of[u], label_of[v])
        rows.append(np.stack([f[higher], a, b, higher], axis=1))
    edges = np.concatenate(rows) if rows else np.empty((0, 4))
    if not len(edges):
        return edges
    edges = edges[np.lexsort((edges[:, 0], edges[:, 2], edges[:, 1]))]
    first = np.ones(len(edges), dtype=bool)
    first[1:] = (edges[1:, 1] != edges[:-1, 1]) | (edges[1:, 2] != edges[:-1, 2])
    cheapest = edges[first]
    return cheapest[np.argsort(cheapest[:, 0], kind="stable")]


@dataclass(frozen=True)
class _Merge:
    young: int
    elder: int
    level: float
    saddle: int
    row: int  # the pass's row in the passes table


@dataclass(frozen=True)
class _Exact:
    """Newton's stationary points from the basins' minima and from the passes (NaN rows: not converged
    to a point of that kind)."""

    minima: Tensor
    minima_values: Tensor
    saddles: Tensor
    saddle_values: Tensor


def _kruskal(f: np.ndarray, roots: np.ndarray, passes: np.ndarray, exact: _Exact | None) -> list[_Merge]:
    """Merges of the basins over the passes, cheapest first (exact levels where known); the younger
    (higher minimum: exact, then on the grid, then lower flat index) dies."""
    parent = list(range(len(roots)))
    levels = passes[:, 0].copy()
    depth: list[tuple[float, ...]] = [(float(f[r]), int(r)) for r in roots]
    if exact is not None:
        known = ~torch.isnan(exact.saddle_values).numpy()
        levels[known] = exact.saddle_values.numpy()[known]
        depth = [(v, *d) if math.isfinite(v) else (d[0], *d) for v, d in zip(exact.minima_values.tolist(), depth,
                                                                              strict=True)]  # fmt: skip

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    merges = []
    for row in np.argsort(levels, kind="stable").tolist():
        ra, rb = find(int(passes[row, 1])), find(int(passes[row, 2]))
        if ra == rb:
            continue
        young, elder = (ra, rb) if depth[ra] > depth[rb] else (rb, ra)
        parent[young] = elder
        merges.append(_Merge(young, elder, float(passes[row, 0]), int(passes[row, 3]), row))
    return merges


def _exact(objective: Objective, grid: Grid, shape: tuple[int, ...], roots: np.ndarray, passes: np.ndarray) -> _Exact:
    """Newton (:mod:`losslab.analysis.newton`) from every grid minimum and every pass's saddle point."""
    from losslab.analysis.kinds import hessian_eigenvalues
    from losslab.analysis.newton import newton

    if objective.dim != len(shape):
        raise LosslabError(f"the objective has {objective.dim} parameters, the grid {len(shape)} axes")
    starts = [_point(grid, shape, int(i)) for i in roots] + [_point(grid, shape, int(i)) for i in passes[:, 3]]
    points = newton(objective, torch.tensor(starts, dtype=torch.float64).reshape(-1, len(shape)), NEWTON_STEPS)
    with torch.no_grad():
        converged = torch.linalg.vector_norm(objective.grads(points), dim=-1) < STATIONARY
        eigen = hessian_eigenvalues(objective.hessians(points))
        values = objective.values(points).to(torch.float64) + 0.0
    minimum = converged & (eigen > 0).all(-1)
    saddle = converged & ((eigen < 0).sum(-1) == 1) & (eigen != 0).all(-1)  # index 1: a maximum in 1-D
    kinds = torch.cat([minimum[: len(roots)], saddle[len(roots) :]])
    points = torch.where(kinds[:, None], points, torch.nan)
    values = torch.where(kinds, values, torch.nan)
    k = len(roots)
    return _Exact(points[:k], values[:k], points[k:], values[k:])


def _report(
    grid: Grid, value: str, f: np.ndarray, roots: np.ndarray, label_of: np.ndarray, merges: list[_Merge],
    min_persistence: float, exact: _Exact | None,
) -> BasinReport:  # fmt: skip
    """Fold basins that merge at (or within ``min_persistence`` of) their own value, order the rest deepest first."""
    folded = {m.young: m for m in merges if m.level - f[roots[m.young]] <= min_persistence}
    kept_merges = {m.young: m for m in merges if m.young not in folded}

    def alive(i: int) -> int:
        while i in folded:
            i = folded[i].elder
        return i

    kept = sorted({alive(i) for i in range(len(roots))}, key=lambda i: (float(f[roots[i]]), int(roots[i])))
    order = {old: new for new, old in enumerate(kept)}
    survivors = np.array([order[alive(i)] for i in range(len(roots))])
    labels = np.where(label_of >= 0, survivors[np.maximum(label_of, 0)], -1)
    sizes = np.bincount(labels[labels >= 0], minlength=len(kept))
    shape = tuple(len(c) for c in grid.coordinates)
    found = []
    for new, old in enumerate(kept):
        merge = kept_merges.get(old)
        low = float(f[roots[old]])
        level = math.inf if merge is None else merge.level
        index = np.unravel_index(int(roots[old]), shape)
        edge = any(n > 1 and int(i) in (0, n - 1) for i, n in zip(index, shape, strict=True))
        basin = Basin(
            new, _point(grid, shape, int(roots[old])), low, level,
            None if merge is None else order[alive(merge.elder)],
            None if merge is None else _point(grid, shape, merge.saddle), level - low, int(sizes[new]), on_edge=edge,
        )  # fmt: skip
        found.append(basin if exact is None else _with_exact(basin, exact, old, merge))
    finite = f[np.isfinite(f)]
    return BasinReport(
        tuple(grid.axis_names), tuple(grid.coordinates), found, torch.from_numpy(labels.reshape(shape)), value,
        min_persistence, float(finite.max() - finite.min()), float(np.median(finite) - finite.min()),
    )  # fmt: skip


def _with_exact(basin: Basin, exact: _Exact, old: int, merge: _Merge | None) -> Basin:
    changes: dict[str, object] = {}
    if not bool(torch.isnan(exact.minima_values[old])):
        changes |= {"exact_point": tuple(exact.minima[old].tolist()), "exact_value": float(exact.minima_values[old]),
                    "on_edge": False}  # a stationary point: a minimum of the loss, wherever the grid met it
    if merge is not None and not bool(torch.isnan(exact.saddle_values[merge.row])):
        changes |= {"exact_saddle": tuple(exact.saddles[merge.row].tolist()),
                    "exact_merges_at": float(exact.saddle_values[merge.row])}  # fmt: skip
    return replace(basin, **changes)  # type: ignore[arg-type]


def _point(grid: Grid, shape: tuple[int, ...], flat: int) -> tuple[float, ...]:
    index = np.unravel_index(flat, shape)
    return tuple(float(c[int(i)]) for c, i in zip(grid.coordinates, index, strict=True))


def basin_summary(report: BasinReport) -> str:
    """A paragraph in words: the count, the deepest basin, the most separated one, the merge levels."""
    found = report.basins
    name = report.value_name
    deepest = found[0]
    where = ", ".join(f"{n}={v:.4g}" for n, v in zip(report.axis_names, deepest.point, strict=True))
    sizes = [len(c) for c in report.coordinates]
    grid = "×".join(map(str, sizes)) if len(sizes) > 1 else f"{sizes[0]}-point"
    text = f"The {grid} grid holds {len(found)} basin{'s' if len(found) != 1 else ''}"
    if report.min_persistence > 0:
        text += f" more persistent than {report.min_persistence:.3g}"
    text += f"; the deepest has {name} {deepest.value:.6g} at ({where})."
    if name == "error":
        text = f"Of the error, 1 − accuracy: {text[0].lower()}{text[1:]}"
    merging = [b for b in found if b.merges_into is not None]
    islands = sum(1 for b in found[1:] if b.merges_into is None)
    others = f"{islands} other{'s' if islands > 1 else ''}"
    split = f" {others} never merge: the computed region is split." if islands else ""
    edges = _on_edge(found, name)
    if not merging:
        valley = " Nothing merges" + ("." if deepest.on_edge else ": the surveyed region is one valley around it.")
        return text + (split or valley) + edges
    top = max(merging, key=lambda b: b.persistence)
    levels = ", ".join(f"{b.merges_at:.4g}" for b in sorted(merging, key=lambda b: b.merges_at))
    exact = [b.exact_merges_at for b in merging if b.exact_merges_at is not None]
    if exact:
        saddles = "saddle" if len(exact) == 1 else "saddles"
        levels += f" (at the exact {saddles} {', '.join(f'{v:.10g}' for v in sorted(exact))})"
    one = len(merging) == 1
    depth: dict[int | None, float] = {b.index: b.value for b in report.basins}
    # twins (a symmetric loss's mirror minima, equal to rounding): the elder rule breaks their tie
    equal = sum(math.isclose(b.value, depth.get(b.merges_into, math.inf), rel_tol=1e-9, abs_tol=1e-12) for b in merging)
    if one:
        into = "one as deep" if equal else "a deeper one"
    else:
        into = "deeper ones" if not equal else "ones as deep" if equal == len(merging) else "ones as deep or deeper"
    text += (
        f" {'One other basin merges' if one else f'{len(merging)} others merge'} into {into} at {name}"
        f" {levels}; the most separated is #{top.index} ({name} {top.value:.4g}), which must climb"
        f" {top.persistence:.4g} to reach basin #{top.merges_into}."
    )
    shallow = sum(b.persistence < 0.01 * report.relief for b in merging)
    if shallow:
        verb = "is" if shallow == 1 else "are"
        text += (f" {shallow} of them {verb} shallower than 1 % of the {name}'s median height above its lowest"
                 f" value ({report.relief:.4g}): dimples rather than valleys.")  # fmt: skip
    return text + split + edges


def _on_edge(found: list[Basin], name: str) -> str:
    """A sentence on the basins whose lowest point is on the frame's edge, or nothing."""
    edge = [f"#{b.index}" for b in found if b.on_edge]
    if not edge:
        return ""
    which = f"{', '.join(edge[:-1])} and {edge[-1]}" if len(edge) > 1 else edge[0]
    verb = "have their" if len(edge) > 1 else "has its"
    return (f" {which} {verb} lowest point on the frame's edge: the {name} may go on falling outside it"
            " (a wider range tells).")
