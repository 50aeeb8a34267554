r"""Analysis of a loss: stationary points and their kind, convexity, conditioning and the
largest stable learning rate of gradient descent.

This module is longer than the house limit of ~400 lines because its parts share the
same small helpers (the box to search, eigenvalues of sampled Hessians, the reference
minimum) and belong together as the "analyze" layer; the bundle :class:`Analysis` at the
end is what the CLI and web print.

Gradient descent near a minimum θ* with Hessian eigenvalues :math:`\lambda_i` multiplies
the error along each eigenvector by :math:`1 - \eta\lambda_i` per step, so it converges
iff :math:`0 < \eta < 2/\lambda_{\max}` — exactly for quadratics, locally otherwise.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import sympy
import torch
from mpmath.libmp import NoConvergence
from torch import Tensor

from losslab.derivatives import (
    ClairautReport,
    GradientReport,
    TaylorReport,
    as_direction,
    clairaut,
    directional_derivative,
    gradient_report,
    symbolic_gradient,
    symbolic_hessian,
    taylor,
)
from losslab.domain import Domain, PointLike
from losslab.errors import LosslabError
from losslab.objective import Objective

BEHAVIOURS = (
    "converges monotonically",
    "oscillates but converges",
    "oscillates forever",
    "diverges",
    "stalls",
)
VERDICTS = ("convex", "concave", "not convex", "no counterexample found")
_MAX_BEZOUT = 64  # exact solving only for polynomial systems of modest degree (Groebner can blow up)


def _floats(t: Tensor) -> list[float]:
    return [float(v) for v in t.reshape(-1).tolist()]


def _box(obj: Objective, domain: Domain | str | None) -> Domain:
    if isinstance(domain, str):
        return Domain.parse(domain, obj.names)
    if domain is not None:
        return domain
    return obj.domain if obj.domain is not None else Domain.box(obj.names, -5.0, 5.0)


def _eigenvalues(hessians: Tensor) -> Tensor:
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
class StationaryPoint:
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
        coords = _floats(self.point)
        keys = names if names is not None else tuple(f"θ{i}" for i in range(len(coords)))
        return {
            "point": dict(zip(keys, coords, strict=True)),
            "value": self.value,
            "kind": self.kind,
            "hessian_eigenvalues": _floats(self.hessian_eigenvalues),
            "method": self.method,
        }

    def __str__(self) -> str:
        at = ", ".join(f"{v:.10g}" for v in _floats(self.point))
        lam = ", ".join(f"{v:.6g}" for v in _floats(self.hessian_eigenvalues))
        return f"({at})  L = {self.value:.10g}  {self.kind}  λ = [{lam}]  ({self.method})"


# -- stationary points -----------------------------------------------------------------------
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
        extended = []
        for known in partial:
            here = [sympy.Poly(g.xreplace(known), s) for g in triangle]
            here = [p for p in here if max(abs(complex(c)) for c in p.all_coeffs()) > 1e-25]
            lowest = min(here, key=lambda p: p.degree())
            for root in lowest.nroots(n=40, maxsteps=200):
                re, im = (float(v) for v in root.as_real_imag())
                scale = [1 + max(abs(complex(c)) for c in p.all_coeffs()) for p in here]
                if abs(im) <= 1e-12 * (1 + abs(re)) and all(
                    abs(complex(p.eval(sympy.re(root)))) <= 1e-15 * m for p, m in zip(here, scale, strict=True)
                ):
                    extended.append({**known, s: sympy.re(root)})
        partial = extended
    return [[float(sol[s]) for s in symbols] for sol in partial]


def _exact_candidates(obj: Objective) -> Tensor | None:
    """Stationary points by SymPy when ∇L is polynomial/rational of modest degree, else None."""
    gradient = symbolic_gradient(obj)
    if gradient is None or obj.dim > 3:
        return None
    fractions = [sympy.together(g).as_numer_denom() for g in gradient]
    numerators = [n for n, _ in fractions if n != 0]
    if not numerators or not all(e.is_polynomial(*obj.symbols) for pair in fractions for e in pair):
        return None
    bezout = math.prod(max(sympy.Poly(n, *obj.symbols).total_degree(), 1) for n in numerators)
    if bezout > _MAX_BEZOUT:
        return None
    try:
        solutions = _real_solutions(numerators, obj.symbols)
    except (NotImplementedError, sympy.PolynomialError, NoConvergence):
        return None
    if solutions is None:
        return None
    points = torch.tensor(solutions, dtype=torch.float64).reshape(-1, obj.dim)
    denominators = [sympy.lambdify(obj.symbols, d, modules="math") for _, d in fractions]
    keep = [all(abs(d(*p)) > 1e-12 for d in denominators) for p in points.tolist()]
    return points[torch.tensor(keep, dtype=torch.bool)] if points.numel() else points


def _starts(box: Domain, starts: int, generator: torch.Generator | None) -> Tensor:
    """A grid plus scrambled Sobol points over the box (unscrambled without a generator)."""
    per_axis = max(2, int((starts / 2) ** (1 / len(box.names))))
    seed = None if generator is None else int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    sobol = torch.quasirandom.SobolEngine(len(box.names), scramble=generator is not None, seed=seed)
    unit = sobol.draw(max(starts - per_axis ** len(box.names), 1), dtype=torch.float64)
    return torch.cat([box.grid(per_axis), box.lower + unit * (box.upper - box.lower)])


def _newton(obj: Objective, thetas: Tensor, iterations: int) -> Tensor:
    """Damped Newton on ∇L = 0 for all rows at once: pinv for singular Hessians, and per row the
    step fraction 2^-k (k = 0..7) that most reduces |∇L|."""
    fractions = 2.0 ** -torch.arange(8, dtype=torch.float64)
    rows = torch.arange(thetas.shape[0])
    for _ in range(iterations if thetas.shape[0] else 0):
        step = (torch.linalg.pinv(obj.hessians(thetas)) @ obj.grads(thetas)[..., None])[..., 0]
        step = torch.nan_to_num(step, nan=0.0, posinf=0.0, neginf=0.0)
        trial = thetas[None] - fractions[:, None, None] * step[None]
        norms = torch.linalg.vector_norm(obj.grads(trial.reshape(-1, obj.dim)), dim=-1)
        norms = torch.nan_to_num(norms.reshape(len(fractions), -1), nan=math.inf)
        thetas = trial[norms.argmin(0), rows]
    return thetas


def _is_stationary(obj: Objective, points: Tensor) -> Tensor:
    """|∇L| < 1e-8, scaled by the curvature so rounding in θ cannot fail a true root."""
    if points.shape[0] == 0:
        return torch.zeros(0, dtype=torch.bool)
    g = torch.linalg.vector_norm(obj.grads(points), dim=-1)
    h = torch.linalg.matrix_norm(obj.hessians(points), ord=2)
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
    obj: Objective,
    domain: Domain | str | None = None,
    *,
    starts: int = 400,
    generator: torch.Generator | None = None,
) -> list[StationaryPoint]:
    """All stationary points (∇L = 0) in the domain, sorted by L, each with its kind.

    Exact (SymPy, Groebner basis) when ∇L is a polynomial or rational system of modest
    degree; otherwise damped Newton on ∇L = 0 from ``starts`` points (grid + Sobol) at once,
    keeping roots with |∇L| < 1e-8 inside the domain (default ``obj.domain``, else ±5).

    >>> from losslab.objective import formula
    >>> [str(p) for p in stationary_points(formula("0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)"))]
    ['(2, 0)  L = 0  minimum  λ = [0.145898, 6.8541]  (exact)']
    """
    if starts < 1:
        raise LosslabError(f"starts = {starts}; give a positive number of starting points")
    box = _box(obj, domain)
    exact = _exact_candidates(obj)
    if exact is not None:
        inside = exact if domain is None and obj.domain is None else exact[box.contains(exact)]
        candidates, method = inside, "exact"
    else:
        found = _newton(obj, _starts(box, starts, generator), iterations=60)
        found = found[_is_stationary(obj, found) & box.contains(found)]
        candidates, method = _newton(obj, _distinct(found), iterations=3), "numeric"
    return _describe(obj, _distinct(candidates[_is_stationary(obj, candidates)]), method)


def _describe(obj: Objective, points: Tensor, method: str) -> list[StationaryPoint]:
    if points.shape[0] == 0:
        return []
    values, eigs = obj.values(points), _eigenvalues(obj.hessians(points))
    found = [StationaryPoint(p, float(v), classify(e), e, method) for p, v, e in zip(points, values, eigs, strict=True)]
    return sorted(found, key=lambda s: (s.value, _floats(s.point)))


# -- convexity -------------------------------------------------------------------------------
@dataclass
class ConvexityReport:
    """Whether L is convex on a box, and how sure we are.

    ``verdict`` is one of ``convex``, ``concave``, ``not convex``, ``no counterexample found``;
    ``proved`` says whether it is a proof (SymPy, or a checked counterexample) or only evidence.
    """

    verdict: str
    proved: bool
    reason: str
    counterexample: tuple[Tensor, float] | None = None
    sampling: str = ""

    def to_dict(self) -> dict[str, object]:
        example = None
        if self.counterexample is not None:
            example = {
                "point": _floats(self.counterexample[0]),
                "lambda_min": self.counterexample[1],
            }
        return {
            "verdict": self.verdict,
            "proved": self.proved,
            "reason": self.reason,
            "counterexample": example,
            "sampling": self.sampling,
        }

    def __str__(self) -> str:
        return f"{self.verdict} ({'proved' if self.proved else 'not proved'}): {self.reason}"


def _on_box(obj: Objective, box: Domain) -> dict[sympy.Symbol, sympy.Expr]:
    """Substitutions θ = lo + t (t ≥ 0) or hi − t so SymPy's assumptions know the box's sign."""
    subs: dict[sympy.Symbol, sympy.Expr] = {}
    for s, (lo, hi) in zip(obj.symbols, box.bounds, strict=True):
        t = sympy.Symbol(f"{s.name}_t", nonnegative=True)
        if lo >= 0:
            subs[s] = sympy.Rational(repr(lo)) + t
        elif hi <= 0:
            subs[s] = sympy.Rational(repr(hi)) - t
    return subs


def _psd_everywhere(h: sympy.Matrix) -> bool:
    """All principal minors nonnegative (for real symbols) ⇔ positive semi-definite."""
    n = h.shape[0]
    subsets = (c for k in range(1, n + 1) for c in itertools.combinations(range(n), k))
    return all(sympy.simplify(h.extract(list(c), list(c)).det()).is_nonnegative is True for c in subsets)


def _prove(obj: Objective, box: Domain) -> ConvexityReport | None:
    h = symbolic_hessian(obj)
    if h is None or obj.dim > 3:
        return None
    if not h.free_symbols:
        lam = ", ".join(f"{float(v):.6g}" for v in sympy.Matrix(h).eigenvals(multiple=True))
        what = f"the Hessian is constant {h.tolist()} with eigenvalues {lam}"
        if h.is_positive_semidefinite:
            return ConvexityReport("convex", True, f"{what}, all ≥ 0")
        if h.is_negative_semidefinite:
            return ConvexityReport("concave", True, f"{what}, all ≤ 0")
        return None  # indefinite: the sampled counterexample says where
    subs = _on_box(obj, box)
    shifted = h.xreplace(subs)
    finite = obj.expr is not None and obj.expr.xreplace(subs).is_finite is True
    if not finite or not all(e.is_finite is True for e in shifted):
        return None
    if _psd_everywhere(shifted):
        return ConvexityReport(
            "convex",
            True,
            f"SymPy shows every principal minor of the Hessian {h.tolist()} is ≥ 0 on the domain",
        )
    if _psd_everywhere(-shifted):
        return ConvexityReport(
            "concave",
            True,
            f"SymPy shows every principal minor of −H, H = {h.tolist()}, is ≥ 0 on the domain",
        )
    return None


def _sample_points(box: Domain, samples: int, generator: torch.Generator | None) -> tuple[Tensor, str]:
    n = len(box.names)
    k = max(2, int((samples / 2) ** (1 / n)))
    m = max(samples - k**n, 0)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    random = box.lower + torch.rand(m, n, generator=gen, dtype=torch.float64) * (box.upper - box.lower)
    return torch.cat([box.grid(k), random]), f"grid {'×'.join([str(k)] * n)} + {m} random"


def _midpoint_violation(obj: Objective, point: Tensor, box: Domain) -> bool:
    """Check a counterexample against the definition, L(c) > ½[L(c + s·v) + L(c − s·v)] with v
    the Hessian's lowest eigenvector, at a centre c nudged inside the box if need be."""
    for t in (1e-2, 1e-3, 1e-4):
        s = t * float((box.upper - box.lower).min())
        centre = torch.clamp(point, box.lower + s, box.upper - s)
        v = torch.linalg.eigh(obj.hessian(centre)).eigenvectors[:, 0]
        values = obj.values(torch.stack([centre, centre + s * v, centre - s * v]))
        if bool(values[0] - values[1:].mean() > 1e-12 * (1 + values[0].abs())):
            return True
    return False


