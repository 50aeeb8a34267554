"""3-D surveys: values against a direct evaluation, the file, resumption, and the basins of a volume."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from losslab.errors import LosslabError
from losslab.landscape.basins import basins
from losslab.landscape.directions import random_directions
from losslab.landscape.surface import load_surface
from losslab.landscape.volume import volume_directions, volume_survey
from losslab.objectives.network import NetworkObjective


@pytest.fixture
def objective(data64):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 3)).double()
    return NetworkObjective(net, data64)


def test_values_are_the_loss_at_each_point(objective):
    directions = volume_directions(objective, seed=4)
    volume = volume_survey(objective, directions, grid=(5, 4, 3), ranges=[(-1, 1), (-0.5, 0.5), (-2, 2)])
    assert volume.shape == (5, 4, 3) and volume.complete
    for i, j, k in [(0, 0, 0), (4, 3, 2), (2, 1, 1), (3, 0, 2)]:
        coords = torch.tensor([volume.coordinates[0][i], volume.coordinates[1][j], volume.coordinates[2][k]])
        theta = directions.center + coords.to(torch.float64) @ directions.vectors
        assert float(volume.values["loss"][i, j, k]) == pytest.approx(float(objective.value(theta)), rel=1e-12)
    # the first two directions are the plane's of the same seed
    assert torch.equal(directions.vectors[:2], random_directions(objective, 2, seed=4).vectors)


def test_a_volume_file_reads_back_and_resumes_to_the_same_bits(objective, tmp_path):
    directions = volume_directions(objective, seed=1)
    whole = volume_survey(objective, directions, grid=5, chunk_size=8)
    out = tmp_path / "v.h5"

    def stop(done, _total):
        if done == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        volume_survey(objective, directions, grid=5, chunk_size=8, out=out, on_chunk=stop)
    partial = load_surface(out)
    assert partial.axis_names == ("a", "b", "c") and int(partial.computed.sum()) == 48
    resumed = volume_survey(objective, directions, grid=5, chunk_size=8, out=out, resume=True)
    assert torch.equal(resumed.values["loss"], whole.values["loss"])
    assert torch.equal(load_surface(out).values["accuracy"], whole.values["accuracy"])


def test_basins_of_a_volume(objective):
    volume = volume_survey(objective, volume_directions(objective, seed=2), grid=9, ranges=(-3, 3))
    report = basins(volume)
    assert report.basins[0].value == pytest.approx(float(volume.values["loss"].min()), abs=0)
    assert len(report.basins[0].point) == 3 and report.labels.shape == (9, 9, 9)


def test_a_volume_needs_three_directions(objective):
    with pytest.raises(LosslabError, match="a volume survey needs 3 directions, got 2"):
        volume_survey(objective, random_directions(objective, 2), grid=3)
