"""Directions through a network's parameter space: random (normalized), interpolation, PCA, Hessian.

A landscape slice is ``θ(a, b) = c + a·d1 + b·d2``: a center ``c`` (usually θ*) and ``k`` ≤ 2
directions. Random directions are Gaussian ``N(0, I)`` drawn from a seeded ``torch.Generator``
and then normalized against the center, per Li et al., *Visualizing the Loss Landscape of
Neural Nets* (NeurIPS 2018):

- ``filter``: each filter ``d_{i,j}`` (the j-th output row of the i-th weight: an output
  neuron of a linear layer, an output channel of a convolution) is rescaled to the norm of
  the same filter of the center, ``d_{i,j} ← d_{i,j} / ‖d_{i,j}‖ · ‖θ_{i,j}‖``;
- ``layer``: each parameter tensor is rescaled as a whole, ``d_i ← d_i / ‖d_i‖ · ‖θ_i‖``;
- ``none``: the raw Gaussian draw.

One-dimensional parameters (biases, BatchNorm and LayerNorm weights and biases) are either
``zero`` in the direction (the paper's choice and the default) or ``include``-d, then
normalized as one filter each (the whole vector to the norm of θ's vector).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from losslab.errors import LosslabError, check_choice, check_int, not_one_of
from losslab.objectives.model_state import aligned_state, unwrapped
from losslab.objectives.network import NetworkObjective
from losslab.serialize import Readable

NORMALIZATIONS = ("filter", "layer", "none")
BIAS_BN = ("zero", "include")
KINDS = ("filter", "layer", "random", "pca", "hessian", "interpolate", "plane", "given", "hessian-extremes")


@dataclass
class Directions(Readable):
    """A center and ``k`` directions (rows of :attr:`vectors`), with how they were made.

    Attributes:
        vectors: ``(k, P)`` directions, k = 1 (a line) or 2 (a plane).
        center: ``(P,)`` the point at coordinates 0.
        kind: random, filter, layer, pca, hessian, interpolate or plane.
        normalization: filter, layer or none.
        bias_bn: whether 1-D parameters were zeroed or included.
        seed: the generator seed for random kinds, else None.
        explained_variance_ratio: for PCA, each component's share of the trajectory's variance.
        eigenvalues: for Hessian directions, the eigenvalues of the returned eigenvectors.
    """

    vectors: Tensor
    center: Tensor
    kind: str
    normalization: str = "none"
    bias_bn: str = "include"
    seed: int | None = None
    explained_variance_ratio: tuple[float, ...] | None = None
    eigenvalues: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.vectors.dim() != 2 or self.vectors.shape[0] not in (1, 2):
            raise LosslabError(f"directions must be 1 or 2 vectors, got shape {tuple(self.vectors.shape)}")
        if self.vectors.shape[1] != self.center.numel():
            raise LosslabError(f"directions have {self.vectors.shape[1]} coordinates, the center {self.center.numel()}")

    @property
    def k(self) -> int:
        """Number of directions (1: a line, 2: a plane)."""
        return int(self.vectors.shape[0])

    def fingerprint(self) -> str:
        """sha256 of the center and the directions (float64 bytes)."""
        return tensor_sha256(torch.cat([self.center.reshape(1, -1), self.vectors]))

    def provenance(self) -> dict[str, Any]:
        """How these directions were made, for the surface file."""
        return {
            "directions": self.kind,
            "normalization": self.normalization,
            "bias_bn": self.bias_bn,
            "seed": -1 if self.seed is None else self.seed,
            "directions_sha256": self.fingerprint(),
            "explained_variance_ratio": list(self.explained_variance_ratio or ()),
            "eigenvalues": list(self.eigenvalues or ()),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.provenance(), "k": self.k, "dim": int(self.center.numel()), "norms": self.norms()}

    def norms(self) -> list[float]:
        return [float(v.norm()) for v in self.vectors]

    def __str__(self) -> str:
        extra = ""
        if self.explained_variance_ratio:
            extra = ", explained variance " + ", ".join(f"{r:.1%}" for r in self.explained_variance_ratio)
        if self.eigenvalues:
            extra = ", eigenvalues " + ", ".join(f"{e:.4g}" for e in self.eigenvalues)
        seed = "" if self.seed is None else f", seed {self.seed}"
        return (
            f"{self.k} {self.kind} direction(s) over {self.center.numel()} parameters "
            f"(normalization {self.normalization}, biases/BN {self.bias_bn}{seed}{extra}); "
            f"norms {', '.join(f'{n:.4g}' for n in self.norms())}"
        )


def tensor_sha256(tensor: Tensor) -> str:
    """sha256 of a tensor's values as float64 bytes (the fingerprint of directions and of a surface's slice)."""
    return hashlib.sha256(tensor.detach().to("cpu", torch.float64).contiguous().numpy().tobytes()).hexdigest()


def normalize_direction(
    objective: NetworkObjective, direction: Tensor, normalization: str = "filter", bias_bn: str = "zero"
) -> Tensor:
    """Rescale a flat direction against the objective's center, per parameter tensor.

    Args:
        objective: supplies θ* (:attr:`~losslab.objectives.network.NetworkObjective.center`) and the shapes.
        direction: ``(P,)`` a raw direction.
        normalization: ``filter`` (each output row/channel to θ's), ``layer`` (each tensor) or ``none``.
        bias_bn: ``zero`` 1-D parameters (biases, norm layers) or ``include`` them (each as one filter).

    >>> net = torch.nn.Linear(2, 2).double()
    >>> L = NetworkObjective(net, (torch.ones(1, 2), torch.ones(1, 2)), "mse")
    >>> d = normalize_direction(L, torch.ones(6, dtype=torch.float64))
    >>> torch.allclose(d[:4].view(2, 2).norm(dim=1), net.weight.norm(dim=1)), d[4:].tolist()
    (True, [0.0, 0.0])
    """
    check_choice("normalization", normalization, NORMALIZATIONS)
    check_choice("bias_bn", bias_bn, BIAS_BN)
    pieces = objective.unflatten(direction.to(objective.center))
    reference = objective.unflatten(objective.center)
    out = []
    for name, piece in pieces.items():
        ref = reference[name]
        if piece.dim() <= 1 and bias_bn == "zero":
            out.append(torch.zeros_like(piece).reshape(-1))
            continue
        out.append(_rescale(piece, ref, normalization).reshape(-1))
    return torch.cat(out)


def _rescale(piece: Tensor, ref: Tensor, normalization: str) -> Tensor:
    if normalization == "none":
        return piece
    if normalization == "layer" or piece.dim() <= 1:
        return piece * (ref.norm() / piece.norm().clamp_min(torch.finfo(piece.dtype).tiny))
    if normalization == "filter":
        rows, ref_rows = piece.reshape(len(piece), -1), ref.reshape(len(ref), -1)
        scale = ref_rows.norm(dim=1) / rows.norm(dim=1).clamp_min(torch.finfo(piece.dtype).tiny)
        return (rows * scale[:, None]).reshape(piece.shape)
    raise not_one_of("normalization", normalization, NORMALIZATIONS)


def random_directions(
    objective: NetworkObjective, k: int = 2, *, normalization: str = "filter", bias_bn: str = "zero", seed: int = 0
) -> Directions:
    """``k`` Gaussian directions from ``torch.Generator().manual_seed(seed)``, then normalized.

    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> L = NetworkObjective(net, (torch.ones(5, 3), torch.zeros(5, dtype=torch.int64)))
    >>> d = random_directions(L, seed=7)
    >>> d.k, torch.equal(d.vectors, random_directions(L, seed=7).vectors)
    (2, True)
    """
    if k not in (1, 2):
        raise LosslabError(f"k = {k} directions: a slice has 1 (line) or 2 (plane)")
    generator = torch.Generator().manual_seed(check_int("seed", seed, least=0, most=2**63 - 1))
    raw = torch.randn(k, objective.dim, generator=generator, dtype=torch.float64)
    vectors = torch.stack([normalize_direction(objective, r, normalization, bias_bn) for r in raw])
    kind = "random" if normalization == "none" else normalization
    return Directions(vectors, objective.center.clone(), kind, normalization, bias_bn, seed)


def interpolation(objective: NetworkObjective, end: Tensor, *, start: Tensor | None = None) -> Directions:
    """The line from ``start`` (default θ*) to a second checkpoint: coordinate α ↦ start + α·(end − start).

    α = 0 is ``start``, α = 1 is ``end``; any α (beyond [0, 1] too) is allowed in the survey.
    """
    start = objective.center if start is None else as_flat(objective, start, "start")
    end = as_flat(objective, end, "end")
    return Directions((end - start).reshape(1, -1), start.clone(), "interpolate")


def plane_through(objective: NetworkObjective, checkpoints: Sequence[Tensor]) -> Directions:
    """The plane through three checkpoints c0, c1, c2: center c0, directions c1 − c0 and c2 − c0."""
    if len(checkpoints) != 3:
        raise LosslabError(f"a plane through checkpoints needs exactly 3, got {len(checkpoints)}")
    c0, c1, c2 = (as_flat(objective, c, f"checkpoint {i}") for i, c in enumerate(checkpoints))
    return Directions(torch.stack([c1 - c0, c2 - c0]), c0.clone(), "plane")


def pca_directions(
    objective: NetworkObjective, checkpoints: Sequence[Tensor], k: int = 2, *, center: Tensor | None = None
) -> Directions:
    """Principal directions of a training trajectory (Li et al. §7), centered on the last checkpoint.

    The rows ``θ_i − c`` (c = the last checkpoint unless given) are mean-centered and
    decomposed by SVD, ``U S Vᵀ``; the directions are the first k rows of Vᵀ, and each
    one's explained variance ratio is ``s_j² / Σ s²``.
    """
    if len(checkpoints) < k + 1:
        raise LosslabError(f"PCA of {len(checkpoints)} checkpoints: need at least {k + 1} for {k} directions")
    flats = torch.stack([as_flat(objective, c, f"checkpoint {i}") for i, c in enumerate(checkpoints)])
    center = flats[-1] if center is None else as_flat(objective, center, "center")
    rows = (flats - center).to(torch.float64)
    rows = rows - rows.mean(dim=0)
    _, s, vh = torch.linalg.svd(rows, full_matrices=False)
    ratio = tuple(float(r) for r in (s**2 / (s**2).sum())[:k])
    return Directions(vh[:k].to(objective.center), center.clone(), "pca", explained_variance_ratio=ratio)


def hessian_directions(objective: NetworkObjective, k: int = 2) -> Directions:
    """The top-k Hessian eigenvectors at θ* (from :func:`losslab.curvature.top_eigenvalues`)."""
    try:
        from losslab import curvature
    except ImportError as exc:
        raise LosslabError("Hessian directions need losslab.curvature, which this installation lacks") from exc
    result = curvature.top_eigenvalues(objective, k)
    vectors = getattr(result, "eigenvectors", None)
    if vectors is None:
        raise LosslabError("losslab.curvature.top_eigenvalues returned no eigenvectors")
    vectors = torch.as_tensor(vectors).to(objective.center).reshape(k, -1)
    eigenvalues = tuple(float(e) for e in torch.as_tensor(result.eigenvalues).reshape(-1)[:k])
    return Directions(vectors, objective.center.clone(), "hessian", eigenvalues=eigenvalues)


def hessian_extremes_directions(objective: NetworkObjective, **lanczos: Any) -> Directions:
    """The plane along the eigenvectors of the largest and the most negative Hessian eigenvalue at θ*
    (``lanczos``: options of :func:`losslab.curvature.top_eigenvalues`, e.g. ``max_iter``).

    Where a random plane shows the mean curvature and looks convex (Böttcher & Wheeler 2022), this one
    shows the extremes, a saddle's direction of descent included.
    """
    from losslab import curvature

    result = curvature.top_eigenvalues(objective, 1, which="both", **lanczos)
    if len(result.eigenvalues) < 2:
        raise LosslabError("the Hessian-extremes plane needs at least 2 parameters")
    if not result.converged:
        raise LosslabError(
            f"Lanczos did not reach the extreme eigenvectors in {result.products} products "
            f"(residuals {', '.join(f'{r:.2g}' for r in result.residuals.tolist())}); raise max_iter"
        )
    vectors = result.eigenvectors.to(objective.center)  # descending: λmax first, the most negative second
    eigenvalues = tuple(float(e) for e in result.eigenvalues)
    return Directions(vectors, objective.center.clone(), "hessian-extremes", eigenvalues=eigenvalues)


def as_flat(objective: NetworkObjective, theta: Any, what: str = "checkpoint") -> Tensor:
    """A checkpoint as a flat θ: a flat tensor, a module, or a state dict (parameters in the model's order)."""
    if isinstance(theta, torch.nn.Module):
        theta = dict(unwrapped(theta).named_parameters())  # by name: θ may hold only some (parameters="trainable")
    if isinstance(theta, Mapping):
        theta = aligned_state(theta, objective.model, what)  # a training checkpoint, a wrapper's names
        _check_fixed(objective, theta, what)
        missing = [name for name in objective.shapes if name not in theta]
        if missing:
            raise LosslabError(f"{what} has no {missing[0]!r} ({len(missing)} of the model's parameters missing)")
        theta = torch.cat([theta[name].detach().reshape(-1) for name in objective.shapes])
    theta = torch.as_tensor(theta)
    if theta.shape != (objective.dim,):
        raise LosslabError(f"{what} has shape {tuple(theta.shape)}; expected ({objective.dim},) or a module/state dict")
    return theta.to(objective.center)


def _check_fixed(objective: NetworkObjective, state: dict[str, Any], what: str) -> None:
    """A checkpoint of a model whose frozen parameters θ leaves out (parameters="trainable") must hold them as the
    model does: θ cannot say where it differs there, so a path or a connection to it would be another model's."""
    for name, value in objective.fixed.items():
        given = state.get(name)
        if isinstance(given, Tensor) and not torch.equal(given.detach().to(value), value):
            raise LosslabError(
                f"{what} differs from the model in {name!r}, which parameters 'trainable' holds fixed: "
                "its frozen parameters must be the model's (or use parameters 'all')"
            )


# directions that span a fixed number of axes, whatever else is asked: (axes, what they span)
SPANS = {
    "hessian-extremes": (2, "a plane (the largest and the smallest eigenvector)"),
    "interpolate": (1, "a line (between two points in parameter space)"),
}


def make_directions(
    objective: NetworkObjective,
    kind: str = "filter",
    *,
    k: int = 2,
    seed: int = 0,
    bias_bn: str = "zero",
    checkpoints: Sequence[Tensor] = (),
) -> Directions:
    """Directions by name: filter, layer, random, pca, hessian, hessian-extremes or interpolate (the CLI's choices).

    ``pca`` uses ``checkpoints`` (a trajectory); ``interpolate`` goes from θ* to ``checkpoints[0]``.
    """
    if kind in ("filter", "layer"):
        return random_directions(objective, k, normalization=kind, bias_bn=bias_bn, seed=seed)
    if kind == "random":
        return random_directions(objective, k, normalization="none", bias_bn=bias_bn, seed=seed)
    if kind == "pca":
        return pca_directions(objective, checkpoints, k)
    if kind == "hessian":
        return hessian_directions(objective, k)
    if kind == "hessian-extremes":
        if k != SPANS[kind][0]:
            raise LosslabError(f"hessian-extremes spans {SPANS[kind][1]}: k=2, not {k}")
        return hessian_extremes_directions(objective)
    if kind == "interpolate":
        if not checkpoints:
            raise LosslabError("interpolate needs a second checkpoint to draw the line to")
        return interpolation(objective, checkpoints[0])
    raise not_one_of(
        "directions", kind, ("filter", "layer", "random", "pca", "hessian", "hessian-extremes", "interpolate")
    )
