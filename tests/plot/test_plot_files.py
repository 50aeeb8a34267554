"""Files: one GIF frame per step, MP4 through ffmpeg (or a clear error), self-contained HTML,
saving by extension, decision boundaries, and the tour's figures."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import plotly.offline
import pytest
import torch
from matplotlib import rcParams
from PIL import Image

from losslab import plot
from losslab.course.figures import FIGURES
from losslab.descent.run import descend
from losslab.errors import LosslabError
from losslab.objectives.columns import two_blobs
from losslab.objectives.data import data_objective
from losslab.objectives.gallery import gallery
from losslab.objectives.network import NetworkObjective


def test_the_gif_has_one_frame_per_step(tmp_path: Path) -> None:
    L = gallery("case_study_2")
    run = descend(L, "w0=0,w1=0", lr=0.1, steps=6)
    film = plot.animate(L, run, resolution=30)
    path = plot.save(film, tmp_path / "walk.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == run.steps + 1 == 7


def test_a_race_runs_as_long_as_its_longest_run_and_counts_steps_in_the_frame(tmp_path: Path) -> None:
    L = gallery("himmelblau")
    runs = [descend(L, "x=0,y=0", "adam", lr=0.1, steps=4), descend(L, "x=1,y=1", "gd", lr=0.01, steps=2)]
    film = plot.animate(L, runs, view="surface", resolution=20)
    assert film.steps == [0, 1, 2, 3, 4]
    film.update(3)
    assert film.figure.axes[0].get_title().splitlines() == [
        "surface of Himmelblau's function — step 3",
        f"adam (lr 0.1): L = {float(runs[0].losses[3]):.4g}",
        f"gd (lr 0.01): L = {float(runs[1].losses[2]):.4g}",  # the short run waits at its end
    ]
    with Image.open(plot.save(film, tmp_path / "race.gif")) as gif:
        assert gif.n_frames == 5


def test_long_runs_are_subsampled_by_the_stated_rule() -> None:
    steps = plot.frame_steps(1000, 200)
    assert len(steps) == 200 and steps[0] == 0 and steps[-1] == 1000
    assert steps == sorted(set(round(i * 1000 / 199) for i in range(200)))
    assert plot.frame_steps(199, 200) == list(range(200))


def test_mp4_without_ffmpeg_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(rcParams, "animation.ffmpeg_path", "/nonexistent/ffmpeg")
    L = gallery("case_study_2")
    film = plot.animate(L, descend(L, "w0=0,w1=0", steps=2), resolution=20)
    with pytest.raises(LosslabError, match="needs ffmpeg, which is not installed.*save as .gif"):
        plot.save(film, tmp_path / "walk.mp4")


@pytest.mark.skipif(not plot.animate.__globals__["ffmpeg_available"](), reason="ffmpeg not installed")
def test_mp4_is_written_with_ffmpeg(tmp_path: Path) -> None:
    L = gallery("case_study_2")
    path = plot.save(plot.animate(L, descend(L, "w0=0,w1=0", steps=3), resolution=20), tmp_path / "walk.mp4")
    assert path.read_bytes()[4:8] == b"ftyp"


def test_the_html_is_self_contained(tmp_path: Path, himmelblau_runs) -> None:
    figure = plot.interactive_surface(gallery("himmelblau"), himmelblau_runs, resolution=30)
    html = plot.save(figure, tmp_path / "him.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc\s*=", html)
    assert re.findall(r"<script[^>]*>", html) == ["<script>"] * len(re.findall(r"<script[^>]*>", html))
    bundle = plotly.offline.get_plotlyjs()
    assert bundle[1000:1400] in html and bundle[-400:] in html
    path = figure.data[1]
    run = himmelblau_runs[0]
    assert np.array_equal(np.c_[path.x, path.y], run.params.numpy()) and np.array_equal(path.z, run.losses.numpy())


@pytest.mark.parametrize(("name", "magic"), [("a.png", b"\x89PNG"), ("a.svg", b"<?xml"), ("a.pdf", b"%PDF")],
                         ids=["png", "svg", "pdf"])  # fmt: skip
def test_stills_are_saved_in_the_format_of_their_extension(tmp_path: Path, name: str, magic: bytes) -> None:
    fig = plot.contour(gallery("booth"), resolution=30)
    assert plot.save(fig, tmp_path / name).read_bytes().startswith(magic)


@pytest.mark.parametrize(
    ("name", "words"),
    [("a.bmp", "extension '.bmp' is not one of png, svg, pdf, gif, mp4, html"), ("a", "extension (none)"),
     ("a.gif", "needs an Animation"), ("a.html", "needs a plotly Figure")],
    ids=["bmp", "no-extension", "still-as-gif", "still-as-html"],
)  # fmt: skip
def test_save_refuses_what_it_cannot_write(tmp_path: Path, name: str, words: str) -> None:
    with pytest.raises(LosslabError, match=re.escape(words)):
        plot.save(plot.contour(gallery("booth"), resolution=20), tmp_path / name)


def test_logistic_boundary_is_where_the_model_says_one_half() -> None:
    L = data_objective(two_blobs(80, torch.Generator().manual_seed(3)), "sigmoid(w0 + w1*x1 + w2*x2)", loss="bce")
    theta = torch.tensor([0.5, 2.0, -1.0], dtype=torch.float64)
    fig = plot.decision_boundary(L, theta, resolution=50)
    ax = fig.axes[0]
    [boundary] = [c for c in ax.collections if c.get_gid() == "boundary"]
    vertices = np.concatenate([p.vertices for p in boundary.get_paths()])
    # the line 0.5 + 2·x1 − x2 = 0; contouring interpolates sigmoid linearly between grid nodes
    # (spacing ≈ 0.2), which puts the level within |z| < 1e-3 of it
    assert np.abs(0.5 + 2.0 * vertices[:, 0] - 1.0 * vertices[:, 1]).max() < 1e-3
    lines = {line.get_gid(): line for line in ax.lines}
    data = L.data
    for label in (0, 1):
        expected = np.c_[data["x1"], data["x2"]][data["y"].numpy() == label]
        assert np.array_equal(lines[f"class:{label}"].get_xydata(), expected)


def test_a_network_classifier_on_two_inputs_gets_a_boundary() -> None:
    torch.manual_seed(0)  # test-only: the net's initial weights
    net = torch.nn.Sequential(torch.nn.Linear(2, 2)).double()
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    objective = NetworkObjective(net, (x, torch.tensor([0, 1, 1])), "cross_entropy")
    ax = plot.decision_boundary(objective, resolution=20).axes[0]
    assert {line.get_gid() for line in ax.lines} == {"class:0", "class:1"}
    [boundary] = [c for c in ax.collections if c.get_gid() == "boundary"]
    vertices = np.concatenate([p.vertices for p in boundary.get_paths()])
    logits = net(torch.as_tensor(vertices)).detach()
    # p(class 1) = ½ where the logits tie, up to the linear interpolation of softmax between grid nodes
    assert float((logits[:, 0] - logits[:, 1]).abs().max()) < 1e-3


def test_a_classifier_needs_two_inputs() -> None:
    L = data_objective({"x": [0, 1, 2], "y": [0, 1, 1]}, "sigmoid(w0 + w1*x)", loss="bce")
    with pytest.raises(LosslabError, match="two inputs; this one reads x"):
        plot.decision_boundary(L, "w0=0,w1=1")


@pytest.mark.parametrize("name", [n for n in FIGURES if not n.startswith("race")])
def test_each_seed_figure_draws_with_a_title(name: str) -> None:
    fig = FIGURES[name]()
    titles = [fig.get_suptitle()] + [ax.get_title() for ax in fig.axes]
    assert any(t for t in titles)
    assert all(ax.get_xlabel() for ax in fig.axes if ax.get_label() != "<colorbar>")


def test_a_title_wider_than_the_figure_is_wrapped_inside_it_when_saved(tmp_path: Path) -> None:
    """A survey of 'mymodels.py:dictout on mymodels.py:data' titled its contour map past both edges (centred over
    an axes a colour bar pushes left, it was cut on the left too)."""
    L = gallery("himmelblau")
    long = "mymodels.py:dictout on mymodels.py:data: filter directions (normalization filter, seed 0)"
    figure = plot.contour(L, resolution=20, title=long).get_figure(root=True)
    plot.save(figure, tmp_path / "c.png")
    title = figure.axes[0].title
    assert "\n" in title.get_text() and title.get_text().replace("\n", " ") == long
    renderer = figure.canvas.get_renderer()
    extent = title.get_window_extent(renderer)
    assert 0 <= extent.x0 and extent.x1 <= figure.bbox.width
    short = plot.contour(L, resolution=20, title="himmelblau").get_figure(root=True)
    plot.save(short, tmp_path / "s.png")
    assert short.axes[0].title.get_text() == "himmelblau"


def test_a_surveyed_surface_is_titled_by_its_model_not_the_loss(tmp_path: Path) -> None:
    """From Python, plot.contour(survey(...)) said 'contour map of the loss': a Surface has no title, but its
    provenance names the model."""
    from torch import nn

    from losslab.landscape import random_directions, survey

    net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    L = NetworkObjective(net, (torch.randn(8, 2, dtype=torch.float64), torch.randint(0, 2, (8,))), title="tiny MLP")
    surface = survey(L, random_directions(L), grid=(5, 5))
    assert plot.contour(surface).axes[0].get_title() == "contour map of tiny MLP"
    assert plot.surface(surface).axes[0].get_title() == "surface of tiny MLP"
    assert plot.interactive_surface(surface).layout.title.text == "surface of tiny MLP"
