"""Mode connectivity: curves between two minima (Garipov et al. 2018), their files and resumption, and the
minimum-energy path of a formula (nudged elastic band) against the gallery's known saddles."""

from __future__ import annotations

import math

import h5py
import pytest
import torch
from torch import nn

from losslab.analysis.energy_path import minimum_energy_path
from losslab.errors import LosslabError
from losslab.landscape.connect import connect
from losslab.landscape.connect_file import load_connection
from losslab.landscape.connection import Connection
from losslab.landscape.curves import curve_points, curve_weights, initial_bends, point_at
from losslab.networks.demos import demo
from losslab.objectives.gallery import gallery
from losslab.objectives.network import NetworkObjective

HIMMELBLAU_MINIMA = [(3.0, 2.0), (-2.805118086952745, 3.131312518250573), (-3.779310253377747, -3.283185991286169),
                     (3.584428340330492, -1.848126526964404)]  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_thread")  # small networks: tests/conftest.py


@pytest.fixture(scope="module")
def moons_pair(one_thread):
    """Two moons MLPs trained from different seeds (the demo's 300 full-batch Adam steps), float64."""
    nets = [demo("moons-mlp", seed=seed, dtype=torch.float64) for seed in (0, 1)]
    objective = NetworkObjective(nets[0].model, (nets[0].inputs, nets[0].targets))
    return objective, objective.center.clone(), nn.utils.parameters_to_vector(nets[1].model.parameters()).detach()


@pytest.fixture(scope="module")
def moons_connection(moons_pair):
    objective, a, b = moons_pair
    return connect(objective, a, b, optimizer="adam:lr=0.01", epochs=40, batch_size=128, seed=3)


@pytest.mark.parametrize("curve", ["bezier", "polychain"])
@pytest.mark.parametrize("bends", [1, 2, 3])
def test_curves_end_exactly_at_a_and_b_and_start_as_the_line(curve, bends, generator):
    a, b = torch.randn(2, 50, generator=generator, dtype=torch.float64)
    middle = initial_bends(a, b, bends) + torch.randn(bends, 50, generator=generator, dtype=torch.float64)
    ends = curve_points(curve, a, middle, b, torch.tensor([0.0, 1.0], dtype=torch.float64))
    assert torch.equal(ends[0], a) and torch.equal(ends[1], b)
    t = torch.linspace(0, 1, 9, dtype=torch.float64)
    line = curve_points(curve, a, initial_bends(a, b, bends), b, t)
    torch.testing.assert_close(line, a + t[:, None] * (b - a), rtol=0, atol=1e-14)
    torch.testing.assert_close(curve_weights(curve, t, bends).sum(-1), torch.ones(9, dtype=torch.float64))


@pytest.mark.parametrize("curve", ["bezier", "polychain"])
@pytest.mark.parametrize("bends", [1, 2, 3])
def test_a_training_point_is_the_curve_point(curve, bends, generator):
    a, b = torch.randn(2, 30, generator=generator, dtype=torch.float64)
    middle = torch.randn(bends, 30, generator=generator, dtype=torch.float64)
    for t in (0.0, 0.13, 0.5, 0.77, 1.0):
        expected = curve_points(curve, a, middle, b, torch.tensor([t], dtype=torch.float64))[0]
        torch.testing.assert_close(point_at(curve, a, middle, b, t), expected, rtol=0, atol=1e-14)


def test_bezier_weights_are_bernstein_polynomials():
    t = torch.tensor([0.3], dtype=torch.float64)
    expected = [math.comb(3, k) * 0.3**k * 0.7 ** (3 - k) for k in range(4)]
    torch.testing.assert_close(curve_weights("bezier", t, 2)[0], torch.tensor(expected, dtype=torch.float64))


def test_two_moons_nets_connect_far_below_the_line(moons_connection, moons_pair):
    c = moons_connection
    _, a, b = moons_pair
    # Garipov et al.'s finding: the trained curve's barrier is far below the straight line's
    assert c.line_barrier > 0.2
    assert c.curve_barrier < 0.25 * c.line_barrier
    assert torch.equal(c.control_points[0], a) and torch.equal(c.control_points[-1], b)
    assert float(c.curve_accuracy.min()) > float(c.line_accuracy.min())
    # the measured ends are the same two points for the curve and the line
    assert c.curve_loss[0] == c.line_loss[0] and c.curve_loss[-1] == c.line_loss[-1]
    data = c.to_dict()
    assert {"line_barrier", "curve_barrier", "t", "curve_loss", "line_loss"} <= set(data)


