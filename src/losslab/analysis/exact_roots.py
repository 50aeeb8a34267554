r"""∇L = 0 solved by SymPy: isolated roots, and the equations of whole sets of solutions.

- a linear system (L quadratic), of any size: ``sympy.linsolve``, which also says which
  parameters stay free (the cylinder :math:`w_0^2 + w_1^2` over three parameters: ``w0 = 0,
  w1 = 0``, ``w2`` free);
- a polynomial or rational system in at most three parameters whose numerators share a factor
  (∇L = g·q): each irreducible factor of g vanishes on a set — solved for one parameter where that is
  single-valued and polynomial (``y = x**2, x free``), else shown as its equation (``x**2 + y**2 = 1``,
  ``x*y = 1``) — and the rest, q = 0, is solved as below;
- a polynomial or rational system of modest degree in at most three parameters: a lex Groebner
  basis; when it is zero-dimensional, its real roots to 40 digits by back-substitution; when it
  is not, ``sympy.solve`` for the families, which may miss one — so
  :func:`losslab.analysis.stationary.stationary_points` searches numerically as well;
- ∇L with exponentials, logarithms, trigonometric or hyperbolic functions (no polynomial system) whose
  components share a factor, in two or three parameters (eˣ⁺ʸ − x − y: ∇L = (eˣ⁺ʸ − 1)(1, 1)): each factor's
  zeros solved by ``sympy.solveset`` over the reals where that gives finitely many branches (``x = -y, y free``;
  ``y = exp(x), x free``), or, where the factor is F(u) with u polynomial, level by level: F(t) = 0 for t, and
  each u = c as a polynomial's zeros (``x**2 + y**2 = log(2)``; for a periodic F every c = kπ + d whose level
  set can meet the search box: sin(x + y) = 0 as ``x + y = pi``, ``x + y = 2*pi``, …); what remains is solved
  as a polynomial ∇L where it is one, else left to the numeric search;
- ∇L identically zero: L is constant and every point is stationary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy
import torch
from mpmath.libmp import NoConvergence
from torch import Tensor

from losslab.analysis.creases import crease_functions
from losslab.analysis.derivatives import symbolic_gradient
from losslab.analysis.equations import equation_text
from losslab.objectives.domain import Domain
from losslab.objectives.objective import Objective
from losslab.objectives.torch_expr import compile_expr

MAX_BEZOUT = 64  # exact solving only for polynomial systems of modest degree (Groebner can blow up)
MAX_NONLINEAR_PARAMETERS = 3
MAX_LINEAR_PARAMETERS = 60  # linsolve of 60 linear equations takes about a second
MAX_OPS = 200  # a transcendental ∇L is factored and solved only when its components have this many operations


Solved = tuple[tuple[sympy.Symbol, sympy.Expr], ...]


@dataclass(frozen=True)
class ExactSet:
    """A family of solutions of ∇L = 0: each solved parameter as an expression of the free ones.

    A set that is one polynomial's zeros, ``implicit = 0``, and no single-valued function of the other
    parameters (a circle: y = ±√(1 − x²)) keeps its branches (``solved``, then ``others``) to sample
    and test points with, and is shown as that one equation.

    >>> w0, w1, w2 = sympy.symbols("w0 w1 w2", real=True)
    >>> ExactSet(((w0, sympy.Integer(0)), (w1, sympy.Integer(0))), (w2,)).equations()
    ('w0 = 0', 'w1 = 0', 'w2 free')
    >>> x, y = sympy.symbols("x y", real=True)
    >>> circle = ExactSet(((y, -sympy.sqrt(1 - x**2)),), (x,), ((((y, sympy.sqrt(1 - x**2)),),)), x**2 + y**2 - 1)
    >>> circle.equations(), len(circle.branches), circle.linear
    (('x**2 + y**2 = 1',), 2, False)
    """

    solved: Solved
    free: tuple[sympy.Symbol, ...]
    others: tuple[Solved, ...] = ()
    implicit: sympy.Expr | None = None

    def equations(self) -> tuple[str, ...]:
        """``name = expression`` for each solved parameter, then ``… free`` (the first three and the
        last of many), or the implicit equation; empty when every parameter is free (L is constant)."""
        if self.implicit is not None:  # 2x² + 2y² − 5 reads x**2 + y**2 = 5/2; x² + y² − 1 − π: x**2 + y**2 = 1 + pi
            return (equation_text(self.implicit),)
        if not self.solved:
            return ()
        names = [s.name for s in self.free]
        free = ", ".join(names if len(names) <= 6 else [*names[:3], "…", names[-1]])
        return tuple(f"{s} = {e}" for s, e in self.solved) + ((f"{free} free",) if free else ())

    @property
    def branches(self) -> tuple[Solved, ...]:
        """Each branch's solved parameters (one, but for an implicit set)."""
        return (self.solved, *self.others)

    @property
    def linear(self) -> bool:
        """Whether every solved parameter is an affine function of the free ones (a line, a plane)."""
        return all(
            e.is_polynomial(*self.free) and sympy.Poly(e, *self.free).total_degree() <= 1
            for branch in self.branches
            for _, e in branch
        )


