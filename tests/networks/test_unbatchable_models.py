"""Models ``torch.func.vmap`` cannot batch over parameter points — recurrent layers, a forward that branches on a
value, ``nn.TransformerEncoder``'s fused fast path — surveyed, connected and evaluated in stacks all the same,
each value equal to a direct evaluation of a deep copy."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn
from typer.testing import CliRunner

from losslab.cli.app import app
from losslab.errors import LosslabError
from losslab.landscape import survey
from losslab.landscape.directions import random_directions
from losslab.landscape.engine import SliceEvaluator
from losslab.objectives.network import NetworkObjective
from network_oracles import direct_loss, plane_thetas


class Recurrent(nn.Module):
    """A sequence classifier on an LSTM or GRU: neither has a vmap batching rule."""

    def __init__(self, cell: type[nn.Module] = nn.LSTM) -> None:
        super().__init__()
        self.rnn, self.head = cell(3, 5, batch_first=True), nn.Linear(5, 4)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.rnn(x)[0][:, -1])


class Branching(nn.Module):
    """A forward that takes a branch by a tensor's value: vmap refuses data-dependent control flow."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(3 * 6, 4), nn.Linear(3 * 6, 4)

    def forward(self, x: Tensor) -> Tensor:
        x = x.flatten(1)
        return self.a(x) if self.a.weight.sum() > 0 else self.b(x)


class Encoder(nn.Module):
    """``nn.TransformerEncoder`` in eval mode takes a fused fast path that vmap only loops over, warning."""

    def __init__(self) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True)  # an even number of heads: fast
        self.embed, self.head = nn.Linear(3, 4), nn.Linear(4, 4)
        self.enc = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.enc(self.embed(x)).mean(1))


