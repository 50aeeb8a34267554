"""Bowl vs mountains: the deep no-skip network's plane is non-convex where the student looks, the bowl is not,
and the figures that say so are right on surfaces whose curvature is known."""

from __future__ import annotations

import math

import pytest
import torch

from losslab.course.bowl_and_mountains import bowl_and_mountains, pair_description
from losslab.course.nonconvexity import nonconvexity, slice_hessian_eigenvalues
from losslab.errors import LosslabError
from losslab.objectives.grid import evaluate_grid
from losslab.objectives.objective import formula


def test_finite_difference_curvature_against_the_exact_hessian() -> None:
    """sin(x)·cos(y): the smaller Hessian eigenvalue in closed form, to O(h²)."""
    grid = evaluate_grid(formula("sin(x)*cos(y)"), "-2:2", resolution=81)
    x, y = torch.meshgrid(*(c[1:-1] for c in grid.coordinates), indexing="ij")
    fxx = fyy = -torch.sin(x) * torch.cos(y)
    fxy = -torch.cos(x) * torch.sin(y)
    exact = 0.5 * (fxx + fyy - torch.sqrt((fxx - fyy) ** 2 + 4 * fxy**2))
    assert torch.allclose(slice_hessian_eigenvalues(grid), exact, atol=5e-3)


SURFACES = [  # (formula, box, negative fraction, grid-local minima)
    ("x**2 + 3*y**2", "-1:1", 0.0, 1),
    ("x**2 - y**2", "-1:1", 1.0, 0),
    ("(x**2 - 1)**2 + y**2", "-2:2", None, 2),  # two wells, a ridge between them
    ("0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)", "-5:5", 0.0, 1),  # Case Study 2's bowl
]


@pytest.mark.parametrize(("text", "box", "fraction", "minima"), SURFACES, ids=[s[0] for s in SURFACES])
def test_figures_on_known_surfaces(text: str, box: str, fraction: float | None, minima: int) -> None:
    figures = nonconvexity(evaluate_grid(formula(text), box, resolution=41))
    assert figures.local_minima == minima and figures.points == 39 * 39
    if fraction is not None:
        assert figures.negative_fraction == fraction
    else:
        # (x² − 1)² curves down for |x| < 1/√3: the share of the grid's interior columns there
        inside = sum(abs(-2 + 0.1 * i) < 1 / math.sqrt(3) for i in range(1, 40))
        assert figures.negative_fraction == pytest.approx(inside / 39)


def test_the_bowl_is_convex_and_the_mountains_are_not() -> None:
    bowl, plane = bowl_and_mountains(points=41, span=1.0, seed=0)
    described = pair_description(bowl, plane)
    text = "0 % of the grid curves downward somewhere; 1 local minimum"
    assert described["bowl_nonconvexity"] == {"negative_fraction": 0.0, "local_minima": 1, "text": text}
    mountains = described["network_nonconvexity"]
    assert isinstance(mountains, dict)
    assert mountains["negative_fraction"] > 0.5 and mountains["local_minima"] >= 3  # several basins where it looks
    assert "no-skip" in str(described["network_title"])


def test_figures_need_a_2d_grid() -> None:
    with pytest.raises(LosslabError, match="2-D grid"):
        nonconvexity(evaluate_grid(formula("x**2"), "-1:1", resolution=5))
    assert pair_description(
        evaluate_grid(formula("x**2"), "-1:1", resolution=5), evaluate_grid(formula("x*y"), "-1:1", resolution=2)
    ) == {
        "bowl_title": pair_description.__globals__["BOWL_TITLE"],
        "network_title": pair_description.__globals__["MOUNTAINS_TITLE"],
        "bowl_nonconvexity": None,
        "network_nonconvexity": None,
    }
