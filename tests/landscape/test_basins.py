"""Basins, merge levels and 0-dim persistence of grids, against the gallery's known stationary points and
against gudhi's cubical complex of the same array (the peer oracle: Landscaper 1.3.1 pins numpy 1.26 and
cannot be installed beside this environment's numpy 2)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from losslab.errors import LosslabError
from losslab.landscape.basins import basins, tree_positions
from losslab.landscape.surface import Surface
from losslab.objectives.gallery import gallery
from losslab.objectives.grid import Grid, evaluate_grid
from losslab.objectives.objective import formula

gudhi = pytest.importorskip("gudhi")


@dataclass(frozen=True)
class Case:
    """A gallery surface, and the known saddles (by value) at which its basins merge, lowest first."""

    name: str
    merge_saddles: tuple[float, ...]


# Which known saddles are merges is read off the gallery's description: Himmelblau's fourth saddle (178.3)
# closes a loop around the maximum after all four minima have met; the six-hump camel's minima at 2.104
# leave by the lower of their two nearly equal saddles (2.229357 < 2.229471).
CASES = [
    Case("himmelblau", (13.31192627040559, 67.71915008752614, 104.0151629175581)),
    Case("six_hump_camel", (0.0, 0.5437186009781851, 0.5437186009781851, 2.229357197530715, 2.229357197530715)),
    Case("double_well", (0.01841177171198505,)),
]
RESOLUTION = 201


def known(name: str, kind: str) -> list:
    return [p for p in gallery(name).known_points if p.kind == kind]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: c.name)
def analysed(request):
    case = request.param
    objective = gallery(case.name)
    grid = evaluate_grid(objective, resolution=RESOLUTION)
    return case, objective, grid, basins(grid, objective=objective)


def test_basins_are_the_known_minima(analysed):
    case, objective, grid, report = analysed
    minima = torch.tensor([p.point for p in known(case.name, "minimum")], dtype=torch.float64)
    assert len(report.basins) == len(minima)
    step = max(float(c[1] - c[0]) for c in grid.coordinates) * math.sqrt(objective.dim)
    for basin in report.basins:
        nearest = torch.linalg.vector_norm(minima - torch.tensor(basin.point, dtype=torch.float64), dim=-1).min()
        assert float(nearest) <= step  # the grid minimum is within one cell of a true minimum
        exact = torch.linalg.vector_norm(minima - torch.tensor(basin.exact_point, dtype=torch.float64), dim=-1).min()
        assert float(exact) < 1e-8
        assert basin.exact_value == pytest.approx(float(objective.value(basin.exact_point)), abs=1e-12)


def test_merge_levels_are_the_known_saddles(analysed):
    case, objective, grid, report = analysed
    merging = sorted((b for b in report.basins if b.merges_into is not None), key=lambda b: b.exact_merges_at)
    assert [b.exact_merges_at for b in merging] == pytest.approx(case.merge_saddles, abs=1e-9)
    h = max(float(c[1] - c[0]) for c in grid.coordinates)
    for basin, saddle in zip(merging, case.merge_saddles, strict=True):
        # to the grid's resolution: within ½·max|λ|·(h√n)² of the saddle's value, the most a quadratic
        # can change between the saddle and a grid point of its cell
        curvature = float(torch.linalg.eigvalsh(objective.hessian(basin.exact_saddle)).abs().max())
        assert abs(basin.merges_at - saddle) <= 0.5 * curvature * h**2 * objective.dim
        assert basin.persistence == pytest.approx(basin.merges_at - basin.value, abs=0)
    assert report.basins[0].merges_into is None and report.basins[0].persistence == math.inf


def oracle_pairs(values: np.ndarray) -> list[tuple[float, float]]:
    """gudhi's 0-dim persistence of the top-dimensional cubical complex (cells meeting at a corner touch)."""
    complex_ = gudhi.CubicalComplex(top_dimensional_cells=values)
    pairs = [(b, d) for dim, (b, d) in complex_.persistence() if dim == 0 and d > b]
    return sorted(pairs)


def test_merge_tree_equals_gudhi_on_a_gallery_grid(analysed):
    _, _, grid, _ = analysed
    report = basins(grid)
    assert sorted(report.persistence_pairs) == oracle_pairs(grid.values["loss"].numpy())


