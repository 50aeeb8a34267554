r"""Derivatives three ways — symbolic (SymPy), automatic (``torch.func``) and numeric
(central differences, from :mod:`losslab.objectives.finite_differences`) — and the checks built on them:
Clairaut, directional derivatives, Taylor predictions and an honest verdict on
differentiability. (Just over 400 lines: each check compares the same three derivatives, made here once.)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import sympy
import torch
from sympy.functions.elementary.hyperbolic import HyperbolicFunction
from sympy.functions.elementary.trigonometric import TrigonometricFunction
from torch import Tensor

from losslab.errors import LosslabError
from losslab.objectives.domain import PointLike
from losslab.objectives.finite_differences import central_difference_gradient, one_sided_gradients
from losslab.objectives.from_text import as_objective
from losslab.objectives.objective import Objective
from losslab.serialize import Readable

_DIGITS = 30


# -- symbolic --------------------------------------------------------------------------------
# simplify's trigsimp and piecewise rewriting take seconds to minutes on small derivatives of these
# (tanh((x + y)**4): 10 s per entry of the Hessian), so they are left as differentiated
_PIECEWISE = (sympy.Abs, sympy.sign, sympy.Max, sympy.Min, sympy.Heaviside, sympy.DiracDelta, sympy.Piecewise)
SLOW_TO_SIMPLIFY = (TrigonometricFunction, HyperbolicFunction, *_PIECEWISE)


def _tidy(expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> sympy.Expr:
    """Expanded form for polynomials (so Case Study 2 reads ``2*w0 + 3*w1 - 4``), else as is."""
    return _tidied(expr, tuple(symbols))


@functools.lru_cache(maxsize=1024)
def _tidied(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> sympy.Expr:
    """:func:`_tidy`, remembered: one analysis asks for the same Hessian three times."""
    if expr.is_polynomial(*symbols):
        return sympy.expand(expr)
    if sympy.count_ops(expr) <= 25 and not expr.has(*SLOW_TO_SIMPLIFY):  # small enough that simplify stays fast
        simpler = sympy.simplify(expr)
        return simpler if sympy.count_ops(simpler) < sympy.count_ops(expr) else expr
    return expr


def symbolic_gradient(objective: Objective | str) -> tuple[sympy.Expr, ...] | None:
    """The exact gradient :math:`(\\partial L/\\partial \\theta_i)_i`, or None without a formula.

    >>> from losslab.objectives.objective import formula
    >>> symbolic_gradient(formula("0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)"))
    (2*w0 + 3*w1 - 4, 3*w0 + 5*w1 - 6)
    """
    objective = as_objective(objective)
    if objective.expr is None:
        return None
    return tuple(_tidy(sympy.diff(objective.expr, s), objective.symbols) for s in objective.symbols)


def symbolic_hessian(objective: Objective | str) -> sympy.Matrix | None:
    """The exact Hessian :math:`H_{ij} = \\partial^2 L / \\partial\\theta_i \\partial\\theta_j`.

    >>> from losslab.objectives.objective import formula
    >>> symbolic_hessian(formula("0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)"))
    Matrix([
    [2, 3],
    [3, 5]])
    """
    objective = as_objective(objective)
    if objective.expr is None:
        return None
    return sympy.hessian(objective.expr, objective.symbols).applyfunc(lambda e: _tidy(e, objective.symbols))


def evaluate_symbolic(exprs: Sequence[sympy.Expr], objective: Objective, theta: Tensor) -> Tensor:
    """Evaluate expressions at θ with SymPy to 30 digits; undefined values (nan, zoo) → nan."""
    subs = {s: sympy.Float(float(v), _DIGITS) for s, v in zip(objective.symbols, theta.tolist(), strict=True)}
    out = []
    for expr in exprs:
        try:
            value = sympy.sympify(expr).evalf(_DIGITS, subs=subs)
        except ZeroDivisionError:  # mpmath's answer to e.g. 1/sqrt(0)
            value = sympy.zoo
        finite = value.is_number and value.is_extended_real and value.is_finite
        out.append(float(value) if finite else float("nan"))
    return torch.tensor(out, dtype=torch.float64)


# -- the three-way report --------------------------------------------------------------------
@dataclass
class GradientReport(Readable):
    """∇L at one point, computed three ways, with a verdict on differentiability.

    Attributes:
        names: parameter names.
        point: θ.
        value: L(θ).
        autodiff: ``torch.func.grad``.
        numeric: central differences, with ``step`` the :math:`h_i` used.
        symbolic: the exact gradient evaluated at θ to 30 digits (None without a formula).
        expressions, latex, mathml: the symbolic gradient as text, LaTeX and presentation MathML.
        forward, backward: one-sided differences (they disagree at a kink).
        discrepancies: max absolute difference per pair of methods (None if not comparable).
        differentiable: whether L is differentiable at θ; ``reason`` says why.
    """

    names: tuple[str, ...]
    point: Tensor
    value: float
    autodiff: Tensor
    numeric: Tensor
    step: Tensor
    symbolic: Tensor | None
    expressions: tuple[str, ...] | None
    latex: tuple[str, ...] | None
    mathml: tuple[str, ...] | None
    forward: Tensor
    backward: Tensor
    discrepancies: dict[str, float | None]
    differentiable: bool
    reason: str

    def __str__(self) -> str:
        at = ", ".join(f"{n}={v:g}" for n, v in zip(self.names, self.point.tolist(), strict=True))
        rows = [
            f"∇L at ({at}), L = {self.value:.10g}",
            f"{'':>8} {'symbolic':>20} {'autodiff':>20} {'central diff':>20}   expression",
        ]
        for i, name in enumerate(self.names):
            sym = "—" if self.symbolic is None else f"{float(self.symbolic[i]):.14g}"
            expr = "" if self.expressions is None else self.expressions[i]
            rows.append(
                f"∂/∂{name:<5} {sym:>20} {float(self.autodiff[i]):>20.14g} {float(self.numeric[i]):>20.14g}   {expr}"
            )
        rows.append(f"central-difference steps h: {', '.join(f'{h:.3g}' for h in self.step.tolist())}")
        gaps = ", ".join(f"{k}: {'—' if v is None else f'{v:.2e}'}" for k, v in self.discrepancies.items())
        rows.append(f"max |difference|: {gaps}")
        rows.append(f"{'differentiable' if self.differentiable else 'NOT differentiable'}: {self.reason}")
        return "\n".join(rows)


def _gap(a: Tensor | None, b: Tensor | None) -> float | None:
    if a is None or b is None or not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        return None
    return float((a - b).abs().max())


def _kink(objective: Objective, theta: Tensor, value: float) -> tuple[Tensor, Tensor, str | None]:
    """One-sided differences and, where they disagree beyond rounding, a sentence saying so."""
    fwd, bwd, h = one_sided_gradients(objective, theta)
    # Smooth L: |D+ - D-| = O(h² L''') + O(ε|L|/h) ≈ 1e-10 scale; a kink leaves a jump O(1).
    tol = 1e-6 * (1 + torch.maximum(fwd.abs(), bwd.abs())) + 1e-8 * abs(value) / h
    for i, name in enumerate(objective.names):
        f, b = float(fwd[i]), float(bwd[i])
        if torch.isfinite(fwd[i]) and torch.isfinite(bwd[i]) and abs(f - b) > float(tol[i]):
            return (
                fwd,
                bwd,
                f"one-sided differences in {name} disagree: forward {f:.6g}, backward {b:.6g} (a kink)",
            )
    return fwd, bwd, None


def _verdict(
    names: Sequence[str],
    value: float,
    autodiff: Tensor,
    symbolic: Tensor | None,
    kink: str | None,
    one_sided_finite: bool,
) -> tuple[bool, str]:
    if not torch.isfinite(torch.tensor(value)):
        return False, f"L is not finite here ({value})"
    if kink is not None:
        return False, kink
    bad_auto = [n for n, v in zip(names, autodiff.tolist(), strict=True) if not torch.isfinite(torch.tensor(v))]
    bad_sym = (
        []
        if symbolic is None
        else [n for n, v in zip(names, symbolic.tolist(), strict=True) if not torch.isfinite(torch.tensor(v))]
    )
    if bad_auto and (symbolic is None or bad_sym):
        return (
            False,
            f"the derivative in {', '.join(bad_auto)} is undefined here (autodiff and symbolic give nan/∞)",
        )
    if bad_sym and not bad_auto and not one_sided_finite:
        return False, f"the symbolic derivative in {', '.join(bad_sym)} is undefined here"
    if not one_sided_finite:
        return (
            True,
            "autodiff and symbolic derivatives are finite (L is undefined on one side nearby)",
        )
    if bad_auto:
        return (
            True,
            f"autodiff gives nan in {', '.join(bad_auto)} (0·∞ in the chain rule), "
            f"but the symbolic derivative and one-sided differences agree",
        )
    return True, "one-sided differences agree and every method gives a finite gradient"


def gradient_report(objective: Objective | str, at: PointLike) -> GradientReport:
    """Autodiff, symbolic and central-difference gradients side by side, and a verdict.

    Non-differentiable points are reported as such, never as NaN: a kink is found where the
    forward and backward one-sided differences disagree (``abs(w)`` at 0 — where torch and
    SymPy both quietly say 0), and an undefined derivative where autodiff and SymPy give nan.

    >>> from losslab.objectives.objective import formula
    >>> r = gradient_report(formula("sqrt(w0**2 + w1**2)"), [0.0, 0.0])
    >>> r.differentiable, r.reason.startswith("one-sided differences in w0 disagree")
    (False, True)
    >>> gradient_report(formula("abs(w)"), [1.0]).differentiable
    True
    """
    objective = as_objective(objective)
    theta = objective.point(at)
    value = float(objective.value(theta))
    autodiff = objective.grad(theta)
    numeric, step = central_difference_gradient(objective, theta)
    exprs = symbolic_gradient(objective)
    symbolic = None if exprs is None else evaluate_symbolic(exprs, objective, theta)
    fwd, bwd, kink = _kink(objective, theta, value)
    one_sided_finite = bool(torch.isfinite(fwd).all() and torch.isfinite(bwd).all())
    differentiable, reason = _verdict(objective.names, value, autodiff, symbolic, kink, one_sided_finite)
    return GradientReport(
        names=tuple(objective.names),
        point=theta,
        value=value,
        autodiff=autodiff,
        numeric=numeric,
        step=step,
        symbolic=symbolic,
        expressions=None if exprs is None else tuple(str(e) for e in exprs),
        latex=None if exprs is None else tuple(sympy.latex(e) for e in exprs),
        mathml=None if exprs is None else tuple(sympy.mathml(e, printer="presentation") for e in exprs),
        forward=fwd,
        backward=bwd,
        discrepancies={
            "autodiff-symbolic": _gap(autodiff, symbolic),
            "autodiff-numeric": _gap(autodiff, numeric),
            "symbolic-numeric": _gap(symbolic, numeric),
        },
        differentiable=differentiable,
        reason=reason,
    )


# -- Clairaut, directional derivative, Taylor ------------------------------------------------
@dataclass
class ClairautReport(Readable):
    """Equality of mixed partials :math:`\\partial_i\\partial_j L = \\partial_j\\partial_i L`.

    Attributes:
        names: parameter names.
        mixed: ``(name_i, name_j, ∂²L/∂i∂j as text)`` for each pair i < j (empty without a formula).
        symbolic_equal: SymPy proves the mixed partials equal (None without a formula, or when they are
            too large for SymPy to compare in reasonable time).
        point, asymmetry: the point and :math:`\\max|H - H^T|` of the autodiff Hessian there.
    """

    names: tuple[str, ...]
    mixed: tuple[tuple[str, str, str], ...]
    symbolic_equal: bool | None
    point: Tensor | None
    asymmetry: float | None

    def __str__(self) -> str:
        rows = [f"∂²L/∂{a}∂{b} = ∂²L/∂{b}∂{a} = {text}" for a, b, text in self.mixed]
        if self.symbolic_equal is not None:
            rows.append(f"symbolic mixed partials equal: {self.symbolic_equal}")
        if self.asymmetry is not None and math.isnan(self.asymmetry):
            rows.append("autodiff Hessian: not finite here (L is not twice differentiable at this point)")
        elif self.asymmetry is not None:
            rows.append(f"autodiff Hessian asymmetry max|H - Hᵀ| = {self.asymmetry:.3e}")
        return "\n".join(rows)


def clairaut(objective: Objective | str, at: PointLike | None = None) -> ClairautReport:
    """Check Clairaut's theorem symbolically (when there is a formula) and numerically at ``at``.

    >>> from losslab.objectives.objective import formula
    >>> r = clairaut(formula("0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)"), [0.0, 0.0])
    >>> r.mixed, r.symbolic_equal, r.asymmetry
    ((('w0', 'w1', '3'),), True, 0.0)
    """
    objective = as_objective(objective)
    mixed, equal = [], None
    if objective.expr is not None:
        equal = True
        for i, a in enumerate(objective.symbols):
            for b in objective.symbols[i + 1 :]:
                ab, ba = sympy.diff(objective.expr, a, b), sympy.diff(sympy.diff(objective.expr, b), a)
                equal = _same_expression(ab, ba) if equal else equal
                mixed.append((a.name, b.name, str(_tidy(ab, objective.symbols))))
    theta, asymmetry = None, None
    if at is not None:
        theta = objective.point(at)
        h = objective.hessian(theta)
        asymmetry = float((h - h.T).abs().max())
    return ClairautReport(tuple(objective.names), tuple(mixed), equal, theta, asymmetry)


SIMPLIFY_OPS = 400  # larger differences (a loss summed over many samples) take SymPy's simplify seconds to minutes


def _same_expression(a: sympy.Expr, b: sympy.Expr) -> bool | None:
    """Whether SymPy shows ``a == b``: as trees (the usual case), else by ``simplify``; None when too large
    to try, or when simplify would be slow (tanh, abs, …) and expanding the difference does not settle it."""
    if a == b:
        return True
    difference = a - b
    if sympy.count_ops(difference) > SIMPLIFY_OPS:
        return None
    if difference.has(*SLOW_TO_SIMPLIFY):  # simplify could take minutes: only the cheap expansion
        return True if sympy.expand(difference) == 0 else None
    return bool(sympy.simplify(difference) == 0)


def directional_derivative(objective: Objective | str, at: PointLike, direction: PointLike) -> float:
    """The rate of change along a direction, :math:`D_u L = \\nabla L \\cdot u / \\|u\\|`.

    >>> from losslab.objectives.objective import formula
    >>> round(directional_derivative(formula("2*w0**2 + 3*w1**2"), [3.0, 4.0], [3.0, 4.0]), 12)
    26.4
    """
    objective = as_objective(objective)
    u = as_direction(objective, direction)
    return float(objective.grad(at) @ u)


def as_direction(objective: Objective, direction: PointLike) -> Tensor:
    """A unit vector from any point-like input; the zero vector is refused."""
    u = objective.point(direction)
    norm = float(torch.linalg.vector_norm(u))
    if norm == 0:
        raise LosslabError(f"direction {u.tolist()} is the zero vector; give a nonzero direction")
    return u / norm


@dataclass
class TaylorReport(Readable):
    r"""First- and second-order Taylor predictions of the change :math:`L(\theta+\delta) - L(\theta)`.

    first order :math:`\nabla L\cdot\delta`; second order
    :math:`\nabla L\cdot\delta + \tfrac12\delta^T H \delta`; errors are actual − predicted.
    """

    names: tuple[str, ...]
    point: Tensor
    displacement: Tensor
    value: float
    value_after: float
    change: float
    first_order: float
    second_order: float

    @property
    def first_order_error(self) -> float:
        return self.change - self.first_order

    @property
    def second_order_error(self) -> float:
        return self.change - self.second_order

    def to_dict(self) -> dict[str, object]:
        return {
            "names": list(self.names),
            "point": [float(v) for v in self.point.tolist()],
            "displacement": [float(v) for v in self.displacement.tolist()],
            "value": self.value,
            "value_after": self.value_after,
            "change": self.change,
            "first_order": self.first_order,
            "second_order": self.second_order,
            "first_order_error": self.first_order_error,
            "second_order_error": self.second_order_error,
        }

    def __str__(self) -> str:
        return "\n".join(
            [
                f"L(θ)      = {self.value:.12g}",
                f"L(θ + δ)  = {self.value_after:.12g}",
                f"change δL = {self.change:.12g}",
                f"1st order ∇L·δ           = {self.first_order:.12g}   (error {self.first_order_error:.3e})",
                f"2nd order ∇L·δ + ½δᵀHδ   = {self.second_order:.12g}   (error {self.second_order_error:.3e})",
            ]
        )


def taylor(objective: Objective | str, at: PointLike, displacement: PointLike) -> TaylorReport:
    """Compare the actual change of L over a displacement with its Taylor predictions.

    >>> from losslab.objectives.objective import formula
    >>> r = taylor(formula("2*w0**2 + 3*w1**2"), [3.0, 4.0], [0.0003, 0.0004])
    >>> round(r.change, 10), round(r.first_order, 10), round(r.second_order, 10)
    (0.01320066, 0.0132, 0.01320066)
    """
    objective = as_objective(objective)
    theta, delta = objective.point(at), objective.point(displacement)
    value, gradient = objective.value_and_grad(theta)
    after = objective.value(theta + delta)
    first = float(gradient @ delta)
    second = first + 0.5 * float(delta @ objective.hvp(theta, delta))
    return TaylorReport(
        tuple(objective.names), theta, delta, float(value), float(after), float(after - value), first, second
    )
