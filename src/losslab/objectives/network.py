"""Network objectives: any ``nn.Module`` and data set as an Objective over its flat parameters.

θ is the concatenation of the model's parameters (in ``named_parameters`` order). The model
itself is never mutated: every evaluation goes through ``torch.func.functional_call`` with θ
unflattened into views, and buffers (BatchNorm running statistics) taken as they are — the
``frozen`` policy: the statistics of θ*, in eval mode. The ``recompute`` policy instead
re-estimates the statistics at every θ from training batches (see
:meth:`NetworkObjective.recomputed_buffers`), on a copy of the buffers. Many θ's are evaluated in one
``vmap`` over ``functional_call`` (a loop where vmap cannot batch the model: :mod:`.batching`); the data set
is held on its device once. For data that does not fit, a ``DataLoader`` is streamed once per chunk of θ's,
not once per θ.

Any input and output structure (tensors, tuples, dicts such as a HuggingFace batch, ``ModelOutput``)
goes through :mod:`losslab.objectives.model_io`. Evaluation runs in eval mode (no dropout) and
puts every module's ``training`` flag back afterwards, so the user's model is left as it was.
θ holds each parameter once: tied weights (GPT-2's ``lm_head`` and ``wte``) are one entry of
``named_parameters`` and ``functional_call`` ties them again. Plain values (no derivative taken: a survey's
points) run each convolution and the frozen BatchNorm after it as one convolution where ``torch.fx`` traces
the model (:mod:`losslab.objectives.folded_norms`).
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from losslab.errors import LosslabError, check_choice, first_line
from losslab.objectives import batching, first_call, folded_norms, lm_head, model_io, network_data
from losslab.objectives.model_state import (
    FlatNames,
    chosen_parameters,
    cumulative_copy,
    evaluation_mode,
    named_views,
    trained_mask,
    unwrapped,
)  # fmt: skip
from losslab.objectives.objective import Objective

LossFn = model_io.LossFn
LOSSES = model_io.NAMED_LOSSES
MODEL_LOSS = model_io.MODEL_LOSS
NO_ITEMS = "the data holds nothing to average the loss over (no batches, or every label is -100)"
BATCHNORM_POLICIES = ("frozen", "recompute")


class NetworkObjective(Objective):
    """L(θ) = mean loss of ``model`` with parameters θ over ``data``.

    Args:
        model: any ``nn.Module``; its parameters at construction are θ* (:attr:`center`).
        data: ``(inputs, targets)`` where inputs are a tensor, a tuple of tensors (positional
            arguments) or a dict of tensors (keyword arguments); a dict alone (a HuggingFace batch,
            its ``labels`` included); a tensor of token ids alone (a causal LM's own next tokens); or
            a ``DataLoader`` yielding any of these.
        loss: ``"cross_entropy"``, ``"mse"``, ``"bce_with_logits"`` (on the prediction: a tensor, a
            tuple's first element, a ``ModelOutput``'s ``logits``, shifted for a causal LM),
            ``"model"`` (the model's own ``outputs.loss`` from the ``labels`` in its inputs), or a
            callable ``(outputs, targets) -> mean loss`` given the outputs as the model returns them.
            Default: ``"model"`` when the inputs hold ``labels``, else ``"cross_entropy"``.
        dtype: the floating type for θ and the data (default: the model's).
        device: where to evaluate (default: the model's).
        batchnorm: ``"frozen"`` — the running statistics of θ* in eval mode (the default) —
            or ``"recompute"``: at every θ, re-estimate each BatchNorm layer's statistics
            from training batches, then evaluate in eval mode with them.
        batchnorm_data: the training inputs for ``recompute`` (a tensor, or a DataLoader
            yielding ``(inputs, targets)`` or inputs); default: this objective's inputs.
        batchnorm_batch_size: batch size when ``batchnorm_data`` is a tensor (default 128).
        parameters: ``"all"`` (the default) or ``"trainable"``: θ over the parameters that require grad only,
            the frozen ones held at their values (:func:`~losslab.objectives.model_state.chosen_parameters`).

    >>> net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    >>> x, y = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 1, dtype=torch.float64)
    >>> L = NetworkObjective(net, (x, y), "mse")
    >>> L.dim, bool(torch.isclose(L.value(L.center), nn.functional.mse_loss(net(x), y)))
    (13, True)
    """

    def __init__(
        self,
        model: nn.Module,
        data: Any,
        loss: str | LossFn | None = None,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        batchnorm: str = "frozen",
        batchnorm_data: Tensor | DataLoader[Any] | None = None,
        batchnorm_batch_size: int = 128,
        title: str = "",
        parameters: str = "all",
    ) -> None:
        if not isinstance(model, nn.Module):
            raise LosslabError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        model = unwrapped(model)  # DataParallel, DDP, torch.compile: the module inside
        check_choice("batchnorm policy", batchnorm, BATCHNORM_POLICIES)
        params = chosen_parameters(model, parameters)
        first = next(iter(params.values()))
        self.device = torch.device(device) if device is not None else first.device
        shapes = [(name, p.numel()) for name, p in params.items()]
        super().__init__(
            names=FlatNames(shapes),
            title=title or type(model).__name__,
            dtype=dtype or first.dtype,
        )
        self.model = model  # left in its mode: evaluation switches to eval mode and back (evaluating)
        self.shapes = {name: p.shape for name, p in params.items()}
        self.parameter_set = parameters
        # the parameters θ leaves out (parameters="trainable"), held at their values in the objective's dtype
        self.fixed = {n: p.detach().to(self.device, self.dtype) for n, p in model.named_parameters() if n not in params}
        self.buffers = {k: b.to(self.device) for k, b in model.named_buffers()}
        self.batchnorm = batchnorm
        self.data = network_data.hold(data, self.device, self.dtype)
        if loss is None:
            first_inputs = network_data.first_samples(self.data, 1, self.device, self.dtype)[0]
            loss = MODEL_LOSS if isinstance(first_inputs, Mapping) and model_io.LABELS in first_inputs else None
        self.loss_name = loss if isinstance(loss, str) else ("cross_entropy" if loss is None else "callable")
        self.loss_fn = model_io.loss_function(loss if loss is not None else "cross_entropy")
        # an encoder-decoder (T5, BART) builds its decoder's inputs from the labels: a named loss leaves them in
        self._labels_feed_decoder = bool(getattr(getattr(model, "config", None), "is_encoder_decoder", False))
        self._stats_model: nn.Module | None = None
        self._own_lm_loss = False  # decided by _check_fit
        self._head: lm_head.LMHead | None = None  # a causal LM's loss without all its logits; _check_fit
        if batchnorm == "recompute":
            self._stats_model = cumulative_copy(model)
            self._stats_data = batchnorm_data if batchnorm_data is not None else network_data.inputs_of(self.data)
            if batchnorm_batch_size < 1:
                raise LosslabError(f"batchnorm_batch_size = {batchnorm_batch_size}; need ≥ 1")
            self._stats_batch_size = batchnorm_batch_size
        self._check_fit()

    @functools.cached_property
    def center(self) -> Tensor:
        """θ*: the model's parameters at construction, flat (made on first use: a model of 10⁸–10¹⁰
        parameters surveyed with regenerated directions, :mod:`losslab.landscape.regenerated`, never
        needs this second copy)."""
        pieces = [p.detach().reshape(-1) for name, p in self.model.named_parameters() if name in self.shapes]
        return torch.cat(pieces).to(self.device, self.dtype)

    @functools.cached_property
    def trained_entries(self) -> Tensor | None:
        """1 where θ's entry is one training moves, 0 on the padding rows of its embeddings (torch never
        updates them, :func:`.model_state.padding_rows`); None where every entry trains. Hessians hold those
        rows fixed (:func:`losslab.curvature.hessian_operator`)."""
        return trained_mask(self.model, self.shapes, self.dtype, self.device)

    @functools.cached_property
    def vmap_refusal(self) -> batching.Refusal | None:
        """Why ``vmap`` cannot batch this network over points, or None (:mod:`losslab.objectives.batching`)."""
        return batching.probe(self)

    def own_parameters(self) -> dict[str, Tensor]:
        """The model's parameters by name as they are now, in this objective's dtype and device (the very
        tensors, no copy, where those match)."""
        return {name: p.detach().to(self.device, self.dtype) for name, p in self.model.named_parameters()}

    def _check_fit(self) -> None:
        """Run the model and the loss on the first two samples: a model that does not take these
        inputs, or a loss that does not take its outputs with these targets (a class index where
        ``mse`` needs a row like the output's: torch would broadcast and warn), or a loss that is not
        a finite 0-d tensor, is refused here, with the shapes, not deep inside a survey or a Hessian product."""
        raw_inputs, raw_targets = network_data.first_samples(self.data, 2, self.device, self.dtype)
        caught = first_call.CAUGHT
        with torch.no_grad():
            inputs, targets = self.prepare(raw_inputs, raw_targets)
            state = (self.own_parameters(), self.buffers)
            outputs, self._token_tables = first_call.first_outputs(
                self.model, state, inputs, self.data, self.evaluating
            )
            if self.loss_fn is nn.functional.cross_entropy and self.loss_name != MODEL_LOSS and targets is not None:
                held = self.prepare(*self.data)[1] if isinstance(self.data, tuple) else targets
                model_io.check_classes(model_io.class_pair(outputs, targets, True)[0], held)
            try:
                with warnings.catch_warnings():
                    warnings.filterwarnings("error", message="Using a target size")
                    loss = self.loss_of(outputs, inputs, targets)
            except (*caught, UserWarning) as exc:
                if isinstance(exc, LosslabError):
                    raise
                raise LosslabError(
                    f"the loss does not take the model's outputs ({model_io.describe(outputs)} per sample) with the "
                    f"data's targets ({model_io.describe(targets)} per sample): {first_line(exc)}"
                ) from None
        model_io.check_loss_value(loss, self.loss_name)
        with torch.no_grad():
            self._own_lm_loss = self.loss_name == MODEL_LOSS and lm_head.is_the_usual_loss(outputs, inputs)
            self._head = self._blocked_head(outputs, inputs, targets)
            with self.evaluating():  # for values only (outputs): each conv → frozen BatchNorm as one convolution
                self._folded = folded_norms.FoldedNorms.checked(self.model, state, inputs, outputs, self.dtype)
        self.classifier = model_io.class_labels(inputs, targets) is not None
        self._causal_lm = model_io.is_causal_lm(outputs)

    @property
    def logits_in_blocks(self) -> bool:
        """Whether the loss reads a causal LM's logits a block of rows at a time, never all at once
        (:mod:`losslab.objectives.lm_head`)."""
        return self._head is not None

    def _blocked_head(self, outputs: Any, inputs: Any, targets: Tensor | None) -> lm_head.LMHead | None:
        """The base model and output layer, where this objective's loss is a causal LM's usual cross-entropy
        (:mod:`losslab.objectives.lm_head`)."""
        if self._stats_model is not None:
            return None
        if self.loss_name == MODEL_LOSS:
            labels = inputs.get(model_io.LABELS) if self._own_lm_loss else None
        elif self.loss_fn is nn.functional.cross_entropy and self.loss_name != "callable":
            labels = targets if targets is not None else model_io.token_ids(inputs)
        else:
            return None
        with self.evaluating():
            return lm_head.LMHead.checked(self.model, (self.own_parameters(), self.buffers), inputs, labels, outputs)

    def evaluating(self) -> contextlib.AbstractContextManager[None]:
        """A context in which the model is in eval mode (no dropout, BatchNorm on its running statistics);
        every module's ``training`` flag is put back on leaving it."""
        return evaluation_mode(self.model)

    def prepare(self, inputs: Any, targets: Tensor | None) -> tuple[Any, Tensor | None]:
        """A batch's model inputs and loss targets. A dict's ``labels`` stay in it for the model's own loss
        (``"model"``) — unless it is a causal LM's usual loss, which losslab computes itself from the
        labels as targets — and are also the targets of a callable loss; a named loss takes them out as
        its targets, except from an encoder-decoder's inputs (its decoder reads them, shifted right)."""
        if targets is not None or not (isinstance(inputs, Mapping) and model_io.LABELS in inputs):
            return inputs, targets
        if self.loss_name == MODEL_LOSS and not self._own_lm_loss:
            return inputs, None
        if self.loss_name == "callable" or self._labels_feed_decoder:
            return inputs, inputs[model_io.LABELS]
        return {k: v for k, v in inputs.items() if k != model_io.LABELS}, inputs[model_io.LABELS]

    def loss_of(self, outputs: Any, inputs: Any, targets: Tensor | None) -> Any:
        """The loss of one batch from the model's outputs (see the ``loss`` argument); for a named loss with
        no targets, a causal LM's own token ids."""
        if self.loss_name == MODEL_LOSS:
            if self._own_lm_loss:  # the same loss, read in blocks (and in float64 for a float64 model)
                return model_io.causal_lm_loss(outputs, targets)  # type: ignore[arg-type]
            loss = model_io.model_loss(outputs)
            return loss.to(self.dtype) if isinstance(loss, Tensor) else loss
        if self.loss_name == "callable":
            return self.loss_fn(outputs, targets)  # type: ignore[arg-type]
        if targets is None:
            targets = model_io.token_ids(inputs)
            if targets is None or not model_io.is_causal_lm(outputs):
                raise LosslabError(
                    "the data has no targets: give (inputs, targets), a dict with 'labels', or token ids for a "
                    "HuggingFace causal LM"
                )
        if self.loss_fn is nn.functional.cross_entropy and model_io.causal_targets(targets, outputs):
            return model_io.causal_lm_loss(outputs, targets)  # shifted, in blocks
        logits, targets = model_io.class_pair(outputs, targets, self.loss_fn is nn.functional.cross_entropy)
        return self.loss_fn(logits, targets)

    def loss_items(self, inputs: Any, targets: Tensor | None) -> int:
        """A batch's weight in the mean over streamed batches: the labels its loss averages over
        (:func:`.model_io.loss_items`: label -100 left out, a causal LM's shifted), for a named loss or the
        model's own; the samples for a callable loss, whose averaging losslab cannot see."""
        samples = model_io.batch_size(inputs)
        if self.loss_name == "callable":
            return samples
        labels = targets
        if labels is None and isinstance(inputs, Mapping):
            labels = inputs.get(model_io.LABELS)
        if labels is None and self._causal_lm:
            labels = model_io.token_ids(inputs)
        return model_io.loss_items(labels, samples, self._causal_lm)

    def loss_and_hits(
        self, theta: Tensor | None, inputs: Any, targets: Tensor | None, buffers: dict[str, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        """One batch's loss and, for a classifier, how many argmax predictions hit (else 0), in one forward."""
        if self._head is not None:  # a causal LM: no classifier
            loss = self._head_loss(theta, inputs, targets, buffers)
            return loss, torch.zeros((), dtype=loss.dtype, device=loss.device)
        outputs = self.outputs(theta, inputs, buffers)
        loss = self.loss_of(outputs, inputs, targets)
        labels = model_io.class_labels(inputs, targets)
        if not self.classifier or labels is None:
            return loss, torch.zeros((), dtype=loss.dtype, device=loss.device)
        return loss, (model_io.prediction(outputs).argmax(-1) == labels).sum().to(loss.dtype)

    def batches(self) -> Iterator[tuple[Any, Tensor | None]]:
        """The data's batches on the device as ``(model inputs, loss targets)`` (:meth:`prepare`)."""
        if isinstance(self.data, tuple):
            yield self.prepare(*self.data)
            return
        for batch in self.data:
            inputs, targets = model_io.split_batch(batch)
            inputs = model_io.to(inputs, self.device, self.dtype)
            first_call.check_indices(self._token_tables, inputs)  # an id past an embedding: one line, not torch's
            yield self.prepare(inputs, None if targets is None else model_io.to(targets, self.device, self.dtype))

    # -- flat θ <-> the model's parameters ------------------------------------------------
    def unflatten(self, theta: Tensor) -> dict[str, Tensor]:
        """θ as views shaped like the model's parameters (θ's own: not those held :attr:`fixed`)."""
        return named_views(theta, self.shapes)

    def _state(self, theta: Tensor | None, buffers: dict[str, Tensor] | None) -> tuple[dict[str, Tensor], ...]:
        """What ``functional_call`` takes at θ: its parameters with the fixed ones, and the buffers (default θ*'s)."""
        params = {} if theta is None else {**self.fixed, **self.unflatten(theta)}
        return params, self.buffers if buffers is None else buffers

    def outputs(self, theta: Tensor | None, inputs: Any, buffers: dict[str, Tensor] | None = None) -> Any:
        """The model's outputs with parameters θ (one θ; None: the parameters the model holds now), in eval
        mode with ``buffers`` (default θ*'s)."""
        state = self._state(theta, buffers)
        with self.evaluating():
            if self._folded is not None and not model_io.differentiable():
                return self._folded.call(state, inputs)
            return model_io.call(self.model, state, inputs)

    def _loss_on(self, theta: Tensor, inputs: Any, targets: Tensor | None) -> Tensor:
        if self._head is not None:
            return self._head_loss(theta, inputs, targets)
        return self.loss_of(self.outputs(theta, inputs), inputs, targets)  # type: ignore[no-any-return]

    def _head_loss(
        self, theta: Tensor | None, inputs: Any, targets: Tensor | None, buffers: dict[str, Tensor] | None = None
    ) -> Tensor:
        labels = targets if targets is not None else model_io.token_ids(inputs)
        state = self._state(theta, buffers)
        with self.evaluating():
            return self._head.loss(state, inputs, labels)  # type: ignore[union-attr, arg-type]

    def recomputed_buffers(self, theta: Tensor) -> dict[str, Tensor]:
        """BatchNorm statistics re-estimated at θ (the ``recompute`` policy), on a copy of the buffers.

        A copy of the model with every BatchNorm's ``momentum=None`` (torch's cumulative
        average: after batch t, ``running = running + (batch_stat − running) / t``) runs in
        train mode over the training batches, with θ's parameters detached — the statistics
        are constants for derivatives. The user's model and θ*'s buffers are untouched.
        """
        if self._stats_model is None:
            return dict(self.buffers)
        buffers = {k: b.clone() for k, b in self.buffers.items()}
        for name, module in self._stats_model.named_modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                buffers[f"{name}.num_batches_tracked"].zero_()  # the first batch's weight is 1/1
        with torch.no_grad():
            params = {k: v.detach() for k, v in self._state(theta, None)[0].items()}
            for batch in network_data.stat_batches(self._stats_data, self._stats_batch_size):
                model_io.call(self._stats_model, (params, buffers), model_io.to(batch, self.device, self.dtype))
        return buffers

    # -- the Objective contract -------------------------------------------------------------
    def _evaluate(self, thetas: Tensor) -> Tensor:
        if self._stats_model is not None:
            if thetas.dim() > 1:
                return torch.stack([self._evaluate(theta) for theta in thetas])
            buffers = self.recomputed_buffers(thetas)
            return self._mean_over_data(lambda x, y: self.loss_of(self.outputs(thetas, x, buffers), x, y))
        if thetas.dim() == 1:
            return self._mean_over_data(lambda x, y: self._loss_on(thetas, x, y))
        batched = batching.over_points(self, self._loss_on, (0, None, None))
        return self._mean_over_data(lambda x, y: batched(thetas, x, y))

    def _mean_over_data(self, per_batch: Callable[[Any, Tensor | None], Tensor]) -> Tensor:
        if isinstance(self.data, tuple):
            return per_batch(*self.prepare(*self.data))
        total: Tensor | int = 0
        count = 0
        for inputs, targets in self.batches():
            items = self.loss_items(inputs, targets)
            if items:  # a batch whose every label is ignored adds nothing (its own mean is 0/0)
                total = total + per_batch(inputs, targets) * items
                count += items
        if count == 0:
            raise LosslabError(NO_ITEMS)
        return total / count  # type: ignore[return-value]

    def hvps(self, theta: Any, vectors: Tensor) -> Tensor:
        """H(θ)·vᵢ for a stack of vectors, each batch read once for all (:func:`.batching.hessian_products`)."""
        return batching.hessian_products(self, self._theta(theta), vectors.to(self.device, self.dtype))

    def _theta(self, theta: Any) -> Tensor:
        if isinstance(theta, Tensor) and theta.shape == (self.dim,):
            return theta.to(self.device, self.dtype)
        raise LosslabError(f"θ for this network must be a tensor of shape ({self.dim},)")

    def values(self, thetas: Tensor, chunk_size: int | None = None) -> Tensor:
        """L at every θ of a stack ``(..., P)``, vmapped in chunks (default 64 θ's at a time)."""
        return super().values(thetas.to(self.device), chunk_size or 64)

    def sample_count(self) -> int:
        """The number of samples: held in memory, or counted over one pass of a DataLoader."""
        if self.n_samples is not None:
            return self.n_samples
        return sum(model_io.batch_size(model_io.split_batch(batch)[0]) for batch in self.data)  # type: ignore[union-attr]

    @property
    def n_samples(self) -> int | None:
        return model_io.batch_size(self.data[0]) if isinstance(self.data, tuple) else None

    def subset(self, indices: Tensor) -> NetworkObjective:
        if not isinstance(self.data, tuple):
            raise LosslabError("mini-batches of a DataLoader objective come from the DataLoader itself")
        inputs, targets = self.data
        clone = object.__new__(NetworkObjective)
        clone.__dict__.update(self.__dict__)
        clone.data = (model_io.take(inputs, indices), None if targets is None else targets[indices])
        return clone

    def accuracy(self, theta: Tensor) -> Tensor:
        """Fraction of correct argmax predictions (classification with integer targets)."""
        if not isinstance(self.data, tuple):
            raise LosslabError("accuracy needs in-memory data")
        inputs, targets = self.prepare(*self.data)
        labels = model_io.class_labels(inputs, targets)
        if not self.classifier or labels is None:
            raise LosslabError("accuracy needs integer class targets, one per sample")
        theta = self._theta(theta)
        outputs = self.outputs(theta, inputs, self.recomputed_buffers(theta))
        return (model_io.prediction(outputs).argmax(dim=-1) == labels).to(self.dtype).mean()


def network(
    model: nn.Module,
    data: Any,
    loss: str | LossFn | None = None,
    **options: Any,
) -> NetworkObjective:
    """An Objective over ``model``'s parameters on ``data`` (see :class:`NetworkObjective`)."""
    return NetworkObjective(model, data, loss, **options)
