"""Grids: one batched ``values`` call, values equal to a direct evaluation, the default frame rule."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from losslab import plot
from losslab.descent.run import descend
from losslab.errors import LosslabError
from losslab.objectives.gallery import gallery
from losslab.objectives.objective import Objective, formula


def spy_values(objective: Objective, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    calls: list[tuple[int, ...]] = []
    original = objective.values

    def counted(thetas: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
        calls.append(tuple(thetas.shape))
        return original(thetas, chunk_size)

    monkeypatch.setattr(objective, "values", counted)
    return calls


@pytest.mark.parametrize("make", [lambda: gallery("himmelblau"), lambda: formula("(w0 - 1)**2 + sin(w1)")],
                         ids=["himmelblau", "formula"])  # fmt: skip
def test_a_400_by_400_grid_is_one_values_call(make, monkeypatch: pytest.MonkeyPatch) -> None:
    objective = make()
    calls = spy_values(objective, monkeypatch)
    grid = plot.evaluate_grid(objective, "-5:5")
    assert calls == [(400, 400, 2)]
    assert grid.values["loss"].shape == (400, 400)


def test_the_contour_picture_evaluates_its_grid_in_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    objective = gallery("himmelblau")
    calls = spy_values(objective, monkeypatch)
    plot.contour(objective)
    assert calls == [(400, 400, 2)]


def test_grid_values_equal_a_direct_evaluation() -> None:
    grid = plot.evaluate_grid(gallery("himmelblau"), "x=-4:3,y=-2:5", resolution=7)
    x, y = grid.coordinates
    for i in range(7):
        for j in range(7):
            a, b = float(x[i]), float(y[j])
            expected = (a * a + b - 11) ** 2 + (a + b * b - 7) ** 2
            assert math.isclose(float(grid.values["loss"][i, j]), expected, rel_tol=1e-12, abs_tol=1e-12)


def test_the_frame_is_the_objectives_domain_when_it_has_one() -> None:
    L = gallery("shifted_parabola")
    wild = descend(L, "w=0", lr=2.0, steps=20)
    assert plot.default_domain(L, wild).bounds == ((-2.0, 8.0),)


def test_without_a_domain_the_frame_covers_the_start_and_first_step_of_a_diverging_run() -> None:
    L = formula("(w - 3)**2")
    wild = descend(L, "w=0", lr=2.0, steps=20)
    assert wild.diagnosis.status == "diverged"
    ((low, high),) = plot.default_domain(L, wild).bounds
    assert low == pytest.approx(-1.2, abs=1e-12) and high == pytest.approx(13.2, abs=1e-12)


def test_without_anything_the_frame_is_minus_5_to_5() -> None:
    assert plot.default_domain(formula("w0*w1")).bounds == ((-5.0, 5.0), (-5.0, 5.0))


def test_three_parameters_are_refused_with_the_way_out() -> None:
    with pytest.raises(LosslabError, match="1 or 2 parameters; this objective has 3"):
        plot.evaluate_grid(formula("w0 + w1 + w2"))


def test_a_duck_typed_surface_is_drawn_as_it_is() -> None:
    a = torch.linspace(-1, 1, 30, dtype=torch.float64)
    b = torch.linspace(-2, 2, 40, dtype=torch.float64)
    loss = a[:, None] ** 2 + b[None, :] ** 2
    surface = SimpleNamespace(axis_names=("a", "b"), coordinates=(a, b), values={"loss": loss, "accuracy": loss})
    fig = plot.contour(surface)
    ax = fig.axes[0]
    assert ax.get_xlim() == (-1.0, 1.0) and ax.get_ylim() == (-2.0, 2.0)
    assert ax.get_xlabel() == "$a$"
    assert plot.surface(surface).axes[0].name == "3d"
    assert plot.interactive_surface(surface).data[0].type == "surface"
