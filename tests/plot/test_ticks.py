"""Labels that read: x tick labels never run into each other, over generated frames of every width and
place; level and colour-bar labels tell apart every level they name (a Llama saddle spanning 1.1752 …
1.1896 read "1.18" on every level)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.text import Text

from losslab import plot
from losslab.objectives.domain import Domain
from losslab.objectives.objective import formula
from losslab.plot._ticks import level_formatter


def _shown(labels: list[Text]) -> list[Text]:
    return [t for t in labels if t.get_visible() and t.get_text()]


@pytest.mark.parametrize("seed", range(12))
def test_x_tick_labels_fit_side_by_side_over_generated_frames(seed: int) -> None:
    rng = np.random.default_rng(seed)
    width = 10 ** rng.uniform(-4, 3)
    centre = rng.choice([0.0, rng.uniform(-1, 1) * 10 ** rng.uniform(-3, 4)])
    objective = formula("(x - 0.3)^2 + 2*y^2")
    domain = Domain(("x", "y"), ((centre - width, centre + width), (-1.0, 1.0)))
    figure = plot.contour(objective, domain=domain, resolution=12, stationary=False)
    figure.canvas.draw()
    ax = figure.axes[0]
    renderer = figure.canvas.get_renderer()
    boxes = sorted((t.get_window_extent(renderer) for t in _shown(ax.get_xticklabels())), key=lambda b: b.x0)
    assert len(boxes) >= 2, f"width {width:.3g} around {centre:.3g}: fewer than 2 x ticks"
    for left, right in zip(boxes, boxes[1:], strict=False):
        assert right.x0 > left.x1, f"width {width:.3g} around {centre:.3g}: x tick labels overlap"


def test_level_labels_tell_apart_levels_that_three_digits_would_merge() -> None:
    objective = formula("1.1757 + 0.001*(x^2 + y^2)")
    figure = plot.contour(objective, domain="-3:3", resolution=20, stationary=False)
    colorbar = figure.axes[1]
    figure.canvas.draw()
    ticks = [t.get_text() for t in _shown(colorbar.get_yticklabels())]
    assert len(ticks) >= 3 and len(set(ticks)) == len(ticks), ticks
    contour_levels = [c for c in figure.axes[0].collections if hasattr(c, "levels")][-1].levels
    labels = [float(t.get_text()) for t in figure.axes[0].texts]  # the level curves' labels
    assert labels and all(np.isclose(contour_levels, v, rtol=0, atol=1e-9).any() for v in labels), labels
    assert len({round(v, 9) for v in labels}) >= 3


def test_the_level_formatter_keeps_three_digits_where_they_suffice() -> None:
    assert level_formatter([0.5, 1.0, 1.5, 2.0])(1.5) == "1.5"
    assert level_formatter([10.0, 20.0, 30.0])(20.0) == "20"
    assert level_formatter([1.00001, 1.00002])(1.00002) == "1.00002"
    assert level_formatter([float("nan"), 1.0, 2.0])(2.0) == "2"
