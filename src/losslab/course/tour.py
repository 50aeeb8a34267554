"""The tour: every worked example of the seeds, computed by losslab beside the seed's value.

``losslab tour`` (and ``make run``) prints it; the test suite asserts every line. Each
check states what the seed says, what losslab computes, and the tolerance it is held to.
The seeds are the textbook chapters in ``shared/seeds``: Hill-Descending (the
hand-simulation of ``w² − 4w + 5`` and the ``(w − 3)²`` example), Case Study 1 (a line
fitted to five points), Case Study 2 (Maya's two-parameter bowl) and Chapter 3 (gradients,
Taylor approximations, convexity, the PyTorch listings).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from losslab.analysis.convexity import chord_check, convexity
from losslab.analysis.derivatives import clairaut, gradient_report, symbolic_gradient, symbolic_hessian, taylor
from losslab.analysis.stability import max_stable_lr
from losslab.analysis.stationary import stationary_points
from losslab.descent.run import descend
from losslab.errors import LosslabError
from losslab.objectives.columns import synthetic_linear, synthetic_quadratic
from losslab.objectives.data import DataObjective, closed_form, least_squares
from losslab.objectives.gallery import gallery
from losslab.objectives.linear_fit import ClosedForm
from losslab.objectives.numeric_gradient import NumericGradientObjective
from losslab.objectives.objective import formula
from losslab.serialize import Readable, jsonable

CS1_X = [1, 2, 3, 4, 5]
CS1_Y = [2.1, 3.9, 6.1, 8.0, 9.9]
PROJECT_Y = [2.5, 3.9, 6.1, 8.5, 10.3]


@dataclass(frozen=True)
class SeedCheck:
    """One claim of a seed, and what losslab computes for it."""

    seed: str
    claim: str
    expected: str
    computed: str
    passed: bool


@dataclass(frozen=True)
class TourReport(Readable):
    """All checks of the tour; ``passed`` when every one holds."""

    checks: tuple[SeedCheck, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": jsonable(self.checks)}

    def __str__(self) -> str:
        lines = []
        for c in self.checks:
            lines.append(
                f"[{'ok' if c.passed else 'MISMATCH'}] {c.seed}: {c.claim}\n"
                f"      seed: {c.expected}\n   losslab: {c.computed}"
            )
        good = sum(c.passed for c in self.checks)
        lines.append(f"{good} of {len(self.checks)} seed results reproduced")
        return "\n".join(lines)

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.table import Table

        tables = []
        for seed in dict.fromkeys(c.seed for c in self.checks):
            table = Table(title=seed, title_justify="left", title_style="bold", expand=True)
            table.add_column("", width=1)
            table.add_column("claim", ratio=4)
            table.add_column("seed says", ratio=2)
            table.add_column("losslab computes", ratio=3)
            for c in (c for c in self.checks if c.seed == seed):
                table.add_row("[green]✓[/]" if c.passed else "[red]✗[/]", c.claim, c.expected, c.computed)
            tables.append(table)
        good = sum(c.passed for c in self.checks)
        return Group(*tables, f"[bold]{good} of {len(self.checks)} seed results reproduced[/]")


def _fmt(values: Any, digits: int = 10) -> str:
    if isinstance(values, torch.Tensor):
        values = values.tolist()
    if isinstance(values, list | tuple):
        return ", ".join(_fmt(v, digits) for v in values)
    if isinstance(values, float):
        return f"{values:.{digits}g}"
    return str(values)


def _close(seed: str, claim: str, computed: Any, expected: Sequence[float] | float, tol: float) -> SeedCheck:
    got = torch.as_tensor(computed, dtype=torch.float64).reshape(-1)
    want = torch.as_tensor(expected, dtype=torch.float64).reshape(-1)
    ok = got.shape == want.shape and bool(torch.all((got - want).abs() <= tol))
    return SeedCheck(seed, f"{claim} (±{tol:g})", _fmt(want.tolist()), _fmt(got.tolist()), ok)


def _says(seed: str, claim: str, computed: str, expected: str, ok: bool) -> SeedCheck:
    return SeedCheck(seed, claim, expected, computed, ok)


def hill_descending() -> list[SeedCheck]:
    """Optimization as Hill-Descending: the hand-simulation and its extensions."""
    seed, hand = "Hill-Descending", gallery("hand_simulation")
    run = descend(hand, "w=0", lr=0.3, steps=8)
    fast = descend(hand, "w=0", lr=1.5, steps=40)
    slow = descend(hand, "w=0", lr=0.05, steps=200)
    within = descend(hand, "w=0", lr=0.05, steps=200, within=0.01)  # the same run, stopped by the question
    parabola = gallery("shifted_parabola")
    bounce = descend(parabola, "w=0", lr=1.0, steps=20)
    wild = descend(parabola, "w=0", lr=2.0, steps=40)
    return [
        _close(
            seed, "w² − 4w + 5 from 0, lr 0.3: w after steps 1–4", run.params[1:5, 0], [1.2, 1.68, 1.872, 1.9488], 1e-12
        ),
        _close(seed, "… w after 8 steps", run.params[8, 0], 1.99868928, 1e-12),
        _close(seed, "lr 1.5: w after steps 1–3", fast.params[1:4, 0], [6, -6, 18], 1e-12),
        _says(
            seed,
            "lr 1.5 diverges, and why",
            _why(fast),
            "diverges (above 2/λmax = 1)",
            fast.diagnosis.status == "diverged" and "2/λmax" in fast.diagnosis.reason,
        ),
        _close(
            seed,
            "lr 0.05: steps to get within 0.01 of w = 2 (counted; where within=0.01 stops)",
            [
                slow.first_step_within([2.0], 0.01) or -1,
                within.diagnosis.step if within.diagnosis.reason.startswith("within") else -1,
            ],
            [51, 51],
            0,
        ),
        _close(
            seed,
            "(w − 3)² from 0, lr 0.1: w after steps 1–2",
            descend(parabola, "w=0", lr=0.1, steps=2).params[1:, 0],
            [0.6, 1.08],
            1e-12,
        ),
        _says(
            seed,
            "(w − 3)², lr 1.0 oscillates forever between 0 and 6",
            f"{bounce.diagnosis.status}: w = {_fmt(bounce.params[:5, 0])}, …",
            "oscillates: 0, 6, 0, 6, …",
            bounce.diagnosis.status == "oscillating" and bounce.params[:, 0].tolist()[:5] == [0, 6, 0, 6, 0],
        ),
        _close(seed, "(w − 3)², lr 2.0: w after steps 1–3", wild.params[1:4, 0], [12, -24, 84], 1e-12),
        _says(seed, "(w − 3)², lr 2.0 diverges", _why(wild), "diverged", wild.diagnosis.status == "diverged"),
    ]


def case_study_1() -> list[SeedCheck]:
    """How a Machine Learns a Line: closed form, gradient descent, the learning-rate caution."""
    seed = "Case Study 1"
    line = least_squares(CS1_X, CS1_Y, model="m*x", loss="mse")
    exact = _solved(line)
    gd = descend(line, "m=0", lr=0.01, steps=2000)
    wild = descend(line, "m=0", lr=0.1, steps=200)
    project = least_squares(CS1_X, PROJECT_Y, model="m*x + b", loss="mse")
    project_exact = _solved(project)
    # The seed runs 20000 steps; the gradient-norm rule stops once nothing more can change.
    numeric = descend(NumericGradientObjective(project, step=1e-5), "b=0,m=0", lr=0.01, steps=20000, grad_tol=1e-9)
    order = [project.names.index("m"), project.names.index("b")]
    return [
        _close(seed, "closed-form m* = Σxy / Σx²", exact.params, 1.994545, 5e-7),
        _close(seed, "L(m*)", exact.loss, 0.007673, 5e-7),
        _close(
            seed,
            f"GD from 0, α = 0.01 (the seed runs 2000 steps; θ stops changing after {gd.steps})",
            gd.final,
            1.994545,
            5e-7,
        ),  # fmt: skip
        _close(seed, "largest stable α = 2 / L''(m) = 2/22", max_stable_lr(line) or float("nan"), 2 / 22, 1e-12),
        _says(
            seed,
            "α = 0.1 diverges, and the diagnosis names 2/22 ≈ 0.0909",
            _why(wild),
            "oscillates wildly or diverges",
            wild.diagnosis.status == "diverged" and "0.0909" in wild.diagnosis.reason,
        ),
        _close(seed, "mini-project y = mx + b: closed form (m, b)", project_exact.params[order], [2.02, 0.2], 1e-12),
        _close(
            seed,
            f"mini-project: GD with numeric gradients (h = 1e-5, α = 0.01, {numeric.steps} steps) → (m, b)",
            numeric.final[order],
            [2.02, 0.2],
            1e-6,
        ),
    ]


def case_study_2() -> list[SeedCheck]:
    """The loss surface of Maya's two-parameter model."""
    seed, bowl = "Case Study 2", gallery("case_study_2")
    grad = symbolic_gradient(bowl)
    hess = symbolic_hessian(bowl)
    step = descend(bowl, "w0=0,w1=0", lr=0.1, steps=1)
    points = stationary_points(bowl)
    convex = convexity(bowl)
    symmetric = clairaut(bowl)
    shown = [str(g) for g in grad] if grad is not None else []
    only = points[0] if len(points) == 1 else None
    return [
        _says(
            seed,
            "∂L/∂w0 and ∂L/∂w1",
            "; ".join(shown),
            "2*w0 + 3*w1 - 4; 3*w0 + 5*w1 - 6",
            shown == ["2*w0 + 3*w1 - 4", "3*w0 + 5*w1 - 6"],
        ),
        _close(seed, "one GD step from (0, 0) with η = 0.1", step.params[1], [0.4, 0.6], 1e-12),
        _says(
            seed,
            "the only stationary point",
            "none" if only is None else f"({_fmt(only.point)}) {only.kind}, L = {only.value:g}",
            "(2, 0) minimum, L = 0",
            only is not None
            and only.kind == "minimum"
            and only.point.tolist() == [2.0, 0.0]
            and abs(only.value) < 1e-12,
        ),
        _says(
            seed,
            "Hessian",
            str(hess.tolist() if hess is not None else None),
            "[[2, 3], [3, 5]]",
            hess is not None and hess.tolist() == [[2, 3], [3, 5]],
        ),
        _says(
            seed,
            "mixed partials equal (Clairaut)",
            str(symmetric),
            "L_w0w1 = L_w1w0 = 3",
            symmetric.symbolic_equal is True,
        ),
        _says(seed, "convex", str(convex), "a bowl: convex", convex.verdict == "convex" and convex.proved),
    ]


