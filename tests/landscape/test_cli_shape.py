"""`losslab connect` and `losslab basins`: thin shells over the library, one-line refusals with exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from losslab.cli.app import app
from losslab.landscape.connect_file import load_connection

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("one_thread")  # small networks: tests/conftest.py


def test_connect_demo_writes_json_file_and_picture(tmp_path):
    out, picture = tmp_path / "c.h5", tmp_path / "c.png"
    args = ["connect", "--demo", "moons-mlp", "--steps", "150", "--epochs", "8", "--batch-size", "128",
            "--points", "21", "--out", str(out), "--plot", str(picture), "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert {"line_barrier", "curve_barrier", "t", "curve_loss", "line_loss"} <= set(document)
    assert len(document["t"]) == 21 and document["curve_barrier"] < document["line_barrier"]
    assert load_connection(out).curve_barrier == pytest.approx(document["curve_barrier"], abs=0)
    assert picture.stat().st_size > 20_000
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "exists; --resume continues the training in it" in again.output


def test_connect_model_with_two_weights(tmp_path):
    nets = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.ReLU(),
                                  torch.nn.Linear(16, 2))  # fmt: skip
        torch.save(net.state_dict(), tmp_path / f"w{seed}.pt")
        nets.append(net)
    result = runner.invoke(app, [
        "connect", "--model", "losslab.networks.demos:mlp", "--model-args", "sizes=(2, 16, 16, 2)", "--data", "moons",
        "--weights", str(tmp_path / "w0.pt"), "--weights", str(tmp_path / "w1.pt"), "--epochs", "2", "--points", "5",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "straight line: max loss" in result.output and "trained curve" in result.output


def test_connect_formula_adds_the_minimum_energy_path():
    result = runner.invoke(app, ["connect", "himmelblau", "--from", "x=3,y=2", "--to",
                                 "x=3.584428340330492,y=-1.848126526964404", "--epochs", "100", "--optimizer",
                                 "adam:lr=0.05", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["minimum_energy_path"]["saddle_value"] == pytest.approx(13.31192627040559, abs=1e-9)


def test_connect_formula_without_minima_connects_the_two_lowest_found():
    """`losslab connect "(x^2 - 1)^2 + 0.1x + y^2"` asked for --from and --to with Himmelblau's minima as the example,
    whatever the formula: the two lowest minima are found (oracle: numpy's roots of 4x³ − 4x + 0.1) and named."""
    result = runner.invoke(app, ["connect", "(x^2 - 1)^2 + 0.1x + y^2", "--epochs", "3", "--points", "5", "--json"])
    assert result.exit_code == 0, result.output
    roots = sorted(np.roots([4.0, 0.0, -4.0, 0.1]).real)
    words = f"connecting the two lowest minima found: --from 'x={roots[0]:.6g},y=0' --to 'x={roots[2]:.6g},y=0'"
    assert result.stderr.splitlines()[-1] == words
    document = json.loads(result.stdout)
    assert document["minimum_energy_path"]["saddle_value"] == pytest.approx((roots[1] ** 2 - 1) ** 2 + 0.1 * roots[1],
                                                                             abs=1e-9)  # fmt: skip


def test_basins_of_a_formula_and_of_a_surface(tmp_path):
    result = runner.invoke(app, ["basins", "six_hump_camel", "--resolution", "101", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert len(document["basins"]) == 6
    assert {"point", "value", "merges_at", "persistence"} <= set(document["basins"][0])
    assert document["basins"][0]["merges_at"] == "Infinity"
    saved = tmp_path / "s.h5"
    made = runner.invoke(app, ["landscape", "--demo", "moons-mlp", "--steps", "20", "--grid", "9x9", "--out",
                               str(saved)])  # fmt: skip
    assert made.exit_code == 0, made.output
    text = runner.invoke(app, ["basins", str(saved), "--plot", str(tmp_path / "b.png")])
    assert text.exit_code == 0, text.output
    assert "The 9×9 grid holds" in text.output and (tmp_path / "b.png").stat().st_size > 20_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["basins", "missing.h5"], "error: surface file missing.h5 does not exist"),
        (["basins", "himmelblau", "--resolution", "2"], "error: --resolution must be a whole number ≥ 3, got 2"),
        (["basins", "himmelblau", "--value", "accuracy"], "error: the grid has no values 'accuracy'; it holds loss"),
        (["basins", "himmelblau", "--plot", "x.gif"], "error: --plot x.gif: basins are drawn as a still picture"),
        (["connect", "--demo", "moons-mlp", "--bends", "4"], "error: bends must be at most 3, got 4"),
        (["connect", "--demo", "moons-mlp", "--curve", "spline"], "error: curve 'spline' is not one of bezier"),
        (["connect", "--demo", "moons-mlp", "--optimizer", "newton"], "error: optimizer 'newton' cannot train"),
        (["connect", "--demo", "moons-mlp", "--seeds", "1,1"], "error: --seeds '1,1': give two different"),
        (["connect", "--model", "losslab.networks.demos:mlp", "--data", "digits", "--weights", "a.pt"],
         "error: --model needs two --weights (the two minima), got 1"),
        (["connect", "himmelblau", "--from", "x=3,y=2"], "error: give both --from and --to, or neither"),
        (["connect", "x**2 + y**2"], "error: 1 isolated minimum found in x=-5:5,y=-5:5, 2 needed: name them"),
        (["connect", "--demo", "moons-mlp", "--out", "/no/such/c.h5"], "error: cannot write a surface to '/no/such"),
        (["connect", "--demo", "moons-mlp", "--epochs", "-1"], "error: epochs must be a whole number ≥ 0, got -1"),
    ],
    ids=["missing", "resolution", "value", "gif", "bends", "curve", "newton", "seeds", "weights", "from", "one-minimum",
         "out", "epochs"],
)  # fmt: skip
def test_bad_input_is_one_line_with_exit_code_2(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(message) and result.output.count("\n") == 1
