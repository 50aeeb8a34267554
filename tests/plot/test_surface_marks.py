"""The stationary points on the 3-D surfaces (the still picture, the rotatable page, ``losslab plot surface``): each
mark at (θ, L(θ)) in its kind's shape, a curve of them along the surface at its level, a flat region's outline at its
level. Oracles: Himmelblau's closed form and its gallery points, the unit circle, the cone's tip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from losslab import plot
from losslab.cli.app import app
from losslab.objectives.gallery import gallery
from losslab.objectives.objective import formula
from losslab.plot.grid import as_surface
from losslab.plot.interactive import LIFT


def himmelblau(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def lines3d(fig) -> dict[str, list[np.ndarray]]:
    """Each gid's 3-D lines as (n, 3) rows."""
    found: dict[str, list[np.ndarray]] = {}
    for line in fig.axes[0].lines:
        if line.get_gid():
            found.setdefault(line.get_gid(), []).append(np.c_[tuple(np.asarray(v, float) for v in line.get_data_3d())])
    return found


def traces(fig) -> dict[str, object]:
    return {trace.name: trace for trace in fig.data}


def test_the_still_surface_marks_each_stationary_point_at_its_height() -> None:
    L = gallery("himmelblau")
    lines = lines3d(plot.surface(L, resolution=30))
    for kind in ("minimum", "maximum", "saddle"):
        expected = np.array(sorted(p.point for p in L.known_points if p.kind == kind))
        [rows] = lines[f"stationary:{kind}"]
        rows = rows[np.lexsort(rows[:, :2].T[::-1])]
        assert np.allclose(rows[:, :2], expected, rtol=0, atol=1e-12)
        assert np.allclose(rows[:, 2], himmelblau(expected[:, 0], expected[:, 1]), rtol=0, atol=1e-9)
    cone = lines3d(plot.surface(gallery("cone"), resolution=30))
    assert [rows.tolist() for rows in cone["stationary:kink"]] == [[[0.0, 0.0, 0.0]]]
    bare = lines3d(plot.surface(L, resolution=30, stationary=False))
    assert not [gid for gid in bare if gid.startswith("stationary:")]


def test_a_ring_of_minima_runs_along_the_surface_and_a_flat_region_is_outlined_at_its_level() -> None:
    fig = plot.surface(formula("(x**2 + y**2 - 1)**2"), domain="-2:2", resolution=41)
    lines = lines3d(fig)
    [ring] = lines["stationary:curve:minimum"]
    assert np.abs((ring[:, :2] ** 2).sum(-1) - 1).max() < 1e-9 and np.all(ring[:, 2] == 0.0) and len(ring) >= 20
    assert [rows.tolist() for rows in lines["stationary:maximum"]] == [[[0.0, 0.0, 1.0]]]
    assert "stationary:minimum" not in lines
    assert "minima (a line or curve)" in fig.axes[0].get_legend_handles_labels()[1]
    disc = formula("max(0, x**2 + y**2 - 1)")
    fig = plot.surface(disc, resolution=81)
    outline = np.concatenate(lines3d(fig)["stationary:region:minimum"])
    spacing = float(as_surface(disc, None, resolution=81).coordinates[0].diff()[0])
    radius = np.sqrt((outline[:, :2] ** 2).sum(-1))
    # the line round the grid points at L = 0, which are exactly those with x² + y² ≤ 1: within a cell of the circle
    assert np.all(outline[:, 2] == 0.0) and np.abs(radius - 1).max() <= spacing
    assert "minima (a flat region)" in fig.axes[0].get_legend_handles_labels()[1]
    assert not [gid for gid in lines3d(fig) if gid in ("stationary:minimum", "stationary:degenerate")]


def test_the_rotatable_page_writes_each_mark_as_its_glyph_a_hair_above_l() -> None:
    L = gallery("himmelblau")
    fig = plot.interactive_surface(L, resolution=30)
    values = fig.data[0].z
    lift = LIFT * (np.nanmax(values) - np.nanmin(values))
    marks = traces(fig)
    shapes = (("minimum", "★", "minimum"), ("maximum", "▲", "maximum"), ("saddle", "✖", "saddle point"))
    for kind, glyph, words in shapes:
        trace = marks[words]
        expected = np.array([p.point for p in L.known_points if p.kind == kind])
        assert set(trace.text) == {glyph} and trace.mode == "text" and len(trace.text) == len(expected)
        got = np.c_[trace.x, trace.y]
        order, want = np.lexsort(got.T[::-1]), np.lexsort(expected.T[::-1])
        assert np.allclose(got[order], expected[want], rtol=0, atol=1e-12)
        truth = himmelblau(expected[want, 0], expected[want, 1])
        assert np.allclose(np.asarray(trace.customdata)[order], truth, rtol=0, atol=1e-9)
        assert np.allclose(np.asarray(trace.z)[order] - truth, lift, rtol=1e-12, atol=1e-9)
    assert fig.layout.annotations[0].text == "★ minimum   ▲ maximum   ✖ saddle point"
    ring = traces(plot.interactive_surface(formula("(x**2 + y**2 - 1)**2"), domain="-2:2", resolution=41))
    curve = ring["minima (a line or curve)"]
    xy = np.array([(x, y) for x, y in zip(curve.x, curve.y, strict=True) if x is not None])
    assert np.abs((xy**2).sum(-1) - 1).max() < 1e-9 and curve.line.color == "white"
    assert {z for z in curve.z if z is not None} == {LIFT * float(np.nanmax(ring["loss"].z))}
    assert list(ring["maximum"].customdata) == [1.0]
    disc = traces(plot.interactive_surface(formula("max(0, x**2 + y**2 - 1)"), resolution=81))
    edge = disc["minima (a flat region)"]
    radius = np.hypot([x for x in edge.x if x is not None], [y for y in edge.y if y is not None])
    assert np.abs(radius - 1).max() <= 10 / 80 and "minimum" not in disc


def test_the_cli_page_names_its_marks(tmp_path: Path) -> None:
    target = tmp_path / "himmelblau.html"
    result = CliRunner().invoke(app, ["plot", "surface", "himmelblau", "--out", str(target)])
    assert result.exit_code == 0, result.stdout
    page = target.read_text(encoding="utf-8")
    for words in ("★ minimum", "▲ maximum", "✖ saddle point"):
        assert words in page or words.encode("unicode_escape").decode() in page
