"""What a survey's grid may be, checked before anything is allocated: finite ranges lo < hi whose
points are finite and distinct in the survey's dtype, parameters θ along them that stay finite,
at most :data:`MAX_POINTS` points, and arrays no larger than the memory that is free — so
``--range -inf:inf`` or a grid of ``100000x100000`` is one line of refusal, not a NaN surface or
an 80 GB allocation."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.landscape.directions import Directions
from losslab.objectives.domain import even_axis

Ranges = Sequence[tuple[float, float]] | tuple[float, float]

# 10⁷ points: a 3162×3162 plane; its loss, accuracy and mask take 170 MB. Far beyond any picture.
MAX_POINTS = 10**7
# bytes per grid point a survey holds: loss, accuracy (float64) and mask, twice when a file is resumed
SURFACE_BYTES_PER_POINT = 2 * (8 + 8 + 1)


def free_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``; else the free
    physical pages), or None where the system does not say."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_points(sizes: tuple[int, ...]) -> int:
    """The number of grid points, when it is at most :data:`MAX_POINTS`.

    >>> check_points((100000, 100000))
    Traceback (most recent call last):
    losslab.errors.LosslabError: grid 100000×100000 has 10000000000 points; at most 10000000 (e.g. 3162×3162)
    """
    points = math.prod(sizes)
    if points > MAX_POINTS:
        side = math.isqrt(MAX_POINTS)
        example = "×".join([str(side)] * 2) if len(sizes) == 2 else str(MAX_POINTS)
        raise LosslabError(
            f"grid {'×'.join(map(str, sizes))} has {points} points; at most {MAX_POINTS} (e.g. {example})"
        )
    return points


def check_room(need: int, what: str) -> None:
    """A LosslabError when ``need`` bytes exceed the free memory (no check where the system does not say).

    >>> check_room(10**30, "the arrays")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    losslab.errors.LosslabError: the arrays need 1e+21 GB of memory, but only ... GB is free; choose a smaller --grid
    """
    free = free_memory()
    if free is not None and need > free:
        raise LosslabError(
            f"{what} need {need / 1e9:.3g} GB of memory, but only {free / 1e9:.3g} GB is free; choose a smaller --grid"
        )


def grid_axis(lo: float, hi: float, n: int, dtype: torch.dtype) -> Tensor:
    """n evenly spaced points, exactly representable in ``dtype``; the middle of a symmetric range is exactly 0.

    >>> grid_axis(-1.0, 1.0, 5, torch.float32).tolist()
    [-1.0, -0.5, 0.0, 0.5, 1.0]
    """
    if n == 1:
        return torch.tensor([(lo + hi) / 2], dtype=torch.float64)
    return even_axis(lo, hi, n).to(dtype).to(torch.float64)


def survey_grid(
    grid: int | Sequence[int], ranges: Ranges, k: int, dtype: torch.dtype
) -> tuple[tuple[int, ...], tuple[tuple[float, float], ...], tuple[Tensor, ...]]:
    """The sizes, ranges and coordinates of a survey's grid of ``k`` axes in ``dtype``, once checked:
    at most :data:`~losslab.landscape.limits.MAX_POINTS` points whose arrays fit in the free memory,
    finite ranges lo < hi, and points that are finite and distinct in ``dtype``. Cheap: the CLI runs
    it before building a model.

    >>> survey_grid((3, 2), (-1, 1), 2, torch.float32)[2]
    (tensor([-1.,  0.,  1.], dtype=torch.float64), tensor([-1.,  1.], dtype=torch.float64))
    >>> survey_grid(5, (float("-inf"), float("inf")), 1, torch.float32)
    Traceback (most recent call last):
    losslab.errors.LosslabError: range -inf:inf is not finite; give finite numbers lo < hi, e.g. -1:1
    """
    sizes = _grid(grid, k)
    bounds = _ranges(ranges, k)
    points = check_points(sizes)
    check_room(points * SURFACE_BYTES_PER_POINT, f"the {'×'.join(map(str, sizes))} grid's values and mask")
    return sizes, bounds, tuple(_coordinates(lo, hi, n, dtype) for n, (lo, hi) in zip(sizes, bounds, strict=True))


def _grid(grid: int | Sequence[int], k: int) -> tuple[int, ...]:
    sizes = (grid,) * k if isinstance(grid, int) else tuple(grid)
    if len(sizes) != k or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in sizes):
        raise LosslabError(f"grid {grid!r}: need {k} positive integer(s), one per direction (e.g. 51 or (51, 51))")
    return sizes


def _ranges(ranges: Ranges, k: int) -> tuple[tuple[float, float], ...]:
    try:
        items = list(ranges)
        pairs = [items] * k if len(items) == 2 and all(isinstance(v, int | float) for v in items) else items
        out = tuple((float(pair[0]), float(pair[1])) for pair in pairs if len(pair) == 2)  # type: ignore[index,arg-type]
    except (TypeError, ValueError):
        out = ()
    if len(out) != k:
        raise LosslabError(f"ranges {ranges!r}: need {k} pair(s) lo < hi, e.g. (-1, 1)")
    for lo, hi in out:
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise LosslabError(f"range {lo}:{hi} is not finite; give finite numbers lo < hi, e.g. -1:1")
        if not lo < hi:
            raise LosslabError(f"range {lo}:{hi} is empty; give lo < hi, e.g. -1:1")
        if not math.isfinite(hi - lo):
            raise LosslabError(f"range {lo}:{hi} is wider than a float can hold; choose a narrower one")
    return out


def _coordinates(lo: float, hi: float, n: int, dtype: torch.dtype) -> Tensor:
    """The axis (:func:`grid_axis`), refused where ``dtype`` cannot hold its points apart."""
    axis = grid_axis(lo, hi, n, dtype)
    kind = str(dtype).removeprefix("torch.")
    if not bool(torch.isfinite(axis).all()):
        largest = torch.finfo(dtype).max
        raise LosslabError(
            f"range {lo}:{hi} with {n} points overflows {kind} (largest {largest:.3g}); choose a smaller one"
        )
    if n > 1 and not bool((axis.diff() > 0).all()):
        raise LosslabError(
            f"the {n} points over {lo}:{hi} are not distinct in {kind}; widen the range, use fewer points or float64"
        )
    return axis


def check_reach(directions: Directions, bounds: tuple[tuple[float, float], ...], dtype: torch.dtype) -> None:
    """θ = center + Σ a_k·d_k stays finite in ``dtype`` over the ranges (bounded by the largest entries)."""
    reach = float(directions.center.abs().max())
    for (lo, hi), vector in zip(bounds, directions.vectors, strict=True):
        reach += max(abs(lo), abs(hi)) * float(vector.abs().max())
    largest = torch.finfo(dtype).max
    if not (math.isfinite(reach) and reach < largest):
        kind = str(dtype).removeprefix("torch.")
        shown = ", ".join(f"{lo}:{hi}" for lo, hi in bounds)
        raise LosslabError(
            f"ranges {shown}: the parameters θ = center + a·d overflow {kind} there (largest {largest:.3g}); "
            "choose smaller ranges"
        )


def range_text(ranges: Sequence[Sequence[float]]) -> str:
    """Ranges as ``--range`` takes them, ``lo:hi`` per axis joined by commas, each end rounded away from 0 to
    two significant digits so the range keeps what it frames.

    >>> range_text([(-21.17, 1e-17), (-0.0312, 0.5)])
    '-22:1e-17,-0.032:0.5'
    """
    return ",".join(f"{_outward(lo):.2g}:{_outward(hi):.2g}" for lo, hi in ranges)


def _outward(value: float) -> float:
    if value == 0 or not math.isfinite(value):
        return value + 0.0  # no -0
    unit = 10 ** (math.floor(math.log10(abs(value))) - 1)
    return math.copysign(math.ceil(round(abs(value) / unit, 9)) * unit, value)
