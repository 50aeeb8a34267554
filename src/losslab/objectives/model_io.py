"""What goes into any ``nn.Module`` and what comes out: input structures, output structures, the loss pair.

Inputs are a tensor, a tuple of tensors (positional arguments) or a mapping of tensors (keyword
arguments: ``input_ids``, ``attention_mask``, ``labels``, ``pixel_values``, …). Outputs are a
tensor, a tuple (the first element is the prediction) or a mapping such as HuggingFace's
``ModelOutput`` (its ``logits``; its ``loss`` when the inputs carried ``labels``).

Every call goes through ``torch.func.functional_call`` with what breaks functional evaluation
turned off: caches (``use_cache=False`` for a forward that takes it: a cache object is not a
tensor, so ``vmap`` cannot return it) and, wherever a derivative may be taken (autograd
recording, or inside a ``torch.func`` transform), PyTorch's fused attention kernels, which have
no double backward (Hessian-vector products) and no ``vmap`` rule — attention then runs on the
math backend of ``scaled_dot_product_attention``, which has both. Plain values (a survey point
under ``no_grad``) keep torch's own choice: its fused kernel is 2–3× the math backend's speed on a
CPU (GPT-2's 16×4×128×64 causal attention: 2.1 against 6.1 ms in bfloat16, 1.9 against 4.5 in
float32) and more on a GPU.

>>> x = {"input_ids": torch.tensor([[1, 2, 3], [4, 5, 6]]), "pixel_values": torch.zeros(2, 3)}
>>> batch_size(x), describe(take(x, slice(0, 1)))
(2, 'input_ids: shape (3,), int64; pixel_values: shape (3,), float32')
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

import torch
from torch import Tensor, nn
from torch.func import functional_call
from torch.nn.attention import SDPBackend, sdpa_kernel

from losslab.errors import LosslabError, not_one_of
from losslab.objectives import fused_activations

Inputs = Tensor | tuple[Tensor, ...] | Mapping[str, Tensor]
LABELS = "labels"
MODEL_LOSS = "model"  # the loss the model computes itself from the ``labels`` in its inputs (``outputs.loss``)


LossFn = Callable[[Tensor, Tensor], Tensor]
NAMED_LOSSES: dict[str, LossFn] = {
    "cross_entropy": nn.functional.cross_entropy,
    "mse": nn.functional.mse_loss,
    "bce_with_logits": nn.functional.binary_cross_entropy_with_logits,
}


def loss_function(loss: str | LossFn) -> LossFn:
    """The loss a network objective takes by name (:data:`NAMED_LOSSES`, or ``model``: the model's own), or the
    callable itself."""
    if callable(loss):
        return loss
    if loss in NAMED_LOSSES:
        return NAMED_LOSSES[loss]
    if loss == MODEL_LOSS:
        return model_loss  # type: ignore[return-value]  # its name goes into a survey's provenance
    raise LosslabError(f"{not_one_of('loss', loss, (*NAMED_LOSSES, MODEL_LOSS))} (or pass a callable)")


def split_batch(batch: Any) -> tuple[Any, Tensor | None]:
    """A batch as ``(inputs, targets or None)``: a pair ``(inputs, targets)``, a mapping (its ``labels``
    stay in it), or a tensor of token ids (no targets: a causal LM predicts its own next tokens)."""
    if isinstance(batch, Mapping):
        return dict(batch), None
    if isinstance(batch, Tensor):
        return batch, None
    if isinstance(batch, tuple | list) and len(batch) == 2:
        inputs, targets = batch
        return (tuple(inputs) if isinstance(inputs, list) else inputs), (
            None if targets is None else torch.as_tensor(targets)
        )
    raise LosslabError(
        f"a batch of type {type(batch).__name__} is not (inputs, targets), a dict of tensors or a tensor of token ids"
    )


def leaves(inputs: Any) -> list[Tensor]:
    """The tensors of an input structure, in order (a mapping's in key order)."""
    if isinstance(inputs, Tensor):
        return [inputs]
    if isinstance(inputs, Mapping):
        return [t for key in inputs for t in leaves(inputs[key])]
    if isinstance(inputs, tuple | list):
        return [t for part in inputs for t in leaves(part)]
    raise LosslabError(f"model inputs must be tensors, tuples or dicts of tensors, got {type(inputs).__name__}")


def apply(inputs: Any, fn: Callable[[Tensor], Tensor]) -> Any:
    """``fn`` applied to every tensor of an input structure, the structure kept."""
    if isinstance(inputs, Tensor):
        return fn(inputs)
    if isinstance(inputs, Mapping):
        return {key: apply(value, fn) for key, value in inputs.items()}
    if isinstance(inputs, tuple | list):
        return tuple(apply(part, fn) for part in inputs)
    raise LosslabError(f"model inputs must be tensors, tuples or dicts of tensors, got {type(inputs).__name__}")


def to(inputs: Any, device: torch.device, dtype: torch.dtype) -> Any:
    """Every tensor on ``device``; floating ones in ``dtype`` (token ids and masks keep theirs)."""
    return apply(inputs, lambda t: t.to(device, dtype if t.is_floating_point() else t.dtype))


def take(inputs: Any, index: int | slice | Tensor) -> Any:
    """Rows ``index`` (first axis) of every tensor."""
    return apply(inputs, lambda t: t[index])


def batch_size(inputs: Any) -> int:
    """The number of samples: the first axis, which every tensor must share."""
    sizes = {len(t) for t in leaves(inputs) if t.dim() > 0}
    if len(sizes) != 1:
        raise LosslabError(f"the inputs' tensors must share their first (sample) axis; got lengths {sorted(sizes)}")
    return sizes.pop()


def describe(inputs: Any) -> str:
    """Shape and type per sample: ``"shape (64,), float32"``, ``"one int64"``, ``"input_ids: shape (8,), int64"``."""
    if isinstance(inputs, Mapping):
        return "; ".join(f"{key}: {describe(value)}" for key, value in inputs.items())
    if isinstance(inputs, tuple | list):
        return "(" + "; ".join(describe(part) for part in inputs) + ")"
    if not isinstance(inputs, Tensor):
        return type(inputs).__name__
    kind = str(inputs.dtype).removeprefix("torch.")
    return f"shape {tuple(inputs.shape[1:])}, {kind}" if inputs.dim() > 1 else f"one {kind}"


def call(model: nn.Module, state: tuple[dict[str, Tensor], ...], inputs: Any) -> Any:
    """``model(inputs)`` with the given parameters and buffers: a tuple as positional arguments, a mapping
    as keyword arguments; no cache, attention on the math kernel where derivatives may be taken (module
    docstring)."""
    if isinstance(inputs, Mapping):
        args: tuple[Any, ...] = ()
        kwargs = dict(inputs)
    else:
        args, kwargs = (inputs if isinstance(inputs, tuple) else (inputs,)), {}
    if _takes_use_cache(type(model)):
        kwargs["use_cache"] = False
    kernel = sdpa_kernel(SDPBackend.MATH) if differentiable() else contextlib.nullcontext()
    with kernel, fused_activations.fused(model):
        return functional_call(model, state, args, kwargs)


def differentiable() -> bool:
    """Whether a derivative may be taken of what is computed now: autograd records, or a ``torch.func``
    transform (``grad``, ``jvp``, ``vmap``) is active."""
    return torch.is_grad_enabled() or _transforms_active()


# torch's own test for an active torch.func transform; were it gone, every call would count as differentiable
_transforms_active: Callable[[], bool] = getattr(torch._C, "_are_functorch_transforms_active", lambda: True)


_TAKES_USE_CACHE: dict[type, bool] = {}


def _takes_use_cache(kind: type[nn.Module]) -> bool:
    if kind not in _TAKES_USE_CACHE:
        try:
            _TAKES_USE_CACHE[kind] = "use_cache" in inspect.signature(kind.forward).parameters
        except (TypeError, ValueError):
            _TAKES_USE_CACHE[kind] = False
    return _TAKES_USE_CACHE[kind]


def check_keywords(model: nn.Module, inputs: Any) -> None:
    """A dict's keys must be parameters the forward names: a forward with ``**kwargs`` (every HuggingFace
    model) would otherwise drop a misspelt key without a word. A forward that names none is not checked."""
    if not isinstance(inputs, Mapping):
        return
    try:
        parameters = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return
    named = [n for n, p in parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = [key for key in inputs if key not in named]
    if named and unknown:
        raise LosslabError(
            f"the model's forward does not take {', '.join(map(repr, unknown))}: its inputs are {', '.join(named)}"
        )


def model_loss(outputs: Any) -> Any:
    """The loss a model computed itself (``outputs.loss`` / ``outputs["loss"]``), or None."""
    if isinstance(outputs, Mapping):
        return outputs.get("loss")
    return getattr(outputs, "loss", None)


def prediction(outputs: Any) -> Tensor:
    """The prediction in a model's outputs: a tensor, a mapping's ``logits`` (else its first tensor that is
    not the loss), a tuple's first element."""
    if isinstance(outputs, Tensor):
        return outputs
    if isinstance(outputs, Mapping):
        if isinstance(outputs.get("logits"), Tensor):
            return outputs["logits"]  # type: ignore[no-any-return]
        found = [v for k, v in outputs.items() if k != "loss" and isinstance(v, Tensor)]
    elif isinstance(outputs, tuple | list):
        found = [v for v in outputs[:1] if isinstance(v, Tensor)]
    else:
        found = []
    if not found:
        raise LosslabError(
            f"the model's outputs ({type(outputs).__name__}) hold no prediction tensor: return a tensor, a tuple "
            "whose first element is one, or a mapping with 'logits'"
        )
    return found[0]


def class_labels(inputs: Any, targets: Tensor | None) -> Tensor | None:
    """The class indices a classifier's accuracy counts hits against — the targets, else a dict batch's
    ``labels`` where the model's own loss takes them there (a HuggingFace sequence classifier) — when they
    are one integer per sample; else None.

    >>> class_labels({"input_ids": torch.zeros(2, 5), LABELS: torch.tensor([1, 0])}, None)
    tensor([1, 0])
    >>> class_labels({"input_ids": torch.zeros(2, 5), LABELS: torch.zeros(2, 5, dtype=torch.long)}, None) is None
    True
    """
    labels = inputs.get(LABELS) if targets is None and isinstance(inputs, Mapping) else targets
    if isinstance(labels, Tensor) and labels.dim() == 1 and not labels.is_floating_point():
        return labels
    return None


IGNORED = -100  # the label cross-entropy (and HuggingFace's losses) leave out of the mean


def loss_items(labels: Tensor | None, samples: int, causal: bool) -> int:
    """How many items a batch's mean loss averages over — its weight when batches are pooled into the
    mean over the whole data: the labels that are not :data:`IGNORED` (a causal LM's from position 1 on:
    it predicts each token from the ones before), or ``samples`` where the labels are not class indices.
    Padded text streamed in batches of different token counts pools to the token mean of the whole.

    >>> ids = torch.tensor([[5, 6, 7, -100], [5, 6, 7, 8]])
    >>> loss_items(ids, 2, causal=True), loss_items(ids, 2, causal=False), loss_items(None, 2, causal=True)
    (5, 7, 2)
    """
    if labels is None or labels.is_floating_point() or labels.dim() == 0:
        return samples
    counted = labels[:, 1:] if causal and labels.dim() == 2 else labels
    return int((counted != IGNORED).sum())


def is_causal_lm(outputs: Any) -> bool:
    """Whether the outputs are a HuggingFace causal LM's (``CausalLMOutput…``), whose logit at position t
    predicts the token at t + 1."""
    return type(outputs).__name__.startswith("CausalLMOutput")


def token_ids(inputs: Any) -> Tensor | None:
    """The token ids of a language model's inputs (a tensor of integers, or ``input_ids``), else None."""
    if isinstance(inputs, Mapping):
        inputs = inputs.get("input_ids")
    return inputs if isinstance(inputs, Tensor) and not inputs.is_floating_point() else None


# logits a causal LM's loss reads at once (a block of rows of one sequence): 4 MiB in float32, in cache
LOSS_BLOCK = 2**20


def causal_targets(targets: Any, outputs: Any) -> TypeGuard[Tensor]:
    """Whether ``targets`` are a causal LM's token ids for these ``outputs``: integer ``(B, T)`` beside logits
    ``(B, T, V)`` — the pair :func:`causal_lm_loss` takes."""
    if not is_causal_lm(outputs) or not isinstance(targets, Tensor) or targets.is_floating_point():
        return False
    logits = prediction(outputs)
    return logits.dim() == 3 and targets.shape == logits.shape[:-1]


def causal_lm_loss(outputs: Any, labels: Tensor) -> Tensor:
    """A causal LM's cross-entropy as HuggingFace defines it: the logits at t against the label at t + 1,
    label -100 ignored, the mean over the rest; in float32 where the logits are lower (bfloat16 under
    autocast), else in their dtype.

    Read in blocks of rows (:data:`LOSS_BLOCK` logits), never as one float32 copy of all of them: GPT-2 with
    16 384 tokens in its vocabulary on 16×128 tokens, 9.6 ms against 44 ms for HuggingFace's own loss in
    float32 (it copies and normalizes 134 MB at once), 10 ms against 87 ms from bfloat16 logits.
    """
    logits = prediction(outputs)

    def block(row: int, start: int, stop: int) -> Tensor:
        return logits[row, start:stop]

    return shifted_cross_entropy(block, logits.shape, labels)


def shifted_cross_entropy(block: Callable[[int, int, int], Tensor], shape: tuple[int, ...], labels: Tensor) -> Tensor:
    """The causal-LM cross-entropy of logits of ``shape`` (B, T, V) given a block at a time: ``block(b, s, e)``
    is sequence b's logits at positions s to e − 1, read against labels s + 1 to e (:data:`LOSS_BLOCK` logits a
    block); label -100 ignored; summed in float32 or the logits' own wider type."""
    batch, length, vocabulary = shape
    rows = max(1, LOSS_BLOCK // vocabulary)
    total: Tensor | None = None
    for b in range(batch):
        for start in range(0, length - 1, rows):
            stop = min(start + rows, length - 1)
            logits = block(b, start, stop)
            logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
            part = nn.functional.cross_entropy(logits, labels[b, start + 1 : stop + 1], reduction="sum")
            total = part if total is None else total + part
    if total is None:
        raise LosslabError(f"sequences of {length} token(s): a causal LM's loss needs at least 2")
    return total / (labels[:, 1:] != -100).sum()


def last_hidden_state(outputs: Any) -> Tensor:
    """A base model's last hidden states: ``outputs.last_hidden_state``, or the first element of a tuple."""
    if isinstance(outputs, Mapping) and "last_hidden_state" in outputs:
        return outputs["last_hidden_state"]  # type: ignore[no-any-return]
    first = outputs[0] if isinstance(outputs, tuple | list) else outputs
    if not isinstance(first, Tensor):
        raise LosslabError(f"the base model returned {type(outputs).__name__}, not hidden states")
    return first


def check_classes(logits: Tensor, held: Tensor | None) -> None:
    """Integer targets must be classes of the logits (torch's class axis: 1, or 0 for one sample)."""
    if held is None or held.is_floating_point():
        return
    classes = logits.shape[1] if logits.dim() > 1 else logits.shape[0]
    wrong = held[((held < 0) | (held >= classes)) & (held != IGNORED)]
    if len(wrong):
        raise LosslabError(
            f"the targets hold class {int(wrong[0])}, but the model has {classes} outputs "
            f"(classes 0 to {classes - 1})"
        )


def class_pair(outputs: Any, targets: Tensor, named_cross_entropy: bool) -> tuple[Tensor, Tensor]:
    """The (prediction, targets) a named loss compares.

    A causal LM's logits ``(B, T, V)`` against token ids ``(B, T)`` are shifted as in training (logits
    ``[:, :-1]`` against targets ``[:, 1:]``). For cross-entropy on integer targets, logits with the
    classes last, ``(B, T, V)`` against ``(B, T)``, are flattened to ``(B·T, V)``; torch's own K-dimensional
    layout, ``(B, V, T)`` against ``(B, T)``, is passed as it is.
    """
    logits = prediction(outputs)
    if is_causal_lm(outputs) and logits.dim() == 3 and targets.shape == logits.shape[:-1]:
        logits, targets = logits[:, :-1], targets[:, 1:]
    if named_cross_entropy and not targets.is_floating_point() and logits.dim() > 2:
        k_dimensional = logits.shape[0] == targets.shape[0] and logits.shape[2:] == targets.shape[1:]
        # HuggingFace's logits are always classes-last; a bare tensor keeps torch's layout where both would fit
        if logits.shape[:-1] == targets.shape and (not k_dimensional or isinstance(outputs, Mapping)):
            return logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)
    return logits, targets


def check_loss_value(loss: Any, name: str) -> None:
    """A loss (named ``name``; :data:`MODEL_LOSS`: the model's own ``outputs.loss``) must be one finite number:
    a 0-d tensor."""
    if not isinstance(loss, Tensor):
        hint = (
            " (outputs.loss is None: put 'labels' in the inputs, or name a loss such as cross_entropy)"
            if name == MODEL_LOSS or loss is None
            else ""
        )
        raise LosslabError(f"the loss ({name}) returned {type(loss).__name__}, not a 0-d tensor{hint}")
    if loss.dim() != 0:
        raise LosslabError(
            f"the loss ({name}) returned a tensor of shape {tuple(loss.shape)}; it must be one number "
            "(reduce it, e.g. with .mean())"
        )
    if not torch.isfinite(loss):
        raise LosslabError(f"the loss ({name}) is {float(loss)} at the model's parameters; it must be finite")
