"""What a picture draws: an objective's :class:`~losslab.objectives.grid.Grid` over the picture's frame,
or a ready surface (a Grid, a landscape ``Surface``, or anything shaped like one).

The default frame (:func:`default_domain`) is, in order: the objective's own ``domain``;
else the box around the trajectories (their starts, every point of runs that did not
diverge or fall without bound, the first step of runs that did) and the known stationary points, widened by
``margin`` of its width on each side (in 2-D, made square where its spans differ less than
:data:`TO_SCALE`-fold, so that the map is drawn to scale); else :func:`~losslab.objectives.grid.view_domain`
(−5…5 on every axis).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.objectives.domain import Domain
from losslab.objectives.grid import DEFAULT_RESOLUTION, evaluate_grid, view_domain
from losslab.objectives.objective import Objective
from losslab.plot._paths import Trajectories, as_trajectories


@runtime_checkable
class SurfaceLike(Protocol):
    """Anything with named axes, 1-D coordinates and loss values shaped ``(len(c0), len(c1), …)``."""

    @property
    def axis_names(self) -> tuple[str, ...]: ...
    @property
    def coordinates(self) -> tuple[Tensor, ...]: ...
    @property
    def values(self) -> Mapping[str, Tensor]: ...


TO_SCALE = 3.0  # a 2-D frame whose longer span is under this many times its shorter is made square


def default_domain(objective: Objective, trajectories: Trajectories | None = (), margin: float = 0.1) -> Domain:
    """The frame to draw: see the module docstring for the rule.

    >>> from losslab.objectives.objective import formula
    >>> from losslab.descent.run import descend
    >>> str(default_domain(formula("(w - 3)**2"), descend(formula("(w - 3)**2"), "w=0", lr=2.0, steps=5)))
    'w=-1.2:13.2'
    """
    if objective.domain is not None:
        return objective.domain
    points = [torch.tensor(p.point, dtype=torch.float64) for p in objective.known_points]
    for run in as_trajectories(trajectories, objective.dim):
        shown = run.params[:2] if run.diagnosis.status in ("diverged", "unbounded") else run.params
        points.extend(p for p in shown.to(torch.float64) if torch.isfinite(p).all())
    if not points:
        return view_domain(objective)
    stack = torch.stack(points)
    low, high = stack.min(dim=0).values, stack.max(dim=0).values
    pad = torch.where(high > low, margin * (high - low), torch.clamp(0.5 * low.abs(), min=1.0))
    low, high = low - pad, high + pad
    spans = high - low
    if objective.dim == 2 and float(spans.max()) < TO_SCALE * float(spans.min()):
        # a map drawn to scale (see plot.contours): the shorter side widened about its centre to the longer
        middle = (low + high) / 2
        low, high = middle - spans.max() / 2, middle + spans.max() / 2
    bounds = tuple(zip(low.tolist(), high.tolist(), strict=True))
    return Domain(tuple(objective.names), bounds)


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
    """An objective's grid over the picture's frame, or a ready surface (``Grid``, ``Surface``) as it is."""
    if isinstance(source, Objective):
        surface: SurfaceLike = evaluate_grid(source, _domain(source, domain, trajectories), resolution)
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
