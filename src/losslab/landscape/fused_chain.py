"""A chain of Linear layers and elementwise activations, evaluated for a chunk of grid points at once.

The layout is *feature-major*: a point's activations over a tile of ``w`` samples are a
``(features, w)`` matrix ``H``, and a Linear layer is ``H ← W·H + b`` — one ``bmm`` for the
chunk with the weights exactly as they lie in θ (no transpose), and the bias added in place.
The first layer's output is affine in the slice coordinates, so a tile's pre-activations for
all points are one matmul ``[1, C]·[z(c); z_lin(d_1); …]`` with its k + 1 precomputed values.
The samples are cut into tiles so that a chunk's activations for one tile stay in cache
(:data:`CACHE_BYTES`) while the elementwise steps (bias, activation) run over them.

When the loss is torch's cross-entropy (mean over samples, no weights, no smoothing, integer
targets in range) the last layer's logits ``(m, classes, w)`` are reduced over the class axis
with the samples contiguous — ``log Σ_j exp(z_j − max z) − (z_y − max z)`` per sample and the
first-maximum rule of ``argmax`` for the accuracy — instead of a ``log_softmax`` over rows of a
few logits. Any other loss gets the outputs back in ``(m, samples, outputs)`` order.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

# Bytes one tile's activations may take for the whole chunk. Measured on the digits MLP (25 points per
# chunk, 2 threads, 51×51, best of 3) once the logits were reduced per chunk: 4 MiB 1.15–1.24 s,
# 6 MiB 1.11 s, 8 MiB 1.08–1.10 s, 12 MiB 1.09 s, 16 MiB 1.12 s, 32 MiB 1.12 s. (Before that, with a
# reduction per tile, 4 MiB was best: 1.41 s against 1.48 s for 512-sample tiles.)
CACHE_BYTES = 8 * 2**20
MIN_TILE = 32
Layer = tuple[Tensor, Tensor | None] | None


def is_cross_entropy(loss_fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """True for ``F.cross_entropy`` and an ``nn.CrossEntropyLoss`` with default weighting and reduction.

    >>> is_cross_entropy(nn.functional.cross_entropy), is_cross_entropy(nn.CrossEntropyLoss(label_smoothing=0.1))
    (True, False)
    """
    if loss_fn is nn.functional.cross_entropy:
        return True
    if isinstance(loss_fn, nn.CrossEntropyLoss):
        return loss_fn.weight is None and loss_fn.reduction == "mean" and loss_fn.label_smoothing == 0.0
    return False


def class_targets(loss_fn: Callable[[Tensor, Tensor], Tensor], targets: Tensor, classes: int) -> bool:
    """Whether ``targets`` are class indices in ``[0, classes)``, none of them the loss's ignored index."""
    ignored = loss_fn.ignore_index if isinstance(loss_fn, nn.CrossEntropyLoss) else -100
    return bool(
        targets.dim() == 1
        and not targets.is_floating_point()
        and len(targets) > 0
        and targets.min() >= 0
        and targets.max() < classes
        and not (targets == ignored).any()
    )


