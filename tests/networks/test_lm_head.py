"""A causal LM's loss through its base model and output layer in blocks (losslab.objectives.lm_head), GPT-2's
``gelu_new`` on torch's kernel (fused_activations) and attention on torch's fused kernel for plain values.

Oracles: the same objective made to read the model's full logits (its head path switched off), a deep copy's
own forward, and the causal cross-entropy written out here; torch's profiler for which attention kernel ran.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import Tensor, nn
from torch.profiler import profile

from losslab.landscape import survey
from losslab.landscape.directions import random_directions
from losslab.objectives import lm_head, model_io
from losslab.objectives.network import NetworkObjective, network
from network_oracles import plane_thetas, twin_at

transformers = pytest.importorskip("transformers")

from losslab.networks.language import gpt2_tiny, llama_tiny  # noqa: E402  (needs transformers)


def _model(name: str, dtype: torch.dtype = torch.float64) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the config's initialisation draws from the global RNG; test-only
        build = gpt2_tiny if name == "gpt2" else llama_tiny
        return build(vocabulary=24, width=16).to(dtype)


def _batch(generator: torch.Generator) -> dict[str, Tensor]:
    ids = torch.randint(0, 24, (3, 8), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, -3:] = 0
    return {"input_ids": ids, "attention_mask": mask, "labels": ids.masked_fill(mask == 0, -100)}


def _logits_path(objective: NetworkObjective) -> NetworkObjective:
    """The same objective reading the model's full logits (the path every other model takes)."""
    twin = copy.copy(objective)
    twin._head = None
    return twin


def _causal_cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    return nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1))


@pytest.mark.parametrize("name", ["gpt2", "llama"])
def test_the_full_logits_are_never_computed_and_the_values_are_the_copys(name: str, generator: torch.Generator) -> None:
    model = _model(name)
    batch = _batch(generator)
    objective = network(model, batch)  # the model's own loss: the usual causal-LM cross-entropy
    calls = []
    model.get_output_embeddings().register_forward_hook(lambda module, args, out: calls.append(out.shape))
    directions = random_directions(objective, seed=2)
    surface = survey(objective, directions, grid=3, ranges=(-0.5, 0.5), progress=False)
    objective.grad(objective.center)
    assert calls == []  # the head ran only as blocks of rows, never as the model's lm_head over every token
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    for i, j, theta in plane_thetas(surface, directions):
        with torch.no_grad():
            expected = _causal_cross_entropy(twin_at(model, theta)(**inputs, use_cache=False).logits, batch["labels"])
        assert float(surface.values["loss"][i, j]) == pytest.approx(float(expected), rel=1e-12)