@dataclass
class ExactSolution:
    """The real solutions of ∇L = 0 that SymPy found: isolated ``points`` ``(k, n)`` and ``sets``;
    ``complete`` when nothing can have been missed (a linear or zero-dimensional system)."""

    points: Tensor
    sets: list[ExactSet]
    complete: bool


def exact_stationary(objective: Objective, box: Domain | None = None) -> ExactSolution | None:
    """∇L = 0 solved by SymPy, or None when it is not a system SymPy can solve here. A periodic factor's level
    sets are solved where they can meet ``box`` (none without it).

    >>> from losslab.objectives.objective import formula
    >>> found = exact_stationary(formula("w0**2 + w1**2", ["w0", "w1", "w2"]))
    >>> found.points.shape, [s.equations() for s in found.sets], found.complete
    (torch.Size([0, 3]), [('w0 = 0', 'w1 = 0', 'w2 free')], True)
    """
    gradient = symbolic_gradient(objective)
    if gradient is None:
        return None
    symbols, empty = objective.symbols, torch.zeros(0, objective.dim, dtype=torch.float64)
    fractions = [sympy.together(g).as_numer_denom() for g in gradient]
    numerators = [n for n, _ in fractions if n != 0]
    if not numerators:  # L is constant
        return ExactSolution(empty, [ExactSet((), tuple(symbols))], complete=True)
    try:
        if not all(e.is_polynomial(*symbols) for pair in fractions for e in pair):
            smooth = objective.expr is not None and not crease_functions(objective.expr)
            return _transcendental(numerators, symbols, box) if smooth else None
        found = _solved(numerators, symbols)
    except (NotImplementedError, sympy.PolynomialError, NoConvergence):
        return None
    if found is None:
        return None
    denominators = [sympy.lambdify(symbols, d, modules="math") for _, d in fractions]
    keep = [all(abs(d(*p)) > 1e-12 for d in denominators) for p in found.points.tolist()]
    found.points = found.points[torch.tensor(keep, dtype=torch.bool)] if keep else found.points
    return found


def _solved(numerators: list[sympy.Expr], symbols: tuple[sympy.Symbol, ...]) -> ExactSolution | None:
    """∇L's polynomial numerators = 0 solved: linear, or with their common factor taken out, or of modest degree."""
    degrees = [sympy.Poly(n, *symbols).total_degree() for n in numerators]
    if max(degrees) <= 1 and len(symbols) <= MAX_LINEAR_PARAMETERS:
        return _linear(numerators, symbols)
    if len(symbols) > MAX_NONLINEAR_PARAMETERS:
        return None
    common = sympy.gcd_list(numerators)
    if common.free_symbols and len(symbols) > 1:  # (in one parameter a factor's zeros are points: solved below)
        return _factored(numerators, common, symbols)
    if math.prod(max(d, 1) for d in degrees) <= MAX_BEZOUT:
        return _polynomial(numerators, symbols)
    return None


