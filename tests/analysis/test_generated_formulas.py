"""Nothing a student types breaks the analysis: formulas drawn from the student grammar — sqrt, log,
abs, max/min, exp, sin, tanh, integer, fractional and negative powers, division; one to three
variables; nesting depth three or more — each go through ``losslab.analyze`` and must end, within a
time bound, in a printable, JSON-able result or a :class:`LosslabError` naming the cause.

The draws are seeded (``random.Random(seed)``), so a failure names its seed and formula and
reruns the same. CI runs 150; ``LOSSLAB_ANALYSIS_EXAMPLES=3000`` runs more, once, by hand.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator

import pytest
import torch

import losslab
from losslab.errors import LosslabError
from losslab.serialize import jsonable

EXAMPLES = int(os.environ.get("LOSSLAB_ANALYSIS_EXAMPLES", "150"))
SECONDS_PER_FORMULA = 60.0  # typically under 2 s; generous for two busy cores
NAMES = (("x",), ("x", "y"), ("w0", "w1", "w2"))
UNARY = ("sqrt", "log", "abs", "exp", "sin", "tanh")
BINARY = ("max", "min")
OPERATORS = ("+", "-", "*", "/")
POWERS = ("2", "3", "4", "0.5", "1.5", "(1/3)", "(2/3)", "-1", "-0.5")
NUMBERS = ("1", "2", "3", "0.5", "0.1", "10")


def student_formula(rng: random.Random, names: tuple[str, ...], depth: int) -> str:
    """A formula whose tree is exactly ``depth`` deep: one child always carries the depth down."""
    if depth == 0:
        return rng.choice(names) if rng.random() < 0.75 else rng.choice(NUMBERS)
    deep = student_formula(rng, names, depth - 1)
    other = student_formula(rng, names, rng.randrange(depth))
    roll = rng.random()
    if roll < 0.3:
        return f"{rng.choice(UNARY)}({deep})"
    if roll < 0.4:
        return f"{rng.choice(BINARY)}({deep}, {other})"
    if roll < 0.55:
        return f"({deep})**{rng.choice(POWERS)}"
    left, right = (deep, other) if rng.random() < 0.5 else (other, deep)
    return f"({left}) {rng.choice(OPERATORS)} ({right})"


def draws(count: int) -> Iterator[tuple[int, str]]:
    """(seed, formula) for seeds 0, 1, …: the names, then a tree of depth 3 (2 in 3) or 4."""
    for seed in range(count):
        rng = random.Random(seed)
        names = NAMES[rng.randrange(len(NAMES))]
        yield seed, student_formula(rng, names, rng.choice((3, 3, 4)))


CASES = list(draws(EXAMPLES))


@pytest.mark.parametrize(("seed", "text"), CASES, ids=[f"{seed}:{text}" for seed, text in CASES])
@pytest.mark.usefixtures("one_thread")
def test_analyze_ends_in_a_result_or_a_losslab_error(seed: int, text: str) -> None:
    started = time.perf_counter()
    try:
        objective = losslab.formula(text)
        result = losslab.analyze(objective, generator=torch.Generator().manual_seed(seed))
    except LosslabError as error:
        assert str(error).strip(), f"seed {seed}: {text!r} raised an empty LosslabError"
    else:
        assert str(result).startswith("Analysis of")
        json.dumps(jsonable(result.to_dict()), allow_nan=False)
        for point in result.stationary_points:
            assert point.kind in ("minimum", "maximum", "saddle", "degenerate")
            assert point.differentiable or point.note, str(point)
    assert time.perf_counter() - started < SECONDS_PER_FORMULA, f"seed {seed}: {text!r} took too long"
