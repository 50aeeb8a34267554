"""The landscape and curvature code on a CUDA device equals the CPU's (float64), the same code path.

Skipped where torch sees no CUDA device (every CI run). A session lent a GPU runs this file through
``benchmarks/gpu_check.sh``, with the CUDA benchmarks, as its one prepared device run.
"""

from __future__ import annotations

import pytest
import torch
from landscape_helpers import seeded, small_cnn, small_mlp

from losslab.curvature import top_eigenvalues
from losslab.landscape import SliceEvaluator, random_directions, survey
from losslab.objectives.network import NetworkObjective
from network_oracles import with_statistics

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
CUDA = torch.device("cuda")
MODELS = {"mlp": small_mlp, "cnn-batchnorm": small_cnn}


def _pair(name: str, data64: tuple[torch.Tensor, torch.Tensor]) -> tuple[NetworkObjective, NetworkObjective]:
    x, y = data64
    model = with_statistics(seeded(MODELS[name]).double(), x)
    return NetworkObjective(model, (x, y)), NetworkObjective(model, (x, y), device=CUDA)


@pytest.mark.parametrize("method", ["auto", "fused", "vmap"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_survey_on_cuda_equals_the_cpu(name, method, data64) -> None:
    cpu, cuda = _pair(name, data64)
    directions = random_directions(cpu, seed=3)
    grid, ranges = (5, 4), ((-1, 1), (-0.5, 0.7))
    expected = survey(cpu, directions, grid, ranges, method=method, chunk_size=6)
    got = survey(cuda, directions, grid, ranges, method=method, chunk_size=6)
    assert got.provenance["device"] == "cuda" and got.complete
    torch.testing.assert_close(got.values["loss"], expected.values["loss"], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(got.values["accuracy"], expected.values["accuracy"], rtol=0, atol=0)


def test_auto_takes_vmap_for_images_and_the_chain_for_linear_layers_on_cuda(data64) -> None:
    _, cnn = _pair("cnn-batchnorm", data64)
    _, mlp = _pair("mlp", data64)
    assert SliceEvaluator(cnn, random_directions(cnn, seed=0)).method == "vmap"
    chain_evaluator = SliceEvaluator(mlp, random_directions(mlp, seed=0))
    assert chain_evaluator.method == "fused"
    chain = chain_evaluator.fused.chain  # type: ignore[union-attr]
    assert chain is not None and chain.tile_width(8) == len(data64[0])  # one tile of all samples


def test_default_budget_survey_on_cuda_runs_in_float32(data64) -> None:
    x, y = data64[0].float(), data64[1]
    model = seeded(small_mlp).float()
    objective = NetworkObjective(model, (x, y), device=CUDA)
    surface = survey(objective, random_directions(objective, seed=1), grid=9)
    assert surface.complete and surface.provenance["dtype"] == "float32"
    assert surface.center_value() == pytest.approx(float(objective.value(objective.center)), rel=1e-6)


def test_top_eigenvalues_on_cuda_equal_the_cpu(data64) -> None:
    cpu, cuda = _pair("mlp", data64)
    expected = top_eigenvalues(cpu, 2, tol=1e-10).eigenvalues
    got = top_eigenvalues(cuda, 2, tol=1e-10).eigenvalues
    torch.testing.assert_close(got.cpu(), expected.cpu(), rtol=1e-8, atol=1e-12)