def _factored(
    numerators: list[sympy.Expr], common: sympy.Expr, symbols: tuple[sympy.Symbol, ...]
) -> ExactSolution | None:
    """∇L = g·(q₁, …, qₙ) with g their greatest common divisor: each irreducible factor of g vanishes on a
    set (x²y²z²: the three coordinate planes; (x² + y² − 1)²: the circle); the q's, whose degree is lower,
    have their own points and sets, less those inside the factors' sets."""
    factors = [factor for factor, _ in sympy.factor_list(common)[1] if factor.free_symbols]
    sets = [found for factor in factors if (found := _zero_set(factor, symbols)) is not None]
    rest = _solved([sympy.cancel(n / common) for n in numerators], symbols)
    if rest is None:
        return None
    inside = [any(_within(other, f) for f in factors) for other in rest.sets]
    kept = [other for other, drop in zip(rest.sets, inside, strict=True) if not drop]
    return ExactSolution(_off(rest.points, factors, symbols), [*sets, *kept], complete=False)


def _transcendental(
    numerators: list[sympy.Expr], symbols: tuple[sympy.Symbol, ...], box: Domain | None = None
) -> ExactSolution | None:
    """∇L = g·(q₁, …, qₙ), not polynomial, with g the components' common factor: the zero set of each factor of
    g that ``solveset`` solves into finitely many real branches. Complete when every factor was solved and some
    q is a nonzero constant (eˣ⁺ʸ − x − y: q = (1, 1)), so ∇L vanishes nowhere else; else the numeric search
    looks for the rest. What remains, where it is polynomial (x·e^(−x² − y²): (1 − 2x², −2xy)), is solved as a
    polynomial ∇L is. None when the components share no factor (sin²x + y²) and nothing else is solved.

    >>> x, y = sympy.symbols("x y", real=True)
    >>> found = _transcendental([sympy.exp(x + y) - 1, sympy.exp(x + y) - 1], (x, y))
    >>> [s.equations() for s in found.sets], found.complete
    ([('x = -y', 'y free')], True)
    """
    if not 1 < len(symbols) <= MAX_NONLINEAR_PARAMETERS or sum(sympy.count_ops(n) for n in numerators) > MAX_OPS:
        return None
    common = sympy.gcd_list(numerators)
    try:
        factors = [f for f, _ in sympy.factor_list(common)[1] if f.free_symbols]
    except sympy.PolynomialError:  # a generator and its inverse (eˣ and e⁻ʸ): one factor, written as eˣ⁻ʸ
        factors = [common] if common.free_symbols else []
    sets, unsolved = [], 0
    for factor in factors:
        try:
            through = _through_argument(sympy.powsimp(factor), symbols, box)
            found, whole = through if through is not None else _zero_sets(sympy.powsimp(factor), symbols)
        except NotImplementedError:
            unsolved += 1
            continue
        sets += found
        unsolved += not whole
    rest = [sympy.cancel(n / common) for n in numerators]
    empty = torch.zeros(0, len(symbols), dtype=torch.float64)
    if any(r.is_number and r != 0 for r in rest):  # ∇L vanishes only where the common factor does
        return ExactSolution(empty, sets, unsolved == 0) if sets else None
    if not all(r.is_polynomial(*symbols) for r in rest):
        return ExactSolution(empty, sets, False) if sets else None
    # what remains is polynomial (x·e^(−x² − y²): ∇L = e^(−x² − y²)·(1 − 2x², −2xy)): solved as any polynomial ∇L
    remaining = _solved([r for r in rest if r != 0], symbols) if any(r != 0 for r in rest) else None
    if remaining is None:
        return ExactSolution(empty, sets, False) if sets else None
    points = _off(remaining.points, factors, symbols)
    kept = [other for other in remaining.sets if not any(_within(other, f) for f in factors)]
    return ExactSolution(points, [*sets, *kept], remaining.complete and unsolved == 0)


#: a periodic factor is solved exactly when at most this many of its level sets can cross the box
MAX_PERIODIC = 40


