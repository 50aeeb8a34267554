"""Where a formula may fail to be differentiable, as equations: its crease functions, and a Newton polish onto them.

L can lose its derivative only where one of its nonsmooth parts switches: the argument of an ``abs``, ``sign`` or
``Heaviside`` is 0, two arguments of a ``max``/``min`` are equal, or the base of a non-integer power (√) is 0. Those
are the *crease functions* g of the formula; a kink lies where some of them vanish. A derivative-free search stops
about 1e-12 from a kink, which costs that much in L: |sin x| + |cos y| read L = 1.6e-13 at its minima instead of 0.
Newton's method on the creases that vanish there (the least-norm step −J⁺g, which leaves the point where it is
along the creases) puts the point on them to rounding: L = 6e-17 there, which reads 0.
"""

from __future__ import annotations

import functools
from itertools import combinations

import sympy
import torch
from torch import Tensor

from losslab.analysis.equations import equation_text
from losslab.errors import LosslabError
from losslab.objectives.objective import Objective
from losslab.objectives.torch_expr import compile_expr

#: a crease function at most this (relative to the size of its terms at the point, at least 1) vanishes there
ACTIVE = 1e-6
#: Newton steps onto the creases (quadratic where they cross transversally: 1e-12 → 1e-24 in one)
STEPS = 6


def crease_functions(expr: sympy.Expr) -> tuple[sympy.Expr, ...]:
    """The functions whose zeros are where ``expr`` may not be differentiable, each once, constants left out.

    >>> x, y = sympy.symbols("x y", real=True)
    >>> sorted(map(str, crease_functions(sympy.Abs(sympy.sin(x)) + sympy.Max(x, y) + sympy.sqrt(x**2 + y**2))))
    ['sin(x)', 'x - y', 'x**2 + y**2']
    """
    found: dict[sympy.Expr, None] = {}
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Abs | sympy.sign | sympy.Heaviside):
            parts = [node.args[0]]
        elif isinstance(node, sympy.Max | sympy.Min):
            parts = [a - b for a, b in combinations(node.args, 2)]
        elif isinstance(node, sympy.Pow) and node.exp.is_integer is not True:
            parts = [node.base]
        else:
            continue
        found.update((part, None) for part in parts if part.free_symbols)
    return tuple(found)


def onto_creases(objective: Objective, points: Tensor, signs: Tensor) -> Tensor:
    """Each point moved by Newton's method onto the crease functions that vanish there (to :data:`ACTIVE`), kept
    only where ``signs``·L is no worse (+1: no higher, at a minimum; −1: no lower, at a maximum; 0: the point stays).
    Without a formula, or where none vanishes, a point stays where it is."""
    creases = _compiled_creases(objective)
    if creases is None or points.shape[0] == 0:
        return points
    before = signs * objective.values(points)
    moved = points.clone()
    for _ in range(STEPS):
        g, jacobian, scale = creases(moved)
        active = (g.abs() <= ACTIVE * scale) & torch.isfinite(jacobian).all(-1) & torch.isfinite(g)
        if not bool(active.any()):
            break
        g = torch.where(active, g, 0.0)
        jacobian = torch.where(active[..., None], jacobian, 0.0)
        step = (torch.linalg.pinv(jacobian) @ g[..., None])[..., 0]
        moved = moved - torch.where(torch.isfinite(step), step, 0.0)
    after = signs * objective.values(moved)
    better = (signs != 0) & torch.isfinite(after) & (after <= before)
    return torch.where(better[:, None], moved, points)


def on_creases(objective: Objective, points: Tensor) -> Tensor:
    """Which rows of ``points`` ``(m, n)`` lie on a crease (some crease function vanishes there, to :data:`ACTIVE`),
    where L's Hessian is not defined: torch splits a tie of ``min(x², y²)`` evenly and reads [[1, 0], [0, 1]] at
    (0, 0), a curvature L has on neither side. All False without a formula or creases."""
    creases = _compiled_creases(objective)
    if creases is None or points.shape[0] == 0:
        return torch.zeros(points.shape[0], dtype=torch.bool)
    parts = points.unbind(-1)
    g = torch.stack([f(*parts).expand(points.shape[:-1]) for f in creases.compiled], -1)
    scale = torch.stack([s(*parts).expand(points.shape[:-1]) for s in creases.sizes], -1).clamp(min=1.0)
    return ((g.abs() <= ACTIVE * scale) & torch.isfinite(g)).any(-1)


def crease_equation(objective: Objective, members: Tensor) -> str:
    """The equation of the crease a set of kinks ``members`` lies on, where one polynomial crease function vanishes at
    all of them (|x² + y² − 1|'s ring: "x**2 + y**2 = 1"; |y − x²|: "y = x**2"; |x·y|: "x*y = 0"), else ''."""
    creases = _compiled_creases(objective)
    if creases is None or members.shape[0] == 0:
        return ""
    parts = members.unbind(-1)
    for g, f, size in zip(crease_functions(objective.expr), creases.compiled, creases.sizes, strict=True):
        if not g.is_polynomial(*objective.symbols):
            continue
        values = f(*parts).expand(members.shape[:-1])
        scale = size(*parts).expand(members.shape[:-1]).clamp(min=1.0)
        if bool((values.abs() <= ACTIVE * scale).all()):
            return equation_text(g, solve=True)
    return ""


def _compiled_creases(objective: Objective) -> _Creases | None:
    return None if objective.expr is None else _creases_of(objective.expr, tuple(objective.names))


class _Creases:
    """g(θ), its Jacobian and the size of g's terms (at least 1) at a stack of points ``(m, n)``."""

    def __init__(self, functions: tuple[sympy.Expr, ...], names: tuple[str, ...]) -> None:
        self.compiled = [compile_expr(g, names) for g in functions]
        # the size of each crease function's terms: |sin x| + |cos y| − 1 vanishes to 1e-16 of 1, not of 0
        terms = [sympy.Add(*(sympy.Abs(t) for t in sympy.Add.make_args(g))) for g in functions]
        self.sizes = [compile_expr(size, names) for size in terms]

    def _g(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        g = torch.stack([f(*theta.unbind(-1)).expand(theta.shape[:-1]) for f in self.compiled], -1)
        return g, g.detach()  # differentiated, and kept: one evaluation gives both

    def __call__(self, points: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        jacobian, g = torch.func.vmap(torch.func.jacrev(self._g, has_aux=True))(points)
        parts = points.unbind(-1)
        scale = torch.stack([s(*parts).expand(points.shape[:-1]) for s in self.sizes], -1).clamp(min=1.0)
        return g, jacobian, scale


@functools.lru_cache(maxsize=64)
def _creases_of(expr: sympy.Expr, names: tuple[str, ...]) -> _Creases | None:
    functions = crease_functions(expr)
    if not functions:
        return None
    try:
        return _Creases(functions, names)
    except LosslabError:  # a part the compiler refuses: no polish, the search's point stands
        return None
