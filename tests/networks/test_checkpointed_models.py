"""Models that checkpoint activations (``torch.utils.checkpoint``), as memory-bound training code does.

Reentrant checkpointing cuts the graph where its inputs need no gradient — as a model's inputs do — so the
parameters inside it got none and the Hessian silently left them out (λmax 0.696 where the model's is 0.807);
forward-over-reverse products raised torch.func's errors as tracebacks. Oracle: the same model without
checkpointing (values to 1e-12, λmax to 1e-8) and ``torch.func.hessian`` of it.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from losslab.curvature import SharpnessTracker, hessian_operator, top_eigenvalues
from losslab.errors import LosslabError
from losslab.landscape import random_directions, survey
from losslab.objectives.network import network


class Net(nn.Module):
    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode  # "none", "reentrant" or "non-reentrant"
        self.a, self.b, self.c = nn.Linear(5, 12), nn.Linear(12, 12), nn.Linear(12, 3)

    def block(self, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.b(torch.tanh(self.a(h))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "none":
            return self.c(self.block(x))
        return self.c(checkpoint(self.block, x, use_reentrant=self.mode == "reentrant"))


def _pair(mode: str) -> tuple[nn.Module, nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    torch.manual_seed(0)
    model = Net(mode).double()
    plain = Net("none").double()
    plain.load_state_dict(model.state_dict())
    generator = torch.Generator().manual_seed(1)
    data = torch.randn(24, 5, generator=generator, dtype=torch.float64), torch.randint(0, 3, (24,), generator=generator)
    return model, plain, data


def test_a_non_reentrant_checkpointed_model_has_the_plain_model_s_landscape_and_hessian() -> None:
    model, plain, data = _pair("non-reentrant")
    objective, reference = network(model, data), network(plain, data)
    directions = random_directions(reference, seed=2)
    torch.testing.assert_close(survey(objective, directions, grid=3).values["loss"],
                               survey(reference, directions, grid=3).values["loss"], rtol=1e-12, atol=0)  # fmt: skip
    spectrum = torch.linalg.eigvalsh(torch.func.hessian(lambda t: reference.value(t))(reference.center))
    assert top_eigenvalues(objective, 1).eigenvalues.tolist() == pytest.approx([float(spectrum[-1])], rel=1e-8)
    with pytest.raises(LosslabError, match=r"^forward-over-reverse products \(method 'jvp'\) do not go through this "
                                           r"model \(.*saved tensor hooks\); method 'graph' .* does$"):  # fmt: skip
        hessian_operator(objective, method="jvp").matvec(torch.ones(objective.dim, dtype=torch.float64))


def test_a_reentrant_checkpointed_model_is_refused_where_its_gradient_would_skip_parameters() -> None:
    model, plain, data = _pair("reentrant")
    objective = network(model, data)  # values take no gradient: torch's warning on it is not passed on
    values = survey(objective, random_directions(objective, seed=2), grid=3).values["loss"]  # values are right
    reference = survey(network(plain, data), random_directions(network(plain, data), seed=2), grid=3)
    torch.testing.assert_close(values, reference.values["loss"], rtol=1e-12, atol=0)
    said = r"^the model checkpoints activations with torch.utils.checkpoint\(use_reentrant=True\), .*=False$"
    with pytest.raises(LosslabError, match=said):
        top_eigenvalues(objective, 1)
    x, y = data
    with pytest.raises(LosslabError, match=said):
        SharpnessTracker(lambda: nn.functional.cross_entropy(model(x), y), parameters=model.parameters()).step(0)