def _through_argument(
    factor: sympy.Expr, symbols: tuple[sympy.Symbol, ...], box: Domain | None
) -> tuple[list[ExactSet], bool] | None:
    """The zeros of a factor F(u) whose every function has the same polynomial argument u (sin(x² + y² − 1),
    e^(x² + y²) − 2, sinh(x² + 2y² − 4)): F(t) = 0 solved for t, and each level set u = c as a polynomial's zeros
    (x**2 + y**2 = log(2); x**2 + 2*y**2 = 4). A periodic F has infinitely many c (sin: c = kπ): those whose level
    set can meet the box (u's range over it, sampled, widened by a tenth), at most :data:`MAX_PERIODIC` — so
    sin²(x² + y² − 1)'s rings read x**2 + y**2 = 1 + pi, …, not as arcs found point by point — and then not
    all of them (``whole`` False): the numeric search still runs. None where the factor is not of that form.

    >>> x, y = sympy.symbols("x y", real=True)
    >>> [s.equations() for s in _through_argument(sympy.exp(x**2 + y**2) - 2, (x, y), None)[0]]
    [('x**2 + y**2 = log(2)',)]
    """
    calls = [a for a in factor.atoms(sympy.Function) if len(a.args) == 1 and a.args[0].free_symbols]
    arguments = {a.args[0] for a in calls}
    if len(arguments) != 1:
        return None
    (u,) = arguments
    if u in symbols or not u.is_polynomial(*symbols):  # sin(x) = 0 is solved for x as it is
        return None
    t = sympy.Dummy("t", real=True)
    outer = factor.xreplace({u: t})
    if outer.free_symbols != {t}:
        return None
    levels, whole = _levels(sympy.solveset(outer, t, domain=sympy.S.Reals), u, symbols, box)
    return [found for c in levels for found in _level_sets(u - c, symbols, periodic=not whole)], whole


def _levels(
    solutions: sympy.Set, u: sympy.Expr, symbols: tuple[sympy.Symbol, ...], box: Domain | None
) -> tuple[list[sympy.Expr], bool]:
    """The values c of a solution set of F(t) = 0 (finite, or a union of ``ImageSet`` ck + d over the integers
    within u's range over the box); raises NotImplementedError for any other set or too many values."""
    if isinstance(solutions, sympy.Intersection) and sympy.S.Reals in solutions.args:
        (solutions,) = (a for a in solutions.args if a is not sympy.S.Reals)
    parts = solutions.args if isinstance(solutions, sympy.Union) else (solutions,)
    values: list[sympy.Expr] = []
    whole = True
    for part in parts:
        if isinstance(part, sympy.FiniteSet):
            values += [v for v in part if v.is_real]
            continue
        if not (isinstance(part, sympy.ImageSet) and part.base_sets == (sympy.S.Integers,)) or box is None:
            raise NotImplementedError(f"{part} is not finitely many levels")
        (n,), expr = part.lamda.variables, part.lamda.expr
        step, start = sympy.diff(expr, n), expr.xreplace({n: 0})
        if step.free_symbols or sympy.diff(step, n) != 0 or step == 0:
            raise NotImplementedError(f"{expr} is not an arithmetic progression")
        low, high = _range_over(u, symbols, box)
        ends = sorted(((low - float(start)) / float(step), (high - float(start)) / float(step)))
        first, last = math.ceil(ends[0]), math.floor(ends[1])
        if last - first + 1 + len(values) > MAX_PERIODIC:
            raise NotImplementedError(f"{expr}: more than {MAX_PERIODIC} levels cross the box")
        values += [expr.xreplace({n: k}) for k in range(first, last + 1)]
        whole = False
    if len(values) > MAX_PERIODIC:
        raise NotImplementedError(f"more than {MAX_PERIODIC} levels")
    return values, whole