def _sample(obj: Objective, box: Domain, samples: int, generator: torch.Generator | None) -> ConvexityReport:
    points, how = _sample_points(box, samples, generator)
    lam = _eigenvalues(obj.hessians(points))
    finite = torch.isfinite(lam).all(dim=-1)
    sampling = f"{int(finite.sum())} points: {how}" + (
        f" ({int((~finite).sum())} skipped: Hessian not finite)" if not finite.all() else ""
    )
    if not finite.any():
        return ConvexityReport(
            "no counterexample found",
            False,
            "the Hessian is not finite at any sample",
            None,
            sampling,
        )
    lam, points = lam[finite], points[finite]
    tol = 1e-8 * max(1.0, float(lam.abs().max()))
    worst = int(lam[:, 0].argmin())
    if float(lam[worst, 0]) < -tol:
        example = (points[worst], float(lam[worst, 0]))
        proved = _midpoint_violation(obj, points[worst], box)
        at = ", ".join(f"{n}={v:.6g}" for n, v in zip(obj.names, _floats(points[worst]), strict=True))
        shape = " (every sampled Hessian is ≤ 0: it looks concave, not proved)" if float(lam.max()) <= tol else ""
        reason = (
            f"the Hessian has eigenvalue {example[1]:.6g} < 0 at {at}"
            + ("; the midpoint inequality fails there" if proved else "")
            + shape
        )
        return ConvexityReport("not convex", proved, reason, example, sampling)
    return ConvexityReport(
        "no counterexample found",
        False,
        f"no counterexample found on the domain ({sampling})",
        None,
        sampling,
    )


