"""Padded text streamed in batches pools to the token mean of the whole, as one call on all of it gives.

A causal LM's loss (its own ``.loss`` or the named cross-entropy) is the mean over the tokens it scores:
the labels other than -100 from position 1 on. Batches of padded sequences score different numbers of
tokens, so pooling their means by sequences (as losslab did) moved the value with the batching: 3.9305
against 3.9297 for six GPT-2 sequences in batches of 4 and 2. Oracles: the deep copy's own ``.loss`` on
the whole data in one call (HuggingFace's token mean), the causal cross-entropy written out here, and the
standard error of the token-weighted batch means computed by hand. Cases are generated: sequence
lengths, padding side, batch sizes (not dividing the data) and the loss are drawn from seeded generators.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from losslab.curvature import hessian_operator
from losslab.errors import LosslabError
from losslab.landscape import survey
from losslab.landscape.directions import random_directions
from losslab.landscape.regenerated import RegeneratedDirections
from losslab.landscape.regenerated_survey import regenerated_survey
from losslab.objectives.model_io import loss_items
from losslab.objectives.network import network
from network_oracles import plane_thetas, twin_at

transformers = pytest.importorskip("transformers")

from losslab.networks.language import gpt2_tiny, llama_tiny  # noqa: E402  (needs transformers)

VOCABULARY = 24


def _model(name: str) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the config's initialisation draws from the global RNG; test-only
        build = gpt2_tiny if name == "gpt2" else llama_tiny
        return build(vocabulary=VOCABULARY, width=16).double()


def _padded(rng: torch.Generator, n: int, length: int, left: bool) -> dict[str, Tensor]:
    """n sequences of 2…length real tokens, padded to ``length`` on the left or the right."""
    ids = torch.randint(0, VOCABULARY, (n, length), generator=rng)
    real = torch.randint(2, length + 1, (n,), generator=rng)
    positions = torch.arange(length).expand(n, length)
    mask = (positions >= length - real[:, None]) if left else (positions < real[:, None])
    mask = mask.long()
    return {"input_ids": ids, "attention_mask": mask, "labels": ids.masked_fill(mask == 0, -100)}


def _rows(batch: dict[str, Tensor]) -> list[dict[str, Tensor]]:
    return [{k: v[i] for k, v in batch.items()} for i in range(len(batch["input_ids"]))]


def _direct(model: nn.Module, theta: Tensor, batch: dict[str, Tensor]) -> float:
    """The causal cross-entropy of the copy's logits over all of ``batch`` at once, in float64 (HuggingFace's
    own ``.loss`` takes the mean the same way, but in float32)."""
    with torch.no_grad():
        twin = twin_at(model, theta)
        logits = twin(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits
        shifted = logits[:, :-1].reshape(-1, logits.shape[-1])
        return float(nn.functional.cross_entropy(shifted, batch["labels"][:, 1:].reshape(-1)))


CASES = [
    (seed, name) for seed, name in zip(range(8), ["gpt2", "llama"] * 4, strict=True)
]


@pytest.mark.parametrize(("seed", "name"), CASES)
def test_streamed_padded_text_pools_to_the_token_mean_of_the_whole(seed: int, name: str) -> None:
    rng = torch.Generator().manual_seed(seed)
    n = int(torch.randint(5, 10, (), generator=rng))
    left = name == "llama" and seed % 4 == 1  # left padding, as generation pads
    batch = _padded(rng, n, 8, left)
    batch_size = int(torch.randint(2, n, (), generator=rng))
    loss = ["model", "cross_entropy"][seed % 2]
    model = _model(name)
    held = network(model, batch, loss)
    streamed = network(model, DataLoader(_rows(batch), batch_size=batch_size), loss)
    whole = _direct(model, held.center, batch)  # the token mean of all of it in one call
    with torch.no_grad():
        own = twin_at(model, held.center)(**batch, use_cache=False).loss  # HuggingFace's, in float32
    assert float(own) == pytest.approx(whole, rel=1e-6)
    assert float(held.value(held.center)) == pytest.approx(whole, rel=1e-12)
    assert float(streamed.value(streamed.center)) == pytest.approx(whole, rel=1e-12), (n, batch_size, loss)
    directions = random_directions(held, seed=seed)
    surface = survey(streamed, directions, grid=2, ranges=(-0.3, 0.3), progress=False)
    for i, j, theta in plane_thetas(surface, directions):
        assert float(surface.values["loss"][i, j]) == pytest.approx(_direct(model, theta, batch), rel=1e-10)


def test_the_sampling_error_weighs_each_batch_by_its_tokens() -> None:
    rng = torch.Generator().manual_seed(11)
    batch = _padded(rng, 7, 8, left=False)
    model = _model("gpt2")
    streamed = network(model, DataLoader(_rows(batch), batch_size=3), "model")
    surface = survey(streamed, random_directions(streamed, seed=0), grid=3, progress=False)  # centre: [1, 1]
    means, tokens = [], []
    for start in range(0, 7, 3):
        part = {k: v[start : start + 3] for k, v in batch.items()}
        means.append(_direct(model, streamed.center, part))
        tokens.append(int((part["labels"][:, 1:] != -100).sum()))
    m, w = torch.tensor(means, dtype=torch.float64), torch.tensor(tokens, dtype=torch.float64) / sum(tokens)
    mean = (w * m).sum()
    expected = (3 / 2 * (w**2 * (m - mean) ** 2).sum()).sqrt()
    assert float(surface.values["loss"][1, 1]) == pytest.approx(float(mean), rel=1e-12)
    assert float(surface.values["loss_stderr"][1, 1]) == pytest.approx(float(expected), rel=1e-10)


def test_hessian_products_and_the_regenerated_survey_pool_alike() -> None:
    rng = torch.Generator().manual_seed(5)
    batch = _padded(rng, 6, 8, left=False)
    model = _model("gpt2")  # float64 throughout (Llama's RMSNorm computes in float32 whatever the model's dtype)
    held = network(model, batch, "model")
    streamed = network(model, DataLoader(_rows(batch), batch_size=4), "model")
    vector = torch.randn(held.dim, generator=rng, dtype=torch.float64)
    torch.testing.assert_close(
        hessian_operator(streamed, streamed.center).matvec(vector),
        hessian_operator(held, held.center).matvec(vector), rtol=1e-9, atol=1e-12,
    )  # fmt: skip
    surface = regenerated_survey(streamed, RegeneratedDirections(seed=0), grid=3, progress=False)
    assert surface.center_value() == pytest.approx(_direct(model, held.center, batch), rel=1e-10)


class TokenTagger(nn.Module):
    """A per-token classifier (no shift): logits (B, T, 5) from token ids."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCABULARY, 8, dtype=torch.float64)
        self.head = nn.Linear(8, 5, dtype=torch.float64)

    def forward(self, ids: Tensor) -> Tensor:
        return self.head(torch.tanh(self.embed(ids)))


def test_a_token_tagger_counts_every_unignored_tag_and_an_all_ignored_batch_adds_nothing() -> None:
    rng = torch.Generator().manual_seed(3)
    ids = torch.randint(0, VOCABULARY, (7, 6), generator=rng)
    tags = torch.randint(0, 5, (7, 6), generator=rng)
    tags[:, 4:] = -100
    tags[3:5] = -100  # the second batch of two scores nothing: its own mean is 0/0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = TokenTagger()
    pairs = list(zip(ids, tags, strict=True))
    streamed = network(model, DataLoader(pairs, batch_size=2, shuffle=False), "cross_entropy")
    with torch.no_grad():
        logits = model(ids)
    whole = nn.functional.cross_entropy(logits.reshape(-1, 5), tags.reshape(-1))  # the mean over unignored tags
    assert float(streamed.value(streamed.center)) == pytest.approx(float(whole), rel=1e-12)
    assert loss_items(tags[:2], 2, causal=False) == 8
    with pytest.raises(LosslabError, match="the loss .cross_entropy. is nan at the model's parameters"):
        network(model, (ids[3:5], tags[3:5]), "cross_entropy")  # torch's own mean over nothing, refused at once
