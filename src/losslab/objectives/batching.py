"""Whether ``torch.func.vmap`` can batch a network over parameter points, and a loop where it cannot.

Many θ's of a network are evaluated in one ``vmap`` over ``functional_call``. Not every module can be
batched so: ``nn.LSTM``/``GRU``/``RNN`` have no batching rule (``aten::lstm.input``), a forward that
branches on a tensor's value or calls ``.item()`` is refused, and some fused kernels (``nn.TransformerEncoder``'s
fast path in eval mode) run under vmap only through its slow per-point fallback, which it warns about. Which
of these a model is, is found once per objective by a probe on two copies of θ* and the first two samples;
where vmap cannot batch the model, :func:`over_points` loops over the points instead — the same values, one
``functional_call`` each. Hessian-vector products of a stack of vectors batch only the tangents, which every
model takes; :func:`hessian_products` reads the data outside vmap, a batch at a time.

>>> from torch import nn
>>> from losslab.objectives.network import NetworkObjective
>>> class Recurrent(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.rnn, self.head = nn.GRU(3, 4, batch_first=True), nn.Linear(4, 2)
...     def forward(self, x):
...         return self.head(self.rnn(x)[0][:, -1])
>>> L = NetworkObjective(Recurrent(), (torch.randn(5, 6, 3), torch.tensor([0, 1, 0, 1, 1])))
>>> L.vmap_refusal
Refusal(reason='Batching rule not implemented for aten::gru.input', fails=True)
>>> L.values(torch.stack([L.center, L.center])).shape
torch.Size([2])
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.func import grad, jvp, vmap

from losslab.errors import first_line
from losslab.objectives import network_data

# the functions below take a NetworkObjective (not imported: network.py imports this module)
NetworkObjective = Any

# vmap's warning when an operator has no batching rule and it loops over the points itself (slower than a plain
# loop of forwards: each operator is split, run and stacked per point)
_FALLBACK = re.compile(r"not yet implemented the batching rule for (\S+?)\.")
_PROBE_SAMPLES = 2


class Refusal(NamedTuple):
    """Why ``vmap`` does not batch a network over points: ``fails`` where it raises, else it only falls back to
    looping over the points itself, slowly (it works)."""

    reason: str
    fails: bool


def probe(objective: NetworkObjective) -> Refusal | None:
    """Why ``vmap`` cannot batch this network over points, or None where it can.

    The loss of two copies of θ* on the first two samples under ``vmap``: an error is a refusal; so is vmap's
    warning that it falls back to a per-point loop for an operator. An error that a plain call raises too is
    the model's, not vmap's: it surfaces where the model is used. (:attr:`NetworkObjective.vmap_refusal` holds
    the answer, probed once.)
    """
    inputs, targets = network_data.first_samples(objective.data, _PROBE_SAMPLES, objective.device, objective.dtype)
    inputs, targets = objective.prepare(inputs, targets)
    thetas = objective.center.detach().expand(2, -1)
    per_point = vmap(objective.loss_and_hits, in_dims=(0, None, None))
    with torch.no_grad(), objective.evaluating(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            per_point(thetas, inputs, targets)
        except RuntimeError as error:
            try:
                objective.loss_and_hits(objective.center, inputs, targets)
            except Exception:  # noqa: BLE001 — the model's own error, reported by its real use
                return None
            reason = first_line(error).removesuffix(" We could not generate a fallback.").rstrip(".")
            return Refusal(reason, fails=True)
    for warning in caught:
        fallback = _FALLBACK.search(str(warning.message))
        if fallback:
            return Refusal(f"vmap has no batching rule for {fallback.group(1)} (it loops over the points)", False)
    return None


def over_points(
    objective: NetworkObjective, fn: Callable[..., Any], in_dims: tuple[int | None, ...]
) -> Callable[..., Any]:
    """``vmap(fn, in_dims)`` where vmap batches this network, else the same map as a loop over the batched
    arguments' first axis (``fn`` returns a tensor or a tuple of tensors; results are stacked the same way)."""
    if objective.vmap_refusal is None:
        return vmap(fn, in_dims=in_dims)

    def looped(*args: Any) -> Any:
        count = next(len(a) for a, d in zip(args, in_dims, strict=True) if d == 0)
        results = [fn(*(a[i] if d == 0 else a for a, d in zip(args, in_dims, strict=True))) for i in range(count)]
        if isinstance(results[0], tuple):
            return tuple(torch.stack(parts) for parts in zip(*results, strict=True))
        return torch.stack(results)

    return looped


def hessian_products(objective: NetworkObjective, theta: Tensor, vectors: Tensor) -> Tensor:
    """H(θ)·vᵢ for a stack of vectors ``(m, n)``, each batch of the data read once for all of them.

    Per batch, the forward-over-reverse products of the batch's loss, vmapped over the vectors (only the
    tangents are batched, θ is not: an LSTM takes this too), weighted as the batch's loss is in the mean
    ``L`` (:meth:`NetworkObjective.loss_items`). A DataLoader is not iterated inside vmap (its iterator draws
    a seed, which vmap refuses: "called random operation while in randomness error mode"). With the
    ``recompute`` BatchNorm policy the statistics depend on θ: one vector at a time through the whole objective.
    """
    if objective.batchnorm == "recompute":
        whole = grad(objective._evaluate)
        return torch.stack([jvp(whole, (theta,), (v,))[1] for v in vectors])

    def per_batch(inputs: Any, targets: Tensor | None) -> Tensor:
        gradient = grad(lambda t: objective._loss_on(t, inputs, targets))
        return vmap(lambda v: jvp(gradient, (theta,), (v,))[1])(vectors)

    return objective._mean_over_data(per_batch)  # type: ignore[no-any-return]