def _range_over(u: sympy.Expr, symbols: tuple[sympy.Symbol, ...], box: Domain) -> tuple[float, float]:
    """u's least and greatest values over the box, from a grid of it (65 points a side in 2-D, 33 in 3-D) and its
    corners, widened by a tenth of the range each way, so a level set the grid just misses is still tried."""
    side = 65 if len(symbols) <= 2 else 33
    axes = [torch.linspace(lo, hi, side, dtype=torch.float64) for lo, hi in box.bounds]
    grid = torch.meshgrid(*axes, indexing="ij")
    values = compile_expr(u, [s.name for s in symbols])(*grid).expand(grid[0].shape)  # the grid in one call
    low, high = float(values.min()), float(values.max())
    margin = 0.1 * (high - low) + 1e-9
    return low - margin, high + margin


def _level_sets(g: sympy.Expr, symbols: tuple[sympy.Symbol, ...], *, periodic: bool) -> list[ExactSet]:
    """The zeros of u − c, each irreducible factor's a set (x·y = 0 is the two axes, x = 0 and y = 0); a level of a
    periodic family is shown by its equation, as its neighbours are (x + y = pi beside x + y = 2*pi, not x = pi - y),
    one of finitely many as any polynomial's zeros are (x = -y + log(2), y free; x**2 + y**2 = log(2))."""
    g = sympy.expand(g)
    factors = [f for f, _ in sympy.factor_list(g)[1] if f.free_symbols] if g.is_polynomial(*symbols) else [g]
    sets = []
    for factor in factors:
        found = _zero_set(factor, symbols)
        if found is not None:
            implicit = factor if periodic and len(factors) == 1 else found.implicit
            sets.append(ExactSet(found.solved, found.free, found.others, implicit))
    return sets