def convexity(
    obj: Objective,
    domain: Domain | str | None = None,
    *,
    samples: int = 2000,
    generator: torch.Generator | None = None,
) -> ConvexityReport:
    """Decide convexity on a box: prove it with SymPy where possible, else look for a
    counterexample (a negative Hessian eigenvalue) on a grid plus random points. A sampled
    search never answers "convex" — at best "no counterexample found".

    >>> from losslab.objective import formula
    >>> convexity(formula("exp(x)")).verdict, convexity(formula("log(x)", domain="0.1:10")).verdict
    ('convex', 'concave')
    >>> r = convexity(formula("x**3"))
    >>> r.verdict, r.proved, r.counterexample[1] < 0
    ('not convex', True, True)
    """
    if samples < 2:
        raise LosslabError(f"samples = {samples}; give at least 2 sample points")
    box = _box(obj, domain)
    proof = _prove(obj, box)
    return proof if proof is not None else _sample(obj, box, samples, generator)


@dataclass
class ChordCheck:
    """The chord picture of convexity: C = αA + (1−α)B on the chord versus D on the curve."""

    x: Tensor
    chord_value: float
    curve_value: float
    position: str

    def to_dict(self) -> dict[str, object]:
        return {
            "x": _floats(self.x),
            "chord_value": self.chord_value,
            "curve_value": self.curve_value,
            "position": self.position,
        }

    def __str__(self) -> str:
        return f"C = {self.chord_value:.6g} (chord), D = {self.curve_value:.6g} (curve): {self.position}"


