"""What a lesson's ``compute:`` line asks losslab to compute: a number, or a formula.

A lesson never types the answer to a number question; it names a quantity, and losslab computes
it from the question's loss when the lesson loads. The quantities, each one line:

=====================================  ===============================================================
``compute:``                           the number
=====================================  ===============================================================
``w after step 3``                     a parameter after step 3 of the question's run
``L after step 3``                     the loss after step 3 of the run
``steps to within 0.01``               the first step of the run within 0.01 of the nearest minimum
``L at w0=3,w1=4``                     the loss at a point (``L at minimum``: at the lowest minimum)
``dL/dw0 at w0=3,w1=4``                a partial derivative at a point
``d2L/dw0dw1 at w0=0,w1=0``            a second partial derivative (a Hessian entry)
``minimum w0``                         a coordinate of the lowest minimum
``max stable lr``                      2/λmax, the largest learning rate plain gradient descent survives
``change from w0=3,w1=4 by w0=…,w1=…`` δL = L(θ + δ) − L(θ)
``first order from … by …``            the first-order Taylor prediction ∇L·δ
=====================================  ===============================================================

The formula quantities (checked for symbolic equivalence): ``dL/dw0`` (a partial derivative),
``update w with eta`` (one gradient-descent step, w − η·∂L/∂w, with the learning rate named
``eta``) and ``L`` (the loss itself).

The run of a question is its ``run:`` (else the view's first), from its ``start:`` (else the view's),
for its ``steps:`` (else enough for the step asked, or the view's).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import sympy
import torch

from losslab.analysis.derivatives import taylor
from losslab.analysis.stability import max_stable_lr
from losslab.analysis.stationary import stationary_points
from losslab.descent.optimizers import OptimizerSpec
from losslab.descent.run import descend
from losslab.descent.trajectory import Trajectory
from losslab.errors import LosslabError
from losslab.objectives.formula_parser import symbol
from losslab.objectives.objective import Objective

MAX_RUN_STEPS = 100_000


@dataclass(frozen=True)
class Context:
    """What a question computes on: its loss, and the run it is about (if any)."""

    objective: Objective
    start: str | None
    run: OptimizerSpec | None
    steps: int | None

    def run_for(self, steps: int) -> Trajectory:
        """The run, for at most ``steps`` steps (fewer when a stop rule ended it)."""
        return self._descend(steps, None)

    def steps_within(self, tol: float, steps: int) -> int | None:
        """The first step of the run within ``tol`` of the nearest minimum, or None."""
        run = self._descend(steps, tol)
        return run.diagnosis.step if run.diagnosis.reason.startswith("within") else None

    def _descend(self, steps: int, within: float | None) -> Trajectory:
        if self.run is None or self.start is None:
            raise LosslabError(
                "this question needs a run: give 'run: gd:lr=0.1' and 'start: w=0' (here or in the view)"
            )
        return descend(self.objective, self.start, self.run, steps=steps, within=within)


_NUMBER_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(?P<name>\w+) after step (?P<n>\d+)$"), "after"),
    (re.compile(r"^steps to within (?P<tol>[0-9.eE+-]+)$"), "within"),
    (re.compile(r"^L at minimum$"), "lowest"),
    (re.compile(r"^L at (?P<at>.+)$"), "value"),
    (re.compile(r"^dL/d(?P<name>\w+) at (?P<at>.+)$"), "partial"),
    (re.compile(r"^d2L/d(?P<a>[A-Za-z]\w*?)d(?P<b>[A-Za-z]\w*) at (?P<at>.+)$"), "second"),
    (re.compile(r"^minimum (?P<name>\w+)$"), "minimum"),
    (re.compile(r"^max stable lr$"), "stable"),
    (re.compile(r"^change from (?P<at>.+) by (?P<by>.+)$"), "change"),
    (re.compile(r"^first order from (?P<at>.+) by (?P<by>.+)$"), "first"),
]


def compute_number(text: str, context: Context) -> float:
    """The number a ``compute:`` line names, computed on the question's loss.

    >>> from losslab.objectives.objective import formula
    >>> from losslab.descent.optimizers import parse_optimizer
    >>> ctx = Context(formula("w**2 - 4*w + 5"), "w=0", parse_optimizer("gd:lr=0.3"), None)
    >>> round(compute_number("w after step 3", ctx), 12), compute_number("minimum w", ctx)
    (1.872, 2.0)
    """
    spoken = " ".join(text.split())
    for pattern, rule in _NUMBER_RULES:
        match = pattern.match(spoken)
        if match:
            return float(_NUMBER_HANDLERS[rule](match.groupdict(), context))
    raise LosslabError(
        f"compute {text!r} is not a quantity losslab knows; see the table in losslab.course.lesson_compute"
    )


def _index(objective: Objective, name: str) -> int:
    if name not in objective.names:
        raise LosslabError(f"{name!r} is not a parameter of this loss; its parameters are {', '.join(objective.names)}")
    return objective.names.index(name)


def _after(g: dict[str, str], c: Context) -> float:
    n = int(g["n"])
    if n > MAX_RUN_STEPS:
        raise LosslabError(f"step {n} is past the {MAX_RUN_STEPS} a lesson may run")
    run = c.run_for(max(n, 1))
    params = run.params
    if n >= params.shape[0] and run.diagnosis.status in ("diverged", "unbounded"):
        raise LosslabError(f"the run {run.diagnosis.status} at step {run.diagnosis.step}, before step {n}")
    params = params[: n + 1] if n < params.shape[0] else params  # a converged run stays where it stopped
    n = min(n, params.shape[0] - 1)
    if g["name"] == "L":
        return float(c.objective.value(params[n]))
    return float(params[n, _index(c.objective, g["name"])])


def _within(g: dict[str, str], c: Context) -> float:
    step = c.steps_within(float(g["tol"]), c.steps or 10_000)
    if step is None:
        raise LosslabError(f"the run never gets within {g['tol']} of a minimum; give it more 'steps:'")
    return float(step)


def _lowest_minimum(objective: Objective) -> torch.Tensor:
    minima = [p for p in stationary_points(objective) if p.kind == "minimum"]
    if not minima:
        raise LosslabError("losslab finds no minimum of this loss in its domain")
    return minima[0].point


def _second(g: dict[str, str], c: Context) -> float:
    hessian = c.objective.hessian(g["at"])
    return float(hessian[_index(c.objective, g["a"]), _index(c.objective, g["b"])])


def _stable(g: dict[str, str], c: Context) -> float:
    lr = max_stable_lr(c.objective)
    if lr is None:
        raise LosslabError("this loss has no positive curvature at its minimum, so no largest stable learning rate")
    return lr


_NUMBER_HANDLERS: dict[str, Callable[[dict[str, str], Context], float]] = {
    "after": _after,
    "within": _within,
    "lowest": lambda g, c: float(c.objective.value(_lowest_minimum(c.objective))),
    "value": lambda g, c: float(c.objective.value(g["at"])),
    "partial": lambda g, c: float(c.objective.grad(g["at"])[_index(c.objective, g["name"])]),
    "second": _second,
    "minimum": lambda g, c: float(_lowest_minimum(c.objective)[_index(c.objective, g["name"])]),
    "stable": _stable,
    "change": lambda g, c: taylor(c.objective, g["at"], g["by"]).change,
    "first": lambda g, c: taylor(c.objective, g["at"], g["by"]).first_order,
}


def compute_formula(text: str, objective: Objective) -> tuple[sympy.Expr, tuple[str, ...]]:
    """The expression a formula question's ``compute:`` names, and the names an answer may use.

    >>> from losslab.objectives.objective import formula
    >>> compute_formula("update w with eta", formula("w**2 - 4*w + 5"))
    (-eta*(2*w - 4) + w, ('w', 'eta'))
    """
    expr = getattr(objective, "expr", None)
    if not isinstance(expr, sympy.Expr):
        raise LosslabError("a formula question needs a loss written as a formula (its derivatives are symbolic)")
    names = tuple(objective.names)
    spoken = " ".join(text.split())
    partial = re.match(r"^dL/d(?P<name>\w+)$", spoken)
    update = re.match(r"^update (?P<name>\w+) with (?P<lr>[A-Za-z]\w*)$", spoken)
    if spoken == "L":
        return expr, names
    if partial:
        return sympy.diff(expr, symbol(partial["name"])) if _index(objective, partial["name"]) >= 0 else expr, names
    if update:
        var, lr = symbol(update["name"]), symbol(update["lr"])
        _index(objective, update["name"])
        return var - lr * sympy.diff(expr, var), (*names, update["lr"])
    raise LosslabError(f"compute {text!r} is not a formula losslab knows: 'L', 'dL/dw', 'update w with eta'")