def _zero_sets(factor: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> tuple[list[ExactSet], bool]:
    """The zeros of a factor that is no polynomial, and whether they are all of them: solved for the parameter
    :func:`_zero_set` picks, and for each other one where that gives a set the first does not hold. SymPy solves
    e^(xy) − 1 = 0 for x as x = 0, which is all of it only where y ≠ 0: for y it gives the axis y = 0 as well.
    Raises NotImplementedError where no parameter solves it.

    >>> x, y = sympy.symbols("x y", real=True)
    >>> [s.equations() for s in _zero_sets(sympy.exp(x * y) - 1, (x, y))[0]]
    [('x = 0', 'y free'), ('y = 0', 'x free')]
    >>> [s.equations() for s in _zero_sets(sympy.exp(x + y) - 1, (x, y))[0]]
    [('x = -y', 'y free')]
    """
    first = _zero_set(factor, symbols)
    found = [] if first is None else [first]
    whole = True
    if factor.is_polynomial(*symbols):  # an irreducible polynomial's branches for one parameter are all of it
        return found, whole
    if first is not None and not first.others:  # y − sin(x) = 0 as y = sin(x): its slope in y is never 0
        slope = sympy.diff(factor, first.solved[0][0])
        if slope.is_number and slope != 0:
            return found, whole
    for s in (s for s in symbols if s in factor.free_symbols and (first is None or s != first.solved[0][0])):
        try:
            branches, _ = _branches(factor, s)
        except NotImplementedError:
            whole = False
            continue
        free = tuple(v for v in symbols if v != s)
        for e in branches:
            if not any(_holds(family, s, e) for family in found):
                found.append(ExactSet(((s, e),), free))
    return found, whole


def _holds(family: ExactSet, s: sympy.Symbol, e: sympy.Expr) -> bool:
    """Whether the points s = e (the others free) all lie in ``family`` (its equation, or one of its branches, holds
    there)."""
    if family.implicit is not None:
        return sympy.simplify(family.implicit.xreplace({s: e})) == 0
    return any(
        all(sympy.simplify((v - solved).xreplace({s: e})) == 0 for v, solved in branch) for branch in family.branches
    )


def _within(family: ExactSet, factor: sympy.Expr) -> bool:
    """Whether every branch of ``family`` lies in ``factor = 0`` (the q's line x = y = 0 in the plane x = 0)."""
    return all(sympy.simplify(factor.xreplace(dict(branch))) == 0 for branch in family.branches)


def _linear(numerators: list[sympy.Expr], symbols: tuple[sympy.Symbol, ...]) -> ExactSolution:
    solutions = sympy.linsolve(numerators, *symbols)
    points: list[list[float]] = []
    sets = []
    for solution in solutions:
        free = tuple(s for s in symbols if any(s in e.free_symbols for e in solution))
        if not free:
            points.append([float(e) for e in solution])
        else:
            sets.append(ExactSet(tuple((s, e) for s, e in zip(symbols, solution, strict=True) if e != s), free))
    return ExactSolution(torch.tensor(points, dtype=torch.float64).reshape(-1, len(symbols)), sets, complete=True)


def _polynomial(numerators: list[sympy.Expr], symbols: tuple[sympy.Symbol, ...]) -> ExactSolution | None:
    basis = sympy.groebner(numerators, *symbols, order="lex")
    empty = torch.zeros(0, len(symbols), dtype=torch.float64)
    if list(basis.exprs) == [sympy.Integer(1)]:
        return ExactSolution(empty, [], complete=True)
    if basis.is_zero_dimensional:
        points = torch.tensor(_real_solutions(basis, symbols), dtype=torch.float64).reshape(-1, len(symbols))
        return ExactSolution(points, [], complete=True)
    rows: list[list[float]] = []
    sets: list[ExactSet] = []
    for solution in sympy.solve(numerators, symbols, dict=True):
        free = tuple(s for s in symbols if s not in solution)
        if any(not e.free_symbols <= set(free) for e in solution.values()):
            return None  # SymPy answered in a form that is not "solved in terms of the free ones"
        if free:
            sets.append(ExactSet(tuple((s, solution[s]) for s in symbols if s in solution), free))
        elif all(solution[s].is_real for s in symbols):
            rows.append([float(solution[s]) for s in symbols])
    found = torch.tensor(rows, dtype=torch.float64).reshape(-1, len(symbols))
    return ExactSolution(found, sets, complete=False)


def _off(points: Tensor, factors: list[sympy.Expr], symbols: tuple[sympy.Symbol, ...]) -> Tensor:
    """The ``points`` that lie on none of the factors' zero sets (a point of a set is no isolated point)."""
    zero = [sympy.lambdify(symbols, f, modules="math") for f in factors]
    keep = [all(abs(f(*p)) > 1e-9 for f in zero) for p in points.tolist()]
    return points[torch.tensor(keep, dtype=torch.bool)] if keep else points


def _zero_set(factor: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> ExactSet | None:
    """The zeros of one polynomial factor of ∇L: solved for the parameter that gives the fewest branches
    (x − y: ``x = y, y free``), implicit where every parameter gives several (a circle); None where it has
    no real zeros (2(w0 + w1)² + 1). Raises NotImplementedError where SymPy cannot solve it."""
    best: tuple[int, bool, sympy.Symbol, list[sympy.Expr]] | None = None
    solved_once = False
    for s in (s for s in symbols if s in factor.free_symbols):
        try:
            branches, restricted = _branches(factor, s)
        except NotImplementedError:
            continue
        solved_once = True
        if branches and (best is None or (len(branches), restricted) < best[:2]):
            best = (len(branches), restricted, s, branches)
    if not solved_once:
        raise NotImplementedError(f"SymPy cannot solve {factor} = 0")
    if best is None:
        return None
    s, branches = best[2:]
    free = tuple(v for v in symbols if v != s)
    solved = tuple(((s, e),) for e in branches)
    # y = x**2 reads best solved; x = 1/y ("y free", though not 0) and y = ±√(1 − x²) read best as one equation
    # (y = exp(x) stays solved: it is no polynomial's zero set)
    polynomial = factor.is_polynomial(*symbols)
    implicit = len(solved) > 1 or (polynomial and not solved[0][0][1].is_polynomial(*free))
    return ExactSet(solved[0], free, solved[1:], factor if implicit else None)


def _branches(factor: sympy.Expr, s: sympy.Symbol) -> tuple[list[sympy.Expr], bool]:
    """The real solutions of ``factor = 0`` for ``s`` as expressions of the other parameters, and whether they
    hold only where they are real (x·eʸ − 1 = 0 as y = log(1/x), for x > 0). A polynomial by ``sympy.solve``, any
    other by ``sympy.solveset`` over the reals; raises NotImplementedError where that is not finitely many
    (sin(x + y) = 0: x = kπ − y for every integer k)."""
    if factor.is_polynomial(*factor.free_symbols):
        return [branch[s] for branch in sympy.solve(factor, s, dict=True)], False  # real symbols: real branches
    found = sympy.solveset(factor, s, domain=sympy.S.Reals)
    restricted = isinstance(found, sympy.Intersection) and sympy.S.Reals in found.args
    if restricted:
        (found,) = (a for a in found.args if a is not sympy.S.Reals)
    if not isinstance(found, sympy.FiniteSet):
        raise NotImplementedError(f"{factor} = 0 is not finitely many branches for {s}")
    return list(found), restricted


def _real_solutions(basis: sympy.GroebnerBasis, symbols: tuple[sympy.Symbol, ...]) -> list[list[float]]:
    """Real solutions of a zero-dimensional polynomial system from its lex Groebner basis, by
    back-substitution of high-precision roots."""
    partial: list[dict[sympy.Symbol, sympy.Expr]] = [{}]
    for k in range(len(symbols) - 1, -1, -1):
        s, tail = symbols[k], set(symbols[k:])
        triangle = [g for g in basis.exprs if g.free_symbols <= tail and s in g.free_symbols]
        partial = [{**known, s: root} for known in partial for root in _common_real_roots(triangle, known, s)]
    return [[float(sol[s]) for s in symbols] for sol in partial]


def _substituted(g: sympy.Expr, known: dict[sympy.Symbol, sympy.Expr], s: sympy.Symbol) -> sympy.Poly:
    """``g`` with the later variables substituted, as a polynomial in ``s``, with coefficients
    that are rounding noise (below 1e-25 of the terms' size before cancellation) set to 0 —
    so a polynomial that vanishes at ``known`` becomes zero instead of a spurious equation."""
    poly = sympy.Poly(g, s, *known)
    size = sum(
        abs(float(c)) * math.prod(abs(float(known[v])) ** e for v, e in zip(known, m[1:], strict=True))
        for m, c in poly.terms()
    )
    reduced = sympy.Poly(g.xreplace(known), s)
    kept = [c if abs(complex(c)) > 1e-25 * size else 0 for c in reduced.all_coeffs()]
    return sympy.Poly(kept, s)


def _common_real_roots(
    triangle: list[sympy.Expr], known: dict[sympy.Symbol, sympy.Expr], s: sympy.Symbol
) -> list[sympy.Expr]:
    """Real roots shared by every basis polynomial once the later variables are substituted.

    Roots are taken from *each* polynomial, not only the lowest-degree one: when the basis
    is not in shape position, one value of the later variables can carry several values of
    ``s`` (Goldstein–Price has two stationary points with y = 0.2), and the lowest-degree
    polynomial can degenerate there.
    """
    here = [_substituted(g, known, s) for g in triangle]
    here = [p for p in here if not p.is_zero]
    scale = [1 + max(abs(complex(c)) for c in p.all_coeffs()) for p in here]
    found: list[sympy.Expr] = []
    for poly in (p for p in here if p.degree() >= 1):
        # a repeated root (x⁹ of x¹⁰ + y²) stalls nroots: its square-free part has the same roots, each once
        # (exact coefficients only: a multiple root of rounded ones is a cluster, which nroots resolves)
        simple = poly.sqf_part() if poly.domain.is_Exact else poly
        for root in simple.nroots(n=40, maxsteps=200):
            re, im = (float(v) for v in root.as_real_imag())
            if abs(im) > 1e-12 * (1 + abs(re)) or any(abs(float(sympy.re(root)) - float(f)) < 1e-10 for f in found):
                continue
            # loose on purpose: the final |∇L| check in stationary_points is the arbiter
            if all(abs(complex(p.eval(sympy.re(root)))) <= 1e-8 * m for p, m in zip(here, scale, strict=True)):
                found.append(sympy.re(root))
    return found
