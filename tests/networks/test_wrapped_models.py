"""Models and checkpoints as training scripts leave them: a model inside DataParallel, DistributedDataParallel or
torch.compile's wrapper; a state dict saved from such a wrapper or a training module (``module.``, ``_orig_mod.``,
``model.`` before every name) or nested in a training checkpoint (``model_state_dict`` beside the optimizer's
state and the epoch, Lightning's ``state_dict``). DataParallel was refused ("The stateless API can't be used
with nn.DataParallel module"), and each such checkpoint failed to load. Oracle: the plain model and its plain
state dict."""

from __future__ import annotations

import itertools
import warnings

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from losslab.cli.app import app
from losslab.errors import LosslabError
from losslab.landscape import random_directions, survey
from losslab.landscape.directions import as_flat
from losslab.objectives.model_state import aligned_state
from losslab.objectives.network import network


def _net() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.BatchNorm1d(8), nn.Linear(8, 3)).double().eval()


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(40, 4, generator=generator, dtype=torch.float64), torch.randint(0, 3, (40,), generator=generator)


@pytest.mark.parametrize("wrap", ["DataParallel", "compile", "compile(DataParallel)"])
def test_a_wrapped_model_is_surveyed_as_the_model_inside(wrap: str) -> None:
    plain = _net()
    wrapped = {
        "DataParallel": lambda m: nn.DataParallel(m),
        "compile": lambda m: torch.compile(m),
        "compile(DataParallel)": lambda m: torch.compile(nn.DataParallel(m)),
    }[wrap]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch's own, on building the wrapper
        wrapped = wrapped(plain)
    objective, reference = network(wrapped, _data()), network(plain, _data())
    assert list(objective.shapes) == list(reference.shapes) == ["0.weight", "0.bias", "2.weight", "2.bias", "3.weight",
                                                               "3.bias"]  # fmt: skip
    directions = random_directions(reference, seed=3)
    assert torch.equal(survey(objective, directions, grid=3).values["loss"], survey(reference, directions, grid=3)
                       .values["loss"])  # fmt: skip


@pytest.mark.parametrize("make", [lambda m, x: torch.jit.script(m), lambda m, x: torch.jit.trace(m, x)])
def test_a_torchscript_module_is_one_line(make) -> None:
    x, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit itself is deprecated in torch 2.13
        scripted = make(_net(), x)
    with pytest.raises(LosslabError, match=r"^the model is a TorchScript module .*: give the nn.Module it was made"):
        network(scripted, (x, y))


PREFIXES = ["", "module.", "_orig_mod.", "model.", "module.module."]
NESTINGS = [None, "model_state_dict", "state_dict", "model"]


@pytest.mark.parametrize(("prefix", "nesting"), list(itertools.product(PREFIXES, NESTINGS)))
def test_every_saved_form_of_a_state_dict_aligns_with_the_model(prefix: str, nesting: str | None) -> None:
    model = _net()
    plain = model.state_dict()
    state = {prefix + k: v for k, v in plain.items()}
    saved = state if nesting is None else {"epoch": 7, nesting: state, "optimizer_state_dict": {"state": {}}}
    aligned = aligned_state(saved, model, "checkpoint")
    assert aligned.keys() == plain.keys() and all(torch.equal(aligned[k], plain[k]) for k in plain)
    objective = network(model, _data())
    assert torch.equal(as_flat(objective, saved), objective.center)


def test_a_checkpoint_of_another_model_is_one_line() -> None:
    objective = network(_net(), _data())
    with pytest.raises(LosslabError, match=r"^checkpoint holds no state dict of this model: .*it holds \['a'\]"):
        as_flat(objective, {"a": torch.zeros(2)})
    partial = {k: v for k, v in _net().state_dict().items() if not k.startswith("3.")}
    with pytest.raises(LosslabError, match=r"^checkpoint has no '3.weight' \(2 of the model's parameters missing\)$"):
        as_flat(objective, partial)


def test_the_cli_loads_a_training_checkpoint_saved_from_a_wrapper(tmp_path) -> None:
    (tmp_path / "mine.py").write_text(
        "import torch\nfrom torch import nn\n"
        "def net():\n    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))\n"
        "def data():\n    g = torch.Generator().manual_seed(0)\n"
        "    return torch.randn(40, 4, generator=g), torch.randint(0, 3, (40,), generator=g)\n"
    )
    torch.manual_seed(5)
    trained = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    torch.save(trained.state_dict(), tmp_path / "plain.pt")
    wrapped = {"module." + k: v for k, v in trained.state_dict().items()}
    torch.save({"epoch": 3, "model_state_dict": wrapped, "optimizer_state_dict": {}}, tmp_path / "ddp.pt")
    shas = []
    for weights in ("plain.pt", "ddp.pt"):
        model, data, out = f"{tmp_path}/mine.py:net", f"{tmp_path}/mine.py:data", str(tmp_path / "s.h5")
        args = ["landscape", "--model", model, "--data", data, "--weights", str(tmp_path / weights), "--grid", "3x3",
                "--out", out, "--force", "--json"]  # fmt: skip
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        shas.append(result.output.split('"model_sha256": "')[1][:64])
    assert shas[0] == shas[1]
