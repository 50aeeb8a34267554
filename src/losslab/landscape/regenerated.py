r"""Directions that are never stored: regenerated from (seed, parameter name, shape), a block of rows at a time.

For a model of 10⁸–10¹⁰ parameters two stored directions cost twice the model again. Here a
direction is a *definition*: parameter ``name`` of ``shape``, rows ``[r₀, r₁)`` of its
``(shape[0], -1)`` view, direction ``k`` is ``torch.randn`` (float32) from a ``torch.Generator``
seeded with the first 8 bytes of ``sha256("seed/name/shape/k/block")`` — a counter-based stream:
any process, any rank, any order regenerates any block with the same bits, and only the block
being used is ever held. Blocks hold whole rows (filters), at most :data:`BLOCK_ELEMENTS` elements
where a row is smaller, so filter normalization (Li et al. 2018: each row rescaled to θ*'s row
norm) happens within a block; ``layer`` normalization needs each draw's norm over the whole
tensor, computed once in a first pass (k numbers per parameter). 1-D parameters are ``zero``
(skipped: nothing drawn) or ``include``-d as one filter, as in
:func:`~losslab.landscape.directions.normalize_direction`.

:meth:`RegeneratedDirections.materialize` writes them out as ordinary
:class:`~losslab.landscape.directions.Directions` (for small models and for tests: the very same
numbers a regenerated survey uses).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from losslab.errors import LosslabError, check_choice, not_one_of
from losslab.landscape.directions import BIAS_BN, NORMALIZATIONS, Directions
from losslab.objectives.network import NetworkObjective

# elements a regenerated block holds (unless one row is longer): 4 MiB per float32 draw
BLOCK_ELEMENTS = 2**20


@dataclass(frozen=True)
class RegeneratedDirections:
    """``k`` random directions defined by a seed, never stored (see the module docstring).

    Attributes:
        seed: the seed of every block's generator (mixed with the parameter's name, shape, the
            direction's index and the block's index).
        k: 1 (a line) or 2 (a plane).
        normalization: ``filter`` (default), ``layer`` or ``none``.
        bias_bn: ``zero`` (default) or ``include`` the 1-D parameters.

    >>> d = RegeneratedDirections(seed=7)
    >>> w = torch.ones(3, 4)
    >>> a = torch.cat([block for _, block in d.blocks("layer.weight", w)], dim=1)
    >>> a.shape, torch.equal(a, torch.cat([b for _, b in d.blocks("layer.weight", w)], dim=1))
    (torch.Size([2, 3, 4]), True)
    >>> [round(float(n), 6) for n in a[0].norm(dim=1)]  # each filter rescaled to θ*'s row norm, 2
    [2.0, 2.0, 2.0]
    """

    seed: int = 0
    k: int = 2
    normalization: str = "filter"
    bias_bn: str = "zero"
    _layer_norms: dict[str, Tensor] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_choice("normalization", self.normalization, NORMALIZATIONS)
        check_choice("bias_bn", self.bias_bn, BIAS_BN)
        if self.k not in (1, 2):
            raise LosslabError(f"k = {self.k} directions: a slice has 1 (line) or 2 (plane)")

    def skips(self, reference: Tensor) -> bool:
        """Whether a parameter is left out of the directions (a 1-D parameter with ``bias_bn="zero"``)."""
        return reference.dim() <= 1 and self.bias_bn == "zero"

    def blocks(self, name: str, reference: Tensor) -> Iterator[tuple[slice, Tensor]]:
        """The directions over parameter ``name`` (θ*'s value ``reference``), a block of rows at a time:
        ``(rows, (k, len(rows), row length) float32)``. Nothing for a skipped parameter."""
        if self.skips(reference):
            return
        rows = _rows(reference)
        step = max(1, BLOCK_ELEMENTS // max(rows.shape[1], 1))
        for index, start in enumerate(range(0, rows.shape[0], step)):
            where = slice(start, min(start + step, rows.shape[0]))
            draws = torch.stack([self._draw(name, reference.shape, j, index, rows[where].shape) for j in range(self.k)])
            yield where, self._normalized(name, draws, rows[where], reference)

    def parameter(self, name: str, reference: Tensor) -> Tensor:
        """The whole ``(k, *shape)`` directions over one parameter (float32; zeros where skipped)."""
        out = torch.zeros(self.k, *_rows(reference).shape, dtype=torch.float32)
        for where, block in self.blocks(name, reference):
            out[:, where] = block
        return out.reshape(self.k, *reference.shape)

    def materialize(self, objective: NetworkObjective) -> Directions:
        """These directions as stored :class:`Directions` through the objective's θ* (P numbers each)."""
        flats = [
            self.parameter(name, p).reshape(self.k, -1).to(objective.dtype)
            for name, p in objective.own_parameters().items()
            if name in objective.shapes  # θ's parameters: not those held fixed (parameters="trainable")
        ]
        vectors = torch.cat(flats, dim=1).to(objective.device)
        kind = "random" if self.normalization == "none" else self.normalization
        return Directions(vectors, objective.center.clone(), kind, self.normalization, self.bias_bn, self.seed)

    def fingerprint(self, objective: NetworkObjective) -> str:
        """sha256 of the definition: seed, k, normalization, bias_bn and every parameter's name and shape."""
        shapes = [[name, list(shape)] for name, shape in objective.shapes.items()]
        text = json.dumps([self.seed, self.k, self.normalization, self.bias_bn, BLOCK_ELEMENTS, shapes])
        return hashlib.sha256(text.encode()).hexdigest()

    def provenance(self, objective: NetworkObjective) -> dict[str, Any]:
        """How these directions are made, for the surface file (they themselves are not in it)."""
        return {
            "directions": "regenerated",
            "normalization": self.normalization,
            "bias_bn": self.bias_bn,
            "seed": self.seed,
            "directions_sha256": self.fingerprint(objective),
            "explained_variance_ratio": [],
            "eigenvalues": [],
        }

    def _draw(self, name: str, shape: torch.Size, direction: int, block: int, size: torch.Size) -> Tensor:
        key = f"{self.seed}/{name}/{list(shape)}/{direction}/{block}".encode()
        seed = int.from_bytes(hashlib.sha256(key).digest()[:8], "little") & (2**63 - 1)
        return torch.randn(size, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)

    def _normalized(self, name: str, draws: Tensor, rows: Tensor, reference: Tensor) -> Tensor:
        reference_rows = rows.detach().to("cpu", torch.float32)
        tiny = torch.finfo(torch.float32).tiny
        if self.normalization == "none":
            return draws
        if self.normalization == "layer" or reference.dim() <= 1:
            scale = reference.detach().to("cpu", torch.float32).norm() / self._whole_norms(name, reference).clamp_min(
                tiny
            )
            return draws * scale[:, None, None]
        if self.normalization == "filter":
            scale = reference_rows.norm(dim=1) / draws.norm(dim=2).clamp_min(tiny)
            return draws * scale[:, :, None]
        raise not_one_of("normalization", self.normalization, NORMALIZATIONS)

    def _whole_norms(self, name: str, reference: Tensor) -> Tensor:
        """Each raw draw's norm over the whole parameter (one pass over its blocks; kept: k numbers)."""
        if name not in self._layer_norms:
            rows = _rows(reference)
            step = max(1, BLOCK_ELEMENTS // max(rows.shape[1], 1))
            squares = torch.zeros(self.k, dtype=torch.float64)
            for index, start in enumerate(range(0, rows.shape[0], step)):
                size = rows[start : start + step].shape
                for j in range(self.k):
                    squares[j] += float(self._draw(name, reference.shape, j, index, size).double().pow(2).sum())
            self._layer_norms[name] = squares.sqrt().to(torch.float32)
        return self._layer_norms[name]


def _rows(reference: Tensor) -> Tensor:
    """A parameter as rows (filters): ``(shape[0], -1)``; a 1-D or 0-D parameter as one row."""
    return reference.reshape(1, -1) if reference.dim() <= 1 else reference.reshape(reference.shape[0], -1)