def test_the_loss_along_the_curve_is_the_objective_at_its_points(moons_connection, moons_pair):
    objective, _, _ = moons_pair
    c = moons_connection
    t = c.t[[0, 17, 30, 60]]
    direct = torch.stack([objective.value(theta) for theta in c.points(t)])
    torch.testing.assert_close(direct, c.curve_loss[[0, 17, 30, 60]], rtol=1e-12, atol=1e-12)


def test_resume_equals_uninterrupted(moons_pair, tmp_path):
    objective, a, b = moons_pair
    options = {"optimizer": "momentum:lr=0.05", "epochs": 4, "batch_size": 100, "seed": 1, "points": 11}
    whole = connect(objective, a, b, **options)

    def stop(epoch, _loss):
        if epoch == 2:
            raise KeyboardInterrupt

    out = tmp_path / "c.h5"
    with pytest.raises(KeyboardInterrupt):
        connect(objective, a, b, out=out, on_epoch=stop, **options)
    with h5py.File(out) as file:
        assert int(file.attrs["epochs_done"]) == 2 and not file.attrs["complete"]
    resumed = connect(objective, a, b, out=out, resume=True, **options)
    assert torch.equal(resumed.control_points, whole.control_points)
    assert torch.equal(resumed.curve_loss, whole.curve_loss)
    assert resumed.train_loss == whole.train_loss
    loaded = load_connection(out)
    assert torch.equal(loaded.control_points, whole.control_points) and loaded.curve_barrier == whole.curve_barrier
    assert loaded.provenance["optimizer"] == "momentum:lr=0.05"


def test_a_file_is_not_overwritten_without_force(moons_pair, tmp_path):
    objective, a, b = moons_pair
    out = tmp_path / "c.h5"
    connect(objective, a, b, epochs=1, points=5, out=out)
    with pytest.raises(LosslabError, match="exists; --resume continues the training in it, --force replaces it"):
        connect(objective, a, b, epochs=1, points=5, out=out)
    with pytest.raises(LosslabError, match="its seed is 0, this training's 5"):
        connect(objective, a, b, epochs=1, points=5, seed=5, out=out, resume=True)
    replaced = connect(objective, a, b, epochs=1, points=5, seed=5, out=out, force=True)
    assert replaced.notes == [f"{out} was replaced (--force)"]


def test_batchnorm_statistics_are_recomputed_along_the_curve(generator):
    x = torch.randn(64, 3, generator=generator, dtype=torch.float64)
    y = (x[:, 0] > 0).long()
    nets = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        nets.append(nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2)).double())
    for net in nets:  # a few training steps so the running statistics are those of the data
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        net.train()
        for _ in range(20):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
    objective = NetworkObjective(nets[0], (x, y))
    b = nn.utils.parameters_to_vector(nets[1].parameters()).detach()
    c = connect(objective, objective.center, b, epochs=3, points=5)
    assert c.provenance["batchnorm"] == "recomputed along the curve"
    # at b, with statistics recomputed over x, the loss is net b's in eval mode after the statistics are re-estimated
    check = NetworkObjective(nets[1], (x, y), batchnorm="recompute")
    expected = check.loss_fn(check.outputs(check.center, x, check.recomputed_buffers(check.center)), y)
    assert float(c.line_loss[-1]) == pytest.approx(float(expected), abs=1e-12)


def test_a_formula_connects_and_reports_its_barrier():
    c = connect(gallery("himmelblau"), HIMMELBLAU_MINIMA[0], HIMMELBLAU_MINIMA[1], optimizer="adam:lr=0.05",
                epochs=300, points=101)  # fmt: skip
    assert isinstance(c, Connection) and c.curve_accuracy is None
    # no path between the two basins can stay below their saddle (67.719); the curve comes down towards it
    assert c.line_barrier > 70 and 67.71915 - 1e-9 <= c.curve_barrier < c.line_barrier - 2


