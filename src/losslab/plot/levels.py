r"""Level surfaces of a loss of three parameters, with gradient arrows normal to them (Chapter 3, figs 3.8–3.9).

The sets :math:`L(w_0, w_1, w_2) = c` of a loss of three parameters are surfaces: nested spheres for
:math:`w_0^2 + w_1^2 + w_2^2`, coaxial cylinders for :math:`w_0^2 + w_1^2`. Plotly draws them as
isosurfaces of L on a 3-D grid (one batched ``values`` call); the arrows are :math:`\nabla L` at points
of a coarser grid, drawn as cones: each is normal to the level surface through its foot and points
towards higher loss.
"""

from __future__ import annotations

import plotly.graph_objects as go
import torch

from losslab.errors import LosslabError, check_int
from losslab.objectives.domain import Domain, even_axis
from losslab.objectives.grid import view_domain
from losslab.objectives.objective import Objective

LEVEL_RESOLUTION = 32
ARROWS_PER_AXIS = 4


def level_values(objective: Objective, box: Domain, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The grid points (``resolution³ × 3``, ij order) and L at each, in one call."""
    axes = [even_axis(lo, hi, resolution) for lo, hi in box.bounds]
    points = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)
    with torch.no_grad():
        values = objective.values(points.to(objective.dtype)).to(torch.float64)
    return points, values


def level_surfaces(
    objective: Objective,
    *,
    domain: Domain | str | None = None,
    levels: int = 4,
    resolution: int = LEVEL_RESOLUTION,
    arrows: int = ARROWS_PER_AXIS,
) -> go.Figure:
    """Nested level surfaces of a 3-parameter loss and its gradient as arrows (plotly isosurfaces and cones).

    >>> from losslab.objectives.objective import formula
    >>> figure = level_surfaces(formula("w0**2 + w1**2 + w2**2"), domain="-2:2", resolution=12)
    >>> [trace.type for trace in figure.data]
    ['isosurface', 'cone']
    """
    if objective.dim != 3:
        raise LosslabError(
            f"level surfaces are drawn for a loss of 3 parameters; this one has {objective.dim}"
            f" ({', '.join(objective.names)}): use 'plot contour' or 'plot curve' (with --slice for more)"
        )
    check_int("levels", levels, least=1, most=12)
    check_int("resolution", resolution, least=6, most=64)
    check_int("arrows per axis", arrows, least=0, most=8)
    box = (
        domain
        if isinstance(domain, Domain)
        else Domain.parse(domain, objective.names)
        if domain
        else view_domain(objective)
    )
    points, values = level_values(objective, box, resolution)
    finite = values[torch.isfinite(values)]
    if finite.numel() == 0:
        raise LosslabError("the loss has no finite value in the box; choose another --domain")
    low, high = float(finite.min()), float(torch.quantile(finite, 0.6))
    figure = go.Figure(
        go.Isosurface(
            x=points[:, 0].tolist(),
            y=points[:, 1].tolist(),
            z=points[:, 2].tolist(),
            value=torch.nan_to_num(values, nan=high * 10, posinf=high * 10, neginf=low).tolist(),
            isomin=low + 0.1 * (high - low),
            isomax=high,
            surface_count=levels,
            opacity=0.35,
            caps={"x_show": False, "y_show": False, "z_show": False},
            colorscale="Viridis",
            colorbar={"title": {"text": "L"}},
            name="level surfaces L = c",
        )  # fmt: skip
    )
    if arrows:
        figure.add_trace(_gradient_cones(objective, box, arrows))
    names = objective.names
    figure.update_layout(
        title={"text": f"level surfaces of {objective.title or 'the loss'}; arrows: ∇L, normal to them"},
        scene={"xaxis_title": names[0], "yaxis_title": names[1], "zaxis_title": names[2]},
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
    )
    return figure


def _gradient_cones(objective: Objective, box: Domain, per_axis: int) -> go.Cone:
    """∇L at an inner grid (away from the box's faces), as cones of a size relative to the largest."""
    axes = [torch.linspace(lo, hi, per_axis + 2, dtype=torch.float64)[1:-1] for lo, hi in box.bounds]
    feet = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)
    gradients = objective.grads(feet.to(objective.dtype)).detach().to(torch.float64)
    keep = torch.isfinite(gradients).all(dim=1) & (torch.linalg.vector_norm(gradients, dim=1) > 1e-12)
    feet, gradients = feet[keep], gradients[keep]
    return go.Cone(
        x=feet[:, 0].tolist(), y=feet[:, 1].tolist(), z=feet[:, 2].tolist(),
        u=gradients[:, 0].tolist(), v=gradients[:, 1].tolist(), w=gradients[:, 2].tolist(),
        sizemode="scaled", sizeref=0.6, anchor="tail", showscale=False, colorscale=[[0, "#d62728"], [1, "#d62728"]],
        name="∇L",
    )  # fmt: skip
