"""Evaluating a network on many points of a slice at once: the speed path of every survey.

A chunk of slice coordinates ``C`` (m × k) stands for the parameters ``Θ = c + C·D``.
Three methods evaluate the loss (and accuracy) at all m points:

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

``auto`` picks ``fused`` where it applies and ``vmap`` elsewhere — and for image models on an
accelerator, where one grid point at a time would be launch-bound. Measured with
benchmarks/bench_landscape.py (2 threads, a machine shared with other jobs, best of 3):
on the digits MLP (W1) the fused chain takes 0.80–0.94 s per 51×51 plane (71–77 % of the FLOP
bound), the first fused path (``baddbmm`` with a broadcast bias, ``vmap`` of the cross-entropy
over rows of 10 logits) 2.3 s, and ``vmap`` 3.2–3.7 s; on the digits CNN (W2) the image path
takes 4.5–5.2 s against the peer's 16.0–18.7 s. With the ``recompute`` BatchNorm policy every
point needs its own statistics, so evaluation goes point by point through the objective.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.func import vmap

from losslab.errors import LosslabError, check_choice, not_one_of
from losslab.landscape.directions import Directions
from losslab.landscape.fused import ChunkResult, FusedSequential, losses
from losslab.objectives.network import NetworkObjective

METHODS = ("auto", "fused", "vmap", "compile")


class SliceEvaluator:
    """Loss (and accuracy, for classifiers) at a chunk of slice coordinates.

    Args:
        objective: the network objective.
        directions: center and directions of the slice.
        method: ``auto``, ``fused``, ``vmap`` or ``compile``.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    >>> L = NetworkObjective(net, (torch.randn(6, 3).double(), torch.tensor([0, 1, 0, 1, 1, 0])))
    >>> from losslab.landscape.directions import random_directions
    >>> ev = SliceEvaluator(L, random_directions(L))
    >>> loss, acc = ev(torch.zeros(1, 2, dtype=torch.float64))
    >>> ev.method, bool(torch.isclose(loss[0], L.value(L.center)))
    ('fused', True)
    """

    def __init__(self, objective: NetworkObjective, directions: Directions, method: str = "auto") -> None:
        check_choice("method", method, METHODS)
        if directions.center.numel() != objective.dim:
            raise LosslabError(
                f"directions are over {directions.center.numel()} parameters, the model has {objective.dim}"
            )
        self.objective = objective
        self.center = directions.center.to(objective.device, objective.dtype)
        self.vectors = directions.vectors.to(objective.device, objective.dtype)
        self.classifier = _is_classifier(objective)
        fusable = method != "vmap" and objective.batchnorm != "recompute"
        self.fused = FusedSequential.build(objective, self.center, self.vectors) if fusable else None
        self.method = _choose(method, objective, self.fused)
        if self.method not in ("fused", "compile"):
            self.fused = None  # what it precomputed over the data set (patches, first-layer outputs) is freed
        self._compiled: Callable[..., Any] | None = None
        self._compiled_rows = 0

    def __call__(self, coords: Tensor) -> ChunkResult:
        """(loss, accuracy or None) at each row of ``coords`` (m × k)."""
        coords = coords.to(self.objective.device, self.objective.dtype)
        with torch.no_grad():
            if self.method == "pointwise":
                return self._pointwise(coords)
            if self.method == "vmap":
                return self._vmap(coords)
            if self.method == "fused":
                return self.fused(coords)  # type: ignore[misc]
            if self.method == "compile":
                return self._compiled_call(coords)
        raise not_one_of("method", self.method, METHODS)

    def thetas(self, coords: Tensor) -> Tensor:
        """The parameter vectors ``c + C·D`` of a chunk."""
        return torch.addmm(self.center, coords.to(self.center), self.vectors)

    def _pointwise(self, coords: Tensor) -> ChunkResult:
        """One point at a time, each with its own re-estimated BatchNorm statistics (``recompute``)."""
        results = [self._at(theta, self.objective.recomputed_buffers(theta)) for theta in self.thetas(coords)]
        loss = torch.stack([r[0] for r in results])
        return loss, (torch.stack([r[1] for r in results]) if self.classifier else None)

    def _at(self, theta: Tensor, buffers: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        loss_sum: Tensor | float = 0.0
        correct: Tensor | float = 0.0
        count = 0
        for x, y in _batches(self.objective):
            out = self.objective.outputs(theta, x, buffers)
            loss_sum = loss_sum + self.objective.loss_fn(out, y) * len(x)
            if self.classifier:
                correct = correct + (out.argmax(-1) == y).sum().to(out.dtype)
            count += len(x)
        return torch.as_tensor(loss_sum) / count, torch.as_tensor(correct) / count

    def _vmap(self, coords: Tensor) -> ChunkResult:
        thetas = self.thetas(coords)
        outputs = vmap(self.objective.outputs, in_dims=(0, None))
        loss_sum: Tensor | float = 0.0
        correct: Tensor | float = 0.0
        count = 0
        for x, y in _batches(self.objective):
            out = outputs(thetas, x)
            loss_sum = loss_sum + losses(self.objective, out, y) * len(x)
            if self.classifier:
                correct = correct + (out.argmax(-1) == y).sum(-1).to(out.dtype)
            count += len(x)
        loss = torch.as_tensor(loss_sum) / count
        return loss, (torch.as_tensor(correct) / count if self.classifier else None)

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
        return self.method in ("fused", "compile") and images

    def memory(self) -> ChunkMemory:
        """What a chunk of m points holds: ``fixed + m · per_point`` bytes.

        Batched methods (and ``recompute``, sized alike) hold every point's parameters and about two
        consecutive activations over the data (a layer's input and output) at once. The image path
        holds one point's activations at a time; each point keeps only its parameters (with what
        is derived from them: folded BatchNorm, patch kernels) and its outputs (with the loss's
        temporaries).
        """
        itemsize = torch.empty((), dtype=self.objective.dtype).element_size()
        n = self.objective.n_samples or _first_batch_size(self.objective)
        widest, output = _activation_widths(self.objective)
        activations = 2 * n * widest
        if self.point_by_point:
            return ChunkMemory(itemsize * (3 * self.objective.dim + 4 * n * output), itemsize * activations)
        return ChunkMemory(itemsize * (self.objective.dim + activations), 0)


class ChunkMemory(NamedTuple):
    """Bytes a chunk of m grid points holds: ``fixed + m · per_point``."""

    per_point: int
    fixed: int


def _choose(method: str, objective: NetworkObjective, fused: FusedSequential | None) -> str:
    if objective.batchnorm == "recompute":
        return "pointwise"
    if method == "auto":
        if fused is not None and fused.images is not None and objective.device.type != "cpu":
            # On an accelerator the image path's point-by-point kernels (about a dozen small launches and
            # their Python dispatch per grid point) would be launch-bound; vmap batches a chunk's points
            # into grouped convolutions. Reasoned, not yet measured: no GPU has been lent to this project
            # (`benchmarks/bench_landscape.py --device cuda --methods fused,vmap` settles it).
            return "vmap"
        return "fused" if fused is not None else "vmap"
    if method in ("fused", "compile") and fused is None:
        raise LosslabError(
            f"method {method!r} needs an nn.Sequential whose first parameterized layer is Linear/Conv and "
            "data in memory; use 'vmap' (or 'auto') for this model"
        )
    return method


def _is_classifier(objective: NetworkObjective) -> bool:
    targets = objective.data[1] if isinstance(objective.data, tuple) else next(iter(objective.data))[1]
    return bool(targets.dim() == 1 and not targets.is_floating_point())


def _batches(objective: NetworkObjective) -> Iterable[tuple[Tensor, Tensor]]:
    if isinstance(objective.data, tuple):
        yield objective.data
        return
    for x, y in objective.data:
        x = x.to(objective.device, objective.dtype if x.is_floating_point() else x.dtype)
        y = y.to(objective.device, objective.dtype if y.is_floating_point() else y.dtype)
        yield x, y


def _first_batch_size(objective: NetworkObjective) -> int:
    return len(next(iter(_batches(objective)))[0])


def _activation_widths(objective: NetworkObjective) -> tuple[int, int]:
    """The largest leaf module's output size for one sample, and the model's output size
    (measured with forward hooks on one sample)."""
    sizes: list[int] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, o: sizes.append(o[0].numel() if isinstance(o, Tensor) else 0))
        for m in objective.model.modules()
        if not list(m.children())
    ]
    try:
        with torch.no_grad():
            out = objective.outputs(objective.center, next(iter(_batches(objective)))[0][:1])
    finally:
        for hook in hooks:
            hook.remove()
    return max(max(sizes, default=1), 1), max(out[0].numel(), 1)
