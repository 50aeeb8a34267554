"""Convexity by the composition rules: textbook functions whose Hessian proves nothing (|x| + |y|, the norm, a hinge)
are proved convex, products are not, and every verdict on 400 generated compositions holds against the definition:
L at the midpoint of random chords (float64), never above the chord for "convex", never below it for "concave"."""

from __future__ import annotations

import random

import pytest
import torch

from losslab.analysis.composition import composed_curvature
from losslab.analysis.convexity import convexity
from losslab.objectives.objective import formula

PROVED = [
    ("|x| + |y|", "convex", "|affine| is convex"),
    ("sqrt(x^2 + y^2)", "convex", "the Euclidean norm of affine functions is convex"),
    ("max(0, 1 - x)", "convex", "max of convex functions is convex"),
    ("max(|x|, |y|)", "convex", "max of convex functions is convex"),
    ("|x|^3 + e^y", "convex", "a power p ≥ 1 of |affine| is convex"),
    ("softplus(x) + y^2", "convex", "softplus of a convex function is convex"),
    ("(x - 1)^4 + (y + 2)^6", "convex", "an even power of an affine function is convex"),
    ("max(0, x^2 + y^2 - 1)", "convex", "a quadratic with a positive semi-definite Hessian is convex"),
    ("-|x| - 2|y - 1|", "concave", "a negative multiple of a convex function is concave"),
    ("log(cosh(x - 2y)) + |y|", "convex", "log cosh of an affine function is convex"),
    ("sqrt(x^2 + x*y + y^2)", "convex", "√ of a convex quadratic ≥ 0 everywhere"),
    ("sqrt(x^2 - 2x + 2) + |y|", "convex", "√ of a convex quadratic ≥ 0 everywhere"),
    ("sqrt((x - y)^2 + 2(x - y) + 1)", "convex", "√ of a convex quadratic ≥ 0 everywhere"),  # |x − y + 1|
]


@pytest.mark.parametrize(("text", "verdict", "rule"), PROVED, ids=[p[0] for p in PROVED])
def test_textbook_convex_functions_are_proved_by_composition(text: str, verdict: str, rule: str) -> None:
    """|x| + |y| read "no counterexample found (not proved)": its Hessian is 0 off the axes and undefined on them."""
    report = convexity(formula(text))
    assert (report.verdict, report.proved) == (verdict, True), report.reason
    assert report.reason.startswith("by the composition rules") and rule in report.reason


@pytest.mark.parametrize(
    "text",
    ["x*y", "x*|x|", "|x^2 + y^2 - 1|", "x^3 + y^2", "sin(x) + |y|", "sqrt(x^2 - y^2)", "sqrt(x^2 + y^2 - 1)",
     "sqrt(x^2 + y)", "log(cosh(x*y))"],
)  # fmt: skip
def test_what_the_rules_do_not_cover_is_left_to_the_search(text: str) -> None:
    objective = formula(text)
    assert composed_curvature(objective.expr, objective.symbols)[0] in (None, "affine")


def _affine(rng: random.Random) -> str:
    a, b, c = (round(rng.uniform(-2, 2), 2) for _ in range(3))
    return f"({a}*x + {b}*y + {c})"


def _quadratic(rng: random.Random) -> str:
    """A generated quadratic in x, y: convex or not, with or without a minimum, its minimum of either sign."""
    a, b, c, d, e, f = (round(rng.uniform(-2, 2), 1) for _ in range(6))
    return f"{abs(a)}*x^2 + {b}*x*y + {c}*y^2 + {d}*x + {e}*y + {f}"


def _expression(rng: random.Random, depth: int) -> str:
    """A random composition of the atoms the rules know, and some they do not (products, sin)."""
    if depth == 0:
        return rng.choice([_affine(rng), f"|{_affine(rng)}|", f"{_affine(rng)}^2", "x*y", f"sin{_affine(rng)}"])
    a, b = _expression(rng, depth - 1), _expression(rng, depth - 1)
    c = round(rng.uniform(-2, 2), 2)
    return rng.choice(
        [
            f"({a}) + ({b})",
            f"{c}*({a})",
            f"max({a}, {b})",
            f"min({a}, {b})",
            f"exp(({a})/4)",
            f"log(exp({a}) + exp({b}))",
            f"softplus({a})",
            f"sqrt({_affine(rng)}^2 + {_affine(rng)}^2 + 1)",
            f"|{a}|^3",
            f"log(1 + ({a})^2)",
            f"log(cosh({a}))",
            f"sqrt({_quadratic(rng)})",
        ]
    )


def test_every_composed_verdict_holds_on_random_chords() -> None:
    """The rules are sound: no generated composition they call convex (concave) has a chord below (above) it."""
    rng, generator = random.Random(5), torch.Generator().manual_seed(5)
    decided = 0
    for _ in range(400):
        objective = formula(_expression(rng, rng.choice([1, 2])), ["x", "y"])
        kind, _ = composed_curvature(objective.expr, objective.symbols)
        if kind not in ("convex", "concave"):
            continue
        decided += 1
        a, b = (torch.rand(300, 2, generator=generator, dtype=torch.float64) * 6 - 3 for _ in range(2))
        ends = (objective.values(a) + objective.values(b)) / 2
        middle = objective.values((a + b) / 2)
        gap = (middle - ends) if kind == "convex" else (ends - middle)
        ok = torch.isfinite(gap)
        assert bool((gap[ok] <= 1e-9 * (1 + ends[ok].abs())).all()), (objective.expr, kind, float(gap[ok].max()))
    assert decided >= 100  # the generator reaches the rules, not only the unknown
