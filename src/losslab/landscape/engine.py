"""Evaluating a network on many points of a slice at once: the speed path of every survey.

A chunk of slice coordinates ``C`` (m × k) stands for the parameters ``Θ = c + C·D``.
Four methods evaluate the loss (and accuracy) at all m points:

- ``vmap``: ``torch.func.vmap`` over ``functional_call`` of the whole model — works for any
  module and any data (a ``DataLoader`` is streamed once per chunk, not once per point).
- ``fused`` (:mod:`losslab.landscape.fused`): for an ``nn.Sequential`` whose first
  parameterized layer is ``Linear`` or ``Conv``, that layer's output is affine in the
  coordinates, ``z(c + Σ C_k d_k) = z(c) + Σ C_k · z_lin(d_k)``, so it is computed k + 1 times
  for the whole grid. Linear/elementwise layers after it run as batched matmuls in a
  feature-major layout, tiled over samples so the chunk's activations stay in cache, with
  torch's default cross-entropy reduced over the class axis directly
  (:mod:`losslab.landscape.fused_chain`); images go point by point in channels-last layout
  (:mod:`losslab.landscape.fused_images`); other layers are vmapped per point over
  ``functional_call``.
- ``compile``: the fused per-chunk function through ``torch.compile`` (chunks padded to one
  size so it compiles once; the chain allocates fresh buffers, the cross-entropy skips its host
  sync); opt-in, tested equal to ``fused``. On this CPU it is slower: W1 2.1 s per 51×51 plane
  after 4.4 s of compiling, against 0.87 s fused (inductor fuses the elementwise steps but loses
  the sample tiling).

- ``loop``: one point at a time, a plain ``functional_call`` each (:data:`LOOP_FROM`), image batches
  in channels-last layout on a CPU where the model takes it (oneDNN's faster convolutions), each convolution
  and the frozen BatchNorm after it as one (:mod:`losslab.objectives.folded_norms`): ResNet-18 on 256 images
  0.85 s a point against the peer's 1.27 s, 9×9 plane. With ``autocast`` (``"bfloat16"``/``"float16"``)
  each point runs under ``torch.autocast``: 0.37 s a point there, values within 3.2e-4 of float32's.

``auto`` picks ``fused`` where it applies and ``vmap`` elsewhere — and for image models on an
accelerator, where one grid point at a time would be launch-bound — except ``loop`` for a model of
at least :data:`LOOP_FROM` parameters with its data in memory on a CPU. Measured with
benchmarks/bench_landscape.py (2 threads, a machine shared with other jobs, best of 3):
on the digits MLP (W1) the fused chain takes 0.80–0.94 s per 51×51 plane (71–77 % of the FLOP
bound), the first fused path (``baddbmm`` with a broadcast bias, ``vmap`` of the cross-entropy
over rows of 10 logits) 2.3 s, and ``vmap`` 3.2–3.7 s; on the digits CNN (W2) the image path
takes 4.5–5.2 s against the peer's 16.0–18.7 s. With the ``recompute`` BatchNorm policy every
point needs its own statistics, so evaluation goes point by point through the objective.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.func import vmap

from losslab.errors import LosslabError, check_choice, not_one_of
from losslab.landscape.directions import Directions
from losslab.landscape.fused import ChunkResult, FusedSequential
from losslab.landscape.sampling import BatchMeans
from losslab.objectives import model_io
from losslab.objectives.network import NO_ITEMS, NetworkObjective

METHODS = ("auto", "fused", "vmap", "loop", "compile")
# the lower precisions a survey may evaluate in through ``torch.autocast`` (θ, directions and losses stay in the
# objective's dtype; matrix products and convolutions run in these)
AUTOCAST = {"bfloat16": torch.bfloat16, "float16": torch.float16}
# ``auto`` evaluates a model this large (parameters) that no fused path takes one point at a time on a CPU:
# vmap's batched-weight convolutions and normalizations cost more than a plain forward per point there
# (4 points, 32 images: ResNet-18 0.92 s vmap, 0.38 s loop; GPT-2 10.5 M on 4×128 tokens 0.46 s, 0.34 s),
# while small models gain from vmap (GPT-2 28 k: 0.01 s, 0.02 s; a 0.2 M ResNet: even).
LOOP_FROM = 10**6


class SliceEvaluator:
    """Loss (and accuracy, for classifiers) at a chunk of slice coordinates.

    Args:
        objective: the network objective.
        directions: center and directions of the slice.
        method: ``auto``, ``fused``, ``vmap``, ``loop`` or ``compile``.
        autocast: ``"bfloat16"`` or ``"float16"``: evaluate under ``torch.autocast`` in that precision
            (matrix products and convolutions in it, θ and the losses in the objective's dtype), with
            ``loop`` (``auto`` picks it: the fused paths run their own kernels, and ``vmap``'s batched
            convolutions meet autocast's casts with mismatched types); None (the default): the
            objective's dtype.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    >>> L = NetworkObjective(net, (torch.randn(6, 3).double(), torch.tensor([0, 1, 0, 1, 1, 0])))
    >>> from losslab.landscape.directions import random_directions
    >>> ev = SliceEvaluator(L, random_directions(L))
    >>> loss, acc = ev(torch.zeros(1, 2, dtype=torch.float64))
    >>> ev.method, bool(torch.isclose(loss[0], L.value(L.center)))
    ('fused', True)
    """

    def __init__(
        self, objective: NetworkObjective, directions: Directions, method: str = "auto", autocast: str | None = None
    ) -> None:
        check_choice("method", method, METHODS)
        if autocast is not None:
            check_autocast(autocast, method)
            if objective.dtype != torch.float32:  # torch.autocast lowers float32 only: float64 would stay as it is
                dtype = str(objective.dtype).removeprefix("torch.")
                raise LosslabError(f"autocast lowers a float32 model's precision; this one is {dtype}")
        if directions.center.numel() != objective.dim:
            raise LosslabError(
                f"directions are over {directions.center.numel()} parameters, the model has {objective.dim}"
            )
        self.objective = objective
        self.center = directions.center.to(objective.device, objective.dtype)
        self.vectors = directions.vectors.to(objective.device, objective.dtype)
        self.classifier = objective.classifier
        self.autocast = autocast
        # the fused paths take θ over every parameter of an nn.Sequential: not a subset (parameters="trainable")
        fusable = method != "vmap" and objective.batchnorm != "recompute" and autocast is None and not objective.fixed
        with objective.evaluating():  # the fused paths call the model's own modules
            self.fused = FusedSequential.build(objective, self.center, self.vectors) if fusable else None
        self.method = _choose(method, objective, self.fused, autocast)
        if self.method not in ("fused", "compile"):
            self.fused = None  # what it precomputed over the data set (patches, first-layer outputs) is freed
        self._compiled: Callable[..., Any] | None = None
        self._compiled_rows = 0
        # streamed data: each point's value is a mean over batches, with a sampling error (landscape.sampling)
        self.streamed = not isinstance(objective.data, tuple)
        self._errors: BatchMeans | None = None
        self._theta: Tensor | None = None  # loop's reused θ
        # loop's image batches go channels-last where the model takes them so (ResNet-18 on a CPU: 1.1 s a point
        # against 1.44 s; a model that views its input as rows cannot, and keeps the layout it was given)
        self.channels_last = self.method == "loop" and _takes_channels_last(objective)
        # called with the fraction of the current chunk done after every batch (and every point of a loop)
        self.on_progress: Callable[[float], None] | None = None
        self.samples: int | None = None  # the streamed data's size, for on_progress (counted once by the survey)

    def __call__(self, coords: Tensor) -> ChunkResult:
        """(loss, accuracy or None) at each row of ``coords`` (m × k)."""
        loss, accuracy, _ = self.measure(coords)
        return loss, accuracy

    def measure(self, coords: Tensor) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """(loss, accuracy or None, the loss's standard error over batches or None) at each row of
        ``coords``; the error where the data is streamed (:mod:`losslab.landscape.sampling`)."""
        coords = coords.to(self.objective.device, self.objective.dtype)
        self._errors = BatchMeans() if self.streamed else None
        with torch.no_grad(), self.objective.evaluating(), self._precision():
            if self.method in ("pointwise", "loop"):
                loss, accuracy = self._pointwise(coords)
            elif self.method == "vmap":
                loss, accuracy = self._vmap(coords)
            elif self.method == "fused":
                loss, accuracy = self.fused(coords)  # type: ignore[misc]
            elif self.method == "compile":
                loss, accuracy = self._compiled_call(coords)
            else:
                raise not_one_of("method", self.method, METHODS)
        return loss, accuracy, None if self._errors is None else self._errors.standard_error()

    def _precision(self) -> contextlib.AbstractContextManager[Any]:
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(self.objective.device.type, dtype=AUTOCAST[self.autocast])

    def thetas(self, coords: Tensor) -> Tensor:
        """The parameter vectors ``c + C·D`` of a chunk."""
        return torch.addmm(self.center, coords.to(self.center), self.vectors)

    def _pointwise(self, coords: Tensor) -> ChunkResult:
        """One point at a time: ``loop``, or with each point's re-estimated BatchNorm statistics (``recompute``)."""
        recompute = self.method == "pointwise"
        per_batch = []
        results = []
        if self._theta is None:  # one θ at a time, formed in the same buffer: no m copies of the model, and no
            # fresh 4·P bytes a point (ResNet-18: 17 ms a point to allocate and fill, 5–11 ms to refill; same bits)
            self._theta = torch.empty(1, self.objective.dim, dtype=self.center.dtype, device=self.center.device)
        for index, point in enumerate(coords):
            theta = torch.addmm(self.center, point[None].to(self.center), self.vectors, out=self._theta)[0]
            self._errors = BatchMeans() if self.streamed else None
            buffers = self.objective.recomputed_buffers(theta) if recompute else None
            results.append(self._at(theta, buffers, index / len(coords), len(coords)))
            per_batch.append(self._errors)
        if self.streamed:  # the points' batch means, one BatchMeans for the chunk
            self._errors = BatchMeans.joined(per_batch)  # type: ignore[arg-type]
        loss = torch.stack([r[0] for r in results])
        return loss, (torch.stack([r[1] for r in results]) if self.classifier else None)

    def _at(
        self, theta: Tensor, buffers: dict[str, Tensor] | None, done: float = 0.0, points: int = 1
    ) -> tuple[Tensor, Tensor]:
        loss_sum: Tensor | float = 0.0
        correct: Tensor | float = 0.0
        count = items = 0
        for x, y in self.objective.batches():
            n, weight = model_io.batch_size(x), self.objective.loss_items(x, y)  # samples; what the loss averages
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)  # a batch's copy, not the data set's
            loss, hits = self.objective.loss_and_hits(theta, x, y, buffers)
            if weight:  # a batch whose every label is ignored adds no loss
                if self._errors is not None:
                    self._errors.add(loss.reshape(1), weight)
                loss_sum, items = loss_sum + loss * weight, items + weight
            correct, count = correct + hits, count + n
            self._report(done + count / self._samples_or(count) / points)
        return _pooled(loss_sum, items), torch.as_tensor(correct) / count

    def _vmap(self, coords: Tensor) -> ChunkResult:
        thetas = self.thetas(coords)
        per_point = vmap(self.objective.loss_and_hits, in_dims=(0, None, None))
        loss_sum: Tensor | float = 0.0
        correct: Tensor | float = 0.0
        count = items = 0
        for x, y in self.objective.batches():
            n, weight = model_io.batch_size(x), self.objective.loss_items(x, y)
            loss, hits = per_point(thetas, x, y)
            if weight:
                if self._errors is not None:
                    self._errors.add(loss, weight)
                loss_sum, items = loss_sum + loss * weight, items + weight
            correct, count = correct + hits, count + n
            self._report(count / self._samples_or(count))
        loss = _pooled(loss_sum, items)
        return loss, (torch.as_tensor(correct) / count if self.classifier else None)

    def _report(self, fraction: float) -> None:
        if self.on_progress is not None:
            self.on_progress(min(fraction, 1.0))

    def _samples_or(self, count: int) -> int:
        return self.samples if self.samples else max(count, 1)

    def _compiled_call(self, coords: Tensor) -> ChunkResult:
        if self.fused is None:
            raise LosslabError("method 'compile' needs the fused path (an nn.Sequential starting with Linear/Conv)")
        if self._compiled is None:
            if self.fused.chain is not None:
                self.fused.chain.reuse_buffers = False
            self._compiled = torch.compile(lambda c: self.fused(c), dynamic=False)  # type: ignore[misc]
            self._compiled_rows = len(coords)
        m = len(coords)
        if m < self._compiled_rows:  # pad the last, short chunk so the compiled graph is reused, not rebuilt
            coords = torch.cat([coords, coords.new_zeros(self._compiled_rows - m, coords.shape[1])])
        loss, accuracy = self._compiled(coords)
        return loss[:m], (None if accuracy is None else accuracy[:m])

    @property
    def point_by_point(self) -> bool:
        """Whether a chunk's points run one after another sharing what is derived once per chunk (the
        image path). ``recompute`` also goes point by point but shares nothing: its chunks stay as
        small as the batched budget makes them, so progress and resumption stay fine-grained."""
        images = self.fused is not None and self.fused.images is not None
        return (self.method in ("fused", "compile") and images) or self.method == "loop"

    def memory(self) -> ChunkMemory:
        """What a chunk of m points holds: ``fixed + m · per_point`` bytes.

        Batched methods (and ``recompute``, sized alike) hold every point's parameters and about two
        consecutive activations over the data (a layer's input and output) at once. The image path
        holds one point's activations at a time; each point keeps only its parameters (with what
        is derived from them: folded BatchNorm, patch kernels) and its outputs (with the loss's
        temporaries). ``loop`` forms one θ at a time: a chunk holds one θ, one point's activations and
        outputs, and each point only its loss and accuracy.
        """
        itemsize = torch.empty((), dtype=self.objective.dtype).element_size()
        n = self.objective.n_samples or _first_batch_size(self.objective)
        widest, output = _activation_widths(self.objective)
        activations = 2 * n * widest
        outputs = 4 * (model_io.LOSS_BLOCK if self.objective.logits_in_blocks else n * output)
        if self.method == "loop":
            return ChunkMemory(itemsize * 8, itemsize * (self.objective.dim + activations + outputs))
        if self.point_by_point:
            return ChunkMemory(itemsize * (3 * self.objective.dim + outputs), itemsize * activations)
        return ChunkMemory(itemsize * (self.objective.dim + activations), 0)


class ChunkMemory(NamedTuple):
    """Bytes a chunk of m grid points holds: ``fixed + m · per_point``."""

    per_point: int
    fixed: int


def check_autocast(autocast: str, method: str) -> None:
    """``autocast`` is a lower precision this evaluator runs in, and ``method`` one that can: ``loop`` or ``auto``.

    >>> check_autocast("bfloat16", "vmap")
    Traceback (most recent call last):
    losslab.errors.LosslabError: autocast runs with method loop (or auto), not vmap
    """
    check_choice("autocast", autocast, AUTOCAST)
    if method not in ("auto", "loop"):
        raise LosslabError(f"autocast runs with method loop (or auto), not {method}")


def _choose(
    method: str, objective: NetworkObjective, fused: FusedSequential | None, autocast: str | None = None
) -> str:
    if objective.batchnorm == "recompute":
        return "pointwise"
    if autocast is not None:
        return "loop"
    if method == "auto":
        if fused is not None and fused.images is not None and objective.device.type != "cpu":
            # On an accelerator the image path's point-by-point kernels (about a dozen small launches and
            # their Python dispatch per grid point) would be launch-bound; vmap batches a chunk's points
            # into grouped convolutions. Reasoned, not yet measured: no GPU has been lent to this project
            # (`benchmarks/bench_landscape.py --device cuda --methods fused,vmap` settles it).
            return "vmap"
        if fused is None and objective.device.type == "cpu" and objective.dim >= LOOP_FROM:
            return "loop" if isinstance(objective.data, tuple) else _vmap_or_loop(objective)  # streamed once a chunk
        return "fused" if fused is not None else _vmap_or_loop(objective)
    refusal = objective.vmap_refusal if method == "vmap" else None
    if refusal is not None and refusal.fails:
        raise LosslabError(f"method 'vmap' cannot batch this model ({refusal.reason}); use 'loop' or 'auto'")
    if method in ("fused", "compile") and fused is None:
        raise LosslabError(
            f"method {method!r} needs an nn.Sequential whose first parameterized layer is Linear/Conv and "
            "data in memory; use 'vmap' (or 'auto') for this model"
        )
    return method


def _vmap_or_loop(objective: NetworkObjective) -> str:
    """``vmap``, or ``loop`` where vmap cannot batch the model or would loop over the points itself: an LSTM
    (no batching rule), a forward that branches on a value, ``nn.TransformerEncoder``'s fused fast path
    (:mod:`losslab.objectives.batching`)."""
    return "vmap" if objective.vmap_refusal is None else "loop"


def _takes_channels_last(objective: NetworkObjective) -> bool:
    """Whether the data's inputs are image batches (4-D floating tensors) on a CPU that the model evaluates in
    channels-last layout: tried on two samples (a model that ``view``s its input as rows refuses it)."""
    if objective.device.type != "cpu" or not isinstance(objective.data, tuple):
        return False
    inputs = objective.data[0]
    if not isinstance(inputs, Tensor) or inputs.dim() != 4 or not inputs.is_floating_point():
        return False
    first = inputs[:2].contiguous(memory_format=torch.channels_last)
    try:
        with torch.no_grad(), objective.evaluating():
            objective.outputs(objective.center, first)
    except RuntimeError:
        return False
    return True


def _pooled(loss_sum: Tensor | float, items: int) -> Tensor:
    """The mean loss over the data from its batches' sums (each batch's mean times its items)."""
    if items == 0:
        raise LosslabError(NO_ITEMS)
    return torch.as_tensor(loss_sum) / items


def _first_batch_size(objective: NetworkObjective) -> int:
    return model_io.batch_size(next(iter(objective.batches()))[0])


def _activation_widths(objective: NetworkObjective) -> tuple[int, int]:
    """The largest leaf module's output size for one sample, and the model's output size
    (measured with forward hooks on one sample; a causal LM whose logits are read in blocks runs as it
    is surveyed, without its output layer, and its output size is not measured: 1)."""
    sizes: list[int] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, o: sizes.append(o[0].numel() if isinstance(o, Tensor) else 0))
        for m in objective.model.modules()
        if not list(m.children())
    ]
    try:
        with torch.no_grad():
            inputs, targets = next(iter(objective.batches()))
            first = model_io.take(inputs, slice(0, 1))
            if objective.logits_in_blocks:
                objective.loss_and_hits(objective.center, first, None if targets is None else targets[:1])
                width = 1
            else:
                width = model_io.prediction(objective.outputs(objective.center, first))[0].numel()
    finally:
        for hook in hooks:
            hook.remove()
    return max(max(sizes, default=1), 1), max(width, 1)
