r"""Extreme Hessian eigenvalues by Lanczos with full reorthogonalization and thick restarts.

Lanczos builds an orthonormal basis :math:`Q_m = [q_1, \dots, q_m]` of the Krylov space
:math:`\mathcal K_m(H, q_1) = \operatorname{span}\{q_1, Hq_1, \dots, H^{m-1}q_1\}` and the
projected matrix :math:`T_m = Q_m^\top H Q_m`. An eigenpair :math:`(\theta, s)` of
:math:`T_m` gives the Ritz pair :math:`(\theta, y = Q_m s)` with residual

.. math::
    \|Hy - \theta y\| = \beta_m |s_m|, \qquad \beta_m = \|(I - Q_mQ_m^\top) H q_m\|,

and :math:`|\lambda - \theta| \le \|Hy - \theta y\|` for some eigenvalue λ of H. Extreme
eigenvalues converge first — after about :math:`\sqrt{\kappa}` products where power iteration
needs κ (PyHessian's power iteration on the digits MLP needs ~100 products for 1e-4; see
``benchmarks/bench_curvature.py``).

Full reorthogonalization (Gram–Schmidt twice against the whole basis, Parlett's "twice is
enough") keeps :math:`Q_m` orthonormal in floating point, so no spurious copies of converged
eigenvalues appear. The products :math:`W = HQ` are kept beside the basis: the stopping rule
is checked cheaply with :math:`\beta_m|s_m|` and then confirmed with the true residual
:math:`\|W s - \theta Q s\|` — the residual reported is the one met. When the basis is full,
the wanted Ritz vectors (and the next ones on the same side) are kept and the basis grows
again from :math:`q_{m+1}` (thick restart, Wu & Simon 2000), so memory stays at ``basis``
vectors of length n while the tolerance is still met.

Memory: Q and W hold :math:`2 \cdot \text{basis} \cdot n \cdot \text{itemsize}` bytes
(:func:`basis_bytes`); the default basis is capped so that this stays within
:data:`BASIS_BUDGET` (1 GiB: 12 vectors for ResNet-18's 11.2 M float32 parameters, where 30
would take 2.7 GB). Tolerance: a float32 product of n terms carries a rounding error of about
:math:`\epsilon\sqrt n` relative, so the default (:func:`default_tolerance`) grows with
:math:`\sqrt n` — at 11 M float32 parameters the residual measured stalled at 5.8e-4, above the
former fixed 1.2e-4, and Lanczos ran out its 500 products.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.curvature.hvp import HessianOperator, as_operator
from losslab.errors import LosslabError, check_choice, check_int, not_one_of
from losslab.objectives.domain import PointLike
from losslab.objectives.objective import Objective
from losslab.serialize import Readable

WHICH = ("largest", "smallest", "both")
BASIS_BUDGET = 2**30  # bytes the default Krylov basis (Q and W) may hold


def default_tolerance(dtype: torch.dtype, n: int) -> float:
    r"""The relative residual Lanczos can reach in ``dtype`` with n parameters:
    :math:`\max(10^{-6},\ 1000\,\epsilon,\ 4\,\epsilon\sqrt n)`.

    >>> default_tolerance(torch.float64, 10**7), round(default_tolerance(torch.float32, 26122), 7)
    (1e-06, 0.0001192)
    >>> round(default_tolerance(torch.float32, 11_173_962), 5)   # ResNet-18
    0.00159
    """
    eps = torch.finfo(dtype).eps
    return max(1e-6, 1000 * eps, 4 * eps * math.sqrt(n))


def basis_bytes(n: int, basis: int, dtype: torch.dtype) -> int:
    """Bytes the Krylov basis Q and the products W = HQ hold: ``2 · basis · n · itemsize``.

    >>> basis_bytes(11_173_962, 30, torch.float32) / 1e9   # the former default on ResNet-18
    2.68175088
    """
    return 2 * basis * n * torch.empty((), dtype=dtype).element_size()


def default_basis(n: int, wanted: int, dtype: torch.dtype) -> int:
    """``max(30, 4·wanted)`` vectors, fewer where they would take more than :data:`BASIS_BUDGET`
    (never fewer than ``wanted + 2``), and at most n."""
    fits = BASIS_BUDGET // basis_bytes(n, 1, dtype)
    return min(n, max(wanted + 2, min(max(30, 4 * wanted), fits)))


@dataclass
class EigenResult(Readable):
    """Eigenpairs of the Hessian with the residual of each.

    Attributes:
        eigenvalues: ``(k,)``, descending.
        eigenvectors: ``(k, n)``, unit rows (flat; usable as landscape directions), each
            signed so that its largest-magnitude coordinate is positive.
        residuals: ``(k,)`` true residual norms ``‖Hv − λv‖``.
        products: Hessian-vector products used.
        converged: whether every residual met ``tol · max(1, |λ|)``.
        tol: the tolerance asked for.
        which: ``largest``, ``smallest`` or ``both``.
        restarts: how many times the basis was restarted.
    """

    eigenvalues: Tensor
    eigenvectors: Tensor
    residuals: Tensor
    products: int
    converged: bool
    tol: float
    which: str
    restarts: int = 0

    def to_dict(self) -> dict[str, object]:
        """JSON-able summary (the eigenvectors are left out: n numbers each)."""
        return {
            "eigenvalues": self.eigenvalues.tolist(),
            "residuals": self.residuals.tolist(),
            "products": self.products,
            "converged": self.converged,
            "tol": self.tol,
            "which": self.which,
            "restarts": self.restarts,
        }

    def __str__(self) -> str:
        state = "converged" if self.converged else "NOT converged"
        bound = f"residual ≤ {self.tol:.3g}·max(1, |λ|)"
        made = f"{self.products} product{'s' if self.products != 1 else ''}"
        lines = [f"Hessian eigenvalues ({self.which}; {state} to {bound} in {made})"]
        lines += [f"  λ{i + 1:<3} {lam:>+14.8g}   residual {res:.2e}" for i, (lam, res) in enumerate(self._pairs())]
        return "\n".join(lines)

    def _pairs(self) -> list[tuple[float, float]]:
        return list(zip(self.eigenvalues.tolist(), self.residuals.tolist(), strict=True))


class KrylovBasis:
    """An orthonormal Krylov basis Q, the products W = HQ and T = QᵀHQ, grown one product at a time.

    Args:
        operator: the Hessian operator.
        start: the first direction (any non-zero vector of length n).
        capacity: the most basis vectors held at once.
        generator: draws a fresh direction when the Krylov space is invariant.
    """

    def __init__(self, operator: HessianOperator, start: Tensor, capacity: int, generator: torch.Generator) -> None:
        n = operator.dim
        self.operator, self.generator = operator, generator
        self.Q = torch.empty(capacity, n, dtype=operator.dtype, device=operator.device)
        self.W = torch.empty_like(self.Q)
        self.T = torch.zeros(capacity, capacity, dtype=torch.float64)
        self.size = 0
        self.beta = 0.0
        self.next = self._unit(start.to(operator.device, operator.dtype))

    @property
    def full(self) -> bool:
        return self.size == self.Q.shape[0]

    def expand(self) -> None:
        """One Hessian-vector product: add ``next`` to the basis, compute the following direction."""
        m = self.size
        self.Q[m] = self.next
        self.W[m] = self.operator.matvec(self.next)
        h = self.Q[: m + 1] @ self.W[m]
        self.T[: m + 1, m] = self.T[m, : m + 1] = h.to("cpu", torch.float64)
        self.size = m + 1
        residual = self._orthogonalize(self.W[m])
        self.beta = float(residual.norm())
        scale = float(self.T[: m + 1, : m + 1].abs().max()) or 1.0
        if self.beta > 100 * torch.finfo(self.Q.dtype).eps * scale:
            self.next = residual / self.beta
        elif self.size < self.operator.dim:  # the Krylov space closed: carry on from a fresh direction
            self.beta = 0.0
            self.next = self._unit(self._orthogonalize(self._random()))
        else:  # the basis spans everything: the Ritz pairs are exact
            self.beta = 0.0

    def ritz(self) -> tuple[Tensor, Tensor]:
        """Ritz values (ascending) and the eigenvectors of T, both float64 on the CPU."""
        return torch.linalg.eigh(self.T[: self.size, : self.size])

    def residual_estimates(self, vectors: Tensor) -> Tensor:
        """β·|s_m| for columns s of T's eigenvectors (exact in exact arithmetic)."""
        return self.beta * vectors[-1].abs()

    def pairs(self, values: Tensor, vectors: Tensor) -> tuple[Tensor, Tensor]:
        """Ritz vectors ``(k, n)`` for the given columns of T's eigenvectors, and their true residuals."""
        s = vectors.to(self.Q)
        y = s.T @ self.Q[: self.size]
        hy = s.T @ self.W[: self.size]
        residuals = (hy - values.to(self.Q)[:, None] * y).norm(dim=1)
        return y, residuals.to("cpu", torch.float64)

    def restart(self, vectors: Tensor, values: Tensor) -> None:
        """Keep only the Ritz vectors ``Q s`` (and their products ``W s``); T becomes diagonal."""
        s = vectors.to(self.Q)
        keep = s.shape[1]
        self.Q[:keep] = s.T @ self.Q[: self.size]
        self.W[:keep] = s.T @ self.W[: self.size]
        self.T.zero_()
        self.T[:keep, :keep] = torch.diag(values)
        self.size = keep

    def _orthogonalize(self, w: Tensor) -> Tensor:
        basis = self.Q[: self.size]
        for _ in range(2):  # Gram–Schmidt twice is enough (Parlett)
            w = w - (basis @ w) @ basis
        return w

    def _random(self) -> Tensor:
        return torch.randn(self.operator.dim, generator=self.generator, dtype=torch.float64).to(self.Q)

    def _unit(self, v: Tensor) -> Tensor:
        norm = float(v.norm())
        if not math.isfinite(norm) or norm == 0:
            raise LosslabError(f"start vector has norm {norm}; give a finite non-zero vector")
        return v / norm


