r"""Convexity of a loss on a box: a proof with SymPy where one exists, else a search for a
counterexample (a negative Hessian eigenvalue) checked against the definition; and the chord
picture, :math:`\alpha L(a) + (1-\alpha) L(b)` against :math:`L(\alpha a + (1-\alpha) b)`.

A sampled search never answers "convex" — at best "no counterexample found".
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import sympy
import torch
from torch import Tensor

from losslab.analysis.composition import composed_curvature
from losslab.analysis.derivatives import SLOW_TO_SIMPLIFY, symbolic_hessian
from losslab.analysis.stationary import as_floats, hessian_eigenvalues, search_box
from losslab.errors import LosslabError
from losslab.objectives.domain import Domain, PointLike
from losslab.objectives.from_text import as_objective
from losslab.objectives.objective import Objective
from losslab.serialize import Readable

VERDICTS = ("convex", "concave", "not convex", "no counterexample found")


@dataclass
class ConvexityReport(Readable):
    """Whether L is convex on a box, and how sure we are.

    ``verdict`` is one of ``convex``, ``concave``, ``not convex``, ``no counterexample found``;
    ``proved`` says whether it is a proof (SymPy, or a checked counterexample) or only evidence;
    ``undefined`` counts the samples where L is not finite (outside the formula's domain), which
    the search leaves out; ``chord`` is a chord (a, b, by how much L's midpoint lies above it) that
    proves L not convex where no sampled Hessian does (a concave kink: min(x², y²)).
    """

    verdict: str
    proved: bool
    reason: str
    counterexample: tuple[Tensor, float] | None = None
    sampling: str = ""
    undefined: int = 0
    chord: tuple[Tensor, Tensor, float] | None = None

    def to_dict(self) -> dict[str, object]:
        example = None
        if self.counterexample is not None:
            example = {
                "point": as_floats(self.counterexample[0]),
                "lambda_min": self.counterexample[1],
            }
        return {
            "verdict": self.verdict,
            "proved": self.proved,
            "reason": self.reason,
            "counterexample": example,
            "sampling": self.sampling,
            "undefined": self.undefined,
            "chord": None
            if self.chord is None
            else {"a": as_floats(self.chord[0]), "b": as_floats(self.chord[1]), "midpoint_gap": self.chord[2]},
        }

    def __str__(self) -> str:
        return f"{self.verdict} ({'proved' if self.proved else 'not proved'}): {self.reason}"


def _onsearch_box(objective: Objective, box: Domain) -> dict[sympy.Symbol, sympy.Expr]:
    """Substitutions θ = lo + t (t ≥ 0) or hi − t so SymPy's assumptions know the box's sign."""
    subs: dict[sympy.Symbol, sympy.Expr] = {}
    for s, (lo, hi) in zip(objective.symbols, box.bounds, strict=True):
        t = sympy.Symbol(f"{s.name}_t", nonnegative=True)
        if lo >= 0:
            subs[s] = sympy.Rational(repr(lo)) + t
        elif hi <= 0:
            subs[s] = sympy.Rational(repr(hi)) - t
    return subs


SIMPLIFY_OPS = 400  # simplify on a larger minor can take minutes (softplus + ridge: 3 249 operations, 4 minutes)


def _nonnegative(minor: sympy.Expr, slow: bool) -> bool:
    """Whether SymPy can show a minor ≥ 0: as it is, then over one common denominator (cheap, and enough for
    sums of exponentials), then simplified where that stays quick. SymPy's simplify takes minutes on minors of
    tanh, sin, abs, …: those are asked as they are."""
    if minor.is_nonnegative is True:
        return True
    if slow:
        return False
    if sympy.cancel(minor).is_nonnegative is True:
        return True
    return sympy.count_ops(minor) <= SIMPLIFY_OPS and sympy.simplify(minor).is_nonnegative is True


def _psd_everywhere(h: sympy.Matrix) -> bool:
    """All principal minors nonnegative (for real symbols) ⇔ positive semi-definite."""
    n = h.shape[0]
    subsets = (c for k in range(1, n + 1) for c in itertools.combinations(range(n), k))
    slow = h.has(*SLOW_TO_SIMPLIFY)
    return all(_nonnegative(h.extract(list(c), list(c)).det(), slow) for c in subsets)


PROOF_OPS = 400  # a larger symbolic Hessian (e.g. a loss summed over many samples) takes SymPy minutes to decide


def _prove(objective: Objective, box: Domain) -> ConvexityReport | None:
    h = symbolic_hessian(objective)
    if h is None or sympy.count_ops(h) > PROOF_OPS:
        return None
    if not h.free_symbols:  # a quadratic: decided for any number of parameters
        # numerically: SymPy's closed-form roots of a 3×3 are complex expressions (casus irreducibilis)
        numbers = torch.tensor([[float(v) for v in row] for row in h.tolist()], dtype=torch.float64)
        lam = torch.linalg.eigvalsh(numbers).tolist()
        shown = ", ".join(f"{v:.6g}" for v in lam) if objective.dim <= 3 else f"from {lam[0]:.6g} to {lam[-1]:.6g}"
        matrix = h.tolist() if objective.dim <= 3 else f"({objective.dim}×{objective.dim})"
        what = f"the Hessian is constant {matrix} with eigenvalues {shown}"
        if h.is_positive_semidefinite:
            return ConvexityReport("convex", True, f"{what}, all ≥ 0")
        if h.is_negative_semidefinite:
            return ConvexityReport("concave", True, f"{what}, all ≤ 0")
        return None  # indefinite: the sampled counterexample says where
    if objective.dim > 3:
        return None
    subs = _onsearch_box(objective, box)
    shifted = h.xreplace(subs)
    finite = objective.expr is not None and objective.expr.xreplace(subs).is_finite is True
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
    """A grid (when it has at least 3 points per axis within half the samples) plus random points:
    ``samples`` points whatever the number of parameters."""
    n = len(box.names)
    k = int((samples / 2) ** (1 / n))
    grid = box.grid(k) if k >= 3 else torch.zeros(0, n, dtype=torch.float64)
    m = max(samples - grid.shape[0], 0)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    random = box.lower + torch.rand(m, n, generator=gen, dtype=torch.float64) * (box.upper - box.lower)
    how = f"grid {'×'.join([str(k)] * n)} + {m} random" if grid.shape[0] else f"{m} random"
    return torch.cat([grid, random]), how


def _midpoint_violation(objective: Objective, point: Tensor, box: Domain) -> bool:
    """Check a counterexample against the definition, L(c) > ½[L(c + s·v) + L(c − s·v)] with v
    the Hessian's lowest eigenvector, at a centre c nudged inside the box if need be."""
    for t in (1e-2, 1e-3, 1e-4):
        s = t * float((box.upper - box.lower).min())
        centre = torch.clamp(point, box.lower + s, box.upper - s)
        hessian = objective.hessian(centre)
        if not bool(torch.isfinite(hessian).all()):  # nudged off the formula's domain: no eigenvector to follow
            continue
        v = torch.linalg.eigh(hessian).eigenvectors[:, 0]
        values = objective.values(torch.stack([centre, centre + s * v, centre - s * v]))
        if bool(values[0] - values[1:].mean() > 1e-12 * (1 + values[0].abs())):
            return True
    return False


def _sample(objective: Objective, box: Domain, samples: int, generator: torch.Generator | None) -> ConvexityReport:
    """Look for a negative Hessian eigenvalue where L and its Hessian are finite: points outside the
    formula's domain (log at x ≤ 0) are left out, and the report says how many there were."""
    points, how = _sample_points(box, samples, generator)
    defined = torch.isfinite(objective.values(points))
    hessians = objective.hessians(points)
    finite = defined & torch.isfinite(hessians).all(-1).all(-1)
    lam = torch.full(points.shape, math.nan, dtype=torch.float64)
    lam[finite] = hessian_eigenvalues(hessians[finite])
    finite &= torch.isfinite(lam).all(-1)
    outside = _outside(objective, points, defined)
    skipped = int((defined & ~finite).sum())
    sampling = (
        f"{int(finite.sum())} points: {how}" + outside + (f"; {skipped} skipped: Hessian not finite" if skipped else "")
    )
    if not finite.any():
        return ConvexityReport(
            "no counterexample found",
            False,
            "L or its Hessian is not finite at any sample",
            None,
            sampling,
            int((~defined).sum()),
        )
    lam, points = lam[finite], points[finite]
    # rounding in a Hessian is relative to its own size, not to the largest in the box: (eˣ⁺ʸ − 2)² has
    # eigenvalue −1.9 at x + y = −1 beside 4e9 at (5, 5)
    tol = 1e-8 * lam.abs().amax(-1).clamp(min=1.0)
    negative = lam[:, 0] < -tol
    chords = _chords(objective, points, box, generator)
    sampling += chords.how
    if not bool(negative.any()):
        if chords.above is not None:  # a concave kink: min(x², y²) or x² − |y|, whose Hessians are all ≥ 0
            a, b, gap = chords.above
            reason = (
                f"the chord from ({_at(objective, a)}) to ({_at(objective, b)}) passes below L at its midpoint: "
                f"L(midpoint) exceeds the chord's ½[L(a) + L(b)] by {gap:.6g}; every sampled Hessian is ≥ 0, so L "
                f"bends down where no Hessian is (a kink, or a pole, between the ends){outside}"
            )
            return ConvexityReport("not convex", True, reason, None, sampling, int((~defined).sum()), chord=(a, b, gap))
        reason = f"no counterexample found on the domain ({sampling})"
        return ConvexityReport("no counterexample found", False, reason, None, sampling, int((~defined).sum()))
    worst = int(torch.where(negative, lam[:, 0], math.inf).argmin())
    example = (points[worst], float(lam[worst, 0]))
    proved = _midpoint_violation(objective, points[worst], box)
    at = _at(objective, points[worst])
    # a convex kink (|sin(x + y)|, |x| − y²) breaks concavity however the Hessians look between the kinks
    looks_concave = bool((lam[:, -1] <= tol).all()) and chords.below is None
    shape = (
        " (every sampled Hessian is ≤ 0 and every sampled chord lies below L: it looks concave, not proved)"
        if looks_concave
        else ""
    )
    reason = (
        f"the Hessian has eigenvalue {example[1]:.6g} < 0 at {at}"
        + ("; the midpoint inequality fails there" if proved else "")
        + shape
        + outside
    )
    return ConvexityReport("not convex", proved, reason, example, sampling, int((~defined).sum()))


def _at(objective: Objective, point: Tensor) -> str:
    return ", ".join(f"{n}={v:.6g}" for n, v in zip(objective.names, as_floats(point), strict=True))


@dataclass
class _Chords:
    """The sampled chords' verdict: the worst one whose midpoint L lies above it (against convexity) and below it
    (against concavity), each as (a, b, by how much), None where no chord shows it; ``how`` for the sampling line."""

    above: tuple[Tensor, Tensor, float] | None
    below: tuple[Tensor, Tensor, float] | None
    how: str


#: a chord's midpoint gap counts when it exceeds this share of the largest |L| at its three points (at least 1):
#: float64 rounding in L is ~1e-16 of its terms, so this leaves seven digits for cancellation
CHORD_TOL = 1e-9
#: the half-lengths of the sampled chords, as shares of the box: long ones for folds, short ones for kinks, where a
#: chord of half-length h crossing a kink bends by ~h·(the jump in slope) and the curvature adds only ~h²·λ
CHORD_SPANS = (None, 0.2, 0.02, 0.002)


def _chords(objective: Objective, points: Tensor, box: Domain, generator: torch.Generator | None) -> _Chords:
    """The definition on sampled chords: L((a + b)/2) against ½[L(a) + L(b)], from each sample point to another
    sample (``None`` span) and, along a random direction, to points 0.2, 0.02 and 0.002 of the box away, both ends
    kept in the box. A Hessian sees curvature between the kinks; only a chord sees a kink's own bend (the Hessian
    of min(x², y²) is ≥ 0 wherever it is defined, yet L is 0 at (1, 0) and (0, 1) and 0.25 halfway)."""
    gen = generator if generator is not None else torch.Generator().manual_seed(1)
    m, n = points.shape
    width = box.upper - box.lower
    ends = []
    for span in CHORD_SPANS:
        if span is None:
            ends.append(points[torch.randperm(m, generator=gen)])
            continue
        direction = torch.randn(m, n, generator=gen, dtype=torch.float64)
        direction = direction / torch.linalg.vector_norm(direction, dim=-1, keepdim=True).clamp(min=1e-300)
        ends.append(torch.clamp(points + 2 * span * direction * width, box.lower, box.upper))
    a = points.repeat(len(CHORD_SPANS), 1)
    b = torch.cat(ends)
    gap, tol = _midpoint_gaps(objective, a, b)
    finite = torch.isfinite(gap) & (a != b).any(-1)
    scaled = torch.where(finite, gap / tol, 0.0)

    def worst(sign: float) -> tuple[Tensor, Tensor, float] | None:
        i = int((sign * scaled).argmax())
        return _plain_chord(objective, a[i], b[i], box, sign) if float(sign * scaled[i]) > 1 else None

    return _Chords(worst(1.0), worst(-1.0), f"; {int(finite.sum())} chords")


def _midpoint_gaps(objective: Objective, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """L((a + b)/2) − ½[L(a) + L(b)] for each chord a → b (rows of ``(m, n)``), in one call, and what it must exceed
    to count: :data:`CHORD_TOL` of the largest |L| at its three points (at least 1). NaN where L is not finite."""
    values = objective.values(torch.cat([a, b, (a + b) / 2])).reshape(3, -1)
    gap = values[2] - values[:2].mean(0)
    tol = CHORD_TOL * values.abs().amax(0).clamp(min=1.0)
    return torch.where(torch.isfinite(values).all(0), gap, math.nan), tol


def _plain_chord(objective: Objective, a: Tensor, b: Tensor, box: Domain, sign: float) -> tuple[Tensor, Tensor, float]:
    """The chord a→b with its ends rounded to as few decimals as still show the same failure (``sign`` +1: L's
    midpoint above the chord), inside the box: min(x², y²) fails on (−4, 0)→(0, 4), plainer to check by hand than
    (−4.33333, 0)→(−0.0191702, 3.75508). With the gap found there."""
    for decimals in range(4):
        ra, rb = (torch.clamp(torch.round(end, decimals=decimals) + 0.0, box.lower, box.upper) for end in (a, b))
        gap, tol = _midpoint_gaps(objective, ra[None], rb[None])
        if float(sign * gap[0]) > float(tol[0]):
            return ra, rb, abs(float(gap[0]))
    gap, _ = _midpoint_gaps(objective, a[None], b[None])
    return a, b, abs(float(gap[0]))


def _outside(objective: Objective, points: Tensor, defined: Tensor) -> str:
    """'; L is not finite at k of the m samples (e.g. x=-5): outside the formula's domain', or ''."""
    if bool(defined.all()):
        return ""
    first = points[~defined][0]
    at = ", ".join(f"{n}={v:.6g}" for n, v in zip(objective.names, as_floats(first), strict=True))
    return (
        f"; L is not finite at {int((~defined).sum())} of the {points.shape[0]} samples (e.g. {at}): "
        f"that part of the box is outside the formula's domain and left out"
    )


# the Hessians a sampled convexity check holds at once (2000 of a 100-parameter loss: 160 MB in float64)
SAMPLED_HESSIAN_BYTES = 2**30


def convexity(
    objective: Objective | str,
    domain: Domain | str | None = None,
    *,
    samples: int = 2000,
    generator: torch.Generator | None = None,
) -> ConvexityReport:
    """Decide convexity on a box: prove it with SymPy where possible, else look for a
    counterexample (a negative Hessian eigenvalue) on a grid plus random points. A sampled
    search never answers "convex" — at best "no counterexample found".

    >>> from losslab.objectives.objective import formula
    >>> convexity(formula("exp(x)")).verdict, convexity(formula("log(x)", domain="0.1:10")).verdict
    ('convex', 'concave')
    >>> r = convexity(formula("x**3"))
    >>> r.verdict, r.proved, r.counterexample[1] < 0
    ('not convex', True, True)
    """
    objective = as_objective(objective)
    if samples < 2:
        raise LosslabError(f"samples = {samples}; give at least 2 sample points")
    needed = samples * objective.dim**2 * torch.empty((), dtype=objective.dtype).element_size()
    if needed > SAMPLED_HESSIAN_BYTES:
        raise LosslabError(
            f"convexity samples {samples} full Hessians of {objective.dim:,}×{objective.dim:,} ({needed / 2**30:.3g} "
            f"GiB; at most {SAMPLED_HESSIAN_BYTES / 2**30:g}): give fewer samples, or for a network use "
            "losslab.curvature (top_eigenvalues with which='smallest' finds negative curvature)"
        )
    box = search_box(objective, domain)
    proof = _prove(objective, box) or _composed(objective, box, samples, generator)
    return proof if proof is not None else _sample(objective, box, samples, generator)


def _composed(
    objective: Objective, box: Domain, samples: int, generator: torch.Generator | None
) -> ConvexityReport | None:
    """A proof by the composition rules (:mod:`~losslab.analysis.composition`), where the Hessian's gives none:
    |x| + |y|, whose Hessian is 0 but at the creases, where it has none. It holds where L is defined (log x: for
    x > 0, a convex set); the samples say whether part of the box is not, as the search would."""
    if objective.expr is None:
        return None
    kind, rules = composed_curvature(objective.expr, objective.symbols)
    if kind not in ("convex", "concave"):
        return None
    points, how = _sample_points(box, samples, generator)
    defined = torch.isfinite(objective.values(points))
    reason = f"by the composition rules of convex analysis (Boyd & Vandenberghe §3.2): {'; '.join(rules)}"
    return ConvexityReport(kind, True, reason + _outside(objective, points, defined), None, "", int((~defined).sum()))


@dataclass
class ChordCheck(Readable):
    """The chord picture of convexity: C = αA + (1−α)B on the chord versus D on the curve."""

    x: Tensor
    chord_value: float
    curve_value: float
    position: str

    def __str__(self) -> str:
        return f"C = {self.chord_value:.6g} (chord), D = {self.curve_value:.6g} (curve): {self.position}"


def chord_check(objective: Objective | str, a: PointLike, b: PointLike, alpha: float) -> ChordCheck:
    """Compare :math:`\\alpha L(a) + (1-\\alpha) L(b)` with :math:`L(\\alpha a + (1-\\alpha) b)`.

    >>> from losslab.objectives.objective import formula
    >>> str(chord_check(formula("x**2"), [-3.0], [5.0], 0.3))
    'C = 20.2 (chord), D = 6.76 (curve): chord above curve'
    """
    objective = as_objective(objective)
    if not 0 <= alpha <= 1:
        raise LosslabError(f"alpha = {alpha}; the chord weight must lie in [0, 1]")
    pa, pb = objective.point(a), objective.point(b)
    x = alpha * pa + (1 - alpha) * pb
    chord = float(alpha * objective.value(pa) + (1 - alpha) * objective.value(pb))
    curve = float(objective.value(x))
    position = "chord above curve" if chord > curve else "chord below curve" if chord < curve else "chord on curve"
    return ChordCheck(x, chord, curve, position)
