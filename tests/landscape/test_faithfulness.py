"""The faithfulness report: a random slice hides a saddle that the Hessian-extremes slice shows; the
path's distance; the sampling error of streamed values against a hand computation."""

from __future__ import annotations

import pytest
import torch
from landscape_helpers import seeded, small_mlp
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from losslab.errors import LosslabError
from losslab.landscape import Directions, make_directions, random_directions, survey
from losslab.landscape.faithfulness import faithfulness, read_faithfulness, save_faithfulness
from losslab.objectives.network import NetworkObjective
from network_oracles import direct_loss

# L(w) = Σ c_i w_i²: 39 directions curve up (c = 1), one down (c = −1.5); at w = 0 a saddle with
# Hessian diag(2c): λmax = 2, λmin = −3, and a mean eigenvalue of 1.875 — what a random slice shows.
CURVES = torch.cat([torch.ones(39, dtype=torch.float64), torch.tensor([-1.5], dtype=torch.float64)])


class Weights(nn.Module):
    """A "model" whose output is its own weights: the loss callable makes the function."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, len(CURVES), dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight + 0 * x.sum()


def saddle() -> NetworkObjective:
    data = (torch.zeros(4, 1, dtype=torch.float64), torch.zeros(4, dtype=torch.float64))
    return NetworkObjective(Weights(), data, lambda w, _: (CURVES * w[0] ** 2).sum())


def test_the_random_slice_hides_the_saddle_and_the_hessian_extremes_slice_shows_it() -> None:
    objective = saddle()
    random = faithfulness(objective, random_directions(objective, normalization="none", seed=0))
    assert random.hessian_extremes == pytest.approx((2.0, -3.0), abs=1e-8)
    assert bool((random.slice_eigenvalues > 0).all()) and bool((random.curvatures > 0).all())
    assert random.hides_negative_curvature and not random.shows_negative_curvature
    extremes = faithfulness(objective, make_directions(objective, "hessian-extremes"))
    assert extremes.slice_eigenvalues.tolist() == pytest.approx([2.0, -3.0], abs=1e-8)
    assert extremes.shows_negative_curvature and not extremes.hides_negative_curvature
    assert extremes.shares == pytest.approx((1.0, 1.0), abs=1e-8)
    assert "HIDES negative curvature" in str(random) and "HIDES" not in str(extremes)


def test_the_slice_hessian_equals_the_full_hessian_projected(data64) -> None:
    """D H Dᵀ and the restricted eigenvalues against torch.func.hessian of the whole loss (float64)."""
    x, y = data64
    objective = NetworkObjective(seeded(small_mlp).double(), (x, y))
    directions = random_directions(objective, seed=2)
    report = faithfulness(objective, directions, checkpoints=torch.stack([objective.center, objective.center + 1]))
    hessian = torch.func.hessian(lambda t: objective.value(t))(objective.center)
    d = directions.vectors
    torch.testing.assert_close(report.slice_hessian, d @ hessian @ d.T, rtol=1e-9, atol=1e-12)
    q, _ = torch.linalg.qr(d.T)
    expected = torch.linalg.eigvalsh(q.T @ hessian @ q).flip(0)
    torch.testing.assert_close(report.slice_eigenvalues, expected, rtol=1e-9, atol=1e-12)
    full = torch.linalg.eigvalsh(hessian)
    assert report.hessian_extremes == pytest.approx((float(full[-1]), float(full[0])), rel=1e-5, abs=1e-8)
    assert report.path is not None and float(report.path.distance[0]) == 0.0
    assert report.to_dict()["path"]["checkpoints"] == 2


def test_streamed_values_carry_their_sampling_error(data64, tmp_path) -> None:
    x, y = data64
    model = seeded(small_mlp).double()
    streamed = NetworkObjective(model, DataLoader(TensorDataset(x, y), batch_size=10))
    directions = random_directions(streamed, seed=1)
    surface = survey(streamed, directions, grid=3, out=tmp_path / "s.h5")
    assert "loss_stderr" in surface.values and surface.provenance["values"] == ["loss", "accuracy", "loss_stderr"]
    losses = [direct_loss(model, directions.center, x[i : i + 10], y[i : i + 10])[0] for i in (0, 10, 20)]
    means = torch.tensor(losses, dtype=torch.float64)
    expected = (means.var() / 3).sqrt()  # equal batches: s² / B
    assert float(surface.values["loss_stderr"][1, 1]) == pytest.approx(float(expected), rel=1e-10)
    report = faithfulness(streamed, directions, surface=surface)
    assert report.sampling_error is not None and report.sampling_error["largest"] > 0
    save_faithfulness(tmp_path / "s.h5", report)
    stored = read_faithfulness(tmp_path / "s.h5")
    assert stored is not None and stored["sampling_error"] == pytest.approx(report.sampling_error)


def test_parallel_directions_are_refused() -> None:
    objective = saddle()
    vector = torch.ones(len(CURVES), dtype=torch.float64)
    with pytest.raises(LosslabError, match="do not span a plane"):
        faithfulness(objective, Directions(torch.stack([vector, 2 * vector]), objective.center.clone(), "given"))


def test_the_cli_prints_the_report_and_keeps_it_in_the_file(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from losslab.cli.app import app

    out = tmp_path / "moons.h5"
    args = ["landscape", "--demo", "moons-mlp", "--steps", "30", "--grid", "3x3", "--out", str(out), "--faithfulness"]
    result = CliRunner().invoke(app, [*args, "--max-iter", "300", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    report = document["faithfulness"]
    top, bottom = report["hessian_extremes"]
    assert top >= max(report["slice_eigenvalues"]) - 1e-6 and bottom <= min(report["slice_eigenvalues"]) + 1e-6
    assert document["surface"]["provenance"]["directions"] == "filter"
    assert read_faithfulness(out) == report
    text = CliRunner().invoke(app, [*args, "--force"])
    assert text.exit_code == 0 and "faithfulness of the slice" in text.output and "λmin" in text.output


def test_a_slice_that_curves_down_a_little_is_not_said_to_look_convex() -> None:
    """GPT-2's random slice curved down by 0.016 where the Hessian's λmin is -24.9: it hides the negative
    curvature, but 'it looks convex' was false."""
    from losslab.landscape.faithfulness import Faithfulness

    def report(slice_eigenvalues: list[float]) -> str:
        values = torch.tensor(slice_eigenvalues, dtype=torch.float64)
        return str(Faithfulness(torch.diag(values), values, values, (3.217, -24.86), True, True))

    assert "it curves down by at most 0.01587, 0.064% as much, but the Hessian has λmin -24.86" in report(
        [-0.007331, -0.01587]
    )
    assert "it looks convex, but the Hessian has λmin -24.86" in report([0.03, 0.002])


class Quartic(nn.Module):
    """L(w) = w₀² − 0.01·w₁² + w₁⁴: a saddle at 0 whose downturn along w₁ lives within |w₁| < 0.1."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, 2, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight + 0 * x.sum()