def chord_check(obj: Objective, a: PointLike, b: PointLike, alpha: float) -> ChordCheck:
    """Compare :math:`\\alpha L(a) + (1-\\alpha) L(b)` with :math:`L(\\alpha a + (1-\\alpha) b)`.

    >>> from losslab.objective import formula
    >>> str(chord_check(formula("x**2"), [-3.0], [5.0], 0.3))
    'C = 20.2 (chord), D = 6.76 (curve): chord above curve'
    """
    if not 0 <= alpha <= 1:
        raise LosslabError(f"alpha = {alpha}; the chord weight must lie in [0, 1]")
    pa, pb = obj.point(a), obj.point(b)
    x = alpha * pa + (1 - alpha) * pb
    chord = float(alpha * obj.value(pa) + (1 - alpha) * obj.value(pb))
    curve = float(obj.value(x))
    position = "chord above curve" if chord > curve else "chord below curve" if chord < curve else "chord on curve"
    return ChordCheck(x, chord, curve, position)


# -- conditioning and the stable learning rate -----------------------------------------------
def _is_quadratic(obj: Objective) -> bool:
    h = symbolic_hessian(obj)
    return h is not None and not h.free_symbols


def reference_minimum(obj: Objective) -> Tensor:
    """The minimum to linearize at: the known global one, else the lowest stationary minimum."""
    known = [k for k in obj.known_points if k.kind == "minimum"]
    if known:
        best = next((k for k in known if k.is_global), min(known, key=lambda k: k.value))
        return obj.point(list(best.point))
    minima = [p for p in stationary_points(obj) if p.kind == "minimum"]
    if not minima:
        raise LosslabError(f"no minimum of '{obj.title}' was found; pass the point to use with at=")
    return minima[0].point


