"""Network loss landscapes: directions, slices, surveys, surfaces, projections, scale-out.

>>> import torch
>>> from torch import nn
>>> from losslab.objectives.network import network
>>> net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
>>> L = network(net, (torch.randn(16, 2), torch.randint(0, 2, (16,))))
>>> surface = survey(L, random_directions(L, seed=0), grid=(5, 5), ranges=(-1, 1))
>>> surface.shape, sorted(surface.values)
((5, 5), ['accuracy', 'loss'])
"""

from losslab.landscape.basins import Basin, BasinReport, basins
from losslab.landscape.connect import connect
from losslab.landscape.connect_file import load_connection
from losslab.landscape.connect_plane import ConnectionPlane, connection_plane
from losslab.landscape.connection import Connection
from losslab.landscape.directions import (
    Directions,
    hessian_directions,
    hessian_extremes_directions,
    interpolation,
    make_directions,
    normalize_direction,
    pca_directions,
    plane_through,
    random_directions,
)
from losslab.landscape.distributed import distributed_survey
from losslab.landscape.engine import SliceEvaluator
from losslab.landscape.faithfulness import Faithfulness, faithfulness, read_faithfulness, save_faithfulness
from losslab.landscape.fingerprints import data_fingerprint, model_fingerprint
from losslab.landscape.given_directions import as_state_dicts, filter_normalized, given_directions
from losslab.landscape.projection import Projection, project
from losslab.landscape.regenerated import RegeneratedDirections
from losslab.landscape.regenerated_survey import regenerated_survey
from losslab.landscape.slices import LineObjective, PlaneObjective, SliceObjective
from losslab.landscape.surface import Surface, load_surface
from losslab.landscape.survey import SurveyOptions, plan_survey, survey
from losslab.landscape.volume import VolumeDirections, volume_directions, volume_survey

__all__ = [
    "Basin",
    "BasinReport",
    "Connection",
    "ConnectionPlane",
    "VolumeDirections",
    "basins",
    "connect",
    "connection_plane",
    "load_connection",
    "volume_directions",
    "volume_survey",
    "Directions",
    "Faithfulness",
    "LineObjective",
    "PlaneObjective",
    "Projection",
    "RegeneratedDirections",
    "SliceEvaluator",
    "SliceObjective",
    "Surface",
    "SurveyOptions",
    "as_state_dicts",
    "data_fingerprint",
    "faithfulness",
    "filter_normalized",
    "given_directions",
    "hessian_extremes_directions",
    "distributed_survey",
    "hessian_directions",
    "interpolation",
    "load_surface",
    "make_directions",
    "model_fingerprint",
    "normalize_direction",
    "pca_directions",
    "plan_survey",
    "plane_through",
    "project",
    "random_directions",
    "read_faithfulness",
    "regenerated_survey",
    "save_faithfulness",
    "survey",
]
