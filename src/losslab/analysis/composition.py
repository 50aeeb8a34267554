r"""Convexity by the composition rules (Boyd & Vandenberghe, *Convex Optimization*, §3.2), where L has no
Hessian to test: |x| + |y|, max(0, 1 − x), the norm √(x² + y²), log(eˣ + eʸ).

A formula's curvature is read from its tree: a number or a parameter is affine, as is a polynomial of degree 1; a
polynomial of degree 2 is convex (concave) where its constant Hessian is positive (negative) semi-definite; and

- a sum of convex terms is convex, a nonnegative multiple keeps the curvature, a negative one flips it;
- max of convex functions is convex (min of concave ones concave), |affine| is convex;
- a convex nondecreasing function of a convex one is convex: exp, softplus, log-sum-exp, a power p ≥ 1 of a
  nonnegative convex function; an even power of an affine function is convex, as is cosh of one;
- √ of a sum of squares of affine functions (and a nonnegative constant) is a Euclidean norm: convex, as is √ of
  any convex quadratic whose minimum is ≥ 0 (x² + xy + y²); log cosh of an affine function is convex;
- a concave nondecreasing function of a concave one is concave: log, √, a power 0 < p ≤ 1.

Anything else is unknown (None): the rules are sufficient, not necessary, so "unknown" says nothing against
convexity. Each rule used is named, for the report.
"""

from __future__ import annotations

import sympy

CONVEX, CONCAVE, AFFINE = "convex", "concave", "affine"


