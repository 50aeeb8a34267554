"""An embedding's padding row is held fixed in Hessians, as torch holds it in training.

torch zeroes the padding row's gradient (``padding_idx``), so products taken through that gradient are
not symmetric where the padding token also occurs as input: double backward gave 12.4 and
forward-over-reverse 82.2 along the tiny Llama's embedding (its padding id 0 is its first token), and
Lanczos ran on a non-symmetric operator. Oracle: the full Hessian H of the same loss written with
``F.embedding`` and no padding index (``torch.func.hessian``, float64), restricted as P·H·P (P zero on the
padding row), and its ``eigvalsh``.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from losslab.curvature import hessian_operator, top_eigenvalues
from losslab.errors import LosslabError
from losslab.objectives.model_state import padding_rows
from losslab.objectives.network import network
from network_oracles import split_by_name

VOCABULARY, WIDTH = 7, 3


class Tagger(nn.Module):
    """Token ids → an embedding (padding id 0) → a tanh → per-token logits; its head tied to the embedding."""

    def __init__(self, tied: bool) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCABULARY, WIDTH, padding_idx=0, dtype=torch.float64)
        with torch.no_grad():
            self.embed.weight[0] = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)  # a pad row that matters
        self.mix = nn.Linear(WIDTH, WIDTH, dtype=torch.float64)
        self.head = nn.Linear(WIDTH, VOCABULARY, bias=False, dtype=torch.float64)
        if tied:
            self.head.weight = self.embed.weight

    def forward(self, ids: Tensor) -> Tensor:
        return self.head(torch.tanh(self.mix(self.embed(ids))))


def _restricted_hessian(model: Tagger, ids: Tensor, tags: Tensor, tied: bool) -> tuple[Tensor, Tensor]:
    """(P·H·P, keep) over θ in named_parameters order, H from a loss with no padding index."""
    shapes = {n: p.shape for n, p in model.named_parameters()}
    theta = torch.cat([p.detach().reshape(-1) for _, p in model.named_parameters()])

    def loss(t: Tensor) -> Tensor:
        parts = split_by_name(t, shapes)
        table = parts["embed.weight"]
        head = table if tied else parts["head.weight"]
        hidden = torch.tanh(nn.functional.linear(nn.functional.embedding(ids, table), parts["mix.weight"],
                                                 parts["mix.bias"]))  # fmt: skip
        return nn.functional.cross_entropy(nn.functional.linear(hidden, head).reshape(-1, VOCABULARY), tags.reshape(-1))

    hessian = torch.func.hessian(loss)(theta)
    keep = torch.ones(len(theta), dtype=torch.float64)
    keep[0:WIDTH] = 0  # embed.weight comes first: row 0 is entries 0…2
    return keep[:, None] * hessian * keep[None, :], keep


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("method", ["graph", "jvp"])
def test_products_and_eigenvalues_are_those_of_the_hessian_with_the_padding_row_fixed(tied: bool, method: str) -> None:
    generator = torch.Generator().manual_seed(2)
    ids = torch.randint(0, VOCABULARY, (5, 4), generator=generator)
    ids[0, 0] = 0  # the padding id occurs as an input
    tags = torch.randint(0, VOCABULARY, (5, 4), generator=generator)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = Tagger(tied)
    objective = network(model, (ids, tags), "cross_entropy")
    expected, keep = _restricted_hessian(model, ids, tags, tied)
    assert objective.trained_entries is not None and torch.equal(objective.trained_entries, keep)
    operator = hessian_operator(objective, method=method)
    vectors = torch.randn(3, objective.dim, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(operator.matmat(vectors), vectors @ expected, rtol=1e-10, atol=1e-12)
    u, v = vectors[0], vectors[1]
    assert float(u @ operator.matvec(v)) == pytest.approx(float(v @ operator.matvec(u)), rel=1e-12)  # symmetric
    result = top_eigenvalues(objective, 2, which="both")
    spectrum = torch.linalg.eigvalsh(expected)
    assert sorted(result.eigenvalues.tolist()) == pytest.approx(
        sorted([*spectrum[-2:].tolist(), *spectrum[:2].tolist()]), rel=1e-8, abs=1e-10
    )
    assert model.embed.padding_idx == 0  # the user's model as it was


def test_padding_rows_name_the_row_under_the_name_theta_holds_a_tied_weight_by() -> None:
    model = Tagger(tied=True)
    shapes = {n: p.shape for n, p in model.named_parameters()}
    assert list(shapes) == ["embed.weight", "mix.weight", "mix.bias"]  # the head's weight is the embedding's
    assert padding_rows(model, shapes) == [(0, WIDTH)]
    model.embed.padding_idx = 4
    assert padding_rows(model, shapes) == [(4 * WIDTH, 5 * WIDTH)]
    model.embed.padding_idx = None
    ids = torch.zeros(2, 3, dtype=torch.long)
    assert padding_rows(model, shapes) == [] and network(model, (ids, ids)).trained_entries is None


def test_the_tiny_llamas_products_agree_both_ways() -> None:
    """Double backward and forward-over-reverse differed by 100 % along the tiny Llama's embedding."""
    pytest.importorskip("transformers")
    from losslab.networks.language import counting_tokens, llama_tiny

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = llama_tiny(width=16).double()
    ids = counting_tokens(8, 12)
    assert bool((ids == 0).any())  # the padding id is also a token of the data
    objective = network(model, ids)
    vector = torch.randn(objective.dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    graph = hessian_operator(objective, method="graph").matvec(vector)
    forward = hessian_operator(objective, method="jvp").matvec(vector)
    # Llama's RMSNorm computes in float32 whatever the model's dtype: agreement to float32's rounding
    assert float((graph - forward).norm() / forward.norm()) < 1e-5


@pytest.mark.parametrize("tied", [False, True])
def test_the_sharpness_tracker_on_a_closure_holds_the_padding_row_given_the_model(tied: bool) -> None:
    """A training loop's own closure, ``SharpnessTracker(closure, model=model)``: the tracker could not see the
    embedding behind ``parameters=model.parameters()`` and ran Lanczos on the non-symmetric products. λmax is
    eigvalsh's of P·H·P, as the NetworkObjective path's; the model is back in train mode afterwards."""
    from losslab.curvature import SharpnessTracker

    generator = torch.Generator().manual_seed(4)
    ids = torch.randint(0, VOCABULARY, (5, 4), generator=generator)
    ids[:, 0] = 0  # the padding id occurs as an input
    tags = torch.randint(0, VOCABULARY, (5, 4), generator=generator)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        model = Tagger(tied)
    expected, _ = _restricted_hessian(model, ids, tags, tied)

    def closure() -> Tensor:
        return nn.functional.cross_entropy(model(ids).reshape(-1, VOCABULARY), tags.reshape(-1))

    tracker = SharpnessTracker(closure, model=model, tol=1e-10)
    assert tracker.step(0) == pytest.approx(float(torch.linalg.eigvalsh(expected)[-1]), rel=1e-8)
    assert model.training
    assert tracker.series.losses[0] == pytest.approx(float(closure().detach()), rel=1e-14)
    with pytest.raises(LosslabError, match=r"parameters\[0\] is not a parameter of the model given as model="):
        SharpnessTracker(closure, model=model, parameters=[torch.zeros(2, requires_grad=True)])
