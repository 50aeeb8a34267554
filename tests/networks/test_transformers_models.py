"""HuggingFace causal LMs (GPT-2 and Llama from tiny configs) end to end, against direct evaluation of a deep copy.

Oracles: the copy's own forward (``use_cache=False``, eval mode) with its parameters set to θ, and the
causal-LM cross-entropy written out here (logits at t against the token at t + 1); the full Hessian
from reverse-over-reverse autograd for the top eigenvalue, and central differences of the gradient;
autograd on the module for the tied gradient.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from losslab.curvature import top_eigenvalues
from losslab.errors import LosslabError
from losslab.landscape import survey
from losslab.landscape.directions import random_directions
from losslab.objectives.network import network
from network_oracles import plane_thetas, twin_at

transformers = pytest.importorskip("transformers")

from losslab.networks.language import gpt2_tiny, llama_tiny  # noqa: E402  (needs transformers)

BUILDERS: dict[str, Callable[[], nn.Module]] = {
    "gpt2": lambda: gpt2_tiny(vocabulary=24, width=16),
    "llama": lambda: llama_tiny(vocabulary=24, width=16),
}


def _model(name: str, dtype: torch.dtype) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the config's initialisation draws from the global RNG; test-only
        return BUILDERS[name]().to(dtype)


def _batch(generator: torch.Generator, n: int = 3, length: int = 8) -> dict[str, Tensor]:
    ids = torch.randint(0, 24, (n, length), generator=generator)
    mask = torch.ones_like(ids)
    mask[0, -2:] = 0  # one padded row: its last two tokens are neither attended to nor scored
    labels = ids.masked_fill(mask == 0, -100)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _causal_cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    return nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1))


@pytest.mark.parametrize("name", list(BUILDERS))
def test_float64_grid_equals_direct_evaluation_of_a_deep_copy(name: str, generator: torch.Generator) -> None:
    model = _model(name, torch.float64)
    batch = _batch(generator)
    objective = network(model, batch, "cross_entropy")  # named: the labels become the targets, shifted
    directions = random_directions(objective, seed=1)
    surface = survey(objective, directions, grid=3, ranges=(-0.5, 0.5), progress=False)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    for i, j, theta in plane_thetas(surface, directions):
        with torch.no_grad():
            logits = twin_at(model, theta)(**inputs, use_cache=False).logits
        expected = float(_causal_cross_entropy(logits, batch["labels"]))
        assert float(surface.values["loss"][i, j]) == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_float32_model_loss_equals_the_copys_own_loss(name: str, generator: torch.Generator) -> None:
    model = _model(name, torch.float32)
    batch = _batch(generator)
    objective = network(model, batch)  # labels in the inputs: the model's own outputs.loss
    assert objective.loss_name == "model"
    directions = random_directions(objective, seed=2).vectors
    coords = torch.tensor([[0.0, 0.0], [0.4, -0.3], [-1.0, 1.0]])
    values = objective.values(objective.center + coords @ directions)
    for c, value in zip(coords, values, strict=True):
        with torch.no_grad():
            expected = float(twin_at(model, objective.center + c @ directions)(**batch, use_cache=False).loss)
        assert float(value) == pytest.approx(expected, rel=1e-5)
    named = network(model, batch, "cross_entropy")
    assert float(named.value(named.center)) == pytest.approx(float(objective.value(objective.center)), rel=1e-5)


def test_ids_ids_cross_entropy_on_a_model_output_is_the_shifted_loss(generator: torch.Generator) -> None:
    """``network(lm, (ids, ids), "cross_entropy")`` died inside losslab's own error message."""
    model = _model("gpt2", torch.float64)
    ids = torch.randint(0, 24, (4, 6), generator=generator)
    pair = network(model, (ids, ids), "cross_entropy")
    alone = network(model, ids, "cross_entropy")  # token ids alone: the LM predicts its own next tokens
    with torch.no_grad():
        expected = float(_causal_cross_entropy(twin_at(model, pair.center)(input_ids=ids, use_cache=False).logits, ids))
    assert float(pair.value(pair.center)) == pytest.approx(expected, rel=1e-12)
    assert float(alone.value(alone.center)) == pytest.approx(expected, rel=1e-12)


def test_tied_parameters_appear_once_and_their_gradient_sums_both_uses(generator: torch.Generator) -> None:
    model = _model("gpt2", torch.float64)
    assert model.lm_head.weight is model.transformer.wte.weight
    batch = _batch(generator)
    objective = network(model, batch, "cross_entropy")
    assert "lm_head.weight" not in objective.shapes and "transformer.wte.weight" in objective.shapes
    assert objective.dim == sum(p.numel() for p in model.parameters())  # unique parameters
    twin = twin_at(model, objective.center)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    _causal_cross_entropy(twin(**inputs, use_cache=False).logits, batch["labels"]).backward()
    expected = torch.cat([p.grad.reshape(-1) for p in twin.parameters()])
    torch.testing.assert_close(objective.grad(objective.center), expected, rtol=1e-10, atol=1e-12)