@pytest.mark.parametrize("loss", ["model", "cross_entropy"])
def test_values_gradients_and_hessian_products_equal_the_logits_path(loss: str, generator: torch.Generator) -> None:
    objective = network(_model("gpt2"), _batch(generator), loss)
    assert objective._head is not None and objective._head.weight == "transformer.wte.weight"  # tied: wte's
    logits = _logits_path(objective)
    theta = objective.center + 0.3 * torch.randn(objective.dim, generator=generator, dtype=torch.float64)
    v = torch.randn(objective.dim, generator=generator, dtype=torch.float64)
    assert float(objective.value(theta)) == pytest.approx(float(logits.value(theta)), rel=1e-13)
    torch.testing.assert_close(objective.grad(theta), logits.grad(theta), rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(objective.hvp(theta, v), logits.hvp(theta, v), rtol=1e-9, atol=1e-12)
    thetas = objective.center + 0.1 * torch.randn(4, objective.dim, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(objective.values(thetas), logits.values(thetas), rtol=1e-12, atol=0)  # vmapped


def test_token_ids_alone_take_the_head_path(generator: torch.Generator) -> None:
    ids = torch.randint(0, 24, (2, 7), generator=generator)
    objective = network(_model("llama"), ids, "cross_entropy")
    assert objective._head is not None
    assert float(objective.value(objective.center)) == pytest.approx(
        float(_logits_path(objective).value(objective.center)), rel=1e-13
    )


def test_under_bfloat16_autocast_the_blocks_match_the_logits_path(generator: torch.Generator) -> None:
    objective = network(_model("gpt2", torch.float32), _batch(generator))
    directions = random_directions(objective, seed=0)
    ours = survey(objective, directions, grid=3, progress=False, autocast="bfloat16").values["loss"]
    theirs = survey(_logits_path(objective), directions, grid=3, progress=False, autocast="bfloat16").values["loss"]
    exact = survey(objective, directions, grid=3, progress=False).values["loss"]
    torch.testing.assert_close(ours, theirs, rtol=2e-3, atol=0)  # two roundings of the same bfloat16 products
    torch.testing.assert_close(ours, exact, rtol=1e-2, atol=0)


def test_a_head_that_does_more_keeps_the_full_logits(generator: torch.Generator) -> None:
    """A hook on the output layer (and any class not known to be plain, such as Gemma 2 with its soft-capped
    logits) keeps the model's own logits: the blocks are used only where they give the same loss."""
    model = _model("gpt2")
    model.lm_head.register_forward_hook(lambda module, args, out: 2 * out)
    batch = _batch(generator)
    objective = network(model, batch)
    assert objective._head is None
    with torch.no_grad():
        expected = _causal_cross_entropy(model.eval()(**batch, use_cache=False).logits, batch["labels"])
    assert float(objective.value(objective.center)) == pytest.approx(float(expected), rel=1e-13)

    config = transformers.Gemma2Config(
        vocab_size=24, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, head_dim=8, max_position_embeddings=16, final_logit_softcapping=1.0,
    )  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # test-only
        gemma = transformers.Gemma2ForCausalLM(config).double().eval()
    ids = batch["input_ids"]
    objective = network(gemma, ids, "cross_entropy")
    assert objective._head is None
    with torch.no_grad():
        expected = _causal_cross_entropy(gemma(input_ids=ids, use_cache=False).logits, ids)
    assert float(objective.value(objective.center)) == pytest.approx(float(expected), rel=1e-13)


def test_gpt2s_gelu_new_runs_on_torchs_kernel_and_the_model_is_left_as_it_was(
    generator: torch.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers.activations import NewGELUActivation

    model = _model("gpt2")
    batch = _batch(generator)
    objective = network(model, batch)
    calls = []
    python_gelu = NewGELUActivation.forward
    monkeypatch.setattr(NewGELUActivation, "forward", lambda self, x: calls.append(1) or python_gelu(self, x))
    theta = objective.center + 0.2 * torch.randn(objective.dim, generator=generator, dtype=torch.float64)
    value = objective.value(theta)
    objective.hvp(theta, torch.ones_like(theta))
    assert calls == []
    assert not any("forward" in module.__dict__ for module in model.modules())  # nothing left on the model
    with torch.no_grad():
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        expected = _causal_cross_entropy(twin_at(model, theta)(**inputs, use_cache=False).logits, batch["labels"])
    assert calls  # the copy's own forward: the Python formula
    assert float(value) == pytest.approx(float(expected), rel=1e-13)

    activation = model.transformer.h[0].mlp.act  # a forward of the user's own on the instance is kept
    activation.forward = lambda x: torch.zeros_like(x)
    try:
        changed = network(model, batch).value(theta)
    finally:
        del activation.forward
    assert float(changed) != pytest.approx(float(value), rel=1e-6)


def test_attention_runs_on_the_fused_kernel_for_values_and_the_math_kernel_for_derivatives(
    generator: torch.Generator,
) -> None:
    objective = network(_model("gpt2", torch.float32), _batch(generator))
    theta = objective.center

    def kernels(run: object) -> set[str]:
        with profile() as prof:
            run()  # type: ignore[operator]
        return {event.key for event in prof.key_averages() if "_scaled_dot_product" in event.key}

    with torch.no_grad():
        assert kernels(lambda: objective.value(theta)) == {"aten::_scaled_dot_product_flash_attention_for_cpu"}
    assert kernels(lambda: objective.hvp(theta, torch.ones_like(theta))) == {"aten::_scaled_dot_product_attention_math"}
    with torch.no_grad():
        assert not model_io.differentiable()
        assert torch.func.vmap(lambda x: x + model_io.differentiable())(torch.zeros(2)).tolist() == [1.0, 1.0]
    assert model_io.differentiable()


# tiny configs for every class of PLAIN_HEADS (the names of config fields differ; these are accepted by all)
TINY = dict(
    vocab_size=24, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
    intermediate_size=32, max_position_embeddings=32, pad_token_id=0, bos_token_id=0, eos_token_id=0,
)  # fmt: skip
TINY_EXTRA: dict[str, dict[str, object]] = {
    "GPTNeoForCausalLM": {"attention_types": [[["global"], 1]], "num_layers": 1},
    "OPTForCausalLM": {"ffn_dim": 32, "word_embed_proj_dim": 16},
    "Qwen3ForCausalLM": {"head_dim": 8},
    "GemmaForCausalLM": {"head_dim": 8, "num_key_value_heads": 1},
}


@pytest.mark.parametrize("name", sorted(lm_head.PLAIN_HEADS))
def test_every_plain_head_class_takes_the_blocks_and_equals_its_logits_on_generated_batches(name: str) -> None:
    """Each class listed as plain, built from a tiny config, on seeded batches of 1–3 sequences of 2–9
    tokens with padding: the head path is taken, and its value and gradient equal the logits path's."""
    kind = getattr(transformers, name)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # test-only: the config's initialisation
        model = kind(kind.config_class(**{**TINY, **TINY_EXTRA.get(name, {})})).double()
    generator = torch.Generator().manual_seed(sum(map(ord, name)))
    for _ in range(3):
        n, length = (
            int(torch.randint(1, 4, (1,), generator=generator)),
            int(torch.randint(2, 10, (1,), generator=generator)),
        )
        ids = torch.randint(1, 24, (n, length), generator=generator)
        mask = (torch.rand(n, length, generator=generator) > 0.2).long()
        mask[:, :2] = 1  # every sequence scores at least one token
        batch = {"input_ids": ids, "attention_mask": mask, "labels": ids.masked_fill(mask == 0, -100)}
        objective = network(model, batch, "cross_entropy")
        assert objective.logits_in_blocks
        logits = _logits_path(objective)
        theta = objective.center + 0.2 * torch.randn(objective.dim, generator=generator, dtype=torch.float64)
        assert float(objective.value(theta)) == pytest.approx(float(logits.value(theta)), rel=1e-12)
        torch.testing.assert_close(objective.grad(theta), logits.grad(theta), rtol=1e-9, atol=1e-12)


def test_a_regenerated_survey_takes_the_blocks_inside_the_heads_own_hooks(generator: torch.Generator) -> None:
    """A regenerated survey runs the model's own parameters, formed module by module in hooks: the output
    layer is called once a batch, its hooks around all the blocks, and returns the loss, never the logits."""
    from losslab.landscape.regenerated import RegeneratedDirections
    from losslab.landscape.regenerated_survey import regenerated_survey

    model = _model("gpt2")
    batch = _batch(generator)
    objective = network(model, batch)
    shapes = []
    model.lm_head.register_forward_hook(lambda module, args, out: shapes.append(tuple(out.shape)))
    directions = RegeneratedDirections(seed=3)
    got = regenerated_survey(objective, directions, 3, (-0.5, 0.5), progress=False)
    assert shapes and set(shapes) == {()}  # one loss a call, not (3, 8, 24) logits
    stored = survey(objective, directions.materialize(objective), 3, (-0.5, 0.5), progress=False, method="loop")
    torch.testing.assert_close(got.values["loss"], stored.values["loss"], rtol=1e-12, atol=0)
    assert "forward" not in model.lm_head.__dict__
