"""θ over the trainable parameters only (``parameters="trainable"``): a fine-tuned model's head or adapters, its
frozen backbone held at its values — against a deep copy that moves only those parameters, the full Hessian
of the loss as a function of them alone, and PyHessian's way (a closure over ``model.parameters()``, which
keeps the ones that require grad)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn
from typer.testing import CliRunner

from losslab.cli.app import app
from losslab.curvature import SharpnessTracker, closure_operator, top_eigenvalues
from losslab.errors import LosslabError
from losslab.landscape import survey
from losslab.landscape.directions import as_flat, random_directions
from losslab.landscape.regenerated import RegeneratedDirections
from losslab.landscape.regenerated_survey import regenerated_survey
from losslab.objectives.network import NetworkObjective
from network_oracles import plane_thetas


def finetuned(dtype: torch.dtype = torch.float64) -> nn.Module:
    """A backbone (frozen) and a head (trainable), with a LayerNorm between: 8·6 + 6 + 12 frozen, 6·3 + 3 trained."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 6), nn.LayerNorm(6), nn.Tanh(), nn.Linear(6, 3)).to(dtype)
    model[0].requires_grad_(False)
    model[1].requires_grad_(False)
    return model


def data(dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(20, 8, generator=g, dtype=dtype), torch.randint(0, 3, (20,), generator=g)


def moved_copy(model: nn.Module, theta: Tensor) -> nn.Module:
    """A deep copy with θ written into its trainable parameters only, in eval mode."""
    twin = copy.deepcopy(model).eval()
    trainable = [p for p in twin.parameters() if p.requires_grad]
    nn.utils.vector_to_parameters(theta.to(trainable[0]), trainable)
    return twin


def test_theta_covers_the_trainable_parameters_and_every_grid_value_is_direct() -> None:
    model = finetuned()
    x, y = data()
    L = NetworkObjective(model, (x, y), parameters="trainable")
    assert list(L.shapes) == ["3.weight", "3.bias"] and L.dim == 21
    assert torch.equal(L.center, torch.cat([model[3].weight.reshape(-1), model[3].bias]).detach())
    directions = random_directions(L, seed=2, bias_bn="include")
    surface = survey(L, directions, grid=(3, 3), ranges=(-2, 2))
    assert surface.provenance["parameter_set"] == "trainable" and surface.provenance["parameters"] == 21
    for i, j, theta in plane_thetas(surface, directions):
        with torch.no_grad():
            expected = float(nn.functional.cross_entropy(moved_copy(model, theta)(x), y))
        assert float(surface.values["loss"][i, j]) == pytest.approx(expected, rel=1e-12)
    assert torch.equal(as_flat(L, model), L.center)  # a module as a checkpoint: θ's parameters, by name
    everything = NetworkObjective(model, (x, y))
    assert everything.dim == 21 + 8 * 6 + 6 + 12 and "parameter_set" not in survey(
        everything, random_directions(everything), grid=2
    ).provenance


def test_the_hessian_is_over_the_trainable_parameters_alone() -> None:
    model = finetuned()
    x, y = data()
    L = NetworkObjective(model, (x, y), parameters="trainable")

    def loss_of_head(theta: Tensor) -> Tensor:
        return nn.functional.cross_entropy(torch.func.functional_call(model, L.unflatten(theta), (x,)), y)

    full = torch.autograd.functional.hessian(loss_of_head, L.center)
    exact = torch.linalg.eigvalsh(full)
    top = top_eigenvalues(L, 2)
    assert top.eigenvalues.tolist() == pytest.approx(exact.flip(0)[:2].tolist(), rel=1e-8)
    pyhessian_way = closure_operator(lambda: nn.functional.cross_entropy(model(x), y), model.parameters())
    assert pyhessian_way.dim == L.dim
    v = torch.randn(L.dim, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    torch.testing.assert_close(pyhessian_way.matvec(v), full @ v, rtol=1e-10, atol=1e-12)
    tracker = SharpnessTracker.for_model(model, (x, y), parameters="trainable", every=1)
    assert tracker.step(0) == pytest.approx(float(exact[-1]), rel=1e-6)


def test_a_regenerated_survey_moves_only_the_trainable_parameters_and_leaves_the_model_as_it_was() -> None:
    model = finetuned(torch.float32)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    L = NetworkObjective(model, data(torch.float32), parameters="trainable")
    directions = RegeneratedDirections(seed=4, bias_bn="include")
    stored = directions.materialize(L)
    assert stored.vectors.shape == (2, 21)
    regenerated = regenerated_survey(L, directions, grid=3)
    reference = survey(L, stored, grid=3)
    torch.testing.assert_close(regenerated.values["loss"], reference.values["loss"], rtol=1e-5, atol=1e-6)
    assert all(torch.equal(p, before[name]) for name, p in model.named_parameters())


def test_a_model_with_nothing_to_train_is_one_line() -> None:
    model = finetuned().requires_grad_(False)
    with pytest.raises(LosslabError, match=r"^parameters 'trainable', but no parameter of the model requires grad"):
        NetworkObjective(model, data(), parameters="trainable")
    with pytest.raises(LosslabError, match=r"^parameters 'head' is not one of all, trainable$"):
        NetworkObjective(model, data(), parameters="head")


def test_the_cli_takes_parameters_trainable(tmp_path: Path) -> None:
    path = tmp_path / "tuned.py"
    path.write_text(
        "import torch\nfrom torch import nn\n\n"
        "def tuned():\n"
        "    torch.manual_seed(0)\n"
        "    model = nn.Sequential(nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 3))\n"
        "    model[0].requires_grad_(False)\n"
        "    return model\n\n"
        "def data():\n"
        "    g = torch.Generator().manual_seed(1)\n"
        "    return torch.randn(20, 8, generator=g), torch.randint(0, 3, (20,), generator=g)\n"
    )
    source = ["--model", f"{path}:tuned", "--data", f"{path}:data", "--parameters", "trainable"]
    runner = CliRunner()
    out = str(tmp_path / "s.h5")
    result = runner.invoke(app, ["landscape", *source, "--grid", "3x3", "--out", out, "--no-progress", "--json"])
    assert result.exit_code == 0, result.output
    provenance = json.loads(result.output[result.output.index("{") :])["provenance"]
    assert provenance["parameters"] == 21 and provenance["parameter_set"] == "trainable"
    result = runner.invoke(app, ["hessian", *source, "--top", "1", "--no-progress", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{") :])["parameters"] == 21


def test_the_frozen_parameters_are_evaluated_in_the_objectives_dtype() -> None:
    """A float32 model surveyed in float64: the frozen parameters are held in float64 too (the module's own
    float32 ones would meet θ's float64 in one matrix product)."""
    model = finetuned(torch.float32)
    x, y = data()
    L = NetworkObjective(model, (x, y), dtype=torch.float64, parameters="trainable")
    assert all(value.dtype == torch.float64 for value in L.fixed.values())
    with torch.no_grad():
        expected = nn.functional.cross_entropy(copy.deepcopy(model).double()(x), y)
    assert float(L.value(L.center)) == pytest.approx(float(expected), rel=1e-12)


def test_a_checkpoint_with_another_frozen_backbone_is_refused_by_name() -> None:
    """θ leaves the frozen parameters out, so a checkpoint that differs there (another backbone) cannot be told
    apart by θ: a path to it, or a connection, would be another model's."""
    model = finetuned()
    L = NetworkObjective(model, data(), parameters="trainable")
    same_backbone = {name: p.detach().clone() for name, p in model.named_parameters()}
    same_backbone["3.weight"] = same_backbone["3.weight"] + 1
    assert torch.equal(as_flat(L, same_backbone)[:18], (model[3].weight + 1).detach().reshape(-1))
    other = dict(same_backbone, **{"0.weight": same_backbone["0.weight"] + 1})
    with pytest.raises(LosslabError, match=r"^checkpoint differs from the model in '0\.weight', which parameters "
                       r"'trainable' holds fixed"):  # fmt: skip
        as_flat(L, other)