def test_top_hessian_eigenvalue_equals_eigvalsh_of_the_full_hessian(generator: torch.Generator) -> None:
    model = _small_gpt2()
    ids = torch.randint(0, 8, (2, 5), generator=generator)
    objective = network(model, {"input_ids": ids, "labels": ids}, "cross_entropy")
    assert objective.dim < 600
    full = objective.hessian(objective.center)  # reverse over reverse
    exact = torch.linalg.eigvalsh((full + full.T) / 2)
    for method in ("graph", "jvp"):
        result = top_eigenvalues(objective, 1, which="both", method=method, tol=1e-10)
        assert result.converged
        assert float(result.eigenvalues[0]) == pytest.approx(float(exact[-1]), rel=1e-6)
        assert float(result.eigenvalues[1]) == pytest.approx(float(exact[0]), rel=1e-6, abs=1e-8)


def test_a_float64_models_own_loss_is_computed_in_float64_and_its_hessians_are_exact(
    generator: torch.Generator,
) -> None:
    """HuggingFace's own causal-LM loss casts the logits to float32, even a float64 model's: its Hessian was
    good to 2e-3 against central differences. losslab computes that loss in float64 from the logits."""
    model = _model("gpt2", torch.float64)
    batch = _batch(generator)
    objective = network(model, batch)
    assert objective.loss_name == "model"
    inputs, targets = objective.prepare(batch, None)  # the model is not asked for a loss losslab computes
    assert "labels" not in inputs and targets is batch["labels"]
    with torch.no_grad():
        logits = twin_at(model, objective.center)(**batch, use_cache=False).logits
    assert float(objective.value(objective.center)) == pytest.approx(
        float(_causal_cross_entropy(logits, batch["labels"])), rel=1e-13
    )
    ids = batch["input_ids"][:2, :5] % 8
    small = network(_small_gpt2(), {"input_ids": ids, "labels": ids})
    theta = small.center
    full, stacked = small.hessian(theta), small.hessians(theta[None])[0]
    torch.testing.assert_close(stacked, full, rtol=1e-10, atol=1e-12)  # forward over reverse = reverse over reverse
    step = 1e-5  # central differences of the exact gradient: O(step²) plus rounding, ≈ 1e-9
    for i in range(0, small.dim, 37):
        e = torch.zeros_like(theta)
        e[i] = step
        column = (small.grad(theta + e) - small.grad(theta - e)) / (2 * step)
        torch.testing.assert_close(full[:, i], column, rtol=0, atol=1e-6)


def test_a_model_loss_defined_otherwise_is_kept(generator: torch.Generator) -> None:
    """Only the very cross-entropy HuggingFace computes is recomputed in float64; another loss stays the model's."""
    from transformers.modeling_outputs import CausalLMOutput

    class Smoothed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lm = _model("gpt2", torch.float64)

        def forward(self, input_ids: Tensor, labels: Tensor, **kwargs: object) -> CausalLMOutput:
            logits = self.lm(input_ids=input_ids, use_cache=False).logits
            loss = nn.functional.cross_entropy(
                logits[:, :-1].float().reshape(-1, 24), labels[:, 1:].reshape(-1), label_smoothing=0.1
            )
            return CausalLMOutput(loss=loss, logits=logits)

    model = Smoothed().double().eval()
    ids = torch.randint(0, 24, (2, 6), generator=generator)
    objective = network(model, {"input_ids": ids, "labels": ids})
    with torch.no_grad():
        expected = model(input_ids=ids, labels=ids).loss
    assert float(objective.value(objective.center)) == float(expected)
    assert "labels" in objective.prepare({"input_ids": ids, "labels": ids}, None)[0]  # the model computes it


def _small_gpt2() -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # test-only
        return gpt2_tiny(vocabulary=8, width=4, layers=1, heads=1).double()  # 412 parameters


def test_the_users_model_keeps_its_training_flags(generator: torch.Generator) -> None:
    model = _model("llama", torch.float64).train()
    flags = {name: m.training for name, m in model.named_modules()}
    batch = _batch(generator)
    objective = network(model, batch, "cross_entropy")
    survey(objective, random_directions(objective), grid=2, progress=False)
    top_eigenvalues(objective, 1, max_iter=5)
    assert {name: m.training for name, m in model.named_modules()} == flags