def _hessian_eigenvalues(obj: Objective, at: PointLike | None) -> tuple[Tensor, Tensor]:
    point = reference_minimum(obj) if at is None else obj.point(at)
    return point, _eigenvalues(obj.hessian(point))


def condition_number(obj: Objective, at: PointLike | None = None) -> float:
    """:math:`\\kappa = |\\lambda|_{\\max} / |\\lambda|_{\\min}` of the Hessian (∞ when singular).

    >>> from losslab.objective import formula
    >>> round(condition_number(formula("x**2 + 10*y**2"), [0.0, 0.0]), 12)
    10.0
    """
    lam = _hessian_eigenvalues(obj, at)[1].abs()
    return math.inf if float(lam.min()) == 0 else float(lam.max() / lam.min())


def max_stable_lr(obj: Objective, at: PointLike | None = None) -> float | None:
    """The largest learning rate for which gradient descent converges near the minimum,
    :math:`2/\\lambda_{\\max}` (exact for quadratics); None when no eigenvalue is positive.

    >>> from losslab.objective import formula
    >>> max_stable_lr(formula("(w - 3)**2"))
    1.0
    """
    lam_max = float(_hessian_eigenvalues(obj, at)[1].max())
    return 2 / lam_max if lam_max > 0 else None


@dataclass
class LrPrediction:
    """What gradient descent with learning rate ``lr`` does near a point, and why.

    ``factors`` are :math:`1 - \\eta\\lambda_i`, the per-step multipliers of the error along
    each Hessian eigenvector; ``exact`` is True for quadratics.
    """

    lr: float
    behaviour: str
    reason: str
    eigenvalues: Tensor
    factors: Tensor
    max_stable_lr: float | None
    exact: bool
    point: Tensor

    def to_dict(self) -> dict[str, object]:
        return {
            "lr": self.lr,
            "behaviour": self.behaviour,
            "reason": self.reason,
            "eigenvalues": _floats(self.eigenvalues),
            "factors": _floats(self.factors),
            "max_stable_lr": self.max_stable_lr,
            "exact": self.exact,
            "point": _floats(self.point),
        }

    def __str__(self) -> str:
        return f"lr {self.lr:g}: {self.behaviour} — {self.reason}"


