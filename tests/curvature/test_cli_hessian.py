"""`losslab hessian`: JSON keys, the density plot, and one-line errors."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from losslab.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def moons_json() -> dict:
    result = runner.invoke(app, ["hessian", "--demo", "moons-mlp", "--top", "3", "--trace", "--float64", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_has_the_documented_keys(moons_json):
    assert {"top_eigenvalues", "residuals", "trace", "parameters", "loss"} <= set(moons_json)
    values = moons_json["top_eigenvalues"]
    assert len(values) == 3 and values == sorted(values, reverse=True)
    assert set(moons_json["trace"]) >= {"estimate", "stderr", "probes"}
    assert moons_json["parameters"] == 354 and moons_json["eigen"]["converged"] is True


def test_json_matches_the_library_on_the_same_demo(moons_json):
    """The CLI is a shell: the same numbers as eigh of the demo's full Hessian."""
    from losslab.networks.demos import demo
    from losslab.objectives.network import NetworkObjective

    built = demo("moons-mlp", dtype=torch.float64)
    objective = NetworkObjective(built.model, (built.inputs, built.targets), built.loss)
    exact = torch.linalg.eigvalsh(objective.hessian(objective.center)).flip(0)[:3]
    assert moons_json["top_eigenvalues"] == pytest.approx(exact.tolist(), rel=1e-6)


def test_density_plot_is_written(tmp_path):
    target = tmp_path / "density.png"
    result = runner.invoke(
        app, ["hessian", "--demo", "moons-mlp", "--top", "1", "--density", "--runs", "2", "--steps", "20", "--out",
              str(target)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "tr(H)/n" in result.stdout and "density plot written" in result.stdout


def test_model_weights_and_data_files(tmp_path, monkeypatch):
    """--model pkg.module:factory with --weights and a .pt data file: the same numbers as the library."""
    from losslab.networks.demos import demo

    (tmp_path / "my_models.py").write_text(
        "from losslab.networks.demos import mlp\n\ndef moons_net():\n    return mlp((2, 16, 16, 2))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    built = demo("moons-mlp", dtype=torch.float64)
    torch.save(built.model.state_dict(), tmp_path / "ckpt.pt")
    torch.save({"inputs": built.inputs, "targets": built.targets}, tmp_path / "data.pt")
    args = ["hessian", "--model", "my_models:moons_net", "--weights", str(tmp_path / "ckpt.pt")]
    result = runner.invoke(app, [*args, "--data", str(tmp_path / "data.pt"), "--top", "2", "--float64", "--json"])
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)["top_eigenvalues"]
    demo_values = runner.invoke(app, ["hessian", "--demo", "moons-mlp", "--top", "2", "--float64", "--json"])
    assert values == pytest.approx(json.loads(demo_values.stdout)["top_eigenvalues"], rel=1e-6)  # the default tol
    bad = runner.invoke(app, [*args[:3], "--weights", str(tmp_path / "data.pt"), "--data", "moons"])
    assert bad.exit_code == 2 and "data.pt' holds no state dict of this model" in bad.stderr


CNN = "losslab.networks.demos:cnn"
ERRORS = {
    "demo": (["--demo", "resnet"], "--demo 'resnet' is not one of mlp, cnn, moons-mlp"),
    "model-spec": (["--model", "nodots", "--data", "digits"], "must look like 'package.module:factory'"),
    "model-missing": (["--model", "no_such_pkg.mod:f", "--data", "digits"], "cannot be loaded"),
    "model-no-data": (["--model", "losslab.networks.demos:cnn"], "--model needs --data"),
    "both": (["--demo", "mlp", "--model", CNN, "--data", "digits"], "either --demo or --model"),
    "data": (["--model", CNN, "--data", "mnist"], "--data 'mnist' is not one of digits, moons"),
    "out-without-density": (["--demo", "moons-mlp", "--out", "x.png"], "--out saves the density plot; add --density"),
    "out-folder": (
        ["--demo", "moons-mlp", "--density", "--out", "/no/such/folder/d.png"],
        "folder '/no/such/folder' does not exist",
    ),
    "which": (["--demo", "moons-mlp", "--which", "middle"], "which 'middle' is not one of"),
    "top": (["--demo", "moons-mlp", "--top", "0"], "Invalid value for '--top': Input should be greater than or equal"),
    "tol": (["--demo", "moons-mlp", "--tol", "2"], "tol = 2.0 must be a relative residual above 0 and below 1"),
    "max-iter-below-top": (["--demo", "moons-mlp", "--top", "3", "--max-iter", "2"], "find at most 2 eigenvalues"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_input_is_one_line_on_stderr_with_exit_2(case):
    args, message = ERRORS[case]
    result = runner.invoke(app, ["hessian", *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.output
