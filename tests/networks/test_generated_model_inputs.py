"""Generated cases over two input spaces (seeded): token ids against embedding tables of random sizes, held or
streamed, with or without an id past the table; and random choices of frozen layers under parameters
'trainable'. Each case is either the one-line refusal or values equal to a direct evaluation."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from losslab.errors import LosslabError
from losslab.objectives.network import NetworkObjective

CASES = 40


class Tokens(nn.Module):
    def __init__(self, vocabulary: int) -> None:
        super().__init__()
        self.table, self.head = nn.Embedding(vocabulary, 3), nn.Linear(3, 2)

    def forward(self, ids: Tensor) -> Tensor:
        return self.head(self.table(ids).mean(1))


@pytest.mark.parametrize("case", range(CASES))
def test_token_ids_are_refused_exactly_when_one_is_past_the_table(case: int) -> None:
    g = torch.Generator().manual_seed(case)
    draw = lambda high: int(torch.randint(1, high + 1, (1,), generator=g))  # noqa: E731  (1 … high)
    vocabulary, samples, length = draw(30) + 1, draw(12) + 3, draw(8)
    ids = torch.randint(0, vocabulary, (samples, length), generator=g)
    bad = None
    if case % 2:  # a bad id anywhere but the first two samples (those run at construction)
        bad = vocabulary + draw(5) - 1 if case % 4 == 1 else -draw(3)
        ids[2 + draw(samples - 2) - 1, draw(length) - 1] = bad
    targets = torch.randint(0, 2, (samples,), generator=g)
    torch.manual_seed(case)
    model = Tokens(vocabulary).double()
    streamed = case % 3 == 0
    data = DataLoader(TensorDataset(ids, targets), batch_size=draw(4) + 1) if streamed else (ids, targets)
    if bad is None:
        L = NetworkObjective(model, data)
        with torch.no_grad():
            expected = nn.functional.cross_entropy(model(ids), targets)
        assert float(L.value(L.center)) == pytest.approx(float(expected), rel=1e-12)
        return
    message = rf"^the data's (inputs|input 0) hold index {bad}, but the model's embedding table has {vocabulary} rows"
    with pytest.raises(LosslabError, match=message):
        L = NetworkObjective(model, data)
        L.value(L.center)  # a streamed batch is checked when it is read


@pytest.mark.parametrize("case", range(12))
def test_any_choice_of_frozen_layers_spans_the_rest_and_evaluates_as_a_moved_copy(case: int) -> None:
    g = torch.Generator().manual_seed(100 + case)
    widths = [int(w) for w in torch.randint(2, 6, (4,), generator=g)]
    torch.manual_seed(case)
    layers: list[nn.Module] = []
    for a, b in zip(widths, widths[1:], strict=False):
        layers += [nn.Linear(a, b), nn.Tanh()]
    model = nn.Sequential(*layers[:-1]).double()
    linears = [m for m in model if isinstance(m, nn.Linear)]
    frozen = [bool(torch.rand((), generator=g) < 0.5) for _ in linears]
    if all(frozen):
        frozen[-1] = False
    for layer, off in zip(linears, frozen, strict=True):
        layer.requires_grad_(not off)
    x = torch.randn(7, widths[0], generator=g, dtype=torch.float64)
    y = torch.randint(0, widths[-1], (7,), generator=g)
    L = NetworkObjective(model, (x, y), parameters="trainable")
    assert L.dim == sum(p.numel() for p in model.parameters() if p.requires_grad)
    theta = L.center + 0.3 * torch.randn(L.dim, generator=g, dtype=torch.float64)
    twin = copy.deepcopy(model)
    nn.utils.vector_to_parameters(theta, [p for p in twin.parameters() if p.requires_grad])
    with torch.no_grad():
        expected = nn.functional.cross_entropy(twin(x), y)
    assert float(L.value(theta)) == pytest.approx(float(expected), rel=1e-12)