def _behaviour(lr: float, lam: Tensor, factors: Tensor, limit: str) -> tuple[str, str]:
    big = float(factors.abs().max())
    if big > 1 + 1e-12:
        if float(lam.min()) < 0:
            return (
                "diverges",
                f"the Hessian has eigenvalue {float(lam.min()):.6g} < 0: "
                f"the point is not a minimum, and descent moves away from it",
            )
        return (
            "diverges",
            f"lr {lr:g} is above {limit}: the factor 1 − lr·λ = {float(factors.min()):.6g} has size > 1, "
            f"so the error grows ×{big:.6g} per step",
        )
    if float(factors.min()) <= -1 + 1e-12:
        return (
            "oscillates forever",
            f"lr {lr:g} equals {limit}: the factor 1 − lr·λmax = −1 flips the error's sign at the same size every step",
        )
    if float(factors.max()) >= 1 - 1e-6:
        return (
            "stalls",
            f"the factor 1 − lr·λmin = {float(factors.max()):.8g} is about 1: "
            f"far below {limit}, progress along the flattest direction is negligible",
        )
    if float(factors.min()) < 0:
        return (
            "oscillates but converges",
            f"lr {lr:g} is between 1/λmax and {limit}: the factor 1 − lr·λmax = {float(factors.min()):.6g} "
            f"lies in (−1, 0), so the error flips sign while shrinking",
        )
    return (
        "converges monotonically",
        f"lr {lr:g} is at most 1/λmax (below {limit}): every factor 1 − lr·λ lies in [0, "
        f"1), so the error shrinks without changing sign (×{big:.6g} per step)",
    )


def predict_gd(obj: Objective, lr: float, at: PointLike | None = None) -> LrPrediction:
    """Predict plain gradient descent's behaviour from the factors :math:`1 - \\eta\\lambda_i`.

    >>> from losslab.objective import formula
    >>> [predict_gd(formula("(w - 3)**2"), lr).behaviour for lr in (0.1, 0.75, 1.0, 2.0)]
    ['converges monotonically', 'oscillates but converges', 'oscillates forever', 'diverges']
    """
    if not (math.isfinite(lr) and lr > 0):
        raise LosslabError(f"learning rate {lr} must be a positive finite number")
    point, lam = _hessian_eigenvalues(obj, at)
    factors = 1 - lr * lam
    lam_max = float(lam.max())
    stable = 2 / lam_max if lam_max > 0 else None
    limit = f"2/λmax = {stable:.6g}" if stable is not None else "any stable rate (no positive curvature)"
    behaviour, reason = _behaviour(lr, lam, factors, limit)
    exact = _is_quadratic(obj)
    reason += " (exact: the loss is quadratic)" if exact else " (locally, near the minimum)"
    return LrPrediction(lr, behaviour, reason, lam, factors, stable, exact, point)


