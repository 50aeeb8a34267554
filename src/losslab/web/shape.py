"""The shape of a landscape as the page's JSON: a grid's basins (with each point's basin, for colouring), and
the minimum-energy path between two minima.

No maths here: :func:`losslab.landscape.basins.basins` and
:func:`losslab.analysis.energy_path.minimum_energy_path` compute; this module lays their answers out.
"""

from __future__ import annotations

import math
from typing import Any, cast

import torch

from losslab.analysis.energy_path import minimum_energy_path
from losslab.course.classifiers import boundary_frames
from losslab.errors import LosslabError
from losslab.landscape.basins import basins
from losslab.objectives.data import DataObjective
from losslab.objectives.grid import Grid, plotly_layout
from losslab.objectives.objective import Objective
from losslab.serialize import jsonable

MOST_BOUNDARY_VALUES = 600_000  # frames × points²: ~6 MB of JSON
MOST_BASINS = 12  # the page colours at most this many; shallower basins are folded into their partners


def basins_json(grid: Grid) -> dict[str, Any]:
    """The basins of ``grid`` (:meth:`BasinReport.to_dict`) and ``labels``: each point's basin in Plotly's layout
    (rows = the second axis, as :func:`losslab.web.service.grid_json` writes the values), ``-1`` where nothing
    was computed. At most :data:`MOST_BASINS` basins, the most persistent.

    >>> from losslab.objectives.gallery import gallery
    >>> from losslab.objectives.grid import evaluate_grid
    >>> shape = basins_json(evaluate_grid(gallery("himmelblau"), resolution=41))
    >>> len(shape["basins"]), len(shape["labels"]), sorted({v for row in shape["labels"] for v in row})
    (4, 41, [0, 1, 2, 3])
    """
    report = basins(grid)
    if len(report.basins) > MOST_BASINS:
        lasting = sorted((b.persistence for b in report.basins if math.isfinite(b.persistence)), reverse=True)
        report = basins(grid, min_persistence=lasting[MOST_BASINS - 2])
    return jsonable({**report.to_dict(), "labels": plotly_layout(report.labels).tolist()})


def energy_path_json(objective: Objective, a: list[float], b: list[float], images: int) -> dict[str, Any]:
    """The minimum-energy path from ``a`` to ``b`` (:func:`minimum_energy_path`) with the parameters' names and
    the path's one-line description (``text``)."""
    for which, point in (("a", a), ("b", b)):
        if len(point) != objective.dim:
            names = ", ".join(objective.names)
            raise LosslabError(f"{which} has {len(point)} coordinates; the loss has {objective.dim} ({names})")
    path = minimum_energy_path(objective, torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64),
                               images=images)  # fmt: skip
    if not math.isfinite(path.saddle_value):
        raise LosslabError(f"the path from {a} to {b} leaves the loss's domain (L is not finite on it)")
    return jsonable({"names": list(objective.names), **path.to_dict(), "text": str(path)})


def boundary_json(objective: Objective, params: list[list[Any]], points: int) -> dict[str, Any]:
    """:func:`losslab.course.classifiers.boundary_frames` as the page's JSON: the inputs' axes, the labelled points
    (each input and ``y``), and P(y = 1) per θ_k with rows along the second input (Plotly's layout)."""
    if len(params) * points * points > MOST_BOUNDARY_VALUES:
        raise LosslabError(f"{len(params)} frames of {points}×{points} points are more than "
                           f"{MOST_BOUNDARY_VALUES} values; send fewer steps or points")  # fmt: skip
    thetas = [[float(v) for v in row] for row in params]  # "NaN", "Infinity" as the race wrote them
    frames = boundary_frames(objective, thetas, points)  # refuses anything but a classifier of two inputs
    classifier = cast(DataObjective, objective)
    columns = classifier.data
    data = {name: columns[name].tolist() for name in frames.names} | {"y": columns[classifier.target].tolist()}
    axes = [axis.tolist() for axis in frames.axes]
    return jsonable({"names": list(frames.names), "axes": axes, "data": data,
                     "probability": frames.probability.transpose(1, 2).round(decimals=4).tolist()})  # fmt: skip