@pytest.mark.parametrize("shape", [(400,), (60, 45), (13, 11, 9)], ids=lambda s: "x".join(map(str, s)))
def test_merge_tree_equals_gudhi_on_noise(shape, generator):
    values = torch.randn(shape, generator=generator, dtype=torch.float64)
    values = torch.nn.functional.avg_pool1d(values.reshape(1, 1, -1), 3, 1, 1).reshape(shape)  # some structure
    axes = tuple(torch.arange(n, dtype=torch.float64) for n in shape)
    report = basins(Grid(tuple("abc")[: len(shape)], axes, {"loss": values}))
    assert len(report.basins) > 5
    assert sorted(report.persistence_pairs) == oracle_pairs(values.numpy())
    # every merge joins a deeper basin, and the labels cover every point
    assert all(report.basins[b.merges_into].value <= b.value for b in report.basins if b.merges_into is not None)
    assert sum(b.size for b in report.basins) == values.numel()
    # the drawn tree has no crossing: every basin standing between a merging basin and its partner ends lower
    x = tree_positions(report)
    for b in report.basins:
        if b.merges_into is not None:
            low, high = sorted((x[b.index], x[b.merges_into]))
            assert all(o.merges_at <= b.merges_at for o in report.basins if low < x[o.index] < high)


def test_min_persistence_folds_shallow_basins(generator):
    x = torch.linspace(-2, 2, 201, dtype=torch.float64)
    values = (x**2 - 1) ** 2 + 0.01 * torch.sin(40 * x)  # two deep wells, dimpled
    grid = Grid(("w",), (x,), {"loss": values})
    every = basins(grid)
    kept = basins(grid, min_persistence=0.1)
    assert len(every.basins) > 2 and len(kept.basins) == 2
    assert kept.basins[1].merges_at == pytest.approx(1.0, abs=0.02)
    assert set(kept.labels.tolist()) == {0, 1}


def test_uncomputed_and_nonfinite_points_are_left_out():
    x = torch.linspace(-2, 2, 41, dtype=torch.float64)
    loss = ((x[:, None] ** 2 - 1) ** 2 + x[None, :] ** 2).clone()
    computed = torch.ones_like(loss, dtype=torch.bool)
    computed[:, :5] = False
    loss[0, 20] = torch.nan
    surface = Surface(("a", "b"), (x, x), {"loss": loss}, computed)
    report = basins(surface)
    assert len(report.basins) == 2
    assert report.labels[0, 20] == -1 and bool((report.labels[:, :5] == -1).all())
    assert report.basins[1].merges_at == pytest.approx(1.0, abs=1e-12)


def test_a_split_region_has_basins_that_never_merge():
    x = torch.linspace(0, 1, 11, dtype=torch.float64)
    loss = torch.tensor([1.0, 0.0, 1.0, math.nan, 2.0, 0.5, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=torch.float64)
    report = basins(Grid(("w",), (x,), {"loss": loss}))
    assert [b.merges_into for b in report.basins] == [None, None]
    assert "never merge" in report.summary()


def test_summary_and_json():
    report = basins(evaluate_grid(gallery("himmelblau"), resolution=101))
    data = report.to_dict()
    assert {"point", "value", "merges_at", "persistence"} <= set(data["basins"][0])
    assert "4 basins" in report.summary() and "13.3" in report.summary()


def test_dimples_are_measured_against_the_typical_height_not_the_walls():

    twin_wells = basins(evaluate_grid(formula("x**4 - 2*x**2 + y**2"), resolution=101))  # spans 601, wells 1 deep
    assert twin_wells.value_span > 600 and twin_wells.relief == pytest.approx(np.median(
        evaluate_grid(formula("x**4 - 2*x**2 + y**2"), resolution=101).values["loss"].numpy()) + 1)  # fmt: skip
    assert "dimples" not in twin_wells.summary()
    ripples = basins(evaluate_grid(formula("x**2 + 0.2*cos(10*x)"), resolution=201))
    walls = [b for b in ripples.basins if b.merges_into is not None and b.persistence < 0.01 * ripples.relief]
    assert len(walls) == 2 and "2 of them are shallower than 1 % of the loss's median height" in ripples.summary()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda g: basins(g, "accuracy"), "the grid has no values 'accuracy'; it holds loss"),
        (lambda g: basins(g, min_persistence=-1.0), "min_persistence = -1.0; give a finite number ≥ 0"),
        (lambda g: basins(Grid(("a",), (torch.zeros(2),), {"loss": torch.full((2,), math.nan)})),
         "no grid point has a finite loss; nothing to analyse"),
        (lambda g: basins(Grid(tuple("abcd"), (torch.zeros(2),) * 4, {"loss": torch.zeros(2, 2, 2, 2)})),
         "basins need a grid of 1 to 3 axes; this one has 4"),
        (lambda g: basins(g, objective=gallery("double_well")), "the objective has 1 parameters, the grid 2 axes"),
    ],
    ids=["value", "persistence", "nan", "4-D", "objective"],
)
def test_refusals(call, message):
    grid = evaluate_grid(gallery("himmelblau"), resolution=11)
    with pytest.raises(LosslabError) as error:
        call(grid)
    assert str(error.value) == message