def class_sums(logits: Tensor, targets: Tensor, scratch: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Per point: Σ over samples of the cross-entropy and of ``argmax == target``, logits ``(m, C, w)``.

    ``ℓ_i = log Σ_j exp(z_ij − max_j z_ij) − (z_{i,y_i} − max_j z_ij)``; the prediction is the
    first index of the maximum (a NaN counts as the maximum), as ``torch.argmax`` has it.
    With ``scratch`` (contiguous, shaped like ``logits``) the work is done in ``logits`` and
    ``scratch`` — both overwritten — instead of in fresh tensors: buffers kept from chunk to chunk
    are not faulted in again whenever malloc has handed fresh ones back to the system.

    >>> z = torch.tensor([[[2.0, 0.0], [1.0, 3.0]]])   # one point, 2 classes, 2 samples
    >>> loss, correct = class_sums(z, torch.tensor([0, 0]))
    >>> bool(torch.isclose(loss[0], nn.functional.cross_entropy(z[0].T, torch.tensor([0, 0]), reduction="sum")))
    True
    >>> correct.tolist()
    [1.0]
    """
    m, classes, w = logits.shape
    top = logits.amax(1, keepdim=True)
    target = logits.gather(1, targets.view(1, 1, w).expand(m, 1, w))
    rank = torch.arange(classes, 0, -1, dtype=logits.dtype, device=logits.device).view(1, classes, 1)
    # every maximum finite (their sum is, which one 43 k-element sum shows 10× faster than isfinite().all();
    # an overflowing sum only sends finite logits the slower, equally exact way):
    # then 1 + sign(z − max z) is 1 exactly at the maxima (subtraction is exact there).
    # Under torch.compile the comparison always: no host sync, no graph specialized on the sum's value.
    exact = not torch.compiler.is_compiling() and math.isfinite(float(top.sum()))
    if not exact:  # an infinite or NaN maximum (NaN counts as the maximum): compare, before logits are overwritten
        is_top = ((logits == top) | logits.isnan()).to(logits.dtype)
    below = logits - top if scratch is None else logits.sub_(top)
    if exact:
        is_top = (below.sign() if scratch is None else torch.sign(below, out=scratch)).add_(1)
    first = is_top.mul_(rank).amax(1)  # classes − argmax: the first maximum has the largest rank
    correct = (first == (classes - targets).to(logits.dtype)).to(logits.dtype)
    loss = below.clamp_min_(_exp_floor(logits.dtype)).exp_().sum(1, keepdim=True).log_().sub_(target - top)
    return loss.sum((1, 2)), correct.sum(1)


def _exp_floor(dtype: torch.dtype) -> float:
    """Where the gaps ``z − max z`` are clamped before ``exp``: e^floor ≤ ε·e^−16, lost next to the
    maximum's e^0 = 1, and e^8 above the smallest normal number where that is lower still (all but
    float16, whose smallest normal is 6e-5): below it torch's vectorized exp leaves its fast path
    (float32: 712 vs 34 µs on a chunk's logits with 3.6 % of the gaps under −87; the clamp costs
    24 µs).

    >>> [round(_exp_floor(t), 1) for t in (torch.float16, torch.bfloat16, torch.float32, torch.float64)]
    [-22.9, -79.3, -79.3, -700.4]
    """
    info = torch.finfo(dtype)
    return min(math.log(info.tiny) + 8, math.log(info.eps) - 16)


class LinearChain:
    """Linear/elementwise layers after an affine first layer, for a chunk of points, tiled over samples.

    Args:
        rest: the layers after the first (Linear or elementwise modules only).
        sizes: the sizes of ``rest``'s parameters in θ, in order.
        zs: the first layer's output at the center and along each direction, ``(k + 1, n, F)``.
        targets: the targets ``(n, …)``.
        cross_entropy: reduce with :func:`class_sums` (targets must be class indices).
    """

    def __init__(self, rest: nn.Sequential, sizes: list[int], zs: Tensor, targets: Tensor, cross_entropy: bool):
        self.rest, self.sizes, self.targets, self.cross_entropy = rest, sizes, targets, cross_entropy
        self.bias_row = _bias_row(rest)
        self.order = self._bias_columns() if self.bias_row else None
        self.pieces = list(sizes)  # θ's pieces as laid out by ``order``: the first Linear's [W | b] one piece
        if self.order is not None:
            first = self._first_piece()
            self.pieces[first : first + 2] = [sizes[first] + sizes[first + 1]]
        if self.bias_row:  # a constant feature 1 (1 at the center, 0 along the directions): carries the next bias
            constant = torch.zeros_like(zs[:, :, :1])
            constant[0] = 1
            zs = torch.cat([zs, constant], dim=2)
        self.zs = zs.transpose(1, 2).contiguous()  # (k + 1, F, n)
        widths = [m.out_features for m in rest if isinstance(m, nn.Linear)]
        self.width, self.out_features = max([zs.shape[-1], *widths]), widths[-1]
        self._tiles: dict[int, list[Tensor]] = {}
        self._buffers: tuple[tuple[int, int], list[Tensor]] | None = None
        self._views: dict[tuple[int, tuple[int, ...]], Tensor] = {}
        # keep activation buffers from chunk to chunk; off under torch.compile, which plans its own memory
        # (tensors kept across calls would be graph inputs whose sizes the compiled graph assumes)
        self.reuse_buffers = True

    def __call__(self, coords: Tensor, thetas: Tensor) -> tuple[Tensor, Tensor | None]:
        """(Σ loss, Σ correct) over the samples when ``cross_entropy``, else (outputs ``(m, n, out)``, None)."""
        m, n = len(coords), self.zs.shape[-1]
        layers = self._layers(thetas)
        scale = torch.cat([coords.new_ones(m, 1), coords], dim=1)
        tile = self.tile_width(m)
        outputs: Tensor | None = None
        buffers = self._reused(m, tile)
        if self.cross_entropy:  # the chunk's logits, class-major (one reduction per chunk), in a kept buffer
            outputs = self._shaped(buffers, 2, m, self.out_features, n)
        for start, z in zip(range(0, n, tile), self._tiled(tile), strict=True):
            w = z.shape[1] // self.zs.shape[1]
            pre = torch.mm(scale, z, out=self._shaped(buffers, 0, m, z.shape[1]))
            h = self._forward(pre.view(m, self.zs.shape[1], w), layers, buffers)
            if outputs is None:  # returned to the caller: a tensor of its own
                outputs = h.new_empty(m, n, h.shape[1])
            if self.cross_entropy:
                outputs[:, :, start : start + w] = h
            else:
                outputs[:, start : start + w] = h.transpose(1, 2)
        assert outputs is not None
        if self.cross_entropy:
            return class_sums(outputs, self.targets, scratch=self._shaped(buffers, 3, m, self.out_features, n))
        return outputs, None

    def tile_width(self, m: int) -> int:
        """Samples per tile: on a CPU, a chunk's widest activation for one tile fits in
        :data:`CACHE_BYTES`; on an accelerator one tile of all samples (fewest launches; the chunk's
        memory budget already counts its whole activations)."""
        if self.zs.device.type != "cpu":
            return self.zs.shape[-1]
        per_sample = m * self.width * self.zs.element_size()
        return max(MIN_TILE, CACHE_BYTES // per_sample)

    def _tiled(self, tile: int) -> list[Tensor]:
        if tile not in self._tiles:  # each tile's k + 1 first-layer values contiguous, as one (k + 1, F·w) matrix
            pieces = self.zs.split(tile, dim=2)
            self._tiles[tile] = [p.reshape(len(self.zs), -1) for p in pieces]
        return self._tiles[tile]

    def _reused(self, m: int, tile: int) -> list[Tensor]:
        """Two activation buffers for a chunk of m points and, for the cross-entropy, the chunk's
        logits and :func:`class_sums`' scratch, kept from chunk to chunk.

        Fresh multi-MiB tensors per tile cost page faults whenever glibc's malloc hands them
        back to the system (measured: 2.7–3.3 s instead of 1.4–1.6 s per W1 plane after the
        peer or a large matmul had run in the same process). The logits and scratch kept too:
        W1 0.822–0.847 s against 0.834–0.870 s, 6 of 6 alternating pairs faster, bit for bit.
        """
        if self.reuse_buffers and self._buffers is not None and self._buffers[0] == (m, tile):
            return self._buffers[1]
        size = m * self.width * tile
        buffers = [self.zs.new_empty(size), self.zs.new_empty(size)]
        if self.cross_entropy:
            logits = m * self.out_features * self.zs.shape[-1]
            buffers += [self.zs.new_empty(logits), self.zs.new_empty(logits)]
        self._views.clear()
        if self.reuse_buffers:
            self._buffers = ((m, tile), buffers)
        return buffers

    def _shaped(self, buffers: list[Tensor], which: int, *shape: int) -> Tensor:
        """The front of buffer ``which`` as a contiguous tensor of ``shape`` (the view made once per buffer)."""
        key = (which, shape)
        if key not in self._views:
            self._views[key] = buffers[which][: math.prod(shape)].view(shape)
        return self._views[key]

    def _bias_columns(self) -> Tensor:
        """The order of θ's entries (of these layers) that lays out the first Linear as ``[W | b]``
        (``out × (in + 1)``, row by row) and leaves the rest as it is.

        The caller permutes the slice's center and directions once (:attr:`order`), so every chunk's
        θ holds ``[W | b]`` ready for the batched matmul instead of concatenating it per chunk.
        """
        first = next(m for m in self.rest if isinstance(m, nn.Linear))
        start = sum(self.sizes[: self._first_piece()])
        out, fan_in = first.out_features, first.in_features
        weight = torch.arange(out * fan_in).view(out, fan_in)
        bias = torch.arange(out * fan_in, out * (fan_in + 1)).view(out, 1)
        order = torch.arange(sum(self.sizes))
        order[start : start + out * (fan_in + 1)] = start + torch.cat([weight, bias], dim=1).view(-1)
        return order

    def _first_piece(self) -> int:
        """The index in :attr:`sizes` of the first Linear's weight."""
        pieces = 0
        for module in self.rest:
            if isinstance(module, nn.Linear):
                return pieces
            pieces += sum(1 for _ in module.parameters())
        raise AssertionError("no Linear")

    def _layers(self, thetas: Tensor) -> list[Layer]:
        """The chunk's batched weights and biases, views of ``thetas`` (laid out by :attr:`order`)."""
        pieces = iter(thetas.split(self.pieces, dim=1))
        m = len(thetas)
        layers: list[Layer] = []
        for module in self.rest:
            if isinstance(module, nn.Linear):
                out, fan_in = module.out_features, module.in_features
                if self.order is not None and all(layer is None for layer in layers):  # [W | b] · [h; 1]
                    layers.append((next(pieces).view(m, out, fan_in + 1), None))
                    continue
                weight = next(pieces).view(m, out, fan_in)
                bias = next(pieces).view(m, out, 1) if module.bias is not None else None
                layers.append((weight, bias))
            else:
                layers.append(None)
        return layers

    def _forward(self, h: Tensor, layers: list[Layer], buffers: list[Tensor]) -> Tensor:
        """The layers on ``h`` (m, F, w); Linear outputs alternate between the two buffers."""
        m, _, w = h.shape
        free = 1
        for module, layer in zip(self.rest, layers, strict=True):
            if layer is not None:
                h = torch.bmm(layer[0], h, out=self._shaped(buffers, free, m, layer[0].shape[1], w))
                free = 1 - free
                if layer[1] is not None:
                    h.add_(layer[1])
            elif type(module) in _IN_PLACE:  # in place: every activation here is the chain's own
                _IN_PLACE[type(module)](h)
            else:
                h = module(h)
        return h


def _bias_row(rest: nn.Sequential) -> bool:
    """Whether the first Linear of ``rest`` has a bias and the activations before it map 1 to exactly 1.

    Then the first layer's output gets a constant feature 1 and that Linear's bias becomes a column
    of its weight: one batched matmul instead of a matmul and a pass adding the bias.
    """
    one = torch.ones(1, dtype=torch.float64)
    for module in rest:
        if isinstance(module, nn.Linear):
            return module.bias is not None and float(one) == 1.0
        with torch.no_grad():
            one = module(one)
    return False


_IN_PLACE: dict[type[nn.Module], Callable[[Tensor], Tensor]] = {
    nn.ReLU: lambda h: h.clamp_min_(0),
    nn.Tanh: Tensor.tanh_,
    nn.Sigmoid: Tensor.sigmoid_,
    nn.Identity: lambda h: h,
}
