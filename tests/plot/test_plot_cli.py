"""``losslab plot …`` and ``losslab tour --out``: the file asked for, in its format, or one line and exit 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from losslab.cli.app import app
from losslab.plot.contours import MAX_LEVELS

runner = CliRunner()
MAGIC = {"png": b"\x89PNG", "svg": b"<?xml", "pdf": b"%PDF", "gif": b"GIF8", "html": b"<html"}

CASES = [
    ("curve", ["curve", "(w - 3)**2", "--start", "w=0", "--optimizer", "gd:lr=0.1", "--at", "1"], "png"),
    ("curve-gif", ["curve", "shifted_parabola", "--start", "w=0", "--steps", "4"], "gif"),
    ("contour", ["contour", "himmelblau", "--start", "x=0,y=0", "--field", "descent"], "svg"),
    ("contour-pdf", ["contour", "rosenbrock"], "pdf"),
    ("surface-html", ["surface", "himmelblau", "--start", "x=0,y=0", "--optimizer", "adam:lr=0.1"], "html"),
    ("surface-png", ["surface", "case_study_2"], "png"),
    ("race", ["race", "rosenbrock", "--start", "x=-1.5,y=2", "--optimizer", "gd:lr=0.001",
              "--optimizer", "adam:lr=0.05", "--steps", "30"], "png"),
    ("race-gif", ["race", "case_study_2", "--start", "w0=0,w1=0", "--steps", "3"], "gif"),
    ("sweep", ["sweep", "(w - 3)**2", "--start", "w=0", "--lrs", "0.1,0.5,1,2", "--steps", "30"], "png"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "extension"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_command_writes_the_format_its_extension_asks_for(tmp_path: Path, args: list[str], extension: str) -> None:
    target = tmp_path / f"picture.{extension}"
    result = runner.invoke(app, ["plot", *args, "--out", str(target)])
    assert result.exit_code == 0, result.stderr + result.stdout
    assert result.stdout.strip() == f"wrote {target}"
    head = target.read_bytes()[:400]
    assert MAGIC[extension] in head


def test_a_race_film_has_one_frame_per_step(tmp_path: Path) -> None:
    target = tmp_path / "race.gif"
    args = ["plot", "race", "case_study_2", "--start", "w0=0,w1=0", "--optimizer", "gd", "--steps", "5"]
    assert runner.invoke(app, [*args, "--out", str(target)]).exit_code == 0
    with Image.open(target) as gif:
        assert gif.n_frames == 6


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["contour", "himmelblau", "--out", "x.bmp"], "extension '.bmp' is not one of png, svg, pdf, gif, mp4, html"),
        (["sweep", "(w-3)**2", "--start", "w=0", "--lrs", "0.1", "--out", "x.gif"], "still one"),
        (["contour", "himmelblau", "--out", "x.gif"], "needs a descent to show"),
        (["contour", "w0 + w1 + w2", "--out", "x.png"], "1 or 2 parameters"),
        (["curve", "(w-3)**2", "--optimizer", "adam", "--out", "x.png"], "--optimizer needs --start"),
        (["boundary", "--demo", "spirals", "--out", "x.png"], "--demo 'spirals' is not one of moons"),
        (["contour", "himmelblau", "--field", "curl", "--out", "x.png"], "field 'curl' is not one of"),
        (["contour", "x**2+y**2", "--levels", "100000000", "--out", "x.png"], "levels must be at most 1000"),
    ],
    ids=[
        "bmp",
        "sweep-gif",
        "film-without-run",
        "three-params",
        "optimizer-without-start",
        "demo",
        "field",
        "levels",
    ],  # fmt: skip
)
def test_bad_requests_are_one_line_and_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    out = args.index("--out") + 1
    args = [*args[:out], str(tmp_path / args[out]), *args[out + 1 :]]
    result = runner.invoke(app, ["plot", *args])
    assert result.exit_code == 2, result.stdout
    assert words in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_boundary_from_a_csv(tmp_path: Path) -> None:
    csv = tmp_path / "points.csv"
    csv.write_text("x1,x2,y\n0,0,0\n1,0,0\n0,1,0\n3,3,1\n4,3,1\n3,4,1\n1.5,2,1\n2,1.2,0\n")
    target = tmp_path / "boundary.png"
    result = runner.invoke(app, ["plot", "boundary", str(csv), "--out", str(target), "--steps", "50"])
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes().startswith(MAGIC["png"])


def test_boundary_of_the_moons_demo(tmp_path: Path) -> None:
    target = tmp_path / "moons.png"
    result = runner.invoke(app, ["plot", "boundary", "--demo", "moons", "--steps", "30", "--out", str(target)])
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes().startswith(MAGIC["png"])


def test_tour_out_writes_every_seed_figure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import losslab.course.figures as tour_figures

    cheap = {name: tour_figures.FIGURES[name] for name in ("cs1_descent.png", "fig3_16_chords.png")}
    monkeypatch.setattr(tour_figures, "FIGURES", cheap)  # every figure is drawn in test_plot_files
    monkeypatch.setattr("losslab.course.tour.SECTIONS", ())
    result = runner.invoke(app, ["tour", "--out", str(tmp_path / "figures"), "--json"])
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == sorted(cheap)
    assert result.stdout.startswith("{")  # the JSON report stays one document on stdout


def test_more_levels_than_colours_are_drawn_one_colour_per_band() -> None:
    """Log levels on Rosenbrock are exactly the number asked for; beyond the colour map's 256 colours
    it is resampled (a BoundaryNorm needs a colour per band: 300 levels were a ValueError)."""
    from losslab.objectives.gallery import gallery
    from losslab.plot import contour

    fig = contour(gallery("rosenbrock"), levels=MAX_LEVELS, resolution=40, stationary=False)
    filled = next(c for c in fig.axes[0].collections if c.get_gid() == "contour")
    assert len(filled.levels) == MAX_LEVELS + 1 and filled.cmap.N == MAX_LEVELS


def _saved_surface(folder: Path) -> Path:
    import torch

    from losslab.landscape import Surface

    axes = (torch.linspace(-1, 1, 4, dtype=torch.float64), torch.linspace(-1, 1, 3, dtype=torch.float64))
    loss = axes[0][:, None] ** 2 + axes[1][None, :] ** 2
    return Surface(("a", "b"), axes, {"loss": loss}, torch.ones(4, 3, dtype=torch.bool)).save(folder / "s.h5")


UNWRITABLE = {
    "missing-folder": ("missing/{name}", "folder '{tmp}/missing' does not exist"),
    "file-as-folder": ("notes.txt/{name}", "'{tmp}/notes.txt' is a file, not a folder"),
    "read-only-folder": ("{read_only}/{name}", "folder '{read_only}' cannot be written"),
}
COMMANDS = {
    "contour": (["plot", "contour", "himmelblau", "--out"], "losslab.plot.contour"),
    "sweep": (["plot", "sweep", "(w-3)**2", "--start", "w=0", "--lrs", "0.1", "--out"], "losslab.descent.run.lr_sweep"),
    "boundary": (["plot", "boundary", "--demo", "moons", "--out"], "losslab.networks.build.network_objective"),
    "contour-of-a-file": (["plot", "contour", "{saved}", "--out"], "losslab.landscape.load_surface"),
    "plot-surface": (["plot-surface", "{saved}", "--out"], "losslab.landscape.load_surface"),
}


def _never(*_: object, **__: object) -> None:
    raise AssertionError("work began before the output was checked")


@pytest.mark.parametrize("where", list(UNWRITABLE))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_unwritable_out_is_refused_before_any_work(tmp_path, read_only_folder, monkeypatch, command, where) -> None:
    (tmp_path / "notes.txt").write_text("my notes\n")
    saved = _saved_surface(tmp_path)
    args, work = COMMANDS[command]
    monkeypatch.setattr(work, _never)
    target, words = (text.format(tmp=tmp_path, read_only=read_only_folder, name="x.png") for text in UNWRITABLE[where])
    full = [a.format(saved=saved) for a in args] + [str(tmp_path / target if not target.startswith("/") else target)]
    result = runner.invoke(app, full)
    assert result.exit_code == 2, result.output
    assert "cannot save" in result.stderr and words in result.stderr and "Traceback" not in result.output
    assert result.stderr.strip().count("\n") == 0


@pytest.mark.parametrize("where", ["file-as-folder", "read-only-folder"])
def test_tour_out_that_cannot_be_written_is_refused_before_the_tour(tmp_path, read_only_folder, monkeypatch, where):
    (tmp_path / "notes.txt").write_text("my notes\n")
    monkeypatch.setattr("losslab.course.tour.run_tour", _never)
    target = tmp_path / "notes.txt" / "figures" if where == "file-as-folder" else read_only_folder / "figures"
    result = runner.invoke(app, ["tour", "--out", str(target)])
    assert result.exit_code == 2, result.output
    words = "is a file, not a folder" if where == "file-as-folder" else "cannot be written"
    assert f"--out {target}" in result.stderr and words in result.stderr and "Traceback" not in result.output
    assert result.stderr.strip().count("\n") == 0


def test_a_pca_survey_keeps_its_training_path_and_plot_surface_draws_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Li et al.'s PCA plot is the training path over the plane's contours: the path was printed as a range and
    never drawn. The file keeps its projection; the picture draws it, inside the frame the survey chose."""
    from losslab.landscape.projection import read_projection

    out = tmp_path / "pca.h5"
    result = runner.invoke(app, ["landscape", "--demo", "moons-mlp", "--steps", "30", "--directions", "pca",
                                 "--grid", "5x5", "--range=-3:1,-1:1", "--out", str(out), "--no-progress"])  # fmt: skip
    assert result.exit_code == 0, result.output
    path = read_projection(out)
    assert path is not None and path.coordinates.shape[1] == 2
    inside = bool(((path.coordinates[:, 0] >= -3) & (path.coordinates[:, 0] <= 1)).all()) and bool(
        ((path.coordinates[:, 1] >= -1) & (path.coordinates[:, 1] <= 1)).all()
    )
    assert ("the surveyed range frames it" if inside else "to frame it, survey --range=") in result.output
    assert float(path.coordinates[-1].abs().max()) < 1e-9  # the last checkpoint is θ*, the plane's centre
    picture = tmp_path / "pca.png"
    result = runner.invoke(app, ["plot-surface", str(out), "--out", str(picture)])
    assert result.exit_code == 0, result.output
    import losslab.plot
    from losslab.cli.landscape import draw_saved_surface

    drawn: list[Any] = []
    monkeypatch.setattr(losslab.plot, "save", lambda picture, target: drawn.append(picture))  # the same drawing, kept
    draw_saved_surface(out, tmp_path / "again.png", "contour")
    lines = [line for line in drawn[0].axes[0].get_lines() if line.get_label().startswith("training path")]
    assert len(lines) == 1 and len(lines[0].get_xdata()) == len(path.coordinates)


def test_a_pca_line_that_misses_its_path_says_the_range_that_frames_it(tmp_path: Path) -> None:
    """"frame it with --range" left the student to guess the numbers: the survey names a range, and a survey over
    that range says it frames the path."""
    out = tmp_path / "pca.h5"
    common = ["landscape", "--demo", "moons-mlp", "--steps", "30", "--directions", "pca", "--grid", "5",
              "--out", str(out), "--no-progress", "--force"]  # fmt: skip
    result = runner.invoke(app, common)
    assert result.exit_code == 0, result.output
    assert "relative distance from the line" in result.output
    suggested = result.output.split("to frame it, survey --range=")[1].split()[0]
    lo, hi = (float(v) for v in suggested.split(":"))
    from losslab.landscape.projection import read_projection

    path = read_projection(out)
    assert path is not None
    a = path.coordinates[:, 0]
    assert lo <= min(-1.0, float(a.min())) and max(1.0, float(a.max())) <= hi
    assert hi - lo <= 1.25 * (max(1.0, float(a.max())) - min(-1.0, float(a.min())))  # a frame, not a far view
    result = runner.invoke(app, [*common, f"--range={suggested}"])
    assert result.exit_code == 0, result.output
    assert "the surveyed range frames it" in result.output
