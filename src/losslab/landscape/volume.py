"""3-D surveys: a network's loss on a grid of three directions, ``θ(a, b, c) = center + a·d1 + b·d2 + c·d3``.

The same survey as a plane's (:mod:`losslab.landscape.survey`: the fast evaluator, chunks of the flat
grid in row-major order, the HDF5 file written chunk by chunk, ``resume``) with a third axis, ``c``.
Its :class:`~losslab.landscape.surface.Surface` has three axes and reads back with
:func:`~losslab.landscape.surface.load_surface`; its shape is what :func:`~losslab.landscape.basins.basins`
measures. Three random directions are normalized as a plane's are (filter-wise by default, Li et al. 2018).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from losslab.errors import LosslabError
from losslab.landscape.directions import Directions, normalize_direction
from losslab.landscape.limits import Ranges
from losslab.landscape.surface import Surface
from losslab.landscape.survey import SurveyOptions, plan_survey, run_plan, survey_options
from losslab.objectives.network import NetworkObjective


@dataclass
class VolumeDirections(Directions):
    """A center and three directions (rows of :attr:`vectors`): the axes of a 3-D survey."""

    def __post_init__(self) -> None:
        if self.vectors.dim() != 2 or self.vectors.shape[0] != 3:
            raise LosslabError(f"a volume needs 3 directions, got shape {tuple(self.vectors.shape)}")
        if self.vectors.shape[1] != self.center.numel():
            raise LosslabError(f"directions have {self.vectors.shape[1]} coordinates, the center {self.center.numel()}")


def volume_directions(
    objective: NetworkObjective, *, normalization: str = "filter", bias_bn: str = "zero", seed: int = 0
) -> VolumeDirections:
    """Three Gaussian directions from ``torch.Generator().manual_seed(seed)``, normalized against θ*
    (:func:`~losslab.landscape.directions.normalize_direction`); the first two are those of
    ``random_directions(objective, 2, seed=seed)``.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    >>> L = NetworkObjective(net, (torch.ones(5, 3), torch.zeros(5, dtype=torch.int64)))
    >>> volume_directions(L, seed=7).k
    3
    """
    generator = torch.Generator().manual_seed(seed)
    plane = torch.randn(2, objective.dim, generator=generator, dtype=torch.float64)  # as random_directions draws
    raw = torch.cat([plane, torch.randn(1, objective.dim, generator=generator, dtype=torch.float64)])
    vectors = torch.stack([normalize_direction(objective, r, normalization, bias_bn) for r in raw])
    kind = "random" if normalization == "none" else normalization
    return VolumeDirections(vectors, objective.center.clone(), kind, normalization, bias_bn, seed)


def volume_survey(
    objective: NetworkObjective,
    directions: Directions,
    grid: int | Sequence[int] = 21,
    ranges: Ranges = (-1.0, 1.0),
    *,
    options: SurveyOptions | None = None,
    **keywords: Any,
) -> Surface:
    """Loss (and accuracy) of a network on a 3-D grid, ``values[i, j, k] = L(c + a_i·d1 + b_j·d2 + c_k·d3)``.

    Takes what :func:`~losslab.landscape.survey.survey` takes (``out=``, ``resume=``, ``method=``…); a
    resumed volume equals an uninterrupted one bit for bit, as a plane does; under ``torchrun``,
    :func:`~losslab.landscape.distributed.distributed_survey` splits it over the ranks as a plane's.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).double()
    >>> L = NetworkObjective(net, (torch.ones(4, 2).double(), torch.tensor([0, 1, 1, 0])))
    >>> v = volume_survey(L, volume_directions(L), grid=5)
    >>> v.shape, v.axis_names, abs(v.center_value() - float(L.value(L.center))) < 1e-12
    ((5, 5, 5), ('a', 'b', 'c'), True)
    """
    if directions.k != 3:
        raise LosslabError(f"a volume survey needs 3 directions, got {directions.k}; use survey for a line or plane")
    options = survey_options(options, **keywords)
    return run_plan(plan_survey(objective, directions, grid, ranges, options=options), options)
