"""A ResNet with BatchNorm (torchvision's blocks, built from torch.nn): grids and curvature against direct oracles."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from losslab.curvature import top_eigenvalues
from losslab.errors import LosslabError
from losslab.landscape import survey
from losslab.landscape.directions import random_directions
from losslab.landscape.engine import SliceEvaluator
from losslab.networks.vision import resnet
from losslab.objectives.network import network
from network_oracles import direct_loss, plane_thetas


def _trained_statistics(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Non-trivial BatchNorm running statistics: a few forward passes in train mode."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 3, 8, 8, generator=generator, dtype=torch.float64) * 2 + 0.5)
    return model


@pytest.fixture
def resnet64(generator: torch.Generator) -> tuple[nn.Module, Tensor, Tensor]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # nn's initialisation draws from the global RNG; test-only
        model = resnet(width=4, blocks=(1, 1), num_classes=3).double()
    _trained_statistics(model, generator)
    images = torch.randn(6, 3, 8, 8, generator=generator, dtype=torch.float64)
    return model, images, torch.randint(0, 3, (6,), generator=generator)


def test_grid_equals_direct_evaluation_of_a_deep_copy_in_eval_mode(resnet64) -> None:
    model, images, labels = resnet64
    objective = network(model, (images, labels))
    directions = random_directions(objective, seed=3)
    surface = survey(objective, directions, grid=3, ranges=(-0.5, 0.5), progress=False)
    for i, j, theta in plane_thetas(surface, directions):
        expected, accuracy = direct_loss(model, theta, images, labels)
        assert float(surface.values["loss"][i, j]) == pytest.approx(expected, rel=1e-10, abs=1e-12)
        assert float(surface.values["accuracy"][i, j]) == accuracy
    assert model.training  # left as it was


def test_float32_grid_equals_direct_evaluation(resnet64) -> None:
    model, images, labels = resnet64
    model = model.float()
    objective = network(model, (images.float(), labels))
    directions = random_directions(objective, seed=4)
    surface = survey(objective, directions, grid=2, progress=False)
    for i, j, theta in plane_thetas(surface, directions):
        expected = direct_loss(model, theta, images.float(), labels)[0]
        assert float(surface.values["loss"][i, j]) == pytest.approx(expected, rel=1e-5)


def test_top_hessian_eigenvalue_equals_eigvalsh_of_the_full_hessian(resnet64) -> None:
    _, images, labels = resnet64
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = resnet(width=2, blocks=(1, 1), num_classes=3).double()  # both kinds of block, 401 parameters
    _trained_statistics(model, torch.Generator().manual_seed(1))
    objective = network(model, (images[:4], labels[:4]))
    assert objective.dim == 401
    exact = torch.linalg.eigvalsh(objective.hessian(objective.center))
    result = top_eigenvalues(objective, 2, tol=1e-10)
    assert result.converged
    torch.testing.assert_close(result.eigenvalues, exact.flip(0)[:2], rtol=1e-8, atol=1e-10)


class RowsFirst(nn.Module):
    """A model that views its image batch as rows: channels-last input cannot be viewed so."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(3 * 8 * 8, 3)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(x.view(x.shape[0], -1))


@pytest.mark.parametrize(("dtype", "rel"), [(torch.float64, 1e-10), (torch.float32, 1e-5)], ids=["float64", "float32"])
def test_one_point_at_a_time_in_channels_last_equals_direct_evaluation(resnet64, dtype, rel) -> None:
    model, images, labels = resnet64
    model = model.to(dtype)
    objective = network(model, (images.to(dtype), labels))
    directions = random_directions(objective, seed=5)
    assert SliceEvaluator(objective, directions, "loop").channels_last
    surface = survey(objective, directions, grid=2, ranges=(-0.5, 0.5), method="loop", progress=False)
    for i, j, theta in plane_thetas(surface, directions):
        expected = direct_loss(model, theta, images.to(dtype), labels)[0]
        assert float(surface.values["loss"][i, j]) == pytest.approx(expected, rel=rel)


def test_a_model_that_views_its_input_as_rows_keeps_its_layout(generator: torch.Generator) -> None:
    model = RowsFirst().double()
    images = torch.randn(5, 3, 8, 8, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, 3, (5,), generator=generator)
    objective = network(model, (images, labels))
    directions = random_directions(objective, seed=1)
    assert not SliceEvaluator(objective, directions, "loop").channels_last
    surface = survey(objective, directions, grid=2, method="loop", progress=False)
    theta = objective.center + surface.coordinates[0][1] * directions.vectors[0] + surface.coordinates[1][0] * (
        directions.vectors[1]
    )
    assert float(surface.values["loss"][1, 0]) == pytest.approx(direct_loss(model, theta, images, labels)[0], rel=1e-12)


def test_autocast_bfloat16_is_within_its_rounding_of_float32_and_recorded(resnet64, tmp_path) -> None:
    model, images, labels = resnet64
    model = model.float()
    objective = network(model, (images.float(), labels))
    directions = random_directions(objective, seed=6)
    exact = survey(objective, directions, grid=3, progress=False, method="loop")
    out = tmp_path / "bf16.h5"
    low = survey(objective, directions, grid=3, progress=False, autocast="bfloat16", out=out)
    assert low.provenance["autocast"] == "bfloat16" and low.provenance["method"] == "loop"
    assert "evaluated under autocast bfloat16 (θ and the losses in float32)" in str(low)
    # bfloat16 keeps 8 significant bits (relative rounding 2⁻⁹ ≈ 2e-3 per product, errors partly cancelling
    # in the sums); through this two-block ResNet the losses move by about 2e-3 of their size: bound 1e-2
    relative = ((low.values["loss"] - exact.values["loss"]).abs() / exact.values["loss"].abs()).max()
    assert 0 < float(relative) < 1e-2
    with pytest.raises(LosslabError, match="its autocast is bfloat16, this survey's missing"):
        survey(objective, directions, grid=3, progress=False, out=out, resume=True, method="loop")


def test_autocast_refuses_the_fused_paths_and_unknown_precisions(resnet64) -> None:
    model, images, labels = resnet64
    objective = network(model, (images, labels))
    directions = random_directions(objective, seed=6)
    for method in ("fused", "vmap", "compile"):
        with pytest.raises(LosslabError, match=f"autocast runs with method loop \\(or auto\\), not {method}"):
            survey(objective, directions, grid=2, method=method, autocast="bfloat16")
    with pytest.raises(LosslabError, match="autocast lowers a float32 model's precision; this one is float64"):
        survey(objective, directions, grid=2, autocast="bfloat16")
    with pytest.raises(LosslabError, match="autocast 'fp8' is not one of bfloat16, float16"):
        survey(objective, directions, grid=2, autocast="fp8")
