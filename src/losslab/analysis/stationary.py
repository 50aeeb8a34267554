r"""Stationary points of a loss — where ∇L = 0 — and their kind from the Hessian eigenvalues.

Exact when ∇L is a polynomial or rational system of modest degree (a lex Groebner basis
with SymPy, roots to 40 digits); otherwise damped Newton on ∇L = 0 from many starts at once.
The small helpers every analysis module shares also live here, next to their first user:
:func:`search_box` (the box to search) and :func:`hessian_eigenvalues` (of sampled Hessians).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy
import torch
from mpmath.libmp import NoConvergence
from torch import Tensor

from losslab.analysis.derivatives import symbolic_gradient
from losslab.errors import LosslabError, check_choice
from losslab.objectives.domain import Domain
from losslab.objectives.objective import Objective
from losslab.serialize import Readable

_MAX_BEZOUT = 64  # exact solving only for polynomial systems of modest degree (Groebner can blow up)


def as_floats(t: Tensor) -> list[float]:
    """A tensor's entries as a flat list of Python floats (non-finite ones kept)."""
    return [float(v) for v in t.reshape(-1).tolist()]


def search_box(objective: Objective, domain: Domain | str | None) -> Domain:
    """The box to analyse: ``domain`` (parsed if text), else ``objective.domain``, else ±5 on every axis."""
    if isinstance(domain, str):
        return Domain.parse(domain, objective.names)
    if domain is not None:
        return domain
    return objective.domain if objective.domain is not None else Domain.box(objective.names, -5.0, 5.0)


def hessian_eigenvalues(hessians: Tensor) -> Tensor:
    """Eigenvalues (ascending) of each Hessian in a stack, symmetrized first: :math:`\\tfrac12(H + H^T)`."""
    return torch.linalg.eigvalsh(0.5 * (hessians + hessians.transpose(-1, -2)))


def classify(eigenvalues: Tensor | list[float], tol: float | None = None) -> str:
    """The kind of a stationary point from its Hessian eigenvalues.

    Args:
        eigenvalues: Hessian eigenvalues there.
        tol: what counts as zero; default :math:`10^{-10}\\max(1, \\max|\\lambda|)`.

    >>> classify([2.0, 5.0]), classify([-1.0, 3.0]), classify([-2.0, -1.0]), classify([0.0, 1.0])
    ('minimum', 'saddle', 'maximum', 'degenerate')
    """
    lam = torch.as_tensor(eigenvalues, dtype=torch.float64).reshape(-1)
    if lam.numel() == 0 or not torch.isfinite(lam).all():
        raise LosslabError(f"eigenvalues {lam.tolist()} must be a nonempty list of finite numbers")
    tol = 1e-10 * max(1.0, float(lam.abs().max())) if tol is None else tol
    if bool((lam > tol).any()) and bool((lam < -tol).any()):
        return "saddle"
    if bool((lam.abs() <= tol).any()):
        return "degenerate"
    return "minimum" if bool((lam > 0).all()) else "maximum"


@dataclass
class StationaryPoint(Readable):
    """A point where ∇L = 0, with L there, its kind and the Hessian eigenvalues.

    ``method`` is ``exact`` (algebraic elimination with SymPy, roots to 40 digits) or
    ``numeric`` (multi-start Newton on ∇L = 0).
    """

    point: Tensor
    value: float
    kind: str
    hessian_eigenvalues: Tensor
    method: str

    def to_dict(self, names: tuple[str, ...] | None = None) -> dict[str, object]:
        coords = as_floats(self.point)
        keys = names if names is not None else tuple(f"θ{i}" for i in range(len(coords)))
        return {
            "point": dict(zip(keys, coords, strict=True)),
            "value": self.value,
            "kind": self.kind,
            "hessian_eigenvalues": as_floats(self.hessian_eigenvalues),
            "method": self.method,
        }

    def __str__(self) -> str:
        at = ", ".join(f"{v:.10g}" for v in as_floats(self.point))
        lam = ", ".join(f"{v:.6g}" for v in as_floats(self.hessian_eigenvalues))
        return f"({at})  L = {self.value:.10g}  {self.kind}  λ = [{lam}]  ({self.method})"


