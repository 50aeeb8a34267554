"""A causal LM's loss without its full logits: the base model, then the output layer and the cross-entropy
together, a block of rows at a time.

A HuggingFace causal LM computes the logits of every token, B·T·V numbers, then reads them again for its
loss: GPT-2 with a 16 384-token vocabulary on 16×128 tokens holds 33.5 M of them (134 MB in float32), a
128 K vocabulary on 8×4 096 tokens 4.3 G (17 GB). Where a model's logits are exactly
``head(base(inputs).last_hidden_state)`` — the classes of :data:`PLAIN_HEADS`, read in transformers'
source, and checked once on the data's first samples against the loss of the model's own logits — losslab
runs the base model and then, for each block of :data:`losslab.objectives.model_io.LOSS_BLOCK` logits, the head
and the cross-entropy: no more than one block of logits is ever held, and each is read while in cache.
W5's GPT-2 (10.5 M parameters, 16×128 tokens, bfloat16 autocast), the model called directly: forward and
loss 104 ms against 117 ms (best of 12, alternating). Models whose head does more (Gemma 2's soft-capping,
Cohere's logit scale, Granite's logit scaling) or any other model keep the logits path. A regenerated
survey (LLM scale: the model's own parameters, formed module by module in hooks) takes the blocks too.

The blocks follow :func:`losslab.objectives.model_io.causal_lm_loss`: logits at t against the label at
t + 1, label -100 ignored, the mean over the rest, in float32 where the logits are lower.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from losslab.objectives import model_io
from losslab.objectives.model_state import parameter_names

#: causal LMs whose forward is ``logits = head(base(...).last_hidden_state)`` and nothing more (transformers 5)
PLAIN_HEADS = frozenset(
    {
        "GPT2LMHeadModel",
        "GPTNeoForCausalLM",
        "GPTNeoXForCausalLM",
        "GemmaForCausalLM",
        "LlamaForCausalLM",
        "MistralForCausalLM",
        "OPTForCausalLM",
        "Olmo2ForCausalLM",
        "OlmoForCausalLM",
        "Phi3ForCausalLM",
        "PhiForCausalLM",
        "Qwen2ForCausalLM",
        "Qwen3ForCausalLM",
        "SmolLM3ForCausalLM",
        "StableLmForCausalLM",
        "Starcoder2ForCausalLM",
    }
)


def is_the_usual_loss(outputs: Any, inputs: Any) -> bool:
    """Whether a model's own loss (``outputs.loss`` from the ``labels`` in ``inputs``) is a causal LM's usual
    cross-entropy (:func:`losslab.objectives.model_io.causal_lm_loss`): then losslab computes it itself — in
    blocks (4.6× faster in float32 on GPT-2's 16 384 classes) and in the logits' precision (HuggingFace casts
    them to float32 even from float64: a float64 GPT-2's loss, and every Hessian of it, would be good to 1e-7
    only)."""
    labels = inputs.get(model_io.LABELS) if isinstance(inputs, Mapping) else None
    if not model_io.causal_targets(labels, outputs):
        return False
    # the same loss to float32's rounding over a few tokens; another definition (label smoothing, another
    # shift or reduction) differs by far more, and the model's own loss is kept
    ours, own = model_io.causal_lm_loss(outputs, labels), model_io.model_loss(outputs)  # own: finite, 0-d
    return bool(torch.isclose(ours.double(), own.double(), rtol=1e-4, atol=0))


@dataclass(frozen=True)
class LMHead:
    """Where a causal LM's base model and output layer are, by θ's names.

    ``prefix`` names the base model (``"transformer"`` for GPT-2, ``"model"`` for Llama); ``weight`` and
    ``bias`` are the names under which the output layer's parameters appear in ``named_parameters`` (a
    tied ``lm_head.weight`` appears as the embedding's, ``transformer.wte.weight``)."""

    base: nn.Module
    head: nn.Linear
    prefix: str
    weight: str
    bias: str | None

    @staticmethod
    def find(model: nn.Module) -> LMHead | None:
        """The base and head of a model of :data:`PLAIN_HEADS`; None for any other model."""
        kind = type(model)
        if kind.__name__ not in PLAIN_HEADS or not kind.__module__.startswith("transformers.models."):
            return None
        prefix = getattr(model, "base_model_prefix", "")
        base, head = getattr(model, prefix, None), model.get_output_embeddings()  # type: ignore[operator]
        if not isinstance(base, nn.Module) or type(head) is not nn.Linear:
            return None
        names = parameter_names(model)
        weight = names.get(id(head.weight))
        bias = None if head.bias is None else names.get(id(head.bias))
        if weight is None or (head.bias is not None and bias is None):
            return None
        return LMHead(base, head, prefix, weight, bias)

    @staticmethod
    def checked(
        model: nn.Module, state: tuple[dict[str, Tensor], dict[str, Tensor]], inputs: Any, labels: Any, outputs: Any
    ) -> LMHead | None:
        """:meth:`find`'s head where ``labels`` are a causal LM's targets for ``outputs`` (the model's own on
        ``inputs`` with ``state``) and :meth:`agrees` with the loss of those outputs; else None."""
        head = LMHead.find(model)
        if head is None or not model_io.causal_targets(labels, outputs):
            return None
        reference = model_io.causal_lm_loss(outputs, labels)
        return head if head.agrees(state, inputs, labels, reference) else None

    def agrees(self, state: tuple[dict[str, Tensor], dict[str, Tensor]], inputs: Any, labels: Tensor,
               logits_loss: Tensor) -> bool:  # fmt: skip
        """Whether :meth:`loss` equals the loss read from the model's own logits, ``logits_loss``, on these
        inputs: to 1e-10 relative in float64, 1e-5 below (the blocks' matmuls round differently)."""
        blocked = self.loss(state, inputs, labels)
        tolerance = 1e-10 if blocked.dtype == torch.float64 else 1e-5
        return bool(torch.isclose(blocked.double(), logits_loss.double(), rtol=tolerance, atol=0))

    def loss(self, state: tuple[dict[str, Tensor], dict[str, Tensor]], inputs: Any, labels: Tensor) -> Tensor:
        """The causal-LM cross-entropy of ``inputs`` against ``labels`` with the parameters and buffers of
        ``state`` (by the model's names; no parameters: the model's own as it runs now).

        Given the parameters, the output layer's hooks do not run (:meth:`agrees` finds a hook that changes
        the logits). Without them the output layer is called once, its ``forward`` replaced for that call by
        the blocks: its hooks run around all of them — a regenerated survey forms each module's parameters
        in a pre-hook and puts θ* back in a hook after it (:class:`losslab.landscape.layerwise.LayerwisePoint`).
        """
        params = state[0]
        start = len(self.prefix) + 1
        inner = tuple({k[start:]: v for k, v in d.items() if k.startswith(self.prefix + ".")} for d in state)
        if isinstance(inputs, Mapping):
            inputs = {k: v for k, v in inputs.items() if k != model_io.LABELS}
        hidden = model_io.last_hidden_state(model_io.call(self.base, inner, inputs))  # type: ignore[arg-type]
        if self.weight in params:
            return self._blocks(hidden, params[self.weight], None if self.bias is None else params[self.bias], labels)
        with _HEAD_CALL:  # one replaced forward at a time: another thread's such call waits
            self.head.forward = lambda h: self._blocks(h, self.head.weight, self.head.bias, labels)  # type: ignore[method-assign, assignment]
            try:
                return self.head(hidden)  # type: ignore[no-any-return]
            finally:
                self.head.__dict__.pop("forward", None)

    @staticmethod
    def _blocks(hidden: Tensor, weight: Tensor, bias: Tensor | None, labels: Tensor) -> Tensor:
        device = hidden.device.type
        if torch.is_autocast_enabled(device):  # once, not once a block: θ's views are not autocast's cached leaves
            low = torch.get_autocast_dtype(device)
            hidden, weight = hidden.to(low), weight.to(low)
            bias = None if bias is None else bias.to(low)

        def block(row: int, start: int, stop: int) -> Tensor:
            return nn.functional.linear(hidden[row, start:stop], weight, bias)

        batch, length = hidden.shape[:2]
        return model_io.shifted_cross_entropy(block, (batch, length, weight.shape[0]), labels)


_HEAD_CALL = threading.Lock()
