"""Any input and output structure on plain torch modules: tuples, dicts, DataLoaders of dicts, K-dimensional
cross-entropy, tuple outputs, the user's training flags — and each bad input as one line."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from losslab.errors import LosslabError
from losslab.landscape import survey
from losslab.landscape.directions import random_directions
from losslab.landscape.engine import SliceEvaluator
from losslab.objectives.network import network


class TwoInputs(nn.Module):
    """``forward(x, z)``: a model with two inputs and a tuple output (prediction, a by-product)."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(3, 2), nn.Linear(4, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x: Tensor, z: Tensor) -> tuple[Tensor, Tensor]:
        out = self.drop(self.a(x) + self.b(z))
        return out, out.detach().abs()


class Segmenter(nn.Module):
    """Per-position class logits in torch's K-dimensional layout: ``(B, V, T)``."""

    def __init__(self, classes: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv1d(2, classes, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


@pytest.fixture
def pair(generator: torch.Generator) -> tuple[TwoInputs, Tensor, Tensor, Tensor]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = TwoInputs().double()
    x = torch.randn(10, 3, generator=generator, dtype=torch.float64)
    z = torch.randn(10, 4, generator=generator, dtype=torch.float64)
    return model, x, z, torch.randn(10, 2, generator=generator, dtype=torch.float64)


def test_tuple_and_dict_inputs_equal_the_direct_evaluation(pair) -> None:
    model, x, z, y = pair
    model.eval()
    with torch.no_grad():
        expected = float(nn.functional.mse_loss(model(x, z)[0], y))
    model.train()
    as_tuple = network(model, ((x, z), y), "mse")
    as_dict = network(model, ({"x": x, "z": z}, y), "mse")
    for objective in (as_tuple, as_dict):
        assert float(objective.value(objective.center)) == pytest.approx(expected, rel=1e-12)  # dropout off
    assert model.training and model.drop.training  # the user's mode, restored


def test_a_dataloader_of_dicts_equals_in_memory_on_every_path(pair) -> None:
    model, x, z, y = pair
    rows = [({"x": x[i], "z": z[i]}, y[i]) for i in range(10)]
    streamed = network(model, DataLoader(rows, batch_size=4), "mse")
    held = network(model, ({"x": x, "z": z}, y), "mse")
    assert float(streamed.value(streamed.center)) == pytest.approx(float(held.value(held.center)), rel=1e-12)
    directions = random_directions(held, seed=5)
    coords = torch.tensor([[0.0, 0.0], [0.5, -0.25], [1.0, 1.0]], dtype=torch.float64)
    expected = held.values(held.center + coords @ directions.vectors)
    for objective in (held, streamed):
        loss, _ = SliceEvaluator(objective, directions)(coords)
        torch.testing.assert_close(loss, expected, rtol=1e-12, atol=1e-14)
    assert survey(streamed, directions, grid=2, progress=False).provenance["data_size"] == 10


def test_k_dimensional_cross_entropy_is_accepted(generator: torch.Generator) -> None:
    model = Segmenter().double()
    x = torch.randn(4, 2, 7, generator=generator, dtype=torch.float64)  # 7 positions, 5 classes (B, V, T)
    y = torch.randint(0, 5, (4, 7), generator=generator)
    objective = network(model, (x, y), "cross_entropy")
    with torch.no_grad():
        expected = float(nn.functional.cross_entropy(model(x), y))
    assert float(objective.value(objective.center)) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(LosslabError, match="the targets hold class 5, but the model has 5 outputs"):
        network(model, (x, y.masked_fill(y == 0, 5)), "cross_entropy")


def test_classes_last_logits_against_token_targets_are_flattened(generator: torch.Generator) -> None:
    model = nn.Sequential(nn.Embedding(6, 4), nn.Linear(4, 6)).double()  # (B, T) ids → (B, T, V) logits
    ids = torch.randint(0, 6, (3, 5), generator=generator)
    objective = network(model, (ids, ids), "cross_entropy")
    with torch.no_grad():
        expected = float(nn.functional.cross_entropy(model(ids).reshape(-1, 6), ids.reshape(-1)))
    assert float(objective.value(objective.center)) == pytest.approx(expected, rel=1e-12)


def _linear() -> nn.Module:
    return nn.Linear(3, 2).double()


X = torch.ones(4, 3, dtype=torch.float64)
Y = torch.zeros(4, dtype=torch.int64)
BAD = {
    "loss-returns-none": (lambda: network(_linear(), (X, Y), lambda out, y: None), "returned NoneType"),
    "loss-returns-a-vector": (lambda: network(_linear(), (X, Y), lambda out, y: out.sum(1)), "must be one number"),
    "loss-is-nan": (lambda: network(_linear(), (X, Y), lambda out, y: out.sum() * float("nan")), "must be finite"),
    "model-loss-of-a-tensor": (lambda: network(_linear(), (X, Y), "model"), "outputs.loss is None"),
    "no-targets": (lambda: network(_linear(), {"input": X}, "cross_entropy"), "the data has no targets"),
    "misspelt-keyword": (lambda: network(_linear(), ({"inputs": X}, Y)), "does not take 'inputs'"),
    "data-of-a-wrong-type": (lambda: network(_linear(), 5), "data of type int"),
    "rows-differ": (lambda: network(_linear(), (X, Y[:2])), "inputs have 4 rows but targets 2"),
    "wrong-class": (lambda: network(_linear(), (X, Y + 2)), "the targets hold class 2"),
    "unknown-loss": (lambda: network(_linear(), (X, Y), "hinge"), "'hinge'"),
    "output-without-a-tensor": (
        lambda: network(_Labelled(), (X, Y), "cross_entropy"),
        "hold no prediction tensor",
    ),
    # an id past the table in the last sample (the first call sees the first two): found in all the data at once
    "token-past-the-table-later": (
        lambda: network(_Tokens(), ({"ids": torch.tensor([[1, 2], [3, 0], [4, 7]]), "mask": Y[:3]}, Y[:3])),
        r"^the data's ids hold index 7, but the model's embedding table has 5 rows \(0–4\)$",
    ),
    "negative-token": (
        lambda: network(_Tokens(), ((torch.tensor([[1, 2], [3, 0], [-1, 2]]), Y[:3]), Y[:3])),
        r"^the data's input 0 hold index -1, but the model's embedding table has 5 rows",
    ),
    "token-past-the-table-at-once": (
        lambda: network(_Tokens(), ({"ids": torch.tensor([[9, 2], [3, 0]]), "mask": Y[:2]}, Y[:2])),
        r"index out of range in self \(the embedding table has 5 rows, 0–4, and was given 9\)$",
    ),
}


class _Tokens(nn.Module):
    """Token ids through an embedding table of 5 rows (and a second input it ignores)."""

    def __init__(self) -> None:
        super().__init__()
        self.table, self.head = nn.Embedding(5, 3), nn.Linear(3, 2)

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        return self.head(self.table(ids).mean(1))


class _Labelled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(1, dtype=torch.float64))

    def forward(self, x: Tensor) -> dict[str, str]:
        return {"label": "a"}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line(case: str) -> None:
    build, message = BAD[case]
    with pytest.raises(LosslabError, match=message) as raised:
        build()
    assert "\n" not in str(raised.value)


class _Wide(nn.Module):
    """Not a Sequential (no fused path), a million parameters: ``auto`` evaluates it point by point on a CPU."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(1000, 1000)

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x)[:, :3]


def test_loop_equals_vmap_and_auto_takes_it_for_a_large_model_on_a_cpu(pair, generator: torch.Generator) -> None:
    model, x, z, y = pair
    held = network(model, ((x, z), y), "mse")
    directions = random_directions(held, seed=6)
    coords = torch.tensor([[0.0, 0.0], [0.5, -0.25], [1.0, 1.0]], dtype=torch.float64)
    loop, vmapped = SliceEvaluator(held, directions, "loop"), SliceEvaluator(held, directions, "vmap")
    torch.testing.assert_close(loop(coords)[0], vmapped(coords)[0], rtol=1e-12, atol=1e-14)
    assert SliceEvaluator(held, directions).method == "vmap"  # small: vmap
    wide = network(_Wide(), (torch.randn(4, 1000, generator=generator), torch.tensor([0, 1, 2, 0])))
    assert SliceEvaluator(wide, random_directions(wide)).method == "loop"
