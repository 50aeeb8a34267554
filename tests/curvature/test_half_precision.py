"""Curvature of a model held in half precision: products in bfloat16/float16 are rounding noise (a bfloat16
GPT-2-style model gave a "top eigenvalue" of −0.00027, a float16 one a Lanczos that failed in ``eigh``), so
they are refused in one line naming the remedy: the same weights evaluated in float32. Oracle: a float32 copy
of the model holding the half-precision weights exactly, and ``eigvalsh`` of its full Hessian."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from losslab.curvature import SharpnessTracker, top_eigenvalues
from losslab.errors import LosslabError
from losslab.objectives.network import network
from network_oracles import split_by_name


def _model(dtype: torch.dtype) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 2)).to(dtype)


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(20, 3, generator=generator), torch.randint(0, 2, (20,), generator=generator)


@pytest.mark.parametrize(("dtype", "bits"), [(torch.bfloat16, 8), (torch.float16, 11)])
def test_half_precision_products_are_refused_with_the_remedy(dtype: torch.dtype, bits: int) -> None:
    half = _model(dtype)
    name = str(dtype).removeprefix("torch.")
    said = rf"^Hessian-vector products in {name} are rounding noise \({bits}-bit significand\): .*torch\.float32\)$"
    with pytest.raises(LosslabError, match=said):
        top_eigenvalues(network(half, _data()), 1)
    x, y = _data()
    with pytest.raises(LosslabError, match=r"SharpnessTracker.for_model\(model, data, dtype=torch.float32\)$"):
        closure = lambda: nn.functional.cross_entropy(half(x.to(dtype)), y)  # noqa: E731
        SharpnessTracker(closure, parameters=half.parameters()).step(0)


def test_the_remedy_gives_the_float32_curvature_of_the_half_precision_weights() -> None:
    half = _model(torch.bfloat16)
    copy = _model(torch.float32)
    copy.load_state_dict({k: v.float() for k, v in half.state_dict().items()})  # bf16 values are exact in float32
    x, y = _data()
    objective = network(half, (x, y), dtype=torch.float64)

    def loss(theta: torch.Tensor) -> torch.Tensor:
        parts = split_by_name(theta, objective.shapes)
        return nn.functional.cross_entropy(torch.func.functional_call(copy.double(), parts, (x.double(),)), y)

    spectrum = torch.linalg.eigvalsh(torch.func.hessian(loss)(objective.center))
    assert top_eigenvalues(objective, 1).eigenvalues.tolist() == pytest.approx([float(spectrum[-1])], rel=1e-8)
    tracker = SharpnessTracker.for_model(half, (x, y), every=1, dtype=torch.float64)
    assert tracker.step(0) == pytest.approx(float(spectrum[-1]), rel=1e-3)


def test_the_tracker_takes_a_model_with_a_padding_embedding() -> None:
    """The tracker required a GraphOperator; with padding rows held fixed it gets one wrapped (a TypeError)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(5, 3, padding_idx=0), nn.Flatten(), nn.Linear(6, 2)).double()
    ids = torch.tensor([[0, 1], [2, 3], [4, 0], [1, 1]])
    tracker = SharpnessTracker.for_model(model, (ids, torch.tensor([0, 1, 1, 0])), every=1)
    assert tracker.step(0) > 0
