"""Pictures of surveyed lines and volumes: ``plot-surface`` refused both ("this picture needs 2 axes"), the
line between initialisation and θ* (``--directions interpolate``) among them. Oracles: the survey's own values
(the line drawn is them, point for point; each volume panel is the slice through the lowest point)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from losslab.cli.app import app
from losslab.objectives.grid import Grid
from losslab.plot.surveys import interactive_line, interactive_volume, line_survey, volume_slices


def _line_grid(streamed: bool) -> Grid:
    a = torch.linspace(-0.5, 1.5, 21, dtype=torch.float64)
    values = {"loss": (a - 1) ** 2 + 0.1, "accuracy": 1 - 0.5 * (a - 1).abs().clamp(max=1)}
    if streamed:
        values["loss_stderr"] = 0.01 + 0.0 * a
    return Grid(("a",), (a,), values)


@pytest.mark.parametrize("streamed", [False, True])
def test_the_line_drawn_is_the_surveyed_values(streamed: bool) -> None:
    grid = _line_grid(streamed)
    figure = line_survey(grid)
    loss_line = next(line for line in figure.axes[0].lines if line.get_gid() == "loss")
    np.testing.assert_array_equal(loss_line.get_ydata(), grid.values["loss"].numpy())
    lowest = next(line for line in figure.axes[0].lines if line.get_gid() == "lowest")
    assert lowest.get_xdata()[0] == pytest.approx(1.0) and lowest.get_ydata()[0] == pytest.approx(0.1)
    accuracy = next(line for line in figure.axes[1].lines if line.get_gid() == "accuracy")
    np.testing.assert_array_equal(accuracy.get_ydata(), grid.values["accuracy"].numpy())
    assert (len(figure.axes[0].collections) == 1) is streamed  # the ± sampling-error band
    page = interactive_line(grid)
    assert [trace.name for trace in page.data] == ["loss L", "accuracy"]
    assert (page.data[0].error_y.array is not None) is streamed


def test_each_volume_panel_is_the_slice_through_the_lowest_point() -> None:
    c = torch.linspace(-1, 1, 7, dtype=torch.float64)
    a, b, z = torch.meshgrid(c, c, c, indexing="ij")
    loss = (a - 1 / 3) ** 2 + 2 * (b + 2 / 3) ** 2 + 3 * z**2
    figure = volume_slices(Grid(("a", "b", "c"), (c, c, c), {"loss": loss}))
    assert [ax.get_title() for ax in figure.axes[:3]] == ["a–b at c = 0", "a–c at b = -0.667", "b–c at a = 0.333"]
    for ax, (x, y) in zip(figure.axes[:3], [(1 / 3, -2 / 3), (1 / 3, 0.0), (-2 / 3, 0.0)], strict=True):
        star = next(line for line in ax.lines if line.get_gid() == "lowest")
        assert (star.get_xdata()[0], star.get_ydata()[0]) == pytest.approx((x, y))
    page = interactive_volume(Grid(("a", "b", "c"), (c, c, c), {"loss": loss}))
    assert [trace.type for trace in page.data] == ["isosurface", "scatter3d"]
    assert (page.data[1].x[0], page.data[1].y[0], page.data[1].z[0]) == pytest.approx((1 / 3, -2 / 3, 0.0))


@pytest.mark.parametrize(("grid", "directions"), [("9", "interpolate"), ("3x3x3", "filter")])
def test_plot_surface_draws_a_surveyed_line_and_a_volume(grid: str, directions: str, tmp_path) -> None:
    survey = tmp_path / "s.h5"
    result = CliRunner().invoke(app, ["landscape", "--demo", "moons-mlp", "--steps", "20", "--directions", directions,
                                      "--grid", grid, "--out", str(survey)])  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("s.png", "s.html"):
        drawn = CliRunner().invoke(app, ["plot-surface", str(survey), "--out", str(tmp_path / name)])
        assert drawn.exit_code == 0, drawn.output
        assert (tmp_path / name).stat().st_size > 10_000
    wrong = CliRunner().invoke(app, ["plot-surface", str(survey), "--out", str(tmp_path / "x.png"), "--kind", "bars"])
    assert wrong.exit_code == 2 and "kind 'bars' is not one of contour, 3d" in wrong.output
    if grid == "9":  # `plot curve` takes a line survey as `plot contour` takes a plane's
        drawn = CliRunner().invoke(app, ["plot", "curve", str(survey), "--out", str(tmp_path / "c.png")])
        assert drawn.exit_code == 0 and (tmp_path / "c.png").stat().st_size > 10_000, drawn.output
        at = CliRunner().invoke(app, ["plot", "curve", str(survey), "--out", str(tmp_path / "c.png"), "--at", "0.3"])
        assert at.exit_code == 2 and "--at and --slice apply to formulas, not to a saved surface" in at.output