@pytest.mark.parametrize(
    ("pair", "saddle", "value"),
    [((0, 3), (3.385154183607021, 0.0738518798377493), 13.31192627040559),
     ((0, 1), (0.08667750455539636, 2.884254701174776), 67.71915008752614),
     ((1, 2), (-3.07302575076439, -0.08135304428796751), 104.0151629175581)],
    ids=["13.3", "67.7", "104"],
)  # fmt: skip
def test_minimum_energy_path_passes_through_the_saddle(pair, saddle, value):
    path = minimum_energy_path(gallery("himmelblau"), HIMMELBLAU_MINIMA[pair[0]], HIMMELBLAU_MINIMA[pair[1]])
    climbing = path.images[int(path.values.argmax())]
    # the climbing image itself (before Newton) lies within 1e-4 of the saddle; Newton makes it exact
    assert float(torch.linalg.vector_norm(climbing - torch.tensor(saddle, dtype=torch.float64))) < 1e-4
    torch.testing.assert_close(path.saddle, torch.tensor(saddle, dtype=torch.float64), rtol=0, atol=1e-10)
    assert path.saddle_value == pytest.approx(value, abs=1e-9)
    assert path.barrier == pytest.approx(value, abs=1e-9)  # both minima have L = 0
    assert path.force < 1e-5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"curve": "spline"}, "curve 'spline' is not one of bezier, polychain"),
        ({"bends": 4}, "bends must be at most 3, got 4"),
        ({"bends": 0}, "bends must be a whole number ≥ 1, got 0"),
        ({"optimizer": "lbfgs"}, "optimizer 'lbfgs' cannot train a curve (one t per step); use sgd, momentum or adam"),
        ({"optimizer": "adam:lr=-1"}, "optimizer 'adam': lr must be a finite number > 0"),
        ({"epochs": -1}, "epochs must be a whole number ≥ 0, got -1"),
        ({"points": 2}, "points must be a whole number ≥ 3, got 2"),
        ({"batch_size": 8}, "batch_size needs an objective with data in memory; leave it out for this objective"),
    ],
    ids=["curve", "bends", "no-bends", "lbfgs", "lr", "epochs", "points", "batch"],
)
def test_refusals(options, message):
    with pytest.raises(LosslabError) as error:
        connect(gallery("himmelblau"), HIMMELBLAU_MINIMA[0], HIMMELBLAU_MINIMA[1], **options)
    assert str(error.value).startswith(message)


def test_same_points_are_refused():
    with pytest.raises(LosslabError, match="theta_a and theta_b are the same point"):
        connect(gallery("himmelblau"), HIMMELBLAU_MINIMA[0], HIMMELBLAU_MINIMA[0])
    with pytest.raises(LosslabError, match="a and b are the same point"):
        minimum_energy_path(gallery("himmelblau"), HIMMELBLAU_MINIMA[0], HIMMELBLAU_MINIMA[0])


def test_a_language_model_connects_on_its_own_loss_and_every_measured_point_is_direct() -> None:
    """connect called ``loss_fn(outputs, targets)`` itself: a model's own loss (a dict with labels) raised
    "model_loss() takes 1 positional argument but 2 were given", dict inputs could not be indexed. Oracle: the
    causal cross-entropy of a deep copy at each measured point of the line (float64)."""
    pytest.importorskip("transformers")
    from losslab.networks.language import counting_tokens, gpt2_tiny
    from network_oracles import twin_at

    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(gpt2_tiny(vocabulary=24, width=16).double())
    ids = counting_tokens(6, 10, vocabulary=24)
    mask = torch.ones_like(ids)
    mask[0, 7:] = 0
    batch = {"input_ids": ids, "attention_mask": mask, "labels": ids.masked_fill(mask == 0, -100)}
    objective = NetworkObjective(models[0], batch)
    b = nn.utils.parameters_to_vector(models[1].parameters()).detach()
    c = connect(objective, objective.center, b, epochs=2, batch_size=3, points=5)
    assert c.line_accuracy is None and c.curve_accuracy is None  # a language model: no classifier
    for t, value in zip(c.t.tolist(), c.line_loss.tolist(), strict=True):
        theta = objective.center + t * (b - objective.center)
        with torch.no_grad():
            logits = twin_at(models[0], theta)(input_ids=ids, attention_mask=mask, use_cache=False).logits
        labels = batch["labels"][:, 1:].reshape(-1)
        direct = nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels)
        assert value == pytest.approx(float(direct), rel=1e-10)
    assert float(c.curve_loss[0]) == pytest.approx(float(c.line_loss[0]), rel=1e-12)


def test_the_cli_connects_two_seeds_of_a_language_demo(tmp_path) -> None:
    """``losslab connect --model transformers:gpt2-tiny`` asked for two --weights; a language demo, like --demo,
    trains its two seeds."""
    pytest.importorskip("transformers")
    from typer.testing import CliRunner

    from losslab.cli.app import app

    args = ["connect", "--model", "transformers:gpt2-tiny", "--steps", "3", "--epochs", "2", "--points", "5",
            "--out", str(tmp_path / "c.h5")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "between two minima (28544 parameters, 2 epochs)" in result.output and "straight line" in result.output
