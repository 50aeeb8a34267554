"""Evaluating a network on many points of a slice at once: the speed path of every survey.

A chunk of slice coordinates ``C`` (m × k) stands for the parameters ``Θ = c + C·D``.
Three methods evaluate the loss (and accuracy) at all m points:

- ``vmap``: ``torch.func.vmap`` over ``functional_call`` of the whole model — works for any
  module and any data (a ``DataLoader`` is streamed once per chunk, not once per point).
- ``fused``: for an ``nn.Sequential`` whose first parameterized layer is ``Linear`` or
  ``Conv``, that layer's output is affine in the coordinates,
  ``z(c + Σ C_k d_k) = z(c) + Σ C_k · z_lin(d_k)`` (``z_lin`` is the layer with the
  direction's weight and bias), so it is computed k + 1 times for the whole grid; each
  point then pays one ``addmm`` to form its pre-activation and a vmapped pass through the
  remaining layers (batched matmuls).
- ``compile``: the fused per-chunk function through ``torch.compile`` (chunks padded to one
  size so it compiles once).

``auto`` picks ``fused`` where it applies and ``vmap`` elsewhere (see benchmarks/bench_landscape.py
for the measurements behind that choice). With the ``recompute`` BatchNorm policy every
point needs its own statistics, so evaluation goes point by point through the objective.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from losslab.errors import LosslabError
from losslab.landscape.directions import Directions
from losslab.network import NetworkObjective

METHODS = ("auto", "fused", "vmap", "compile")
_AFFINE_FIRST = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
# modules that act elementwise (in eval mode), so they apply to a whole chunk's batched activations as they are
_ELEMENTWISE = (
    nn.ReLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.GELU,
    nn.LeakyReLU,
    nn.ELU,
    nn.SiLU,
    nn.Softplus,
    nn.Identity,
    nn.Dropout,
)
ChunkResult = tuple[Tensor, Tensor | None]


class SliceEvaluator:
    """Loss (and accuracy, for classifiers) at a chunk of slice coordinates.

    Args:
        objective: the network objective.
        directions: center and directions of the slice.
        method: ``auto``, ``fused``, ``vmap`` or ``compile``.

    >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    >>> L = NetworkObjective(net, (torch.randn(6, 3).double(), torch.tensor([0, 1, 0, 1, 1, 0])))
    >>> from losslab.landscape.directions import random_directions
    >>> ev = SliceEvaluator(L, random_directions(L))
    >>> loss, acc = ev(torch.zeros(1, 2, dtype=torch.float64))
    >>> ev.method, bool(torch.isclose(loss[0], L.value(L.center)))
    ('fused', True)
    """

    def __init__(self, objective: NetworkObjective, directions: Directions, method: str = "auto") -> None:
        if method not in METHODS:
            raise LosslabError(f"method {method!r} is not one of {', '.join(METHODS)}")
        if directions.center.numel() != objective.dim:
            raise LosslabError(
                f"directions are over {directions.center.numel()} parameters, the model has {objective.dim}"
            )
        self.objective = objective
        self.center = directions.center.to(objective.device, objective.dtype)
        self.vectors = directions.vectors.to(objective.device, objective.dtype)
        self.classifier = _is_classifier(objective)
        self.fused = _FusedSequential.build(objective, self.center, self.vectors)
        self.method = _choose(method, objective, self.fused)
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
                return self._finish(*self.fused(coords))  # type: ignore[misc]
            if self.method == "compile":
                return self._compiled_call(coords)
        raise LosslabError(f"method {self.method!r} is not one of {', '.join(METHODS)}")

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
            loss_sum = loss_sum + _losses(self.objective, out, y) * len(x)
            if self.classifier:
                correct = correct + (out.argmax(-1) == y).sum(-1).to(out.dtype)
            count += len(x)
        loss = torch.as_tensor(loss_sum) / count
        return loss, (torch.as_tensor(correct) / count if self.classifier else None)

    def _finish(self, out: Tensor, y: Tensor) -> ChunkResult:
        loss = _losses(self.objective, out, y)
        accuracy = (out.argmax(-1) == y).to(out.dtype).mean(-1) if self.classifier else None
        return loss, accuracy

    def _compiled_call(self, coords: Tensor) -> ChunkResult:
        if self.fused is None:
            raise LosslabError("method 'compile' needs the fused path (an nn.Sequential starting with Linear/Conv)")
        if self._compiled is None:
            self._compiled = torch.compile(lambda c: self._finish(*self.fused(c)), dynamic=False)  # type: ignore[misc]
            self._compiled_rows = len(coords)
        m = len(coords)
        if m < self._compiled_rows:  # pad the last, short chunk so the compiled graph is reused, not rebuilt
            coords = torch.cat([coords, coords.new_zeros(self._compiled_rows - m, coords.shape[1])])
        loss, accuracy = self._compiled(coords)
        return loss[:m], (None if accuracy is None else accuracy[:m])

    def bytes_per_point(self) -> int:
        """Memory one grid point costs in a chunk: its parameters and activations over the data."""
        itemsize = torch.empty((), dtype=self.objective.dtype).element_size()
        n = self.objective.n_samples or _first_batch_size(self.objective)
        return itemsize * (self.objective.dim + 2 * n * _activation_width(self.objective))


def _choose(method: str, objective: NetworkObjective, fused: _FusedSequential | None) -> str:
    if objective.batchnorm == "recompute":
        return "pointwise"
    if method == "auto":
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


def _losses(objective: NetworkObjective, outputs: Tensor, targets: Tensor) -> Tensor:
    return vmap(objective.loss_fn, in_dims=(0, None))(outputs, targets)


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


def _activation_width(objective: NetworkObjective) -> int:
    """The largest leaf module's output size for one sample (measured with forward hooks).

    A chunk holds about two consecutive activations per point at a time (a layer's input and output).
    """
    sizes: list[int] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, o: sizes.append(o[0].numel() if isinstance(o, Tensor) else 0))
        for m in objective.model.modules()
        if not list(m.children())
    ]
    try:
        with torch.no_grad():
            objective.outputs(objective.center, next(iter(_batches(objective)))[0][:1])
    finally:
        for hook in hooks:
            hook.remove()
    return max(max(sizes, default=1), 1)


class _FusedSequential:
    """The first layer computed k + 1 times for the whole grid; the rest vmapped per point."""

    def __init__(self, objective: NetworkObjective, rest: nn.Sequential, zs: Tensor, center: Tensor, vectors: Tensor):
        n_first = center.numel() - sum(p.numel() for p in rest.parameters())
        self.objective, self.rest, self.zs = objective, rest, zs
        self.rest_shapes = {
            name: objective.shapes[name]
            for name in list(objective.shapes)[len(objective.shapes) - len(list(rest.parameters())) :]
        }
        self.center_rest, self.directions_rest = center[n_first:], vectors[:, n_first:]
        self.buffers = {k: v for k, v in objective.buffers.items() if k.split(".", 1)[0] in rest._modules}
        self.chain = all(isinstance(m, (nn.Linear, *_ELEMENTWISE)) for m in rest)

    @classmethod
    def build(cls, objective: NetworkObjective, center: Tensor, vectors: Tensor) -> _FusedSequential | None:
        model = objective.model
        if not isinstance(model, nn.Sequential) or not isinstance(objective.data, tuple):
            return None
        first = next((i for i, m in enumerate(model) if any(True for _ in m.parameters())), None)
        if (
            first is None
            or not isinstance(model[first], _AFFINE_FIRST)
            or any(True for _ in model[: first + 1].buffers())
        ):
            return None
        layer = model[first]
        own = [f"{first}.{name}" for name, _ in layer.named_parameters()]
        if list(objective.shapes)[: len(own)] != own:
            return None
        n_first = sum(objective.shapes[name].numel() for name in own)
        x = objective.data[0]
        with torch.no_grad():
            for module in list(model)[:first]:
                x = module(x)
            zs = torch.stack([_layer_at(objective, layer, own, v[:n_first], x) for v in (center, *vectors)])
        rest = nn.Sequential(OrderedDict(list(model.named_children())[first + 1 :]))  # keeps the names "2.weight", …
        return cls(objective, rest, zs, center, vectors)

    def __call__(self, coords: Tensor) -> tuple[Tensor, Tensor]:
        z0, zk = self.zs[0], self.zs[1:]
        pre = torch.addmm(z0.reshape(1, -1), coords, zk.reshape(len(zk), -1)).reshape(len(coords), *z0.shape)
        thetas = torch.addmm(self.center_rest, coords, self.directions_rest)
        out = self._chain(thetas, pre) if self.chain else vmap(self._rest_forward)(thetas, pre)
        return out, self.objective.data[1]  # type: ignore[index]

    def _chain(self, thetas: Tensor, h: Tensor) -> Tensor:
        """Linear layers and elementwise activations as batched matmuls: ``h ← b + h·Wᵀ`` per point."""
        pieces = iter(thetas.split([s.numel() for s in self.rest_shapes.values()], dim=1))
        m = len(thetas)
        for module in self.rest:
            if isinstance(module, nn.Linear):
                weight = next(pieces).view(m, module.out_features, module.in_features).transpose(1, 2)
                h = torch.baddbmm(next(pieces)[:, None, :], h, weight) if module.bias is not None else h @ weight
            elif isinstance(module, nn.ReLU):
                h = h.relu_()  # in place: the chunk's activations are this chain's own
            else:
                h = module(h)
        return h

    def _rest_forward(self, theta: Tensor, z: Tensor) -> Tensor:
        pieces = theta.split([s.numel() for s in self.rest_shapes.values()])
        params = {n: p.view(s) for (n, s), p in zip(self.rest_shapes.items(), pieces, strict=True)}
        return functional_call(self.rest, (params, self.buffers), (z,))  # type: ignore[no-any-return]


def _layer_at(objective: NetworkObjective, layer: nn.Module, own: list[str], flat: Tensor, x: Tensor) -> Tensor:
    shapes = [objective.shapes[name] for name in own]
    pieces = flat.split([s.numel() for s in shapes])
    params = {name.split(".", 1)[1]: p.view(s) for name, s, p in zip(own, shapes, pieces, strict=True)}
    return functional_call(layer, params, (x,))  # type: ignore[no-any-return]