def _real_solutions(polys: list[sympy.Expr], symbols: tuple[sympy.Symbol, ...]) -> list[list[float]] | None:
    """Real solutions of a zero-dimensional polynomial system by a lex Groebner basis and
    back-substitution of high-precision roots; None for a positive-dimensional family."""
    basis = sympy.groebner(polys, *symbols, order="lex")
    if list(basis.exprs) == [sympy.Integer(1)]:
        return []
    if not basis.is_zero_dimensional:
        return None
    partial: list[dict[sympy.Symbol, sympy.Expr]] = [{}]
    for k in range(len(symbols) - 1, -1, -1):
        s, tail = symbols[k], set(symbols[k:])
        triangle = [g for g in basis.exprs if g.free_symbols <= tail and s in g.free_symbols]
        partial = [{**known, s: root} for known in partial for root in _common_real_roots(triangle, known, s)]
    return [[float(sol[s]) for s in symbols] for sol in partial]


def _substituted(g: sympy.Expr, known: dict[sympy.Symbol, sympy.Expr], s: sympy.Symbol) -> sympy.Poly:
    """``g`` with the later variables substituted, as a polynomial in ``s``, with coefficients
    that are rounding noise (below 1e-25 of the terms' size before cancellation) set to 0 —
    so a polynomial that vanishes at ``known`` becomes zero instead of a spurious equation."""
    poly = sympy.Poly(g, s, *known)
    size = sum(
        abs(float(c)) * math.prod(abs(float(known[v])) ** e for v, e in zip(known, m[1:], strict=True))
        for m, c in poly.terms()
    )
    reduced = sympy.Poly(g.xreplace(known), s)
    kept = [c if abs(complex(c)) > 1e-25 * size else 0 for c in reduced.all_coeffs()]
    return sympy.Poly(kept, s)


def _common_real_roots(
    triangle: list[sympy.Expr], known: dict[sympy.Symbol, sympy.Expr], s: sympy.Symbol
) -> list[sympy.Expr]:
    """Real roots shared by every basis polynomial once the later variables are substituted.

    Roots are taken from *each* polynomial, not only the lowest-degree one: when the basis
    is not in shape position, one value of the later variables can carry several values of
    ``s`` (Goldstein–Price has two stationary points with y = 0.2), and the lowest-degree
    polynomial can degenerate there.
    """
    here = [_substituted(g, known, s) for g in triangle]
    here = [p for p in here if not p.is_zero]
    scale = [1 + max(abs(complex(c)) for c in p.all_coeffs()) for p in here]
    found: list[sympy.Expr] = []
    for poly in (p for p in here if p.degree() >= 1):
        for root in poly.nroots(n=40, maxsteps=200):
            re, im = (float(v) for v in root.as_real_imag())
            if abs(im) > 1e-12 * (1 + abs(re)) or any(abs(float(sympy.re(root)) - float(f)) < 1e-10 for f in found):
                continue
            # loose on purpose: the final |∇L| check in stationary_points is the arbiter
            if all(abs(complex(p.eval(sympy.re(root)))) <= 1e-8 * m for p, m in zip(here, scale, strict=True)):
                found.append(sympy.re(root))
    return found


def _exact_candidates(objective: Objective) -> Tensor | None:
    """Stationary points by SymPy when ∇L is polynomial/rational of modest degree, else None."""
    gradient = symbolic_gradient(objective)
    if gradient is None or objective.dim > 3:
        return None
    fractions = [sympy.together(g).as_numer_denom() for g in gradient]
    numerators = [n for n, _ in fractions if n != 0]
    if not numerators or not all(e.is_polynomial(*objective.symbols) for pair in fractions for e in pair):
        return None
    bezout = math.prod(max(sympy.Poly(n, *objective.symbols).total_degree(), 1) for n in numerators)
    if bezout > _MAX_BEZOUT:
        return None
    try:
        solutions = _real_solutions(numerators, objective.symbols)
    except (NotImplementedError, sympy.PolynomialError, NoConvergence):
        return None
    if solutions is None:
        return None
    points = torch.tensor(solutions, dtype=torch.float64).reshape(-1, objective.dim)
    denominators = [sympy.lambdify(objective.symbols, d, modules="math") for _, d in fractions]
    keep = [all(abs(d(*p)) > 1e-12 for d in denominators) for p in points.tolist()]
    return points[torch.tensor(keep, dtype=torch.bool)] if points.numel() else points


def _starts(box: Domain, starts: int, generator: torch.Generator | None) -> Tensor:
    """A grid plus scrambled Sobol points over the box (unscrambled without a generator)."""
    per_axis = max(2, int((starts / 2) ** (1 / len(box.names))))
    seed = None if generator is None else int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    sobol = torch.quasirandom.SobolEngine(len(box.names), scramble=generator is not None, seed=seed)
    unit = sobol.draw(max(starts - per_axis ** len(box.names), 1), dtype=torch.float64)
    return torch.cat([box.grid(per_axis), box.lower + unit * (box.upper - box.lower)])


