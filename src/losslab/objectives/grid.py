"""Values of a loss on a regular grid: the one grid type of losslab.

A :class:`Grid` holds named axes, their 1-D coordinates and named value arrays indexed
``values[k][i, j, …]`` at ``(coordinates[0][i], coordinates[1][j], …)`` (``ij`` indexing, the
order of the axes). Plots, the web explorer and network surveys all use it (a survey's
``Surface`` is a Grid with provenance and a mask of what is computed). The one place the
layout changes is :meth:`Grid.plotly_z`, for Plotly's ``z`` whose rows follow the second axis.

The whole grid is one call to :meth:`Objective.values` (formula and data objectives
broadcast; networks vmap in chunks), never one call per point.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.errors import LosslabError, check_int
from losslab.objectives.domain import Domain, even_axis
from losslab.objectives.objective import Objective
from losslab.serialize import Readable

VIEW_HALF_WIDTH = 5.0
DEFAULT_RESOLUTION = 400


def view_domain(objective: Objective) -> Domain:
    """The box to look at or search: the objective's own ``domain``, else ±5 on every axis.

    >>> from losslab.objectives.objective import formula
    >>> str(view_domain(formula("(w - 3)**2")))
    'w=-5:5'
    """
    if objective.domain is not None:
        return objective.domain
    return Domain.box(tuple(objective.names), -VIEW_HALF_WIDTH, VIEW_HALF_WIDTH)


@dataclass
class Grid(Readable):
    """Named value arrays on the grid ``coordinates[0] × coordinates[1] × …`` (``ij`` indexing).

    Attributes:
        axis_names: the parameter (or slice coordinate) along each axis.
        coordinates: one 1-D tensor per axis.
        values: ``"loss"`` and any others of the same shape (``"accuracy"``);
            ``values[k][i, j]`` is at ``(coordinates[0][i], coordinates[1][j])``.

    >>> from losslab.objectives.objective import formula
    >>> g = evaluate_grid(formula("2*w0**2 + 3*w1**2"), "w0=-1:1,w1=-2:2", resolution=3)
    >>> g.values["loss"].tolist()
    [[14.0, 2.0, 14.0], [12.0, 0.0, 12.0], [14.0, 2.0, 14.0]]
    """

    axis_names: tuple[str, ...]
    coordinates: tuple[Tensor, ...]
    values: dict[str, Tensor]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(c) for c in self.coordinates)

    def plotly_z(self, name: str = "loss") -> Tensor:
        """``values[name]`` laid out as Plotly's ``z``: for two axes, row ``j`` is the second axis's ``j``-th value.

        >>> from losslab.objectives.objective import formula
        >>> evaluate_grid(formula("x + 10*y"), "-1:1", resolution=3).plotly_z().tolist()
        [[-11.0, -10.0, -9.0], [-1.0, 0.0, 1.0], [9.0, 10.0, 11.0]]
        """
        return plotly_layout(self.values[name])

    def __str__(self) -> str:
        shape = "×".join(str(n) for n in self.shape)
        return f"{', '.join(self.values)} on a {shape} grid over {', '.join(self.axis_names)}"


def plotly_layout(values: Tensor) -> Tensor:
    """Values indexed ``[i, j]`` (ij) as Plotly's ``z`` wants them: rows along the second axis; 1-D as it is."""
    return values.T if values.dim() == 2 else values


def evaluate_grid(
    objective: Objective, domain: Domain | str | None = None, resolution: int = DEFAULT_RESOLUTION
) -> Grid:
    """L at every point of a ``resolution``-per-axis grid over ``domain`` (default :func:`view_domain`), in one call.

    Raises:
        LosslabError: for objectives with more than two parameters (take a line or plane
            through them first), or a resolution below 2.
    """
    if objective.dim not in (1, 2):
        raise LosslabError(
            f"a curve or surface needs 1 or 2 parameters; this objective has {objective.dim}"
            f" ({', '.join(objective.names)}): draw a 1-D or 2-D slice of it instead"
        )
    check_int("resolution", resolution, least=2)
    if domain is None:
        box = view_domain(objective)
    else:
        box = Domain.parse(domain, tuple(objective.names)) if isinstance(domain, str) else domain
    axes = tuple(even_axis(lo, hi, resolution, objective.dtype) for lo, hi in box.bounds)
    stack = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)
    with torch.no_grad():
        loss = objective.values(stack)
    coordinates = tuple(a.to(torch.float64) for a in axes)
    return Grid(tuple(objective.names), coordinates, {"loss": loss.detach().to(torch.float64).cpu()})
