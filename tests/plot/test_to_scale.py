"""A contour map is drawn to scale where its spans are alike: a frame around the paths is made square and one unit
is as long on both axes, so that −∇L meets its level curve at a right angle on the page as in the plane (checked
in display coordinates, on generated bowls and starts); a frame of very unequal spans keeps its own shape."""

from __future__ import annotations

import random

import numpy as np
import pytest

from losslab.descent.run import descend
from losslab.objectives.objective import formula
from losslab.plot import contour
from losslab.plot.grid import TO_SCALE, default_domain


def _angle_on_page(figure, gradient: tuple[float, float], at: tuple[float, float]) -> float:  # type: ignore[no-untyped-def]
    """The angle (degrees) on the page between the gradient and the level curve's tangent at ``at``."""
    figure.canvas.draw()
    ax = figure.axes[0]
    g, t = np.array(gradient), np.array([-gradient[1], gradient[0]])
    origin = ax.transData.transform(at)
    on_page = [ax.transData.transform(np.array(at) + 1e-3 * v) - origin for v in (g, t)]
    cos = np.dot(*on_page) / (np.linalg.norm(on_page[0]) * np.linalg.norm(on_page[1]))
    return float(np.degrees(np.arccos(cos)))


def test_generated_bowls_and_starts_are_drawn_to_scale() -> None:
    rng = random.Random(11)
    for _ in range(6):
        a, b = round(rng.uniform(0.5, 4), 2), round(rng.uniform(0.5, 4), 2)
        # |x₀|, |y₀| in [1, 2.5]: a path whose spans differ less than TO_SCALE-fold
        start = tuple(round(rng.choice([-1, 1]) * rng.uniform(1, 2.5), 1) for _ in range(2))
        loss = formula(f"{a}*x^2 + {b}*y^2")
        run = descend(loss, list(start), "gd", lr=0.05, steps=30)
        frame = default_domain(loss, run)
        (x0, x1), (y0, y1) = frame.bounds
        assert x1 - x0 == pytest.approx(y1 - y0, rel=1e-12)  # squared about its centre
        figure = contour(loss, run, resolution=40)
        ax = figure.axes[0]
        assert ax.get_aspect() == 1.0
        gradient = (2 * a * start[0], 2 * b * start[1])
        assert _angle_on_page(figure, gradient, start) == pytest.approx(90, abs=0.01), (a, b, start)


def test_a_frame_of_unequal_spans_keeps_its_shape() -> None:
    loss = formula("x^2 + y^2", domain="x=-20:20,y=-1:1")  # a 40:2 frame drawn to scale would be a sliver
    assert 40 / 2 > TO_SCALE
    figure = contour(loss, resolution=40)
    assert figure.axes[0].get_aspect() == "auto"
    run = descend(formula("x^2 + y^2"), [10.0, 0.1], "gd", lr=0.1, steps=40)  # a path 10 long, 0.1 high
    (x0, x1), (y0, y1) = default_domain(formula("x^2 + y^2"), run).bounds
    assert (x1 - x0) / (y1 - y0) > TO_SCALE
