"""Language-model demos: HuggingFace causal LMs built from small configs, and token data made on the spot.

Nothing is downloaded: the models are ``GPT2LMHeadModel`` and ``LlamaForCausalLM`` built from a
config with seeded random weights (``pip install losslab[hf]`` brings ``transformers``), and the
data are token sequences of a small learnable language — each sequence counts up from a random
start with a random stride modulo the vocabulary (``7, 10, 13, …``), so a trained model's loss
falls well below ``log V``. They are what ``--model transformers:gpt2-tiny`` and
``--model transformers:llama-tiny`` build.

========== ============================================================ ===========
name       config                                                        parameters
========== ============================================================ ===========
gpt2-tiny  GPT-2, 2 layers, 2 heads, width 32, vocabulary 64, 32 tokens  28 544 (tied head)
llama-tiny Llama, 2 layers, 4 heads (2 key-value), width 32, MLP 64      22 688
========== ============================================================ ===========
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from losslab.errors import LosslabError, check_choice
from losslab.networks.demos import one_thread

VOCABULARY = 64
CONTEXT = 32


def require_transformers() -> Any:
    """The ``transformers`` module, or one line saying how to install it."""
    try:
        import transformers
    except ImportError:
        raise LosslabError("this needs HuggingFace transformers: pip install 'losslab[hf]'") from None
    return transformers


def gpt2_tiny(vocabulary: int = VOCABULARY, width: int = 32, layers: int = 2, heads: int = 2) -> nn.Module:
    """A GPT-2 causal LM from a small config (its ``lm_head`` is tied to the token embedding ``wte``)."""
    transformers = require_transformers()
    config = transformers.GPT2Config(
        vocab_size=vocabulary, n_positions=CONTEXT, n_embd=width, n_layer=layers, n_head=heads,
        bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    model = transformers.GPT2LMHeadModel(config)
    model.loss_type = "ForCausalLM"  # its class name does not say so, and transformers would log that it guessed
    return model  # type: ignore[no-any-return]


def llama_tiny(vocabulary: int = VOCABULARY, width: int = 32, layers: int = 2, heads: int = 4) -> nn.Module:
    """A Llama causal LM from a small config (grouped-query attention, rotary positions, RMSNorm, SwiGLU)."""
    transformers = require_transformers()
    config = transformers.LlamaConfig(
        vocab_size=vocabulary, hidden_size=width, intermediate_size=2 * width, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=max(heads // 2, 1), max_position_embeddings=CONTEXT,
        bos_token_id=0, eos_token_id=0, pad_token_id=0,
    )  # fmt: skip
    return transformers.LlamaForCausalLM(config)  # type: ignore[no-any-return]


LANGUAGE_MODELS: dict[str, Callable[[], nn.Module]] = {"gpt2-tiny": gpt2_tiny, "llama-tiny": llama_tiny}


def counting_tokens(
    sequences: int = 64, length: int = CONTEXT, vocabulary: int = VOCABULARY, seed: int = 0
) -> Tensor:
    """Token ids ``(sequences, length)``: each row ``s, s + k, s + 2k, …`` modulo the vocabulary, with a
    random start ``s`` and stride ``k`` in 1–4 (seeded; the global RNG is not touched).

    >>> counting_tokens(2, 5, seed=1).tolist()
    [[37, 38, 39, 40, 41], [43, 44, 45, 46, 47]]
    """
    generator = torch.Generator().manual_seed(seed)
    start = torch.randint(0, vocabulary, (sequences, 1), generator=generator)
    stride = torch.randint(1, 5, (sequences, 1), generator=generator)
    return (start + stride * torch.arange(length)) % vocabulary


def language_demo(
    name: str, *, seed: int = 0, dtype: torch.dtype = torch.float32, trained: bool = True, steps: int | None = None
) -> tuple[nn.Module, dict[str, Tensor], list[Tensor]]:
    """A demo language model, its data ``{"input_ids", "labels"}`` and its training checkpoints.

    Trained full-batch with Adam (``steps`` default 40) on :func:`counting_tokens`, in eval mode after.
    """
    check_choice("transformers model", name, LANGUAGE_MODELS)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LANGUAGE_MODELS[name]().to(dtype)
    ids = counting_tokens(seed=seed)
    checkpoints: list[Tensor] = []
    if trained:
        checkpoints = _train(model, ids, 40 if steps is None else steps)
    model.eval()
    return model, {"input_ids": ids, "labels": ids}, checkpoints


def _train(model: nn.Module, ids: Tensor, steps: int, every: int = 10) -> list[Tensor]:
    """Full-batch Adam (lr 3e-3) on the model's own loss; flat checkpoints every ``every`` steps.

    Dropout stays off (eval mode) so that training is deterministic for a given seed."""
    if steps < 0:
        raise LosslabError(f"steps = {steps}: need steps ≥ 0")
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.eval()
    checkpoints = [nn.utils.parameters_to_vector(model.parameters()).detach().clone()]
    with one_thread():  # the same θ* whatever the thread count (torchrun's ranks run on one)
        for step in range(1, steps + 1):
            optimizer.zero_grad()
            with sdpa_kernel(SDPBackend.MATH):  # on a CPU torch's fused attention kernel is far slower here
                model(input_ids=ids, labels=ids, use_cache=False).loss.backward()
            optimizer.step()
            if step % every == 0 or step == steps:
                checkpoints.append(nn.utils.parameters_to_vector(model.parameters()).detach().clone())
    return checkpoints