def data(n: int = 12, dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(3)
    return torch.randn(n, 6, 3, generator=g, dtype=dtype), torch.randint(0, 4, (n,), generator=g)


def objective(model: nn.Module, dtype: torch.dtype = torch.float64) -> NetworkObjective:
    torch.manual_seed(0)
    return NetworkObjective(model.to(dtype), data(dtype=dtype))


@pytest.mark.parametrize(
    ("make", "fails"),
    [(Recurrent, True), (lambda: Recurrent(nn.GRU), True), (Branching, True), (Encoder, False)],
    ids=["lstm", "gru", "branching", "encoder"],
)
def test_a_model_vmap_cannot_batch_is_surveyed_point_by_point_and_every_value_is_direct(make, fails: bool) -> None:
    model = make()
    L = objective(model, torch.float32 if isinstance(model, Encoder) else torch.float64)  # fast path: float32 only
    assert L.vmap_refusal is not None and L.vmap_refusal.fails is fails, L.vmap_refusal
    directions = random_directions(L, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "performance drop" from vmap's own fallback
        surface = survey(L, directions, grid=(3, 3))
    assert SliceEvaluator(L, directions).method == "loop"
    tolerance = 1e-5 if isinstance(model, Encoder) else 1e-12
    x, y = data(dtype=L.dtype)
    for i, j, theta in plane_thetas(surface, directions):
        loss, accuracy = direct_loss(model, theta, x, y)
        assert surface.values["loss"][i, j] == pytest.approx(loss, rel=tolerance)
        assert surface.values["accuracy"][i, j] == pytest.approx(accuracy)


def test_a_stack_of_points_is_evaluated_one_by_one_where_vmap_cannot_batch() -> None:
    model = Recurrent()
    L = objective(model)
    thetas = L.center + 0.1 * torch.randn(5, L.dim, generator=torch.Generator().manual_seed(2), dtype=L.dtype)
    values = L.values(thetas)
    x, y = data()
    assert values.tolist() == pytest.approx([direct_loss(model, t, x, y)[0] for t in thetas], rel=1e-12)


def test_asking_for_vmap_on_such_a_model_is_one_line_naming_the_operator() -> None:
    L = objective(Recurrent())
    with pytest.raises(LosslabError, match=r"^method 'vmap' cannot batch this model \(Batching rule not implemented "
                       r"for aten::lstm\.input\); use 'loop' or 'auto'$"):  # fmt: skip
        SliceEvaluator(L, random_directions(L), method="vmap")


def test_a_model_vmap_batches_keeps_vmap() -> None:
    L = objective(nn.Sequential(nn.Flatten(), nn.Linear(18, 6), nn.Tanh(), nn.Linear(6, 4)))
    assert L.vmap_refusal is None
    assert SliceEvaluator(L, random_directions(L), method="auto").method in ("fused", "vmap")


def test_the_cli_surveys_and_connects_an_lstm_from_a_users_file(tmp_path: Path) -> None:
    path = tmp_path / "rnn.py"
    path.write_text(
        "import torch\nfrom torch import nn\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.rnn, self.head = nn.LSTM(3, 5, batch_first=True), nn.Linear(5, 4)\n"
        "    def forward(self, x):\n"
        "        return self.head(self.rnn(x)[0][:, -1])\n\n"
        "def net():\n    return Net()\n\n"
        "def data():\n    g = torch.Generator().manual_seed(0)\n"
        "    return torch.randn(16, 6, 3, generator=g), torch.randint(0, 4, (16,), generator=g)\n"
    )
    for seed in (1, 2):
        torch.manual_seed(seed)
        torch.save(Recurrent().state_dict(), tmp_path / f"w{seed}.pt")
    source = ["--model", f"{path}:net", "--data", f"{path}:data"]
    runner = CliRunner()
    out = str(tmp_path / "s.h5")
    result = runner.invoke(app, ["landscape", *source, "--grid", "3x3", "--out", out, "--no-progress"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["connect", *source, "--weights", str(tmp_path / "w1.pt"), "--weights",
                                 str(tmp_path / "w2.pt"), "--epochs", "2", "--points", "5"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "barrier" in result.output
    result = runner.invoke(app, ["landscape", *source, "--method", "vmap", "--grid", "3", "--out",
                                 str(tmp_path / "v.h5"), "--no-progress"])  # fmt: skip
    assert result.exit_code == 2 and "cannot batch this model" in result.output and "Traceback" not in result.output


def test_hessian_products_of_a_stack_on_an_lstm_equal_double_backward_each() -> None:
    """Forward-over-reverse products of a stack, vmapped over the vectors (the tangents are batched, not θ: the
    LSTM takes that), against reverse-over-reverse through the saved graph, one vector at a time."""
    from losslab.curvature import hessian_operator

    L = objective(Recurrent())
    vectors = torch.randn(3, L.dim, generator=torch.Generator().manual_seed(4), dtype=L.dtype)
    stacked = hessian_operator(L, method="jvp").matmat(vectors)
    graph = hessian_operator(L, method="graph")
    expected = torch.stack([graph.matvec(v) for v in vectors])
    torch.testing.assert_close(stacked, expected, rtol=1e-10, atol=1e-12)


def test_a_streamed_float32_lstm_takes_hessian_products_a_batch_at_a_time() -> None:
    """In float32 an LSTM runs oneDNN's mkldnn_rnn_layer, which has no forward-mode AD: the jvp products that
    streamed data used raised NotImplementedError. Streamed data now takes reverse-over-reverse a batch at a time,
    equal to the saved graph over the data held in memory."""
    from torch.utils.data import DataLoader, TensorDataset

    from losslab.curvature import hessian_operator

    model = Recurrent().float()
    x, y = data(dtype=torch.float32)
    held = NetworkObjective(model, (x, y))
    streamed = NetworkObjective(model, DataLoader(TensorDataset(x, y), batch_size=5))
    operator = hessian_operator(streamed)
    assert operator.method == "graph"
    vectors = torch.randn(3, held.dim, generator=torch.Generator().manual_seed(5))
    expected = hessian_operator(held).matmat(vectors)
    torch.testing.assert_close(operator.matmat(vectors), expected, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(operator.matvec(vectors[0]), expected[0], rtol=1e-4, atol=1e-6)
