"""The figures of the seeds' worked examples, drawn by :mod:`losslab.plot` from the same runs
the tour checks (``losslab tour --out DIR`` writes them).

=============================  ==========================================================
file                           seed figure
=============================  ==========================================================
cs1_descent.png                Case Study 1, CS1.1: the parabola L(m) and the GD path
cs2_contour.png                Case Study 2: Maya's tilted-ellipse bowl, contours, GD path
fig3_5_surface.png             Chapter 3, 3.5: 2w0² + 3w1², point P = (3, 4, 66), −∇L at P
fig3_7_heatmap.png             Chapter 3, 3.7: heat map of √(w0² + w1²), radial gradients
fig3_16_chords.png             Chapter 3, 3.16: chords on x² (convex) and x³ (not)
fig3_17_tangents.png           Chapter 3, 3.17: tangents (and Taylor) on x² and x³
hand_simulation_w.png          Hill-Descending: w vs step for lr 0.3, 1.5, 0.05
hand_simulation_loss.png       Hill-Descending: L vs step for lr 0.3, 1.5, 0.05
parabola_lr_trio.png           Hill-Descending: (w − 3)² with lr 0.1, 1.0, 2.0
fig3_3_boundary.png            Chapter 3, 3.1–3.3: a logistic classifier on two blobs
race_rosenbrock.png            The Loss Landscape: optimizers racing on Rosenbrock
race_himmelblau.png            … and on Himmelblau
=============================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure

from losslab.descent.run import descend
from losslab.errors import LosslabError, not_one_of, unwritable_folder
from losslab.objectives.columns import two_blobs
from losslab.objectives.data import data_objective
from losslab.objectives.gallery import gallery
from losslab.objectives.objective import formula
from losslab.plot import (
    contour,
    curve,
    decision_boundary,
    heatmap,
    loss_history,
    parameter_history,
    race,
    save,
    surface,
)
from losslab.plot._style import new_figure

HAND_LRS = ((0.3, 8), (1.5, 8), (0.05, 60))  # lr 1.5 stops where it is seen to diverge (step 3)
RACERS = ("gd:lr=0.001", "momentum:lr=0.001", "adam:lr=0.05", "rmsprop:lr=0.01")


def cs1_descent() -> Figure:
    line = gallery("case_study_1")
    run = descend(line, "m=0", lr=0.01, steps=60)
    fig = curve(line, run, title="Case Study 1 (CS1.1): gradient descent rolling to the bottom of the loss bowl")
    fig.axes[0].set_xlabel("slope $m$")
    return fig


def cs2_contour() -> Figure:
    bowl = gallery("case_study_2")
    run = descend(bowl, "w0=-0.5,w1=2.5", lr=0.1, steps=100)
    return contour(bowl, run, title="Case Study 2: Maya's bowl — tilted elliptic level curves, GD with η = 0.1")


def fig3_5_surface() -> Figure:
    bowl = gallery("chapter3_bowl")
    fig = surface(bowl, points=["w0=3,w1=4"], title="Fig. 3.5: L = 2w0² + 3w1², point P = (3, 4, 66), −∇L at P")
    ax: Any = fig.axes[0]  # an Axes3D
    direction = -bowl.grad("w0=3,w1=4") / 12  # −∇L = (−12, −24), scaled to fit in the box
    ax.quiver(
        3, 4, 66, float(direction[0]), float(direction[1]), 0, color="black", linewidth=2, arrow_length_ratio=0.25
    )
    ax.text(3, 4, 78, "P", fontsize=11, fontweight="bold")
    return fig


def fig3_7_heatmap() -> Figure:
    cone = gallery("cone")
    return heatmap(cone, field="gradient", title="Fig. 3.7: heat map of √(w0² + w1²); ∇L points radially outward")


def fig3_16_chords() -> Figure:
    fig = new_figure((11.0, 4.6))
    left, right = fig.subplots(1, 2)
    curve(formula("x**2"), ax=left, domain="x=-4:6", chord=(-3.0, 5.0, 0.3), stationary=False,
          title="convex: x², C = 0.3A + 0.7B lies above D")  # fmt: skip
    curve(formula("x**3"), ax=right, domain="x=-9:6", chord=(-8.0, 5.0, 0.3), stationary=False,
          title="not convex: x³, C lies below D")  # fmt: skip
    fig.suptitle("Fig. 3.16: chords of a convex and a non-convex curve")
    return fig


def fig3_17_tangents() -> Figure:
    fig = new_figure((11.0, 4.6))
    left, right = fig.subplots(1, 2)
    curve(formula("x**2"), ax=left, domain="x=-4:4", at=1.0, orders=(1,), stationary=False,
          title="convex: x² lies above its tangent at A")  # fmt: skip
    curve(formula("x**3"), ax=right, domain="x=-3:3", at=-1.0, orders=(1, 2), stationary=False,
          title="not convex: x³ crosses its tangent at A")  # fmt: skip
    fig.suptitle("Fig. 3.17: tangents (1st-order Taylor) and the 2nd-order approximation")
    return fig


def _hand_runs() -> list:  # type: ignore[type-arg]
    hand = gallery("hand_simulation")
    return [descend(hand, "w=0", lr=lr, steps=steps) for lr, steps in HAND_LRS]


def hand_simulation(what: str) -> Figure:
    fig = new_figure((13.0, 4.2))
    for ax, run, (lr, _) in zip(fig.subplots(1, 3), _hand_runs(), HAND_LRS, strict=True):
        if what == "w":
            parameter_history(run, ax=ax, title=f"lr {lr:g}")
        elif what == "loss":
            loss_history(run, ax=ax, scale="log", title=f"lr {lr:g}")
        else:
            raise not_one_of("hand-simulation plot", what, ("w", "loss"))
    fig.suptitle(f"Hand simulation of L = w² − 4w + 5 from w = 0: {'w' if what == 'w' else 'L(w)'} vs step")
    return fig


def parabola_trio() -> Figure:
    parabola = gallery("shifted_parabola")
    fig = new_figure((13.0, 4.4))
    for ax, lr in zip(fig.subplots(1, 3), (0.1, 1.0, 2.0), strict=True):
        curve(parabola, descend(parabola, "w=0", lr=lr, steps=20), ax=ax, domain="w=-3:9", title=f"lr {lr:g}")
    fig.suptitle("(w − 3)² from w = 0: lr 0.1 converges, 1.0 bounces between 0 and 6, 2.0 diverges")
    return fig


def blobs_boundary() -> Figure:
    blobs = data_objective(two_blobs(200, torch.Generator().manual_seed(0)), "sigmoid(w0 + w1*x1 + w2*x2)", loss="bce")
    fitted = descend(blobs, "w0=0,w1=0,w2=0", "adam", lr=0.1, steps=300)
    return decision_boundary(blobs, fitted.final, title="Figs. 3.1–3.3: a logistic classifier's line between two blobs")


def race_on(name: str, start: str) -> Callable[[], Figure]:
    def draw() -> Figure:
        objective = gallery(name)
        runs = [descend(objective, start, spec, steps=300) for spec in RACERS]
        return race(objective, runs)

    return draw


FIGURES: dict[str, Callable[[], Figure]] = {
    "cs1_descent.png": cs1_descent,
    "cs2_contour.png": cs2_contour,
    "fig3_5_surface.png": fig3_5_surface,
    "fig3_7_heatmap.png": fig3_7_heatmap,
    "fig3_16_chords.png": fig3_16_chords,
    "fig3_17_tangents.png": fig3_17_tangents,
    "hand_simulation_w.png": lambda: hand_simulation("w"),
    "hand_simulation_loss.png": lambda: hand_simulation("loss"),
    "parabola_lr_trio.png": parabola_trio,
    "fig3_3_boundary.png": blobs_boundary,
    "race_rosenbrock.png": race_on("rosenbrock", "x=-1.5,y=2"),
    "race_himmelblau.png": race_on("himmelblau", "x=0,y=-0.5"),
}


def check_figures_folder(out_dir: str | Path) -> Path:
    """``out_dir`` when the tour's figures can be written there — a folder this process can write in,
    or a missing one below such a folder (it will be made) — else one LosslabError line.

    >>> check_figures_folder(Path(__file__) / "tour")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    losslab.errors.LosslabError: --out .../figures.py/tour: '.../figures.py' is a file, not a folder; give a folder ...
    """
    folder = Path(out_dir)
    reason = unwritable_folder(folder, create=True)
    if reason is not None:
        raise LosslabError(f"--out {folder}: {reason}; give a folder for the tour's figures")
    return folder


def write_tour_figures(out_dir: str | Path, dpi: int = 110) -> list[Path]:
    """Draw every seed example's figure into ``out_dir`` (created if missing); returns the files.

    >>> write_tour_figures("/tmp/tour")  # doctest: +SKIP
    """
    folder = check_figures_folder(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LosslabError(f"--out {folder}: cannot make the folder ({exc.strerror or exc})") from None
    return [save(draw(), folder / name, dpi=dpi) for name, draw in FIGURES.items()]
