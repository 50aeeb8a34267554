"""The user's own directions (tensors, state-dict mappings, files), handed back in the same form; filter
normalization on a raw direction; the Hessian-extremes plane."""

from __future__ import annotations

import json

import pytest
import torch
from torch import Tensor, nn
from typer.testing import CliRunner

from losslab.cli.app import app
from losslab.errors import LosslabError
from losslab.landscape import (
    PlaneObjective,
    as_state_dicts,
    filter_normalized,
    given_directions,
    hessian_extremes_directions,
    normalize_direction,
    random_directions,
)
from losslab.objectives.network import network


@pytest.fixture
def mlp(generator: torch.Generator):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    x = torch.randn(12, 3, generator=generator, dtype=torch.float64)
    return network(net, (x, torch.randint(0, 2, (12,), generator=generator)))


def test_directions_round_trip_through_state_dicts_and_files(mlp, tmp_path) -> None:
    used = random_directions(mlp, seed=3)
    mappings = as_state_dicts(mlp, used)
    assert list(mappings[0]) == list(mlp.shapes) and mappings[0]["0.weight"].shape == (5, 3)
    for form in (mappings, used.vectors, list(used.vectors)):
        torch.testing.assert_close(given_directions(mlp, form).vectors, used.vectors, rtol=0, atol=0)
    torch.save(mappings, tmp_path / "d.pt")
    again = given_directions(mlp, tmp_path / "d.pt")
    assert again.kind == "given" and torch.equal(again.vectors, used.vectors)
    line = given_directions(mlp, mappings[0])
    assert line.k == 1


def test_survey_takes_the_user_s_directions_and_regenerated_ones_as_they_are(mlp, tmp_path) -> None:
    """survey(L, [sd1, sd2]) died in an AttributeError ('list' object has no attribute 'k'), and so did
    survey(L, RegeneratedDirections(...)), now one line naming regenerated_survey. Each form surveys what
    given_directions gives (oracle: the value at each grid point evaluated directly, θ* + a·d₁ + b·d₂)."""
    from losslab.landscape import RegeneratedDirections, survey

    used = random_directions(mlp, seed=5)
    mappings = as_state_dicts(mlp, used)
    torch.save(mappings, tmp_path / "d.pt")
    for form in (mappings, used.vectors, tmp_path / "d.pt", str(tmp_path / "d.pt")):
        surface = survey(mlp, form, grid=3)
        assert surface.provenance["directions"] == "given"
        for i, a in enumerate(surface.coordinates[0].tolist()):
            for j, b in enumerate(surface.coordinates[1].tolist()):
                point = mlp.center + a * used.vectors[0] + b * used.vectors[1]
                assert float(surface.values["loss"][i, j]) == pytest.approx(float(mlp.value(point)), rel=1e-12)
    line = survey(mlp, mappings[0], grid=5)
    assert line.shape == (5,)
    with pytest.raises(LosslabError, match=r"RegeneratedDirections are surveyed by regenerated_survey\(L, directions"):
        survey(mlp, RegeneratedDirections(seed=2), grid=3)
    with pytest.raises(LosslabError, match="give 1 direction"):
        survey(mlp, 3, grid=3)


def test_filter_normalized_keeps_the_form_it_was_given(mlp, generator: torch.Generator) -> None:
    raw = torch.randn(mlp.dim, generator=generator, dtype=torch.float64)
    expected = normalize_direction(mlp, raw, "filter", "zero")
    torch.testing.assert_close(filter_normalized(mlp, raw), expected)
    as_mapping = filter_normalized(mlp, dict(mlp.unflatten(raw)))
    torch.testing.assert_close(torch.cat([v.reshape(-1) for v in as_mapping.values()]), expected)
    row = as_mapping["0.weight"][1]  # a filter: rescaled to the norm of θ*'s filter
    assert float(row.norm()) == pytest.approx(float(mlp.unflatten(mlp.center)["0.weight"][1].norm()), rel=1e-12)
    assert float(as_mapping["0.bias"].abs().max()) == 0.0


@pytest.mark.parametrize(
    ("directions", "message"),
    [
        (torch.zeros(3), r"shape \(3,\); expected \(32,\)"),
        ({"0.weight": torch.zeros(5, 3)}, "no entry for parameter '0.bias'"),
        (torch.zeros(3, 32), "give 1 direction"),
        (torch.full((32,), float("nan")), "non-finite"),
        ("absent.pt", "does not exist"),
    ],
    ids=["short", "missing-name", "three", "nan", "no-file"],
)
def test_bad_directions_are_one_line(mlp, directions, message: str) -> None:
    with pytest.raises(LosslabError, match=message) as raised:
        given_directions(mlp, directions)
    assert "\n" not in str(raised.value)


class Saddle(nn.Module):
    """Output p0² − p1² + 0.1·p2² + p0·p2 per sample: a saddle at p = 0 with Hessian eigenvalues of both signs."""

    def __init__(self) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.zeros(3, dtype=torch.float64))

    def forward(self, x: Tensor) -> Tensor:
        p = self.p
        return (p[0] ** 2 - p[1] ** 2 + 0.1 * p[2] ** 2 + p[0] * p[2]) * torch.ones_like(x)


def test_the_hessian_extremes_plane_shows_both_curvatures_of_a_saddle() -> None:
    L = network(Saddle(), (torch.ones(4), torch.zeros(4)), lambda out, y: out.mean())
    exact = torch.linalg.eigvalsh(L.hessian(L.center))
    plane = hessian_extremes_directions(L)
    assert plane.eigenvalues == pytest.approx((float(exact[-1]), float(exact[0])), rel=1e-8)
    curvature = torch.linalg.eigvalsh(PlaneObjective(L, plane).hessian([0.0, 0.0]))
    torch.testing.assert_close(curvature, torch.stack([exact[0], exact[-1]]), rtol=1e-8, atol=1e-10)


def test_cli_takes_hessian_extremes_and_a_directions_file(tmp_path, mlp) -> None:
    runner = CliRunner()
    base = ["landscape", "--demo", "moons-mlp", "--steps", "20", "--grid", "3x3", "--no-progress", "--json"]
    result = runner.invoke(app, [*base, "--directions", "hessian-extremes", "--out", str(tmp_path / "h.h5")])
    assert result.exit_code == 0, result.output
    provenance = json.loads(result.output)["provenance"]
    largest, most_negative = provenance["eigenvalues"]
    assert provenance["directions"] == "hessian-extremes" and most_negative < largest
    wrong = runner.invoke(app, [*base, "--directions", str(tmp_path / "none.pt"), "--out", str(tmp_path / "g.h5")])
    assert wrong.exit_code == 2 and "does not exist" in wrong.output
