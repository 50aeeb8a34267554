"""The CLI on a user's own code: a model file with factory arguments, a loss by import path, a DataLoader factory,
a dict of token ids; and the built-in transformers demos."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from losslab.cli.app import app

runner = CliRunner()

MODELS = '''
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def mlp(width, depth=1):
    layers = [nn.Linear(64, width), nn.ReLU()] * depth
    return nn.Sequential(*layers, nn.Linear(width, 10))


def l1_on_logits(outputs, targets):
    return outputs.abs().mean() + nn.functional.cross_entropy(outputs, targets)


def digits_loader(batch_size=100):
    from losslab.networks.demos import digits

    x, y = digits()
    return DataLoader(TensorDataset(x[:300], y[:300]), batch_size=batch_size)
'''


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_models.py"
    path.write_text(textwrap.dedent(MODELS))
    return path


def test_a_model_file_with_arguments_a_loss_path_and_a_dataloader_factory(user_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.h5"
    result = runner.invoke(app, [
        "landscape", "--model", f"{user_file}:mlp", "--model-args", "width=8", "--data", f"{user_file}:digits_loader",
        "--data-args", "batch_size=64", "--loss", f"{user_file}:l1_on_logits", "--grid", "3x3", "--out", str(out),
        "--no-progress", "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    provenance = json.loads(result.output)["provenance"]
    assert provenance["data_size"] == 300 and provenance["loss"] == "l1_on_logits"  # streamed, counted: not -1
    assert provenance["parameters"] == 64 * 8 + 8 + 8 * 10 + 10


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--model-args", "width=os.system"], "values must be Python literals"),
        (["--model-args", "height=3"], "does not take these arguments"),
        (["--model-args", "width=("], "is not of the form"),
        (["--loss", "{file}:nothing"], "no 'nothing' in"),
        (["--loss", "nll"], "--loss 'nll' is not one of cross_entropy, mse, bce_with_logits, model, or an import path"),
        (["--data", "{file}:mlp", "--data-args", "width=3"], "not a DataLoader"),
    ],
    ids=["literal", "unknown-argument", "syntax", "loss-missing", "loss-unknown-name", "data-is-a-model"],
)
def test_bad_user_code_specs_are_one_line(user_file: Path, arguments: list[str], message: str) -> None:
    base = ["landscape", "--model", f"{user_file}:mlp", "--model-args", "width=8", "--data", "digits", "--grid", "3"]
    result = runner.invoke(app, base + [a.replace("{file}", str(user_file)) for a in arguments])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_a_demo_takes_a_loss_by_import_path(user_file: Path, tmp_path: Path) -> None:
    """--demo with --loss pkg.module:function was refused ("not one of cross_entropy, ..."): the path went to the
    objective as a name. The survey's centre is the loss the function computes on the demo's own model and data."""
    from losslab.networks.demos import demo

    out = tmp_path / "s.h5"
    result = runner.invoke(app, ["landscape", "--demo", "mlp", "--loss", f"{user_file}:l1_on_logits", "--grid", "3",
                                 "--out", str(out), "--no-progress", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    surface = json.loads(result.output)
    assert surface["provenance"]["loss"] == "l1_on_logits"
    built = demo("mlp")
    with torch.no_grad():
        logits = built.model.eval()(built.inputs)
    direct = float(logits.abs().mean() + torch.nn.functional.cross_entropy(logits, built.targets))
    assert surface["values"]["loss"][1] == pytest.approx(direct, rel=1e-5)  # float32 model


def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    result = runner.invoke(app, ["hessian", "--model", f"{tmp_path}/absent.py:make", "--data", "digits"])
    assert result.exit_code == 2 and "absent.py does not exist" in result.output


def test_transformers_demo_landscape_and_hessian(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    ids = torch.randint(0, 64, (4, 12), generator=torch.Generator().manual_seed(0))
    torch.save({"input_ids": ids, "labels": ids}, tmp_path / "tokens.pt")
    out = tmp_path / "lm.h5"
    result = runner.invoke(app, [
        "landscape", "--model", "transformers:gpt2-tiny", "--steps", "0", "--data", str(tmp_path / "tokens.pt"),
        "--grid", "3x3", "--out", str(out), "--no-progress", "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    provenance = json.loads(result.output)["provenance"]
    assert provenance["data_size"] == 4 and provenance["loss"] == "model_loss"
    result = runner.invoke(app, ["hessian", "--model", "transformers:llama-tiny", "--top", "1", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["parameters"] == 22688 and report["eigen"]["converged"] and report["top_eigenvalues"][0] > 0


def test_a_randomly_initialised_factory_builds_the_same_model_every_run(user_file: Path) -> None:
    from losslab.networks.loading import load_data, load_model

    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    first, second = (load_model(f"{user_file}:mlp", arguments=((16,), {})) for _ in range(2))
    pairs = zip(first.state_dict().values(), second.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    assert torch.equal(torch.random.get_rng_state(), before)  # the caller's generator is put back
    loader = load_data(f"{user_file}:digits_loader")
    assert isinstance(loader, torch.utils.data.DataLoader)