def test_a_dataloader_of_dicts_equals_the_batch_in_memory(generator: torch.Generator) -> None:
    model = _model("llama", torch.float64)
    ids = torch.randint(0, 24, (6, 8), generator=generator)
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids}
    rows = [{k: v[i] for k, v in batch.items()} for i in range(6)]
    loader = DataLoader(rows, batch_size=3)  # torch's default collate stacks the dicts' tensors
    # the batches' means weighted by their sequences: the whole batch's mean, as every batch scores as many tokens
    streamed, held = network(model, loader, "cross_entropy"), network(model, batch, "cross_entropy")
    assert float(streamed.value(streamed.center)) == pytest.approx(float(held.value(held.center)), rel=1e-12)
    surface = survey(streamed, random_directions(streamed), grid=2, progress=False)
    assert surface.provenance["data_size"] == 6


BAD = {
    "model-loss-without-labels": (lambda m, ids: network(m, {"input_ids": ids}, "model"), "outputs.loss is None"),
    "callable-returns-none": (lambda m, ids: network(m, (ids, ids), lambda out, y: None), "returned NoneType"),
    "callable-returns-a-vector": (
        lambda m, ids: network(m, (ids, ids), lambda out, y: out.logits.sum((1, 2))),
        "must be one number",
    ),
    "class-beyond-the-vocabulary": (lambda m, ids: network(m, (ids, ids + 100), "cross_entropy"), "class 1"),
    "lengths-differ": (
        lambda m, ids: network(m, {"input_ids": ids, "attention_mask": ids[:1]}),
        r"first \(sample\) axis",
    ),
    "unknown-keyword": (lambda m, ids: network(m, {"input_ids": ids, "pixels": ids}, "cross_entropy"), "does not take"),
    "token-past-the-vocabulary-later": (
        lambda m, ids: network(m, torch.cat([ids, ids * 0 + 30])),
        r"^the data's inputs hold index 30, but the model's embedding transformer\.wte has 24 rows \(0–23\)$",
    ),
    "longer-than-the-context": (
        lambda m, ids: network(m, ids.repeat(1, 7)),  # 35 positions; GPT-2's table holds 32
        r"\(the embedding transformer\.wpe has 32 rows, 0–31, and was given 34\)$",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_inputs_are_one_line_errors(case: str, generator: torch.Generator) -> None:
    build, message = BAD[case]
    model = _model("gpt2", torch.float32)
    ids = torch.randint(0, 24, (2, 5), generator=generator)
    with pytest.raises(LosslabError, match=message) as raised:
        build(model, ids)
    assert "\n" not in str(raised.value)


def test_a_sequence_classifier_on_its_own_loss_reports_accuracy_against_its_labels(generator: torch.Generator) -> None:
    """A BERT sequence classifier takes its labels in the dict for its own loss; the accuracy is counted
    against them (it was missing: the labels were not targets)."""
    config = transformers.BertConfig(
        vocab_size=24, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16, num_labels=3
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = transformers.BertForSequenceClassification(config).double()
    ids = torch.randint(0, 24, (10, 6), generator=generator)
    labels = torch.randint(0, 3, (10,), generator=generator)
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
    objective = network(model, batch)
    assert objective.loss_name == "model" and objective.classifier
    directions = random_directions(objective, seed=3)
    surface = survey(objective, directions, grid=3, progress=False)
    for i, j, theta in plane_thetas(surface, directions):
        with torch.no_grad():
            out = twin_at(model, theta)(**batch)
        assert float(surface.values["loss"][i, j]) == pytest.approx(float(out.loss), rel=1e-10)
        hits = (out.logits.argmax(-1) == batch["labels"]).double().mean()
        assert float(surface.values["accuracy"][i, j]) == pytest.approx(float(hits))
    assert float(objective.accuracy(objective.center)) == pytest.approx(float(surface.values["accuracy"][1, 1]))


def test_a_state_dict_direction_may_name_a_tied_parameter_either_way_but_not_two_ways(
    generator: torch.Generator,
) -> None:
    """A direction shaped like GPT-2's state dict holds lm_head.weight beside transformer.wte.weight: one tensor.
    Its values under the second name were dropped without a word, even where they differed."""
    from losslab.landscape import given_directions

    model = _model("gpt2", torch.float64)
    objective = network(model, _batch(generator), "cross_entropy")
    flat = torch.randn(objective.dim, generator=generator, dtype=torch.float64)
    views = dict(zip(objective.shapes, flat.split([s.numel() for s in objective.shapes.values()]), strict=True))
    both = {name: piece.view(objective.shapes[name]) for name, piece in views.items()}
    both["lm_head.weight"] = both["transformer.wte.weight"].clone()
    second_only = {k: v for k, v in both.items() if k != "transformer.wte.weight"}
    for form in (both, second_only):
        assert torch.equal(given_directions(objective, form).vectors[0], flat)
    both["lm_head.weight"] = both["lm_head.weight"] + 1
    with pytest.raises(LosslabError, match=r"^direction 1\['lm_head.weight'\] differs from direction 1\["
                       r"'transformer.wte.weight'\], but the model ties the two"):  # fmt: skip
        given_directions(objective, both)


def test_a_streamed_batch_with_a_token_past_the_vocabulary_is_one_line(generator: torch.Generator) -> None:
    """A DataLoader is read batch by batch: its fourth batch's id 30 (of 24) was torch's 'index out of range in
    self' deep in the model, mid-survey. Each batch is checked against the embeddings its inputs index."""
    ids = torch.randint(0, 24, (16, 6), generator=generator)
    ids[13, 2] = 30
    objective = network(_model("gpt2", torch.float32), DataLoader(ids, batch_size=4), "cross_entropy")
    with pytest.raises(LosslabError, match=r"^the data's inputs hold index 30, but the model's embedding "
                       r"transformer\.wte has 24 rows \(0–23\)$"):  # fmt: skip
        objective.value(objective.center)


SEQ2SEQ: dict[str, Callable[[], nn.Module]] = {
    "t5": lambda: transformers.T5ForConditionalGeneration(
        transformers.T5Config(vocab_size=24, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                              decoder_start_token_id=0, pad_token_id=0, feed_forward_proj="gated-gelu")
    ),
    "bart": lambda: transformers.BartForConditionalGeneration(
        transformers.BartConfig(vocab_size=24, d_model=16, encoder_layers=1, decoder_layers=1,
                                encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                                decoder_ffn_dim=32, max_position_embeddings=16, pad_token_id=0,
                                decoder_start_token_id=2)
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(SEQ2SEQ))
def test_an_encoder_decoder_takes_a_named_loss_on_its_labels(name: str, generator: torch.Generator) -> None:
    """T5 and BART build their decoder's inputs from the labels (shifted right): a named loss leaves them in the
    inputs — taking them out, as for a causal LM, gave "You must specify exactly one of input_ids or inputs_embeds" —
    and scores the logits against them as they are (no causal shift), label -100 left out. Oracle: the copy's own
    forward given the labels, its logits' cross-entropy written out here."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the config's initialisation draws from the global RNG; test-only
        model = SEQ2SEQ[name]().to(torch.float64)
    ids = torch.randint(1, 24, (3, 8), generator=generator)
    labels = torch.randint(1, 24, (3, 6), generator=generator)
    labels[0, -2:] = -100  # a shorter target: its last two positions are not scored
    batch = {"input_ids": ids, "labels": labels}
    objective = network(model, batch, "cross_entropy")
    directions = random_directions(objective, seed=1)
    surface = survey(objective, directions, grid=3, ranges=(-0.5, 0.5), progress=False)
    for i, j, theta in plane_thetas(surface, directions):
        with torch.no_grad():
            logits = twin_at(model, theta)(**batch, use_cache=False).logits
        expected = float(nn.functional.cross_entropy(logits.reshape(-1, 24), labels.reshape(-1)))
        assert float(surface.values["loss"][i, j]) == pytest.approx(expected, rel=1e-10, abs=1e-12)
    own = network(model, batch)  # the model's own outputs.loss: the same number
    assert float(own.value(own.center)) == pytest.approx(float(objective.value(objective.center)), rel=1e-10)
    # the top eigenpair from Hessian-vector products through both attentions, against central differences of ∇L
    # (T5 v1.1's smooth gated GELU: the original's ReLU puts kinks within any difference step; T5's RMS norm takes
    # its variance in float32 even in a float64 model, ∇L noisy at ~5e-7, hence a step of 1e-3); BART's padding row
    # of its embedding never trains and is held fixed (objective.trained_entries)
    result = top_eigenvalues(objective, 1, tol=1e-7)  # T5's top two are close: 1e-9 takes over 500 products
    top, v = float(result.eigenvalues[0]), result.eigenvectors[0]
    step = 1e-3
    hv = (objective.grad(objective.center + step * v) - objective.grad(objective.center - step * v)) / (2 * step)
    trained = objective.trained_entries if objective.trained_entries is not None else 1.0
    residual = float(torch.linalg.vector_norm((hv - top * v) * trained))
    assert result.converged and residual <= 1e-3 * max(1.0, abs(top))