def composed_curvature(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> tuple[str | None, list[str]]:
    """The curvature of ``expr`` the rules prove (``convex``, ``concave``, ``affine`` or None) and the rules used.

    >>> x, y = sympy.symbols("x y", real=True)
    >>> composed_curvature(sympy.Abs(x) + sympy.Abs(y), (x, y))
    ('convex', ['|affine| is convex', 'a sum of convex functions is convex'])
    >>> composed_curvature(sympy.sqrt(x**2 + y**2), (x, y))[0], composed_curvature(x * y, (x, y))[0]
    ('convex', None)
    >>> composed_curvature(sympy.log(x) + sympy.sqrt(y), (x, y))[0]
    'concave'
    """
    rules: list[str] = []
    found = _curvature(expr, symbols, rules)
    return found, list(dict.fromkeys(rules))


def _curvature(e: sympy.Expr, symbols: tuple[sympy.Symbol, ...], rules: list[str]) -> str | None:
    quadratic = _polynomial_curvature(e, symbols)  # (a polynomial of higher degree goes on: x⁴ + y⁴ is a sum)
    if quadratic is not None:
        if quadratic != AFFINE:
            sign = "positive" if quadratic == CONVEX else "negative"
            rules.append(f"a quadratic with a {sign} semi-definite Hessian is {quadratic}")
        return quadratic
    if isinstance(e, sympy.Add):
        return _sum(e, symbols, rules)
    if isinstance(e, sympy.Mul):
        return _multiple(e, symbols, rules)
    if isinstance(e, sympy.Abs) and _curvature(e.args[0], symbols, []) == AFFINE:
        rules.append("|affine| is convex")
        return CONVEX
    if isinstance(e, sympy.Max | sympy.Min):
        inner = {_curvature(a, symbols, rules) for a in e.args} - {AFFINE}
        wanted = CONVEX if isinstance(e, sympy.Max) else CONCAVE
        if inner <= {wanted}:
            rules.append(f"{'max' if wanted == CONVEX else 'min'} of {wanted} functions is {wanted}")
            return wanted
        return None
    if isinstance(e, sympy.Pow):
        return _power(e, symbols, rules)
    if isinstance(e, sympy.log):
        return _log(e.args[0], symbols, rules)
    if isinstance(e, sympy.exp) or getattr(e.func, "__name__", "") == "softplus":
        if _curvature(e.args[0], symbols, rules) in (CONVEX, AFFINE):
            rules.append(f"{e.func.__name__} of a convex function is convex")
            return CONVEX
        return None
    if isinstance(e, sympy.cosh) and _curvature(e.args[0], symbols, []) == AFFINE:
        rules.append("cosh of an affine function is convex")
        return CONVEX
    return None


def _polynomial_curvature(e: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> str | None:
    """Affine for degree ≤ 1, convex/concave for a degree-2 polynomial with a semi-definite Hessian, else None."""
    if not e.is_polynomial(*symbols):
        return None
    degree = sympy.Poly(e, *symbols).total_degree() if e.free_symbols & set(symbols) else 0
    if degree <= 1:
        return AFFINE
    if degree > 2:
        return None
    hessian = sympy.hessian(e, symbols)
    if hessian.is_positive_semidefinite:
        return CONVEX
    if hessian.is_negative_semidefinite:
        return CONCAVE
    return None


def _sum(e: sympy.Add, symbols: tuple[sympy.Symbol, ...], rules: list[str]) -> str | None:
    kinds = {_curvature(a, symbols, rules) for a in e.args} - {AFFINE}
    if not kinds:
        return AFFINE
    if len(kinds) == 1 and None not in kinds:
        (kind,) = kinds
        rules.append(f"a sum of {kind} functions is {kind}")
        return kind
    return None


def _multiple(e: sympy.Mul, symbols: tuple[sympy.Symbol, ...], rules: list[str]) -> str | None:
    constant, rest = e.as_independent(*symbols, as_Add=False)
    if constant.is_number is not True or constant == 0:
        return None
    kind = _abs_power(rest, symbols, rules) if rest == e else _curvature(rest, symbols, rules)
    if kind in (None, AFFINE) or constant.is_positive:
        return kind
    if constant.is_negative:
        flipped = {CONVEX: CONCAVE, CONCAVE: CONVEX}[kind]
        rules.append(f"a negative multiple of a {kind} function is {flipped}")
        return flipped
    return None


def _abs_power(product: sympy.Expr, symbols: tuple[sympy.Symbol, ...], rules: list[str]) -> str | None:
    """|f|ⁿ for an affine f, as SymPy writes it for odd n: x²·|x| is |x|³, convex."""
    bases = set()
    for factor in sympy.Mul.make_args(product):
        base, power = factor.as_base_exp()
        if isinstance(base, sympy.Abs):
            bases.add(base.args[0])
        elif power.is_integer and power.is_even and power > 0:
            bases.add(base)
        else:
            return None
    if len(bases) != 1 or _curvature(bases.pop(), symbols, []) != AFFINE:
        return None
    rules.append("a power p ≥ 1 of |affine| is convex")
    return CONVEX


def _power(e: sympy.Pow, symbols: tuple[sympy.Symbol, ...], rules: list[str]) -> str | None:
    base, p = e.args
    if not p.is_number or not p.is_real:
        return None
    used: list[str] = []  # the rules that made the base what it is: reported where this power's rule applies
    inner = _curvature(base, symbols, used)
    if p.is_integer and p.is_even and p > 0 and inner == AFFINE:
        rules.append("an even power of an affine function is convex")
        return CONVEX
    if p == sympy.Rational(1, 2) and _sum_of_squares(base, symbols):
        rules.append("the Euclidean norm of affine functions is convex")
        return CONVEX
    if p == sympy.Rational(1, 2) and _nonnegative_convex_quadratic(base, symbols):
        rules.append("√ of a convex quadratic ≥ 0 everywhere is a Euclidean norm of affine functions: convex")
        return CONVEX
    if p >= 1 and inner in (CONVEX, AFFINE) and base.is_nonnegative is True:
        rules += [*used, "a power p ≥ 1 of a nonnegative convex function is convex"]
        return CONVEX
    if 0 < p <= 1 and inner in (CONCAVE, AFFINE):
        rules += [*used, "a power 0 < p ≤ 1 of a concave function is concave where it is defined"]
        return CONCAVE
    return None


def _sum_of_squares(base: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> bool:
    """Whether ``base`` is Σ (affine)² + c with c ≥ 0 (a squared Euclidean norm), as a sum of such terms."""
    terms = sympy.Add.make_args(base)
    for term in terms:
        if term.is_number:
            if term.is_nonnegative is not True:
                return False
            continue
        constant, rest = term.as_independent(*symbols, as_Add=False)
        if constant.is_positive is not True or not isinstance(rest, sympy.Pow) or rest.exp != 2:
            return False
        if _polynomial_curvature(rest.base, symbols) != AFFINE:
            return False
    return True


def _nonnegative_convex_quadratic(q: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> bool:
    """Whether ``q`` is a convex quadratic that attains a minimum m ≥ 0 (x² + xy + y², x² − 2x + 2): then
    q = ‖M(θ − θ*)‖² + m, and √q is the norm of (M(θ − θ*), √m). One with no minimum (x² + y) is not."""
    if _polynomial_curvature(q, symbols) != CONVEX:
        return False
    gradient = [sympy.diff(q, s) for s in symbols]
    solutions = sympy.linsolve(gradient, *symbols)
    if not solutions:
        return False  # ∇q = 0 has no solution: q falls without bound along a flat direction
    (point,) = solutions
    free = {s: 0 for s in symbols}  # a line of minima: any point of it has the same value
    lowest = q.subs(dict(zip(symbols, (sympy.sympify(c).subs(free) for c in point), strict=True)))
    return bool(lowest.is_nonnegative is True)


def _log(argument: sympy.Expr, symbols: tuple[sympy.Symbol, ...], rules: list[str]) -> str | None:
    """log of a concave function is concave; log of a sum of exponentials of convex functions (and a
    nonnegative constant) is convex: log-sum-exp; log cosh of an affine function is convex (its second
    derivative is sech² ≥ 0: the smooth |t| of robust regression)."""
    if isinstance(argument, sympy.cosh) and _curvature(argument.args[0], symbols, []) == AFFINE:
        rules.append("log cosh of an affine function is convex")
        return CONVEX
    terms = sympy.Add.make_args(argument)
    exponentials = [t for t in terms if isinstance(t, sympy.exp)]
    constants = [t for t in terms if t.is_number]
    if exponentials and len(exponentials) + len(constants) == len(terms) and all(c >= 0 for c in constants):
        if all(_curvature(t.args[0], symbols, rules) in (CONVEX, AFFINE) for t in exponentials):
            rules.append("log-sum-exp of convex functions is convex")
            return CONVEX
        return None
    if _curvature(argument, symbols, rules) in (CONCAVE, AFFINE):
        rules.append("log of a concave function is concave where it is defined")
        return CONCAVE
    return None
