"""The loss, its gradient and Hessian as presentation MathML for the explorer's page: SymPy's printer, with the
derivatives of non-smooth losses in a textbook's notation — δ(x) for ``DiracDelta`` (SymPy prints
"diracdelta"), Θ(x) for ``Heaviside`` (SymPy adds its value at 0 as a second argument, Θ(x, 1/2))."""

from __future__ import annotations

from typing import Any

import sympy
from sympy.printing.mathml import MathMLPresentationPrinter

from losslab.analysis.derivatives import symbolic_gradient, symbolic_hessian
from losslab.objectives.objective import Objective


class _Printer(MathMLPresentationPrinter):
    def _print_DiracDelta(self, e: Any) -> Any:
        order = int(e.args[1]) if len(e.args) > 1 else 0
        return self._named("&#x3B4;", e.args[0], order)

    def _print_Heaviside(self, e: Any) -> Any:
        return self._named("&#x398;", e.args[0], 0)

    def _named(self, name: str, argument: Any, order: int) -> Any:
        symbol = self.dom.createElement("mi")
        symbol.appendChild(self.dom.createTextNode(name))
        if order:  # δ⁽ᵏ⁾, the k-th derivative
            raised = self.dom.createElement("msup")
            raised.appendChild(symbol)
            raised.appendChild(self._paren_comma_separated(sympy.Integer(order)))
            symbol = raised
        row = self.dom.createElement("mrow")
        row.appendChild(symbol)
        row.appendChild(self._paren_comma_separated(argument))
        return row


def to_mathml(expr: Any) -> str:
    """Presentation MathML of a SymPy expression (or matrix).

    >>> x = sympy.Symbol("x")
    >>> "diracdelta" in to_mathml(sympy.DiracDelta(1 - x)), to_mathml(sympy.Heaviside(x))
    (False, '<mrow><mi>&#x398;</mi><mrow><mo>(</mo><mi>x</mi><mo>)</mo></mrow></mrow>')
    """
    return str(_Printer({}).doprint(expr))


def formula_mathml(objective: Objective) -> dict[str, Any] | None:
    """The loss, each ∂L/∂θ_i and the Hessian as presentation MathML; None without a formula.

    >>> from losslab.objectives.objective import formula
    >>> m = formula_mathml(formula("w**2"))
    >>> m["partials"][0]["name"], "<mn>2</mn>" in m["partials"][0]["mathml"]
    ('w', True)
    """
    if objective.expr is None:
        return None
    gradient, hessian = symbolic_gradient(objective), symbolic_hessian(objective)

    return {
        "loss": to_mathml(objective.expr),
        "partials": [{"name": n, "mathml": to_mathml(g)} for n, g in zip(objective.names, gradient or (), strict=True)],
        "hessian": None if hessian is None else to_mathml(hessian),
    }
