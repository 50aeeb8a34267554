"""What the still pictures show: the paths are the trajectories, the marks are the stationary points,
the levels are log-spaced on Rosenbrock, the field is the gradient, a divergence stays in frame."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.contour import ContourSet
from matplotlib.quiver import Quiver

from losslab import plot
from losslab.analysis.stationary import stationary_points
from losslab.descent.run import descend, lr_sweep
from losslab.objectives.gallery import gallery
from losslab.objectives.objective import formula


def himmelblau_gradient(points: torch.Tensor) -> torch.Tensor:
    """∇ of (x² + y − 11)² + (x + y² − 7)², written out by hand (the oracle)."""
    x, y = points[:, 0], points[:, 1]
    a, b = x**2 + y - 11, x + y**2 - 7
    return torch.stack([4 * x * a + 2 * b, 2 * a + 4 * y * b], dim=-1)


def lines_by_gid(fig, index: int = 0) -> dict:
    return {line.get_gid(): line for line in fig.axes[index].lines if line.get_gid()}


def test_each_path_line_holds_exactly_the_trajectory(himmelblau_runs) -> None:
    fig = plot.contour(gallery("himmelblau"), himmelblau_runs, resolution=60)
    lines = lines_by_gid(fig)
    for i, run in enumerate(himmelblau_runs):
        assert np.array_equal(lines[f"path:{i}"].get_xydata(), run.params.numpy())
        assert lines[f"path:{i}"].get_label().startswith(run.optimizer)


@pytest.mark.parametrize("name", ["himmelblau", "six_hump_camel", "styblinski_tang"])
def test_marked_points_are_the_known_stationary_points_by_kind(name: str) -> None:
    L = gallery(name)
    lines = lines_by_gid(plot.contour(L, resolution=40))
    for kind in ("minimum", "maximum", "saddle"):
        expected = sorted(p.point for p in L.known_points if p.kind == kind)
        got = sorted(map(tuple, lines[f"stationary:{kind}"].get_xydata().tolist())) if expected else []
        assert np.allclose(np.array(got).reshape(-1, 2), np.array(expected).reshape(-1, 2), rtol=0, atol=1e-12)
        assert len(got) == len(expected)


def test_without_known_points_the_marks_come_from_stationary_points() -> None:
    L = formula("x**3 - 3*x + y**2", domain="-2:2")
    found = stationary_points(L, L.domain)
    lines = lines_by_gid(plot.contour(L, resolution=40))
    for point in found:
        xy = lines[f"stationary:{point.kind}"].get_xydata()
        assert any(np.allclose(row, point.point.numpy(), atol=1e-10) for row in xy)
    assert {p.kind for p in found} == {"minimum", "saddle"}


def contour_set(fig) -> ContourSet:
    [filled] = [c for c in fig.axes[0].collections if isinstance(c, ContourSet) and c.get_gid() == "contour"]
    return filled


def test_rosenbrock_gets_the_asked_number_of_log_spaced_levels() -> None:
    fig = plot.contour(gallery("rosenbrock"), levels=15, resolution=200)
    levels = np.asarray(contour_set(fig).levels)
    assert len(levels) == 16
    above = levels[1:] - levels[0]
    ratios = above[1:] / above[:-1]
    assert np.allclose(ratios, ratios[0], rtol=1e-9) and ratios[0] > 1.5


def test_himmelblau_levels_are_evenly_spaced() -> None:
    levels = np.asarray(contour_set(plot.contour(gallery("himmelblau"), resolution=100)).levels)
    assert np.allclose(np.diff(levels), np.diff(levels)[0])


def test_the_field_arrows_are_the_normalized_gradient() -> None:
    fig = plot.contour(gallery("himmelblau"), field="gradient", resolution=40)
    [arrows] = [c for c in fig.axes[0].collections if isinstance(c, Quiver)]
    where = torch.as_tensor(arrows.XY, dtype=torch.float64)
    oracle = himmelblau_gradient(where)
    oracle = oracle / torch.linalg.vector_norm(oracle, dim=-1, keepdim=True)
    assert np.allclose(arrows.U, oracle[:, 0].numpy(), atol=1e-10)
    assert np.allclose(arrows.V, oracle[:, 1].numpy(), atol=1e-10)


def test_a_diverging_run_stays_in_frame_and_is_marked() -> None:
    L = gallery("shifted_parabola")
    wild = descend(L, "w=0", lr=2.0, steps=20)
    fig = plot.curve(L, wild)
    ax, lines = fig.axes[0], lines_by_gid(fig)
    assert ax.get_xlim() == (-2.0, 8.0)
    assert ax.get_ylim()[1] < 60  # the curve's own range (L(-2) = 25) plus a margin, not 1e6
    drawn = lines["path:0"].get_xydata()
    assert drawn.tolist() == [[0.0, 9.0], [12.0, 81.0]]  # up to the first point outside the frame
    assert lines["diverged"].get_xydata().tolist() == [[0.0, 9.0]]
    assert "diverged" in lines["path:0"].get_label()


def test_a_diverging_2d_run_keeps_the_domain_as_axes() -> None:
    L = gallery("ill_conditioned")
    wild = descend(L, "w0=2,w1=1", lr=0.03, steps=50)
    assert wild.diagnosis.status == "diverged"
    ax = plot.contour(L, wild, resolution=40).axes[0]
    assert ax.get_xlim() == (-3.0, 3.0) and ax.get_ylim() == (-3.0, 3.0)
    assert "diverged" in lines_by_gid(ax.figure)


def test_taylor_lines_follow_the_derivatives() -> None:
    fig = plot.curve(gallery("hand_simulation"), at=0.0, orders=(1, 2))
    lines = lines_by_gid(fig)
    w, tangent = lines["taylor:1"].get_xydata().T
    assert np.allclose(tangent, 5 - 4 * w, atol=1e-12)  # L(0) = 5, L'(0) = −4
    w, quadratic = lines["taylor:2"].get_xydata().T
    assert np.allclose(quadratic, w**2 - 4 * w + 5, atol=1e-12)  # exact for a parabola


def test_the_chord_points_are_the_seeds() -> None:
    lines = lines_by_gid(plot.curve(formula("x**2"), domain="-4:6", chord=(-3.0, 5.0, 0.3)))
    assert np.allclose(lines["chord:C"].get_xydata(), [[2.6, 20.2]], rtol=0, atol=1e-12)  # 0.3·9 + 0.7·25
    assert np.allclose(lines["chord:D"].get_xydata(), [[2.6, 6.76]], rtol=0, atol=1e-12)  # 2.6²


def test_history_lines_are_the_run() -> None:
    run = descend(gallery("hand_simulation"), "w=0", lr=0.3, steps=8)
    w = plot.parameter_history(run).axes[0].lines[0].get_ydata()
    assert np.array_equal(w, run.params[:, 0].numpy())
    loss = plot.loss_history(run, scale="log").axes[0]
    assert loss.get_yscale() == "log" and np.array_equal(loss.lines[0].get_ydata(), run.losses.numpy())
    norm = plot.gradient_norm_history(run).axes[0].lines[0].get_ydata()
    assert np.allclose(norm, run.grads.abs()[:, 0].numpy(), atol=1e-12)


def test_the_sweep_marks_2_over_lambda_max() -> None:
    result = lr_sweep(gallery("shifted_parabola"), "w=0", [0.1, 0.5, 1.0, 2.0], steps=50)
    lines = lines_by_gid(plot.sweep(result))
    assert lines["max_stable_lr"].get_xdata()[0] == pytest.approx(1.0, abs=1e-12)
    assert lines["status:diverged"].get_xdata().tolist() == [2.0]


def test_the_surface_path_is_drawn_at_the_losses(himmelblau_runs) -> None:
    fig = plot.surface(gallery("himmelblau"), himmelblau_runs[:1], resolution=30)
    x, y, z = lines_by_gid(fig)["path:0"].get_data_3d()
    run = himmelblau_runs[0]
    assert np.array_equal(np.c_[x, y], run.params.numpy()) and np.array_equal(z, run.losses.numpy())


def test_axis_labels_name_the_parameters_and_titles_say_what_is_shown() -> None:
    ax = plot.contour(gallery("case_study_2"), resolution=40).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$w_{0}$", "$w_{1}$")
    assert ax.get_title() == "contour map of Case Study 2: Maya's two-parameter bowl"


def test_the_race_shows_every_run_on_the_map_and_on_the_loss_axis(himmelblau_runs) -> None:
    fig = plot.race(gallery("himmelblau"), himmelblau_runs, resolution=40)
    map_lines, loss_lines = lines_by_gid(fig, 0), lines_by_gid(fig, 1)
    for i, run in enumerate(himmelblau_runs):
        assert np.array_equal(map_lines[f"path:{i}"].get_xydata(), run.params.numpy())
        assert np.array_equal(loss_lines[f"path:{i}"].get_ydata(), run.losses.numpy())


def test_interactive_flag_returns_plotly_figures_with_the_paths() -> None:
    import plotly.graph_objects as go

    import losslab
    import losslab.plot

    bowl = losslab.gallery("case_study_2")
    run = losslab.descend(bowl, "w0=0,w1=0", lr=0.1, steps=10)
    flat = losslab.plot.contour(bowl, run, resolution=40, interactive=True)
    solid = losslab.plot.surface(bowl, run, resolution=40, interactive=True)
    assert isinstance(flat, go.Figure) and isinstance(solid, go.Figure)
    assert [t.type for t in flat.data] == ["contour", "scatter"]
    assert list(flat.data[1].x) == run.params[:, 0].tolist()
    assert list(solid.data[1].z) == run.losses.tolist()


def test_a_flat_region_of_minima_is_drawn_as_the_region_not_a_star() -> None:
    """max(0, x² + y² − 1) is lowest on the whole unit disc: the map put a star at one point of it. It is hatched
    where the grid is at its level — exactly the grid points with x² + y² ≤ 1 (closed form) — with a legend entry."""
    from losslab.plot._marks import on_level
    from losslab.plot.grid import as_surface

    disc = formula("max(0, x**2 + y**2 - 1)")
    fig = plot.contour(disc, resolution=81)
    ax = fig.axes[0]
    assert "stationary:minimum" not in lines_by_gid(fig)
    assert [p.get_gid() for p in ax.patches] == ["stationary:region:minimum"]
    assert "minima (a flat region)" in ax.get_legend_handles_labels()[1]
    surface = as_surface(disc, None, resolution=81)
    x, y = surface.coordinates
    inside = (x[:, None] ** 2 + y[None, :] ** 2 <= 1)
    assert torch.equal(on_level(surface.values["loss"], 0.0), inside)


def test_a_curve_of_minima_is_drawn_along_itself_not_as_a_star() -> None:
    """(x² + y² − 1)² is lowest all along the unit circle: the map put a star at (−1, 0). The circle is drawn
    (every vertex on x² + y² = 1 to 1e-9, closed form), the maximum at the centre keeps its triangle; the ring
    of sin(x + y)'s maxima is drawn black on white, its minima white on black."""
    for draw in (plot.contour, plot.heatmap):
        fig = draw(formula("(x**2 + y**2 - 1)**2"), domain="-2:2", resolution=41)
        lines = lines_by_gid(fig)
        assert "stationary:minimum" not in lines and lines["stationary:maximum"].get_xydata().tolist() == [[0.0, 0.0]]
        ring = lines["stationary:curve:minimum"].get_xydata()
        assert np.abs((ring**2).sum(-1) - 1).max() < 1e-9 and ring.shape[0] >= 20
        assert "minima (a line or curve)" in fig.axes[0].get_legend_handles_labels()[1]
    ring = formula("(x**2 + y**2 - 1)**2")
    found = stationary_points(ring)  # its shown point (−1, 0) is outside this frame
    quarter = lines_by_gid(plot.contour(ring, domain="0.5:2", resolution=21, stationary=found))
    assert "stationary:curve:minimum" in quarter and "stationary:maximum" not in quarter
    waves = [line for line in plot.contour(formula("sin(x + y)"), resolution=41).axes[0].lines
             if (line.get_gid() or "").startswith("stationary:curve:")]  # fmt: skip
    kinds = sorted({(line.get_gid(), line.get_color()) for line in waves})
    assert kinds == [("stationary:curve:maximum", "black"), ("stationary:curve:minimum", "white")]
    for line in waves:
        xy = line.get_xydata()
        assert np.abs(np.sin(xy.sum(-1)) - (1 if line.get_gid().endswith("maximum") else -1)).max() < 1e-9


def test_a_flat_stretch_is_drawn_along_the_curve() -> None:
    """min(x², 1) is a maximum all along |x| ≥ 1 and a minimum at 0: the stretches are drawn where |x| ≥ 1 (closed
    form), the minimum keeps its star."""
    fig = plot.curve(formula("min(x**2, 1)"), resolution=401)
    lines = lines_by_gid(fig)
    stretch = lines["stationary:region:maximum"]
    xs, ys = (np.asarray(v, dtype=float) for v in (stretch.get_xdata(), stretch.get_ydata()))
    drawn = ~np.isnan(ys)
    assert np.array_equal(drawn, np.abs(xs) >= 1) and np.all(ys[drawn] == 1.0)
    assert lines["stationary:minimum"].get_xdata().tolist() == [0.0]
