"""A loss evaluated on a regular grid, for curves, contour maps and surfaces.

The whole grid is one call to :meth:`Objective.values` (formula and data objectives
broadcast; networks vmap in chunks), never one call per point. A :class:`Grid` has the
same attributes as the landscape's ``Surface`` (``axis_names``, ``coordinates``,
``values["loss"]``), so every picture that takes one takes the other.

The default frame (:func:`default_domain`) is, in order: the objective's own ``domain``;
else the box around the trajectories (their starts, every point of runs that did not
diverge, the first step of runs that did) and the known stationary points, widened by
``margin`` of its width on each side; else −5…5 on every axis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

from losslab.domain import Domain
from losslab.errors import LosslabError
from losslab.objective import Objective
from losslab.plot._paths import Trajectories, as_trajectories

DEFAULT_RESOLUTION = 400


@runtime_checkable
class SurfaceLike(Protocol):
    """Anything with named axes, 1-D coordinates and loss values shaped ``(len(c0), len(c1), …)``."""

    @property
    def axis_names(self) -> tuple[str, ...]: ...
    @property
    def coordinates(self) -> tuple[Tensor, ...]: ...
    @property
    def values(self) -> Mapping[str, Tensor]: ...


@dataclass(frozen=True)
class Grid:
    """Loss values on the grid ``coordinates[0] × coordinates[1] × …`` (``ij`` indexing).

    >>> from losslab.objective import formula
    >>> g = evaluate_grid(formula("2*w0**2 + 3*w1**2"), "w0=-1:1,w1=-2:2", resolution=3)
    >>> g.values["loss"].tolist()
    [[14.0, 2.0, 14.0], [12.0, 0.0, 12.0], [14.0, 2.0, 14.0]]
    """

    axis_names: tuple[str, ...]
    coordinates: tuple[Tensor, ...]
    values: dict[str, Tensor]

    def to_dict(self) -> dict[str, Any]:
        return {
            "axis_names": list(self.axis_names),
            "coordinates": [c.tolist() for c in self.coordinates],
            "values": {k: v.tolist() for k, v in self.values.items()},
        }


def default_domain(objective: Objective, trajectories: Trajectories | None = (), margin: float = 0.1) -> Domain:
    """The frame to draw: see the module docstring for the rule.

    >>> from losslab.objective import formula
    >>> from losslab.descent import descend
    >>> str(default_domain(formula("(w - 3)**2"), descend(formula("(w - 3)**2"), "w=0", lr=2.0, steps=5)))
    'w=-1.2:13.2'
    """
    if objective.domain is not None:
        return objective.domain
    points = [torch.tensor(p.point, dtype=torch.float64) for p in objective.known_points]
    for run in as_trajectories(trajectories, objective.dim):
        shown = run.params[:2] if run.diagnosis.status == "diverged" else run.params
        points.extend(p for p in shown.to(torch.float64) if torch.isfinite(p).all())
    if not points:
        return Domain.box(tuple(objective.names), -5.0, 5.0)
    stack = torch.stack(points)
    low, high = stack.min(dim=0).values, stack.max(dim=0).values
    pad = torch.where(high > low, margin * (high - low), torch.clamp(0.5 * low.abs(), min=1.0))
    bounds = tuple(zip((low - pad).tolist(), (high + pad).tolist(), strict=True))
    return Domain(tuple(objective.names), bounds)


def evaluate_grid(
    objective: Objective,
    domain: Domain | str | None = None,
    *,
    resolution: int = DEFAULT_RESOLUTION,
    trajectories: Trajectories | None = (),
) -> Grid:
    """L on a ``resolution``-per-axis grid over ``domain`` (default: :func:`default_domain`), in one batched call.

    Raises:
        LosslabError: for objectives with more than two parameters (take a line or plane
            through them first), or a resolution below 2.
    """
    if objective.dim not in (1, 2):
        raise LosslabError(
            f"a curve or surface needs 1 or 2 parameters; this objective has {objective.dim} "
            "(draw a 1-D or 2-D slice of it instead)"
        )
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise LosslabError(f"resolution must be a whole number ≥ 2, got {resolution!r}")
    box = _domain(objective, domain, trajectories)
    axes = tuple(torch.linspace(lo, hi, resolution, dtype=objective.dtype) for lo, hi in box.bounds)
    stack = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)
    with torch.no_grad():
        loss = objective.values(stack)
    return Grid(tuple(objective.names), axes, {"loss": loss.detach().to(torch.float64).cpu()})


def _domain(objective: Objective, domain: Domain | str | None, trajectories: Trajectories | None) -> Domain:
    if domain is None:
        return default_domain(objective, trajectories)
    if isinstance(domain, str):
        return Domain.parse(domain, tuple(objective.names))
    return domain


def as_surface(
    source: Objective | SurfaceLike,
    domain: Domain | str | None = None,
    *,
    resolution: int = DEFAULT_RESOLUTION,
    trajectories: Trajectories | None = (),
    dims: Sequence[int] = (2,),
) -> SurfaceLike:
    """A grid of an objective, or a ready surface (landscape ``Surface``, :class:`Grid`) as it is."""
    if isinstance(source, Objective):
        surface: SurfaceLike = evaluate_grid(source, domain, resolution=resolution, trajectories=trajectories)
    elif isinstance(source, SurfaceLike) and isinstance(source.values, Mapping) and "loss" in source.values:
        surface = source
    else:
        raise LosslabError(
            f"cannot draw a {type(source).__name__}; give an Objective or a surface with "
            "axis_names, coordinates and values['loss']"
        )
    if len(surface.axis_names) not in dims:
        raise LosslabError(f"this picture needs {' or '.join(map(str, dims))} axes; got {len(surface.axis_names)}")
    return surface


def frame_of(surface: SurfaceLike) -> tuple[Tensor, Tensor]:
    """The lower and upper corner of a surface's coordinates."""
    lower = torch.tensor([float(c[0]) for c in surface.coordinates], dtype=torch.float64)
    upper = torch.tensor([float(c[-1]) for c in surface.coordinates], dtype=torch.float64)
    return lower, upper