def quartic() -> NetworkObjective:
    data = (torch.zeros(4, 1, dtype=torch.float64), torch.zeros(4, dtype=torch.float64))
    return NetworkObjective(Quartic(), data, lambda w, _: w[0, 0] ** 2 - 0.01 * w[0, 1] ** 2 + w[0, 1] ** 4)


def test_a_grid_too_coarse_for_the_downturn_says_so_and_frames_one_that_shows_it() -> None:
    """Closed form: the second difference along w₁ at spacing h is 2(−0.01h² + h⁴), negative only for h < 0.1;
    the halvings of the grid's 0.5 reach 0.0625; w₀ (curvature 2) spans ±0.0625·√(0.02/2)."""
    objective = quartic()
    plane = make_directions(objective, "hessian-extremes")
    assert plane.eigenvalues == pytest.approx([2.0, -0.02], abs=1e-8)
    coarse = survey(objective, plane, grid=5)  # spacing 0.5: a bowl along w₁ too
    report = faithfulness(objective, plane, surface=coarse)
    assert report.shows_negative_curvature and len(report.downturns) == 1
    (turn,) = report.downturns
    assert turn["axis"] == 1 and turn["curvature"] == pytest.approx(-0.02) and turn["spacing"] == pytest.approx(0.5)
    assert turn["grid_difference"] == pytest.approx(2 * (-0.01 * 0.25 + 0.5**4), rel=1e-9) and not turn["shown"]
    assert turn["within"] == 0.0625
    assert sum(turn["suggested_ranges"], []) == pytest.approx([-0.00625, 0.00625, -0.0625, 0.0625])
    text = str(report)
    assert "along b the slice curves down (-0.02 per unit²), but not at this grid's spacing 0.5" in text
    assert "It curves down within |b| ≲ 0.0625: to see it, survey --range=-0.0063:0.0063,-0.063:0.063" in text
    fine = survey(objective, plane, grid=5, ranges=[tuple(r) for r in turn["suggested_ranges"]])
    center_row = fine.values["loss"][2]  # b through the centre: it dips on both sides of it
    assert float(center_row[1]) < float(center_row[2]) and float(center_row[3]) < float(center_row[2])
    shown = faithfulness(objective, plane, surface=fine)
    assert shown.downturns[0]["shown"] and "It curves down" not in str(shown)
    assert faithfulness(objective, plane).downturns == []  # without a surface there is no grid to judge