# -- everything at once ----------------------------------------------------------------------
@dataclass
class Analysis:
    """The whole analysis of one objective; ``to_dict()`` is what ``losslab analyze --json`` prints."""

    names: tuple[str, ...]
    title: str
    gradient: tuple[str, ...] | None
    hessian: list[list[str]] | None
    stationary_points: list[StationaryPoint]
    global_minimum: StationaryPoint | None
    convexity: ConvexityReport
    condition_number: float | None
    max_stable_lr: float | None
    notes: list[str] = field(default_factory=list)
    gradient_report: GradientReport | None = None
    at_hessian: Tensor | None = None
    clairaut: ClairautReport | None = None
    taylor: TaylorReport | None = None
    directional: tuple[Tensor, float] | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "variables": list(self.names),
            "gradient": None if self.gradient is None else dict(zip(self.names, self.gradient, strict=True)),
            "hessian": self.hessian,
            "stationary_points": [p.to_dict(self.names) for p in self.stationary_points],
            "global_minimum": None if self.global_minimum is None else self.global_minimum.to_dict(self.names),
            "convexity": self.convexity.to_dict(),
            "condition_number": self.condition_number,
            "max_stable_lr": self.max_stable_lr,
            "notes": list(self.notes),
            "gradient_report": None if self.gradient_report is None else self.gradient_report.to_dict(),
            "at_hessian": None if self.at_hessian is None else [_floats(r) for r in self.at_hessian],
            "clairaut": None if self.clairaut is None else self.clairaut.to_dict(),
            "taylor": None if self.taylor is None else self.taylor.to_dict(),
            "directional_derivative": None
            if self.directional is None
            else {"direction": _floats(self.directional[0]), "value": self.directional[1]},
        }

    def __str__(self) -> str:
        out = [f"Analysis of {self.title}  (variables: {', '.join(self.names)})"]
        if self.gradient is not None and self.hessian is not None:
            out += ["", "Gradient"] + [f"  ∂L/∂{n} = {g}" for n, g in zip(self.names, self.gradient, strict=True)]
            out += ["Hessian"] + ["  [" + ", ".join(row) + "]" for row in self.hessian]
        out += ["", f"Stationary points ({len(self.stationary_points)})"]
        out += [f"  {p}" for p in self.stationary_points[:20]]
        if len(self.stationary_points) > 20:
            out.append(f"  … and {len(self.stationary_points) - 20} more")
        if self.global_minimum is not None:
            out.append(f"Lowest stationary minimum: {self.global_minimum}")
        out += ["", f"Convexity: {self.convexity}"]
        kappa = "—" if self.condition_number is None else f"{self.condition_number:.6g}"
        lr = "—" if self.max_stable_lr is None else f"{self.max_stable_lr:.6g}"
        out += [
            f"Condition number at the minimum: {kappa}",
            f"Largest stable learning rate 2/λmax: {lr}",
        ]
        out += [f"Note: {n}" for n in self.notes]
        if self.clairaut is not None:
            out += ["", "Mixed partials (Clairaut)", str(self.clairaut)]
        if self.gradient_report is not None:
            out += ["", str(self.gradient_report)]
        if self.at_hessian is not None:
            out += ["Hessian there"] + [
                "  [" + ", ".join(f"{v:.10g}" for v in row) + "]" for row in self.at_hessian.tolist()
            ]
        if self.directional is not None:
            unit = ", ".join(f"{v:.6g}" for v in self.directional[0].tolist())
            out.append(f"Directional derivative along û = ({unit}): {self.directional[1]:.10g}")
        if self.taylor is not None:
            out += ["", "Taylor approximation over the displacement δ", str(self.taylor)]
        return "\n".join(out)


def analyze(
    obj: Objective,
    domain: Domain | str | None = None,
    at: PointLike | None = None,
    *,
    displacement: PointLike | None = None,
    direction: PointLike | None = None,
    generator: torch.Generator | None = None,
) -> Analysis:
    """Derivatives, stationary points, convexity, conditioning and stability in one bundle.

    >>> from losslab.objective import formula
    >>> a = analyze(formula("0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)"), at="w0=0,w1=0")
    >>> a.to_dict()["gradient"], a.convexity.verdict, round(a.max_stable_lr, 6)
    ({'w0': '2*w0 + 3*w1 - 4', 'w1': '3*w0 + 5*w1 - 6'}, 'convex', 0.291796)
    """
    box = _box(obj, domain)
    gradient, hessian = symbolic_gradient(obj), symbolic_hessian(obj)
    points = stationary_points(obj, box if domain is not None else None, generator=generator)
    minima = [p for p in points if p.kind == "minimum"]
    notes: list[str] = []
    try:
        lr, kappa = max_stable_lr(obj), condition_number(obj)
    except LosslabError as err:
        lr, kappa = None, None
        notes.append(str(err))
    if at is None and (displacement is not None or direction is not None):
        raise LosslabError("a displacement or direction needs a point: give 'at' (--at) as well")
    report = None if at is None else gradient_report(obj, at)
    return Analysis(
        names=obj.names,
        title=obj.title,
        gradient=None if gradient is None else tuple(str(g) for g in gradient),
        hessian=None if hessian is None else [[str(e) for e in row] for row in hessian.tolist()],
        stationary_points=points,
        global_minimum=minima[0] if minima else None,
        convexity=convexity(obj, box, generator=generator),
        condition_number=kappa,
        max_stable_lr=lr,
        notes=notes,
        gradient_report=report,
        at_hessian=None if at is None else obj.hessian(at),
        clairaut=clairaut(obj, at) if obj.dim > 1 else None,
        taylor=None if at is None or displacement is None else taylor(obj, at, displacement),
        directional=None
        if at is None or direction is None
        else (as_direction(obj, direction), directional_derivative(obj, at, direction)),
    )