def test_twin_minima_merge_into_one_as_deep_not_a_deeper_one():
    """The double well's second minimum is as deep as the first: the summary said it 'merges into a deeper one'."""

    twins = basins(evaluate_grid(formula("(x**2 - 1)**2 + y**2"), resolution=101))
    assert twins.basins[0].value == twins.basins[1].value
    assert "One other basin merges into one as deep at loss 1" in twins.summary()
    tilted = basins(evaluate_grid(formula("(x**2 - 1)**2 + 0.3*x + y**2"), resolution=101))
    assert "One other basin merges into a deeper one" in tilted.summary()
    camel = basins(evaluate_grid(gallery("six_hump_camel"), resolution=101))  # mirror twins, equal to rounding
    assert "5 others merge into ones as deep or deeper" in camel.summary()
    himmelblau = basins(evaluate_grid(gallery("himmelblau"), resolution=101))
    assert "3 others merge into deeper ones" in himmelblau.summary()


def test_a_basin_whose_lowest_point_is_on_the_frame_s_edge_is_marked() -> None:
    """The line through the moons MLP's initialisation and θ* over [-0.5, 1.5] held a "basin" at a = -0.5: the
    grid's edge, where the loss went on falling. Oracle: the closed form of each grid."""
    a = torch.linspace(-0.5, 1.5, 41, dtype=torch.float64)
    line = Grid(("a",), (a,), {"loss": (a - 1) ** 2 * (a + 1) ** 2 + 0.3 * (a - 1)})  # lowest at the left end too
    report = basins(line)
    assert [b.on_edge for b in report.basins] == [False, True]
    assert report.basins[1].point == (-0.5,)
    assert "#1 has its lowest point on the frame's edge: the loss may go on falling outside it" in report.summary()
    assert str(report).splitlines()[-1].endswith("on the frame's edge")
    assert report.to_dict()["basins"][1]["on_edge"] is True
    plane = formula("x + y**2", domain="-2:2")
    slope = basins(evaluate_grid(plane, resolution=21))
    assert slope.basins[0].on_edge and slope.basins[0].point == (-2.0, 0.0)
    assert "Nothing merges. #0 has its lowest point on the frame's edge" in slope.summary()
    himmelblau = gallery("himmelblau")
    exact = basins(evaluate_grid(himmelblau, resolution=61), objective=himmelblau)
    assert len(exact.basins) == 4 and not any(b.on_edge for b in exact.basins)


def test_a_saddle_at_zero_reads_0_and_one_saddle_is_singular() -> None:
    """x·y's two corners merge through its saddle at 0, where the grid holds -5·0 = -0.0: the summary read
    "at loss -0 (at the exact saddles 0)"."""
    xy = formula("x*y")
    report = basins(evaluate_grid(xy, resolution=41), objective=xy)
    assert [b.merges_at for b in report.basins] == [math.inf, 0.0]
    assert math.copysign(1.0, report.basins[1].merges_at) == 1.0  # +0, not -0
    assert "merges into one as deep at loss 0 (at the exact saddle 0)" in report.summary()
    assert "-0" not in report.summary() and "-0 " not in str(report)


def test_accuracy_basins_are_the_error_s_and_are_drawn() -> None:
    """Accuracy is best highest: its "deepest basin" was its lowest accuracy (0.18 at the frame's corner). The
    basins of accuracy are those of 1 − accuracy, computed as a loss (oracle: the same grid with that loss)."""
    from losslab.plot.basins import basins_figure

    generator = torch.Generator().manual_seed(3)
    a = torch.linspace(-1, 1, 15, dtype=torch.float64)
    x, y = a[:, None], a[None, :]
    peaks = 0.9 * torch.exp(-4 * ((x - 0.5) ** 2 + y**2)) + 0.7 * torch.exp(-4 * ((x + 0.5) ** 2 + y**2))
    accuracy = 0.1 + 0.8 * peaks + 0.01 * torch.rand(15, 15, generator=generator, dtype=torch.float64)
    grid = Grid(("a", "b"), (a, a), {"loss": -torch.log(accuracy), "accuracy": accuracy})
    report = basins(grid, "accuracy")
    oracle = basins(Grid(("a", "b"), (a, a), {"loss": 1 - accuracy}))
    assert report.value_name == "error" and len(report.basins) == len(oracle.basins) > 1
    for mine, theirs in zip(report.basins, oracle.basins, strict=True):
        assert (mine.point, mine.size, mine.merges_into) == (theirs.point, theirs.size, theirs.merges_into)
        assert mine.value == pytest.approx(theirs.value, abs=1e-15)
        assert mine.merges_at == pytest.approx(theirs.merges_at, abs=1e-15)
    deepest = report.basins[0].point
    assert float(accuracy[a == deepest[0], a == deepest[1]]) == float(accuracy.max())
    assert report.summary().startswith("Of the error, 1 − accuracy: the 15×15 grid holds")
    figure = basins_figure(grid, report)
    assert figure.axes[1].get_ylabel().startswith("error")