def chapter_3(generator: torch.Generator | None = None) -> list[SeedCheck]:
    """Classifiers and vector calculus: gradients, Taylor, convexity, the PyTorch listings."""
    seed, bowl = "Chapter 3", gallery("chapter3_bowl")
    near = taylor(bowl, "w0=3,w1=4", [0.0003, 0.0004])
    turned = taylor(bowl, "w0=3,w1=4", [0.0004, 0.0003])
    cone = gradient_report(gallery("cone"), "w0=0,w1=0")
    verdicts = {
        text: convexity(formula(text, domain=dom)).verdict
        for text, dom in (("x**2", "-5:5"), ("exp(x)", "-5:5"), ("x**3", "-5:5"), ("log(x)", "0.1:10"))
    }
    above = chord_check(formula("x**2"), [-3.0], [5.0], 0.3)
    below = chord_check(formula("x**3"), [-8.0], [5.0], 0.3)
    g = generator or torch.Generator().manual_seed(0)
    noisy = synthetic_linear(1000, generator=g)
    linear = _solved(least_squares(noisy["x"], noisy["y"], model="w*x + b", parameters=["w", "b"]))
    quad = synthetic_quadratic(500, generator=g)
    bad = _solved(least_squares(quad["x"], quad["y"], model="w*x + b"))
    good = _solved(least_squares(quad["x"], quad["y"], model="w0 + w1*x + w2*x**2"))
    return [
        _close(seed, "L(3, 4) on 2w0² + 3w1²", bowl.value("w0=3,w1=4"), 66, 1e-12),
        _close(seed, "∇L(3, 4)", bowl.grad("w0=3,w1=4"), [12, 24], 1e-12),
        _close(seed, "δL for δ = (0.0003, 0.0004)", near.change, 0.01320066, 1e-12),
        _close(seed, "first-order prediction ∇L·δ", near.first_order, 0.0132, 1e-12),
        _close(seed, "δL for δ = (0.0004, 0.0003), seed rounded to 7 digits", turned.change, 0.0120006, 1e-7),
        _says(
            seed, "∇ of √(w0² + w1²) at the origin", cone.reason, "does not exist (not NaN)", not cone.differentiable
        ),
        _says(
            seed,
            "x², eˣ convex; x³ not; log x concave",
            _fmt(list(verdicts.values())),
            "convex, convex, not convex, concave",
            list(verdicts.values()) == ["convex", "convex", "not convex", "concave"],
        ),
        _says(
            seed,
            "chords (fig. 3.16): x² with A = −3, B = 5; x³ with A = −8, B = 5",
            f"{above.position}; {below.position}",
            "C above D; C below D",
            (above.position, below.position) == ("chord above curve", "chord below curve"),
        ),
        _close(seed, "listing 3.1: linear fit of 1.5x + 2.73 + noise (w, b)", linear.params, [1.5, 2.73], 0.1),
        _says(
            seed, "listing 3.3: a line on x² − x + 2 data stays bad", f"L = {bad.loss:.4g}", "large loss", bad.loss > 10
        ),
        _close(seed, "listing 3.4: quadratic model recovers (2, −1, 1)", good.params, [2, -1, 1], 0.2),
    ]


def _why(run: Any) -> str:
    """The status, the growth factor and the 2/λmax clause of a diagnosis, without the rest of the sentence."""
    clauses = [
        re.search(pattern, run.diagnosis.reason)
        for pattern in (r"L grows geometrically, ×[0-9.e+-]+ per step", r"lr [^ ]+ is above 2/λmax = [0-9.e+-]+")
    ]
    found = "; ".join(match.group(0) for match in clauses if match)
    return f"{run.diagnosis.status} at step {run.diagnosis.step}" + (f": {found}" if found else "")


def _solved(objective: DataObjective) -> ClosedForm:
    """The least-squares solution of a model that is linear in its parameters."""
    solution = closed_form(objective)
    if solution is None:
        raise LosslabError(f"model {objective.model} has no closed-form least-squares solution")
    return solution


SECTIONS: tuple[Callable[[], list[SeedCheck]], ...] = (hill_descending, case_study_1, case_study_2, chapter_3)


def run_tour() -> TourReport:
    """Compute every seed example and compare it with the seed's own figure.

    >>> report = run_tour()  # doctest: +SKIP
    """
    return TourReport(tuple(check for section in SECTIONS for check in section()))
