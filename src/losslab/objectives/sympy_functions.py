"""SymPy functions that machine learning uses and SymPy lacks: sigmoid and softplus.

They are proper ``sympy.Function`` subclasses with their derivative rules (``fdiff``), so
SymPy differentiates, prints (text, LaTeX, MathML) and simplifies them as named functions
instead of expanding them into exponentials.
"""

from __future__ import annotations

import sympy


class sigmoid(sympy.Function):  # noqa: N801 - named as users write it
    r"""The logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})`.

    >>> x = sympy.Symbol("x", real=True)
    >>> sympy.diff(sigmoid(x), x)
    (1 - sigmoid(x))*sigmoid(x)
    """

    is_real = True

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, arg: sympy.Expr) -> sympy.Expr | None:
        if arg.is_zero:
            return sympy.Rational(1, 2)
        return None

    def _eval_rewrite_as_exp(self, arg: sympy.Expr, **kwargs: object) -> sympy.Expr:
        return 1 / (1 + sympy.exp(-arg))

    def _eval_evalf(self, prec: int) -> sympy.Expr:
        return (1 / (1 + sympy.exp(-self.args[0])))._eval_evalf(prec)

    def _eval_is_positive(self) -> bool | None:
        return True if self.args[0].is_real else None


class softplus(sympy.Function):  # noqa: N801 - named as users write it
    r"""The smooth ReLU :math:`\operatorname{softplus}(x) = \log(1 + e^{x})`.

    >>> x = sympy.Symbol("x", real=True)
    >>> sympy.diff(softplus(x), x)
    sigmoid(x)
    """

    is_real = True

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, arg: sympy.Expr, **kwargs: object) -> sympy.Expr:
        return sympy.log(1 + sympy.exp(arg))

    def _eval_evalf(self, prec: int) -> sympy.Expr:
        return sympy.log(1 + sympy.exp(self.args[0]))._eval_evalf(prec)

    def _eval_is_positive(self) -> bool | None:
        return True if self.args[0].is_real else None
