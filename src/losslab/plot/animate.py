"""Descent as a film: one or several runs moving over a contour map, a 3-D surface or a curve.

Each frame shows the paths up to step k, a dot at each run's current θ_k, and — in the
title, where it hides nothing — ``step k`` and each run's current loss. Frames: one per step (step 0 included) when the
longest run has at most ``max_frames − 1`` steps; otherwise ``max_frames`` steps evenly
spaced from 0 to the last (rounded, duplicates dropped — the first and last step are always
shown). A run that ended earlier stays at its last point.

The film is built when it is saved (:meth:`Animation.save`, GIF through pillow or MP4
through ffmpeg) or shown (:meth:`Animation.to_jshtml`, which Jupyter displays).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib import animation as mpl_animation
from matplotlib import rcParams
from matplotlib.artist import Artist
from matplotlib.figure import Figure

from losslab.descent.trajectory import Trajectory, run_label
from losslab.errors import LosslabError, check_int, not_one_of
from losslab.objectives.domain import Domain
from losslab.objectives.from_text import as_objective
from losslab.objectives.objective import Objective
from losslab.plot._marks import PointsLike
from losslab.plot._paths import Trajectories, as_trajectories
from losslab.plot._style import OUTLINE, path_color
from losslab.plot.contours import contour
from losslab.plot.curves import curve
from losslab.plot.grid import SurfaceLike
from losslab.plot.surface3d import surface

VIEWS = ("auto", "contour", "surface", "curve")
MAX_FRAMES = 200
ANIMATION_RESOLUTION = 200  # contour grid per axis: finer contours only slow every frame down


def frame_steps(steps: int, max_frames: int = MAX_FRAMES) -> list[int]:
    """The step shown in each frame: all of 0…steps, or ``max_frames`` evenly spaced ones.

    >>> frame_steps(4), frame_steps(1000, 5)
    ([0, 1, 2, 3, 4], [0, 250, 500, 750, 1000])
    """
    check_int("max_frames", max_frames, least=2)
    if steps + 1 <= max_frames:
        return list(range(steps + 1))
    return sorted({round(i * steps / (max_frames - 1)) for i in range(max_frames)})


@dataclass
class Animation:
    """A figure and how to redraw it for each frame; ``steps[i]`` is the step frame i shows."""

    figure: Figure
    update: Callable[[int], Sequence[Artist]]
    steps: list[int]
    fps: int = 8
    notes: list[str] = field(default_factory=list)

    def _movie(self) -> mpl_animation.FuncAnimation:
        return mpl_animation.FuncAnimation(self.figure, self.update, frames=self.steps, blit=False, repeat=False)

    def save(self, path: str | Path, dpi: int = 100) -> Path:
        """Write ``.gif`` (pillow) or ``.mp4`` (ffmpeg); other extensions are refused."""
        target = Path(path)
        suffix = target.suffix.lower().lstrip(".")
        if suffix == "gif":
            writer: mpl_animation.AbstractMovieWriter = mpl_animation.PillowWriter(fps=self.fps)
        elif suffix == "mp4":
            if not ffmpeg_available():
                raise LosslabError(
                    f"saving {target.name} needs ffmpeg, which is not installed (or not on PATH); "
                    "install ffmpeg or save as .gif"
                )
            writer = mpl_animation.FFMpegWriter(fps=self.fps, codec="libx264", extra_args=["-pix_fmt", "yuv420p"])
        else:
            raise LosslabError(
                f"an animation is saved as gif or mp4, not {target.suffix or 'a file without extension'}"
            )
        # the movie-writer protocol directly: one draw per frame (FuncAnimation.save draws three times)
        with writer.saving(self.figure, str(target), dpi):
            for step in self.steps:
                self.update(step)
                writer.grab_frame()
        return target

    def to_jshtml(self) -> str:
        """The film as an HTML/JavaScript player (what Jupyter shows)."""
        return str(self._movie().to_jshtml(fps=self.fps))

    def _repr_html_(self) -> str:
        return self.to_jshtml()


def ffmpeg_available() -> bool:
    """Whether matplotlib can find the ffmpeg executable it is configured with."""
    return shutil.which(str(rcParams["animation.ffmpeg_path"])) is not None


def animate(
    source: Objective | SurfaceLike | str,
    trajectories: Trajectories,
    *,
    view: str = "auto",
    domain: Domain | str | None = None,
    max_frames: int = MAX_FRAMES,
    fps: int = 8,
    resolution: int | None = None,
    title: str | None = None,
    stationary: PointsLike = True,
) -> Animation:
    """A film of the runs over ``view`` (``contour``, ``surface``, ``curve``; ``auto``: curve in 1-D, else contour).
    ``stationary`` is what the map, surface or curve marks, as in :func:`~losslab.plot.contours.contour`.

    >>> from losslab.objectives.gallery import gallery
    >>> from losslab.descent.run import descend
    >>> film = animate(gallery("case_study_2"), descend(gallery("case_study_2"), "w0=0,w1=0", steps=5), resolution=40)
    >>> film.steps
    [0, 1, 2, 3, 4, 5]
    """
    source = as_objective(source) if isinstance(source, str) else source
    runs = as_trajectories(trajectories)
    if not runs:
        raise LosslabError("an animation needs at least one trajectory")
    dim = runs[0].params.shape[1]
    view = ("curve" if dim == 1 else "contour") if view == "auto" else view
    options: dict[str, Any] = {"domain": domain, "title": title}
    if resolution is not None or view == "contour":
        options["resolution"] = resolution or ANIMATION_RESOLUTION
    options["stationary"] = stationary
    if view == "contour":
        figure = contour(source, runs, **options)
    elif view == "surface":
        figure = surface(source, runs, **options)
    elif view == "curve":
        if not isinstance(source, Objective):
            raise LosslabError("a curve animation needs the objective")
        figure = curve(source, runs, **options)
    else:
        raise not_one_of("view", view, VIEWS)
    steps = frame_steps(max(run.steps for run in runs), max_frames)
    update = _updater(figure, runs, view)
    update(steps[-1])  # the longest counter text, so the layout leaves room for it
    figure.canvas.draw()
    figure.set_layout_engine("none")  # lay out once: constrained layout on every frame costs most of the time
    return Animation(figure, update, steps, fps)


def _updater(figure: Figure, runs: list[Trajectory], view: str) -> Callable[[int], Sequence[Artist]]:
    """Turn the full paths drawn by the still picture into ones that grow step by step."""
    ax: Any = figure.axes[0]  # Axes, or Axes3D for the surface view
    depth = 3 if view == "surface" else 2
    lines: dict[str, Any] = {line.get_gid(): line for line in ax.lines if line.get_gid()}
    full = [_line_data(lines[f"path:{i}"], depth) for i in range(len(runs))]
    heads = [_line_data_setter(ax.plot(*[[math.nan]] * depth, "o", color=path_color(i), markersize=9,
                                       markeredgecolor="black", zorder=12, path_effects=OUTLINE)[0], depth)
             for i in range(len(runs))]  # fmt: skip
    if "diverged" in lines:
        lines["diverged"].set_visible(False)  # the still picture's end marker would show before the run gets there
    # the counter lives in the title, above the map, where it cannot hide a path or a marked point
    counter, heading = ax.title, ax.get_title()
    paths = [_line_data_setter(lines[f"path:{i}"], depth) for i in range(len(runs))]

    def update(step: int) -> Sequence[Artist]:
        words = [f"{heading} — step {step}"]
        for i, run in enumerate(runs):
            k = run.row(min(step, run.steps))  # a long run keeps a thinned record: the last kept row at or before step
            data = [column[: k + 1] for column in full[i]]
            paths[i](data)
            shown = len(data[0])
            heads[i]([column[shown - 1 : shown] if shown else [math.nan] for column in data])
            words.append(f"{run_label(run).split(' — ')[0]}: L = {float(run.losses[k]):.4g}")
        counter.set_text("\n".join(words))
        return [counter]

    return update


def _line_data(line: Any, depth: int) -> list[list[float]]:
    data = line.get_data_3d() if depth == 3 else line.get_data()
    return [[float(v) for v in column] for column in data]


def _line_data_setter(line: Any, depth: int) -> Callable[[list[list[float]]], None]:
    def set_data(data: list[list[float]]) -> None:
        line.set_data_3d(*data) if depth == 3 else line.set_data(*data)

    return set_data
