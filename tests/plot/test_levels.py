"""Level surfaces of 3-parameter losses (Chapter 3, figs 3.8–3.9) and slices of losses with more parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from losslab.cli.app import app
from losslab.errors import LosslabError
from losslab.objectives.held import hold
from losslab.objectives.objective import formula
from losslab.plot.levels import level_surfaces, level_values


def test_sphere_levels_are_the_loss_and_arrows_point_radially_outward() -> None:
    sphere = formula("w0**2 + w1**2 + w2**2")
    figure = level_surfaces(sphere, domain="-2:2", resolution=8, arrows=3)
    iso, cones = figure.data
    points = torch.tensor([iso.x, iso.y, iso.z], dtype=torch.float64).T
    assert torch.allclose(torch.tensor(iso.value, dtype=torch.float64), (points**2).sum(dim=1), atol=1e-12)
    feet = torch.tensor([cones.x, cones.y, cones.z], dtype=torch.float64).T
    arrows = torch.tensor([cones.u, cones.v, cones.w], dtype=torch.float64).T
    assert torch.allclose(arrows, 2 * feet, atol=1e-12)  # ∇L = 2w: along the radius, normal to the sphere


def test_cylinder_arrows_have_no_axial_part() -> None:
    cylinder = formula("w0**2 + w1**2", ["w0", "w1", "w2"])
    cones = level_surfaces(cylinder, domain="-2:2", resolution=8, arrows=3).data[1]
    assert all(w == 0 for w in cones.w) and any(u != 0 for u in cones.u)


def test_level_values_one_call_matches_pointwise() -> None:
    loss = formula("w0*w1 + exp(w2)")
    from losslab.objectives.domain import Domain

    points, values = level_values(loss, Domain.box(loss.names, -1, 1), 5)
    assert points.shape == (125, 3)
    direct = torch.stack([loss.value(p) for p in points[::17]])
    assert torch.allclose(values[::17], direct, atol=1e-12)


SLICES = [
    ("w0,w1;w2=0.5", ("w0", "w1"), "w0=1,w1=2", 1 + 8 + 0.25),
    ("w1;w0=1,w2=-1", ("w1",), "w1=2", 1 + 8 + 1),
    (" w2 , w0 ; w1 = 0 ", ("w2", "w0"), "w2=3,w0=1", 1 + 9),
]


@pytest.mark.parametrize(("spec", "names", "at", "value"), SLICES, ids=[s for s, _, _, _ in SLICES])
def test_slices_hold_the_rest(spec: str, names: tuple[str, ...], at: str, value: float) -> None:
    sliced = hold(formula("w0**2 + 2*w1**2 + w2**2"), spec)
    assert sliced.names == names and float(sliced.value(at)) == pytest.approx(value, abs=1e-12)


BAD_SLICES = [
    ("w0,w1", "neither varies nor holds w2"),
    ("w0,w1,w2;", "must vary 1 or 2 parameters"),
    ("v;w0=1,w1=1,w2=1", "varies v, not parameters"),
    ("w0;w1=one,w2=0", "is not a number"),
    ("w0;w1,w2=0", "is not 'parameter=value'"),
    (";w0=1", "must vary 1 or 2"),
]


@pytest.mark.parametrize(("spec", "message"), BAD_SLICES, ids=[s for s, _ in BAD_SLICES])
def test_bad_slices_say_what_to_write(spec: str, message: str) -> None:
    with pytest.raises(LosslabError, match=message):
        hold(formula("w0**2 + 2*w1**2 + w2**2"), spec)


def test_levels_need_three_parameters() -> None:
    with pytest.raises(LosslabError, match="3 parameters; this one has 2"):
        level_surfaces(formula("w0**2 + w1**2"))


def test_cli_levels_and_slices(tmp_path: Path) -> None:
    runner = CliRunner()
    page = tmp_path / "levels.html"
    result = runner.invoke(app, ["plot", "levels", "w0**2 + w1**2 + w2**2", "--out", str(page), "--resolution", "10"])
    assert result.exit_code == 0, result.output
    assert page.stat().st_size > 1000 and "isosurface" in page.read_text()
    still = tmp_path / "slice.png"
    result = runner.invoke(
        app, ["plot", "contour", "w0**2 + w1**2 + w2**2", "--slice", "w0,w1;w2=0.5", "--out", str(still)]
    )
    assert result.exit_code == 0 and still.stat().st_size > 1000, result.output
    for args, says in (
        (["plot", "levels", "w0**2 + w1**2", "--out", str(page)], "3 parameters"),
        (["plot", "levels", "w0**2 + w1**2 + w2**2", "--out", str(tmp_path / "x.png")], ".html"),
        (["plot", "curve", "w0**2 + w1**2 + w2**2", "--slice", "w0", "--out", str(still)], "neither varies nor holds"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output