def top_eigenvalues(
    objective: Objective | HessianOperator,
    k: int = 1,
    *,
    which: str = "largest",
    tol: float | None = None,
    max_iter: int | None = None,
    generator: torch.Generator | None = None,
    at: PointLike | None = None,
    start: Tensor | None = None,
    basis: int | None = None,
    method: str = "auto",
    progress: Callable[[int, float], None] | None = None,
) -> EigenResult:
    r"""The k largest (or most negative, or both) Hessian eigenvalues and their eigenvectors.

    Stops when every requested Ritz pair has :math:`\|Hv - \lambda v\| \le
    \mathrm{tol}\cdot\max(1, |\lambda|)`; if ``max_iter`` products run out first, the
    result says ``converged=False`` and reports the residuals reached.

    Args:
        objective: an Objective (its Hessian at ``at``) or a :class:`HessianOperator`.
        k: how many eigenvalues from each requested end.
        which: ``"largest"``, ``"smallest"`` (the most negative: saddles) or ``"both"``
            (k from each end).
        tol: relative residual tolerance; default :func:`default_tolerance` of the dtype and n
            (1e-6 in float64; in float32 1.2e-4 up to 62 500 parameters, then 4·eps·√n).
        max_iter: the most Hessian-vector products (default ``max(500, 50k)``).
        generator: draws the start vector (default: seeded with 0, so results repeat).
        at: the point (default: a network's θ*, or the known global minimum).
        start: a start vector instead of a random one (e.g. the last eigenvector, when
            tracking λmax during training).
        basis: the most basis vectors held at once (default :func:`default_basis`: ``max(30,
            4·wanted)`` within 1 GiB); memory ``2 · basis · n · itemsize`` (:func:`basis_bytes`).
        method: how products are made (see :func:`losslab.curvature.hvp.hessian_operator`).
        progress: called after every product with (products so far, the largest relative residual
            estimate of the wanted pairs), e.g. to show a progress line.

    >>> from losslab.objectives.objective import formula
    >>> r = top_eigenvalues(formula("x**2 - 3*y**2 + x*y"), 1, which="both", at=[0.0, 0.0])
    >>> [round(v, 10) for v in r.eigenvalues.tolist()], r.converged
    ([2.1231056256, -6.1231056256], True)
    """
    operator = as_operator(objective, at, method)
    wanted_count = _check(k, which, operator.dim)
    tol = default_tolerance(operator.dtype, operator.dim) if tol is None else check_tolerance(tol)
    max_iter = max(500, 50 * k) if max_iter is None else max_iter
    if max_iter < 1:
        raise LosslabError(f"max_iter = {max_iter} must be at least 1 (Hessian-vector products)")
    if max_iter < min(wanted_count, operator.dim):  # m products span m directions: at most m Ritz values
        raise LosslabError(
            f"max_iter = {max_iter} Hessian-vector products find at most {max_iter} eigenvalues; "
            f"{wanted_count} are asked for: give max_iter ≥ {wanted_count}"
        )
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    if basis is not None:
        check_int("basis", basis, least=1)
    wanted_basis = basis if basis is not None else default_basis(operator.dim, wanted_count, operator.dtype)
    capacity = min(operator.dim, max(wanted_basis, wanted_count + 1))
    if start is None:
        start = torch.randn(operator.dim, generator=generator, dtype=torch.float64)
    krylov = KrylovBasis(operator, start, capacity, generator)
    return _iterate(krylov, k, which, wanted_count, tol, max_iter, progress)


