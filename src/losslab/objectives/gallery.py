"""The gallery: named loss surfaces with their stationary points known in advance.

Two families live here. The *seed* surfaces are the worked examples of the course material
(Maya's two-parameter bowl, the line fit of Case Study 1, the hand-simulated parabola, …);
the *test functions* are the standard optimization benchmarks (Rosenbrock, Himmelblau,
Beale, …) with their textbook stationary points.

Every stored coordinate was computed at development time from ∇L = 0 — by SymPy (a
lexicographic Gröbner basis, the real roots of its univariate eliminant, then ``nsolve``
at 40 digits) for the polynomial surfaces, and from closed forms for the rest — and is kept
to 16 significant digits. ``tests/test_gallery.py`` re-derives them independently.

Names are snake_case identifiers, so a gallery name can never be mistaken for a formula.
The module runs past 400 lines only because the registry is data: one entry per surface.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from fractions import Fraction

from losslab.errors import LosslabError, not_one_of
from losslab.objectives.domain import Domain
from losslab.objectives.formula_parser import parse_formula
from losslab.objectives.objective import FormulaObjective, KnownPoint
from losslab.serialize import Readable

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_SFU = "Surjanovic & Bingham, Virtual Library of Simulation Experiments (sfu.ca/~ssurjano)"


@dataclass(frozen=True)
class GalleryEntry(Readable):
    """One named surface.

    Attributes:
        name: snake_case identifier, e.g. ``"rosenbrock"``.
        formula: the loss as text for the whitelist parser.
        variables: parameter names in order (the points' coordinates follow it).
        title: a human-readable name.
        domain: the box to look at, e.g. ``"x=-2:2,y=-1:3"``.
        points: every stationary point inside the domain, unless the description says
            only some are listed.
        description: what the surface shows.
        source: where it comes from.
        family: ``"seed"`` for the worked examples of the seed chapters (and surfaces made after
            them), ``"test function"`` for the standard optimization test functions.
        start: where a descent classically starts (Rosenbrock's (−1.2, 1)); empty: no such
            custom, and :func:`losslab.analysis.defaults.suggest_defaults` picks one.
    """

    name: str
    formula: str
    variables: tuple[str, ...]
    title: str
    domain: str
    points: tuple[KnownPoint, ...]
    description: str
    source: str
    family: str = "test function"
    start: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not _SNAKE.match(self.name):
            raise LosslabError(f"gallery name {self.name!r} is not a snake_case identifier")
        if self.start and len(self.start) != len(self.variables):
            raise LosslabError(f"start {self.start} of {self.name} does not match variables {self.variables}")
        for p in self.points:
            if len(p.point) != len(self.variables):
                raise LosslabError(f"point {p.point} of {self.name} does not match variables {self.variables}")

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-able data: points as ``{name: value}`` maps.

        >>> point = gallery_entry("hand_simulation").to_dict()["points"][0]
        >>> point["point"], point["kind"], point["value"], point["is_global"]
        ({'w': 2.0}, 'minimum', 1.0, True)
        """
        return {
            "name": self.name,
            "title": self.title,
            "formula": self.formula,
            "variables": list(self.variables),
            "domain": self.domain,
            "description": self.description,
            "source": self.source,
            "family": self.family,
            "start": list(self.start) or None,
            "points": [
                {
                    "point": dict(zip(self.variables, map(float, p.point), strict=True)),
                    "kind": p.kind,
                    "value": float(p.value),
                    "is_global": p.is_global,
                    "differentiable": p.differentiable,
                }
                for p in self.points
            ],
        }

    def __str__(self) -> str:
        head = f"{self.name}: {self.title}\n  L({', '.join(self.variables)}) = {self.formula}"
        rows = [f"  on {self.domain}", f"  {'point':<36} {'kind':<10} {'L':>14}"]
        for p in self.points:
            where = ", ".join(f"{n}={c:.10g}" for n, c in zip(self.variables, p.point, strict=True))
            tag = " (global)" if p.is_global else ""
            tag += " (kink)" if not p.differentiable else ""
            rows.append(f"  {where:<36} {p.kind:<10} {p.value:>14.10g}{tag}")
        return "\n".join([head, *rows])


def _at(kind: str, value: float, *coords: float, is_global: bool = False, smooth: bool = True) -> KnownPoint:
    return KnownPoint(tuple(map(float, coords)), kind, float(value), is_global, smooth)


def _mins(value: float, *points: tuple[float, ...], is_global: bool = False) -> tuple[KnownPoint, ...]:
    return tuple(_at("minimum", value, *p, is_global=is_global) for p in points)


def _case_study_1() -> GalleryEntry:
    """Case Study 1: L(m) = mean((y − m·x)²), its minimum m* = Σxy/Σx² in exact fractions."""
    xs = (1, 2, 3, 4, 5)
    ys = ("2.1", "3.9", "6.1", "8.0", "9.9")
    pairs = list(zip(xs, ys, strict=True))
    terms = [f"({y} - {x}*m)**2" if x != 1 else f"({y} - m)**2" for x, y in pairs]
    exact = [Fraction(y) for y in ys]
    m_star = sum(x * y for x, y in zip(xs, exact, strict=True)) / sum(x * x for x in xs)
    loss = sum((y - m_star * x) ** 2 for x, y in zip(xs, exact, strict=True)) / len(xs)
    return GalleryEntry(
        "case_study_1",
        f"({' + '.join(terms)})/5",
        ("m",),
        "Case Study 1: a line through the origin fitted to five points",
        "m=-1:5",
        (_at("minimum", float(loss), float(m_star), is_global=True),),
        "Mean squared error of y = m·x on x = 1..5, y = 2.1, 3.9, 6.1, 8.0, 9.9: a convex parabola"
        f" in m with its minimum at m* = Σxy/Σx² = {m_star} ≈ {float(m_star):.6f},"
        f" L(m*) = {loss} ≈ {float(loss):.6f}.",
        "Case Study 1 — How a Machine Learns a Line: Gradient Descent in Action (seed 002)",
    )


_SEEDS = (
    GalleryEntry(
        "case_study_2",
        "0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)",
        ("w0", "w1"),
        "Case Study 2: Maya's two-parameter bowl",
        "w0=-1:5,w1=-3:3",
        (_at("minimum", 0.0, 2.0, 0.0, is_global=True),),
        "Half the squared error of ŷ = w0 + w1·x on the points (1, 2) and (2, 2): a tilted"
        " elliptic bowl, Hessian [[2, 3], [3, 5]], minimum at (2, 0) where L = 0.",
        "Case Study 2 — The Loss Surface of a Machine Learning Model (seed 000)",
    ),
    _case_study_1(),
    GalleryEntry(
        "shifted_parabola",
        "(w - 3)**2",
        ("w",),
        "The parabola of the hill-descending example",
        "w=-2:8",
        (_at("minimum", 0.0, 3.0, is_global=True),),
        "L(w) = (w − 3)², minimum at w = 3; L'' = 2, so gradient descent converges for"
        " learning rates below 2/L'' = 1 and diverges above (lr 2.0 goes 0 → 12 → −24).",
        "Optimization as Hill-Descending (seed 004)",
    ),
    GalleryEntry(
        "hand_simulation",
        "w**2 - 4*w + 5",
        ("w",),
        "The parabola simulated by hand",
        "w=-2:6",
        (_at("minimum", 1.0, 2.0, is_global=True),),
        "L(w) = w² − 4w + 5 = (w − 2)² + 1, minimum at w = 2 where L = 1.",
        "Optimization as Hill-Descending, hand simulation (seed 004)",
    ),
    GalleryEntry(
        "chapter3_bowl",
        "2*w0**2 + 3*w1**2",
        ("w0", "w1"),
        "An axis-aligned elliptic bowl",
        "w0=-4:4,w1=-4:4",
        (_at("minimum", 0.0, 0.0, 0.0, is_global=True),),
        "L = 2·w0² + 3·w1², ∇L = (4·w0, 6·w1), minimum at the origin; condition number 1.5.",
        "Classifiers and vector calculus, section 3 (seed 003)",
    ),
    GalleryEntry(
        "cone",
        "sqrt(w0**2 + w1**2)",
        ("w0", "w1"),
        "A cone: a minimum without a gradient",
        "w0=-2:2,w1=-2:2",
        (_at("minimum", 0.0, 0.0, 0.0, is_global=True, smooth=False),),
        "L = |w|, the distance to the origin. Its minimum at the origin is a kink, not a"
        " stationary point: the gradient w/|w| has length 1 everywhere else and no limit at"
        " 0, and autodiff returns NaN there (0·∞ from d√u/du at u = 0).",
        "Classifiers and vector calculus, gradient example (seed 003)",
    ),
    GalleryEntry(
        "double_well",
        "w**4 - 3.4*w**2 + 0.5*w",
        ("w",),
        "A tilted double well",
        "w=-2.5:2.5",
        (
            _at("minimum", -3.550865869857759, -1.339157303310414, is_global=True),
            _at("maximum", 0.01841177171198505, 0.07376552009231071),
            _at("minimum", -2.247545901854226, 1.265391783218103),
        ),
        "Non-convex in one variable: a deeper minimum near −1.3 and a shallower one near 1.3,"
        " split by a maximum near 0; where gradient descent ends depends on where it starts.",
        "after The Loss Landscape, non-convex example (seed 001)",
    ),
)

_GOLDSTEIN_PRICE = (
    "(1 + (x + y + 1)**2*(19 - 14*x + 3*x**2 - 14*y + 6*x*y + 3*y**2))"
    "*(30 + (2*x - 3*y)**2*(18 - 32*x + 12*x**2 + 48*y - 36*x*y + 27*y**2))"
)
_ST_LOW, _ST_MID, _ST_HIGH = -2.903534027771177, 0.1567312567803401, 2.746802770990837

_TEST_FUNCTIONS = (
    GalleryEntry(
        "rosenbrock",
        "(1 - x)**2 + 100*(y - x**2)**2",
        ("x", "y"),
        "Rosenbrock's banana valley (a = 1, b = 100)",
        "x=-2:2,y=-1:3",
        (_at("minimum", 0.0, 1.0, 1.0, is_global=True),),
        "A curved, flat-bottomed valley along y = x²; the only stationary point is the minimum"
        " (1, 1), where the Hessian [[802, −400], [−400, 200]] has condition number ≈ 2508.",
        "Rosenbrock (1960), The Computer Journal 3(3); " + _SFU,
        start=(-1.2, 1.0),
    ),
    GalleryEntry(
        "himmelblau",
        "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
        ("x", "y"),
        "Himmelblau's function",
        "x=-5:5,y=-5:5",
        _mins(
            0.0,
            (3.0, 2.0),
            (-2.805118086952745, 3.131312518250573),
            (-3.779310253377747, -3.283185991286169),
            (3.584428340330492, -1.848126526964404),
            is_global=True,
        )
        + (
            _at("maximum", 181.6165215225827, -0.2708445906673476, -0.9230385564799815),
            _at("saddle", 13.31192627040559, 3.385154183607021, 0.07385187983774929),
            _at("saddle", 67.71915008752614, 0.08667750455539635, 2.884254701174776),
            _at("saddle", 104.0151629175581, -3.073025750764390, -0.08135304428796751),
            _at("saddle", 178.3372392019275, -0.1279613467306801, -1.953714980244576),
        ),
        "Four global minima with L = 0, one local maximum and four saddles: all nine real solutions of ∇L = 0.",
        "Himmelblau (1972), Applied Nonlinear Programming; " + _SFU,
    ),
    GalleryEntry(
        "beale",
        "(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2",
        ("x", "y"),
        "Beale's function",
        "x=-4.5:4.5,y=-4.5:4.5",
        (
            _at("minimum", 0.0, 3.0, 0.5, is_global=True),
            _at("saddle", 9.864512284755560, 0.1005379373241584, -2.644513585023125),
            _at("saddle", 14.203125, 0.0, 1.0),
        ),
        "Sharp ridges at the corners around a flat valley; minimum (3, 0.5) with L = 0, and two"
        " saddles. L is quadratic in x, and ∂L/∂y vanishes along the whole line x = 0.",
        "Beale (1958); " + _SFU,
    ),
    GalleryEntry(
        "booth",
        "(x + 2*y - 7)**2 + (2*x + y - 5)**2",
        ("x", "y"),
        "Booth's function",
        "x=-10:10,y=-10:10",
        (_at("minimum", 0.0, 1.0, 3.0, is_global=True),),
        "A quadratic bowl, Hessian [[10, 8], [8, 10]] (eigenvalues 2 and 18); minimum (1, 3).",
        _SFU,
    ),
    GalleryEntry(
        "matyas",
        "0.26*(x**2 + y**2) - 0.48*x*y",
        ("x", "y"),
        "Matyas' function",
        "x=-10:10,y=-10:10",
        (_at("minimum", 0.0, 0.0, 0.0, is_global=True),),
        "A flat quadratic plate: Hessian eigenvalues 0.04 along (1, 1) and 1.0 along (1, −1),"
        " condition number 25; minimum at the origin.",
        "Matyas (1965); " + _SFU,
    ),
    GalleryEntry(
        "goldstein_price",
        _GOLDSTEIN_PRICE,
        ("x", "y"),
        "Goldstein-Price function",
        "x=-2:2,y=-2:2",
        (
            _at("minimum", 3.0, 0.0, -1.0, is_global=True),
            _at("minimum", 30.0, -0.6, -0.4),
            _at("minimum", 84.0, 1.8, 0.2),
            _at("minimum", 840.0, 1.2, 0.8),
            _at("maximum", 1155.0, 0.8, 0.2),
            _at("saddle", 35.0, -0.4, -0.6),
            _at("saddle", 99.0, 1.2, -0.2),
            _at("saddle", 980.0, 1.4, 0.6),
            _at("saddle", 990.0, 0.6, 0.4),
        ),
        "A degree-8 polynomial spanning six orders of magnitude; global minimum 3 at (0, −1)."
        " ∇L = 0 has exactly these nine real solutions in the box, all at rational points (two of"
        " them share y = 0.2).",
        "Goldstein & Price (1971), Mathematics of Computation 25; " + _SFU,
    ),
    GalleryEntry(
        "three_hump_camel",
        "2*x**2 - 1.05*x**4 + x**6/6 + x*y + y**2",
        ("x", "y"),
        "Three-hump camel",
        "x=-2:2,y=-2:2",
        (_at("minimum", 0.0, 0.0, 0.0, is_global=True),)
        + _mins(0.2986384422368598, (1.747552345830289, -0.8737761729151445), (-1.747552345830289, 0.8737761729151445))
        + tuple(_at("saddle", 0.8773615577631402, s * 1.070542291823660, -s * 0.5352711459118300) for s in (1, -1)),
        "Three minima (the global one at the origin) separated by two saddles; all lie on"
        " y = −x/2, with x² = (21 ± √91)/10.",
        "Dixon & Szegö (1978); " + _SFU,
    ),
    GalleryEntry(
        "six_hump_camel",
        "(4 - 2.1*x**2 + x**4/3)*x**2 + x*y + (-4 + 4*y**2)*y**2",
        ("x", "y"),
        "Six-hump camel",
        "x=-3:3,y=-2:2",
        tuple(
            point
            for s in (1, -1)
            for point in (
                _at("minimum", -1.031628453489877, s * 0.08984201310031806, -s * 0.7126564030207396, is_global=True),
                _at("minimum", -0.2154638243837176, s * 1.703606714969981, -s * 0.7960835686726251),
                _at("minimum", 2.104250310311258, s * 1.607104752920197, s * 0.5686514548841314),
                _at("maximum", 2.496295351023577, s * 1.230229876516653, s * 0.1623345844589950),
                _at("saddle", 0.5437186009781851, s * 1.109205336804786, -s * 0.7682680925095398),
                _at("saddle", 2.229357197530715, s * 1.638067984189779, s * 0.2286740690443941),
                _at("saddle", 2.229470818029860, s * 1.296070267167109, s * 0.6050843880386585),
            )
        )
        + (_at("saddle", 0.0, 0.0, 0.0),),
        "Point-symmetric (L(−x, −y) = L(x, y)): six minima, two of them global, two maxima and"
        " seven saddles — all fifteen real solutions of ∇L = 0.",
        "Dixon & Szegö (1978); " + _SFU,
    ),
    GalleryEntry(
        "mccormick",
        "sin(x + y) + (x - y)**2 - 1.5*x + 2.5*y + 1",
        ("x", "y"),
        "McCormick function",
        "x=-1.5:4,y=-3:4",
        (
            _at("minimum", -1.913222954981036, -0.5471975511965977, -1.547197551196598, is_global=True),
            _at("saddle", 1.913222954981036, 1.547197551196598, 0.5471975511965977),
            _at("minimum", 1.228369698608757, 2.594395102393195, 1.594395102393195),
        ),
        "∇L = 0 means x − y = 1 and cos(x + y) = −1/2, so with s = x + y ∈ {−2π/3, 2π/3, 4π/3}"
        " the points are ((s + 1)/2, (s − 1)/2) with L = sin s + s/2.",
        "McCormick (1976); " + _SFU,
    ),
    GalleryEntry(
        "styblinski_tang",
        "0.5*(x**4 - 16*x**2 + 5*x + y**4 - 16*y**2 + 5*y)",
        ("x", "y"),
        "Styblinski-Tang function",
        "x=-5:5,y=-5:5",
        (
            _at("minimum", -78.33233140754283, _ST_LOW, _ST_LOW, is_global=True),
            _at("minimum", -64.19561235905536, _ST_HIGH, _ST_LOW),
            _at("minimum", -64.19561235905536, _ST_LOW, _ST_HIGH),
            _at("minimum", -50.05889331056789, _ST_HIGH, _ST_HIGH),
            _at("saddle", -38.97055334471606, _ST_MID, _ST_LOW),
            _at("saddle", -38.97055334471606, _ST_LOW, _ST_MID),
            _at("saddle", -24.83383429622858, _ST_HIGH, _ST_MID),
            _at("saddle", -24.83383429622858, _ST_MID, _ST_HIGH),
            _at("maximum", 0.3912247181107161, _ST_MID, _ST_MID),
        ),
        "Separable: each coordinate sits at a root of 4t³ − 32t + 5 (t ≈ −2.9035, 0.1567,"
        " 2.7468), giving 4 minima, 4 saddles and a maximum.",
        "Styblinski & Tang (1990); " + _SFU,
    ),
    GalleryEntry(
        "rastrigin",
        "20 + x**2 - 10*cos(2*pi*x) + y**2 - 10*cos(2*pi*y)",
        ("x", "y"),
        "Rastrigin function",
        "x=-5.12:5.12,y=-5.12:5.12",
        (_at("minimum", 0.0, 0.0, 0.0, is_global=True),),
        "An egg-crate of about a hundred local minima near the integer points on a bowl; only"
        " the global minimum at the origin is listed.",
        "Rastrigin (1974); " + _SFU,
    ),
    GalleryEntry(
        "ackley",
        "-20*exp(-0.2*sqrt(0.5*(x**2 + y**2))) - exp(0.5*(cos(2*pi*x) + cos(2*pi*y))) + e + 20",
        ("x", "y"),
        "Ackley function",
        "x=-5:5,y=-5:5",
        (_at("minimum", 0.0, 0.0, 0.0, is_global=True, smooth=False),),
        "A bumpy plain with a deep funnel at the origin; only the global minimum is listed."
        " Near the origin L ≈ 4·r/√2 grows like a cone in r = |(x, y)|, so the minimum is a"
        " kink: autodiff returns NaN there (0·∞ from √ at 0), not a zero gradient.",
        "Ackley (1987); " + _SFU,
    ),
    GalleryEntry(
        "saddle",
        "x**2 - y**2",
        ("x", "y"),
        "A saddle",
        "x=-2:2,y=-2:2",
        (_at("saddle", 0.0, 0.0, 0.0),),
        "Up along x, down along y: ∇L = 0 at the origin but it is not a minimum (Hessian"
        " eigenvalues 2 and −2). No minimum inside the box. The start lies just off the line"
        " y = 0, so a descent first heads for the saddle, slows down there, then escapes along y.",
        "textbook saddle (hyperbolic paraboloid)",
        start=(-1.5, 0.001),
    ),
    GalleryEntry(
        "monkey_saddle",
        "x**3 - 3*x*y**2",
        ("x", "y"),
        "The monkey saddle",
        "x=-2:2,y=-2:2",
        (_at("degenerate", 0.0, 0.0, 0.0),),
        "Three valleys and three ridges meet at the origin, where the Hessian is zero: the"
        " second-derivative test says nothing (kind degenerate).",
        "textbook monkey saddle, Re((x + iy)³)",
    ),
    GalleryEntry(
        "ill_conditioned",
        "0.5*(w0**2 + 100*w1**2)",
        ("w0", "w1"),
        "An ill-conditioned bowl",
        "w0=-3:3,w1=-3:3",
        (_at("minimum", 0.0, 0.0, 0.0, is_global=True),),
        "Hessian diag(1, 100): condition number 100, so gradient descent needs lr < 2/100 and then crawls along w0.",
        "textbook ill-conditioned quadratic",
    ),
)

ENTRIES: tuple[GalleryEntry, ...] = tuple(replace(e, family="seed") for e in _SEEDS) + _TEST_FUNCTIONS
"""Every gallery surface: the seed examples first, then the standard test functions."""

_BY_NAME = {entry.name: entry for entry in ENTRIES}


def gallery_names() -> tuple[str, ...]:
    """The names of all gallery surfaces, in registry order.

    >>> gallery_names()[:3]
    ('case_study_2', 'case_study_1', 'shifted_parabola')
    """
    return tuple(_BY_NAME)


def gallery_entry(name: str) -> GalleryEntry:
    """The registry entry for ``name``.

    Raises:
        LosslabError: for an unknown name, with the closest match and all accepted names.

    >>> gallery_entry("rosenbrock").points[0].point
    (1.0, 1.0)
    """
    if not isinstance(name, str) or name not in _BY_NAME:
        close = difflib.get_close_matches(str(name), _BY_NAME, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise LosslabError(f"{hint}{not_one_of('gallery surface', name, _BY_NAME)}")
    return _BY_NAME[name]


def gallery(name: str) -> FormulaObjective:
    """The objective of a gallery surface, with its domain and known stationary points.

    Args:
        name: one of :func:`gallery_names`, e.g. ``"himmelblau"``.

    >>> L = gallery("himmelblau")
    >>> L.names, float(L.value([3.0, 2.0])), len(L.known_points), str(L.domain)
    (('x', 'y'), 0.0, 9, 'x=-5:5,y=-5:5')
    """
    entry = gallery_entry(name)
    parsed = parse_formula(entry.formula, entry.variables)
    return FormulaObjective(
        parsed.expr,
        parsed.symbols,
        title=entry.title,
        domain=Domain.parse(entry.domain, parsed.names),
        known_points=entry.points,
        text=entry.formula,
    )