def test_a_downturn_below_the_loss_rounding_is_not_chased() -> None:
    """In float32 a curvature of −0.02 falls by less than the loss's rounding (64·eps·|L|) once h is small:
    the halving stops there and says that no spacing shows it."""
    objective = quartic()
    objective_32 = NetworkObjective(Quartic().float(), (torch.zeros(4, 1), torch.zeros(4)),
                                    lambda w, _: 1e3 + w[0, 0] ** 2 - 0.01 * w[0, 1] ** 2 + w[0, 1] ** 4)  # fmt: skip
    plane = make_directions(objective, "hessian-extremes")
    plane32 = Directions(plane.vectors.float(), objective_32.center.clone(), "given")
    report = faithfulness(objective_32, plane32, surface=survey(objective_32, plane32, grid=5))
    (turn,) = report.downturns
    assert turn["within"] is None and turn["suggested_ranges"] is None
    assert "a smaller spacing shows nothing above the loss's rounding either" in str(report)


@pytest.mark.parametrize(("directions", "grid", "said"), [
    ("hessian-extremes", "7", "--grid 7 is a line, but --directions hessian-extremes spans a plane (the largest and "
                              "the smallest eigenvector): give --grid 7x7"),
    ("hessian-extremes", "5x5x5", "--grid 5x5x5 is a volume, but --directions hessian-extremes spans a plane"),
    ("interpolate", "9X9", "--grid 9X9 is a plane, but --directions interpolate spans a line"),
])  # fmt: skip
def test_a_grid_of_other_axes_than_the_directions_span_is_refused_before_any_work(
    directions: str, grid: str, said: str, tmp_path, monkeypatch
) -> None:
    from typer.testing import CliRunner

    import losslab.networks.build as build
    from losslab.cli.app import app

    monkeypatch.setattr(build, "network_objective", lambda **_: pytest.fail("the model was built"))
    out = str(tmp_path / "s.h5")
    args = ["landscape", "--demo", "moons-mlp", "--directions", directions, "--grid", grid, "--out", out]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and said in result.output and "Traceback" not in result.output
    with pytest.raises(LosslabError, match="hessian-extremes spans a plane .*: k=2, not 1"):
        make_directions(saddle(), "hessian-extremes", k=1)


def test_the_reach_of_the_slice_is_said_as_it_is() -> None:
    """A share of λmin only where both curve down: "-333.3% of λmin" for a slice curving up where λmin is −0.0044
    (below 10⁻³·λmax: no clear negative curvature) said nothing true."""
    from losslab.landscape.faithfulness import Faithfulness

    def reach(slice_eigenvalues: list[float], extremes: tuple[float, float]) -> str:
        values = torch.tensor(slice_eigenvalues, dtype=torch.float64)
        report = Faithfulness(torch.diag(values), values, values, extremes, True, False)
        return str(report).splitlines()[3]

    assert reach([0.0743, 0.0146], (7.256, -0.004377)) == (
        "  the slice reaches 1.0% of λmax; the Hessian curves down nowhere clearly (λmin -0.004377, above "
        "−0.00726 = −0.001·max|λ|)"
    )
    hides = "  the slice reaches 0.91% of λmax and none of λmin (it curves down nowhere)"
    assert reach([0.03, 0.002], (3.291, -0.05573)) == hides
    assert reach([3.291, -0.05573], (3.291, -0.05573)) == "  the slice reaches 100.0% of λmax and 100.0% of λmin"
    # padded text on GPT-2-tiny: both slice eigenvalues negative ("-0.3% of λmax" before)
    assert reach([-0.008953, -0.01457], (3.491, -25.52)) == (
        "  the slice reaches none of λmax (it curves up nowhere) and 0.057% of λmin"
    )
    # a random slice of a network reaches a small share of λmax: two significant figures, not "0.0%"
    assert reach([0.0013, 0.0004], (3.291, 0.0)).startswith("  the slice reaches 0.04% of λmax;")
