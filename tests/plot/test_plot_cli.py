"""``losslab plot …`` and ``losslab tour --out``: the file asked for, in its format, or one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from losslab.cli.app import app

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
    ],
    ids=["bmp", "sweep-gif", "film-without-run", "three-params", "optimizer-without-start", "demo", "field"],
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