def check_tolerance(tol: float) -> float:
    """``tol`` when it is a relative residual a run can meet and mean something by: above 0 and below 1 (at 1 any
    unit vector passes, whatever its Rayleigh quotient).

    >>> check_tolerance(2.0)
    Traceback (most recent call last):
    losslab.errors.LosslabError: tol = 2.0 must be a relative residual above 0 and below 1, e.g. 1e-4
    """
    if not (isinstance(tol, int | float) and not isinstance(tol, bool) and math.isfinite(tol) and 0 < tol < 1):
        raise LosslabError(f"tol = {tol} must be a relative residual above 0 and below 1, e.g. 1e-4")
    return float(tol)


def _iterate(
    krylov: KrylovBasis, k: int, which: str, wanted_count: int, tol: float, max_iter: int,
    progress: Callable[[int, float], None] | None = None,
) -> EigenResult:  # fmt: skip
    first, restarts = krylov.operator.products, 0
    while True:
        krylov.expand()
        values, vectors = krylov.ritz()
        order = _preference(values, which)
        wanted = order[: min(wanted_count, krylov.size)]
        used = krylov.operator.products - first
        done = krylov.size >= wanted_count or krylov.size == krylov.operator.dim
        bound = tol * values[wanted].abs().clamp(min=1.0)
        if progress is not None:
            progress(used, float((krylov.residual_estimates(vectors[:, wanted]) / bound * tol).max()))
        if done and bool((krylov.residual_estimates(vectors[:, wanted]) <= bound).all()) or used >= max_iter:
            y, residuals = krylov.pairs(values[wanted], vectors[:, wanted])
            if bool((residuals <= bound).all()) or used >= max_iter or krylov.size == krylov.operator.dim:
                return _result(
                    values[wanted], y, residuals, used, bool((residuals <= bound).all()), tol, which, restarts
                )
        if krylov.full:
            keep = order[: max(wanted_count + 1, krylov.size // 2)]
            krylov.restart(vectors[:, keep], values[keep])
            restarts += 1


def _preference(values: Tensor, which: str) -> Tensor:
    """Indices of the Ritz values, most wanted first."""
    descending = torch.argsort(values, descending=True)
    if which == "largest":
        return descending
    elif which == "smallest":
        return descending.flip(0)
    elif which == "both":
        return _first_unique(torch.stack([descending, descending.flip(0)], dim=1).reshape(-1), len(values))
    else:
        raise not_one_of("which", which, WHICH)


def _first_unique(indices: Tensor, count: int) -> Tensor:
    seen: dict[int, None] = {}
    for i in indices.tolist():
        seen.setdefault(i, None)
    return torch.tensor(list(seen)[:count], dtype=torch.int64)


def _check(k: int, which: str, dim: int) -> int:
    check_choice("which", which, WHICH)
    if check_int("k", k, least=1) > dim:
        raise LosslabError(f"k must be a whole number from 1 to {dim} (the number of parameters), got {k!r}")
    return min(dim, 2 * k) if which == "both" else k


def _result(
    values: Tensor,
    vectors: Tensor,
    residuals: Tensor,
    used: int,
    converged: bool,
    tol: float,
    which: str,
    restarts: int,
) -> EigenResult:
    order = torch.argsort(values, descending=True)
    vectors = vectors[order]
    signs = torch.sign(vectors.gather(1, vectors.abs().argmax(dim=1, keepdim=True)))
    return EigenResult(values[order], vectors * signs, residuals[order], used, converged, tol, which, restarts)