def _newton(objective: Objective, thetas: Tensor, iterations: int) -> Tensor:
    """Damped Newton on ∇L = 0 for all rows at once: pinv for singular Hessians, and per row the
    step fraction 2^-k (k = 0..7) that most reduces |∇L|."""
    fractions = 2.0 ** -torch.arange(8, dtype=torch.float64)
    rows = torch.arange(thetas.shape[0])
    for _ in range(iterations if thetas.shape[0] else 0):
        step = (torch.linalg.pinv(objective.hessians(thetas)) @ objective.grads(thetas)[..., None])[..., 0]
        step = torch.nan_to_num(step, nan=0.0, posinf=0.0, neginf=0.0)
        trial = thetas[None] - fractions[:, None, None] * step[None]
        norms = torch.linalg.vector_norm(objective.grads(trial.reshape(-1, objective.dim)), dim=-1)
        norms = torch.nan_to_num(norms.reshape(len(fractions), -1), nan=math.inf)
        thetas = trial[norms.argmin(0), rows]
    return thetas


def _is_stationary(objective: Objective, points: Tensor) -> Tensor:
    """|∇L| < 1e-8, scaled by the curvature so rounding in θ cannot fail a true root."""
    if points.shape[0] == 0:
        return torch.zeros(0, dtype=torch.bool)
    g = torch.linalg.vector_norm(objective.grads(points), dim=-1)
    h = torch.linalg.matrix_norm(objective.hessians(points), ord=2)
    scale = torch.clamp(h * torch.linalg.vector_norm(points, dim=-1).clamp(min=1.0), min=1.0)
    return torch.isfinite(g) & (g < 1e-8 * torch.nan_to_num(scale, nan=1.0))


def _distinct(points: Tensor) -> Tensor:
    keep: list[int] = []
    for i, p in enumerate(points):
        tol = 1e-6 * (1 + float(p.abs().max()))
        if all(float((p - points[j]).abs().max()) > tol for j in keep):
            keep.append(i)
    return points[keep]


def stationary_points(
    objective: Objective,
    domain: Domain | str | None = None,
    *,
    starts: int = 400,
    generator: torch.Generator | None = None,
    method: str = "auto",
) -> list[StationaryPoint]:
    """All stationary points (∇L = 0) in the domain, sorted by L, each with its kind.

    Exact (SymPy, Groebner basis) when ∇L is a polynomial or rational system of modest
    degree; otherwise damped Newton on ∇L = 0 from ``starts`` points (grid + Sobol) at once,
    keeping roots with |∇L| < 1e-8 inside the domain (default ``objective.domain``, else ±5).
    ``method`` forces one path: ``"exact"`` (error when SymPy cannot solve) or ``"numeric"``.

    >>> from losslab.objectives.objective import formula
    >>> [str(p) for p in stationary_points(formula("0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)"))]
    ['(2, 0)  L = 0  minimum  λ = [0.145898, 6.8541]  (exact)']
    """
    if starts < 1:
        raise LosslabError(f"starts = {starts}; give a positive number of starting points")
    check_choice("method", method, ("auto", "exact", "numeric"))
    box = search_box(objective, domain)
    exact = None if method == "numeric" else _exact_candidates(objective)
    if method == "exact" and exact is None:
        raise LosslabError("SymPy cannot solve ∇L = 0 for this objective exactly; use method='numeric'")
    if exact is not None:
        inside = exact if domain is None and objective.domain is None else exact[box.contains(exact)]
        candidates, method = inside, "exact"
    else:
        found = _newton(objective, _starts(box, starts, generator), iterations=60)
        found = found[_is_stationary(objective, found) & box.contains(found)]
        candidates, method = _newton(objective, _distinct(found), iterations=3), "numeric"
    return _describe(objective, _distinct(candidates[_is_stationary(objective, candidates)]), method)


def _describe(objective: Objective, points: Tensor, method: str) -> list[StationaryPoint]:
    if points.shape[0] == 0:
        return []
    values, eigs = objective.values(points), hessian_eigenvalues(objective.hessians(points))
    found = [StationaryPoint(p, float(v), classify(e), e, method) for p, v, e in zip(points, values, eigs, strict=True)]
    return sorted(found, key=lambda s: (s.value, as_floats(s.point)))
