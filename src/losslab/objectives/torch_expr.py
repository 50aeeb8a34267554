"""Compile a SymPy expression into a torch function that broadcasts over its inputs.

SymPy's ``lambdify`` prints code and ``exec``s it; here the expression tree is walked once
into nested closures over torch operations instead, so every node type that can appear is
listed explicitly, an unsupported one is refused at compile time, and the result is a plain
function that ``torch.func`` (grad, vmap, jvp) can trace. Each input is a tensor; inputs
broadcast against each other, so one call evaluates a whole grid or a whole data set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import reduce

import sympy
import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.objectives.sympy_functions import sigmoid, softplus

Compiled = Callable[[Mapping[str, Tensor]], Tensor]

_UNARY: dict[type, Callable[[Tensor], Tensor]] = {
    sympy.exp: torch.exp,
    sympy.log: torch.log,
    sympy.sin: torch.sin,
    sympy.cos: torch.cos,
    sympy.tan: torch.tan,
    sympy.tanh: torch.tanh,
    sympy.sinh: torch.sinh,
    sympy.cosh: torch.cosh,
    sympy.atan: torch.atan,
    sympy.Abs: torch.abs,
    sympy.sign: torch.sign,
    sigmoid: torch.sigmoid,
    softplus: torch.nn.functional.softplus,
}


def compile_expr(expr: sympy.Expr, names: Sequence[str]) -> Callable[..., Tensor]:
    """Return ``f(*tensors)`` evaluating ``expr`` with the tensors bound to ``names``.

    >>> w = sympy.Symbol("w", real=True)
    >>> f = compile_expr((w - 3)**2, ["w"])
    >>> f(torch.tensor([0.0, 3.0, 5.0], dtype=torch.float64))
    tensor([9., 0., 4.], dtype=torch.float64)
    """
    allowed = set(names)
    node = _compile(sympy.sympify(expr), allowed)

    def evaluate(*tensors: Tensor) -> Tensor:
        env = dict(zip(names, tensors, strict=True))
        return node(env)

    return evaluate


def compile_exprs(exprs: Sequence[sympy.Expr], names: Sequence[str]) -> Callable[..., tuple[Tensor, ...]]:
    """Return ``f(*tensors)`` evaluating all of ``exprs`` at once, each common subexpression once.

    ``sympy.cse`` names the shared parts (``_cse0``, ``_cse1``, …: no formula variable starts with
    an underscore); they are evaluated in order into the same environment as the inputs. A loss
    and its partial derivatives share terms: Rosenbrock's three take 17 torch operations this way
    instead of 21.

    >>> x, y = sympy.symbols("x y", real=True)
    >>> f = compile_exprs([(x*y + 1)**2, 2*y*(x*y + 1)], ["x", "y"])
    >>> [t.tolist() for t in f(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 0.0]))]
    [[16.0, 1.0], [24.0, 0.0]]
    """
    replacements, reduced = sympy.cse(list(exprs), symbols=sympy.numbered_symbols("_cse"))
    allowed = set(names)
    steps = []
    for symbol, part in replacements:
        steps.append((symbol.name, _compile(part, allowed)))
        allowed.add(symbol.name)
    outputs = [_compile(e, allowed) for e in reduced]

    def evaluate(*tensors: Tensor) -> tuple[Tensor, ...]:
        env = dict(zip(names, tensors, strict=True))
        for name, node in steps:
            env[name] = node(env)
        return tuple(node(env) for node in outputs)

    return evaluate


def _compile(expr: sympy.Basic, allowed: set[str]) -> Compiled:
    node = _node(expr, allowed)
    if isinstance(node, float):  # a constant formula: still a tensor of the inputs' dtype
        return lambda env: _tied_constant(node, env)
    return node


def _tied_constant(value: float, env: Mapping[str, Tensor]) -> Tensor:
    """``value`` shaped like the inputs and tied to them, so autograd sees L depend on θ (with
    derivative 0): ``(x - x)**2`` simplifies to 0, and a descent on it must get ∇L = 0, not
    "element 0 of tensors does not require grad". ``where`` with an all-false mask adds an exact 0
    whose gradient is 0 even where an input is ±∞ (``0 * x`` would give nan)."""
    out = _constant(value, env)
    for t in env.values():
        out = out + torch.where(torch.zeros_like(t, dtype=torch.bool), t, 0.0)
    return out


# A node is a function of the inputs, or a plain float for a constant: torch's ops take Python
# scalars as operands, so constants cost no tensor allocation per evaluation.
Node = Compiled | float


def _node(expr: sympy.Basic, allowed: set[str]) -> Node:
    if isinstance(expr, sympy.Symbol):
        if expr.name not in allowed:
            raise LosslabError(f"symbol {expr.name!r} has no value; known: {sorted(allowed)}")
        name = expr.name
        return lambda env: env[name]
    if expr.is_number:
        value = complex(expr.evalf())
        if value.imag != 0:
            raise LosslabError(f"constant {expr} is not real")
        return value.real
    children = [_node(arg, allowed) for arg in expr.args]
    if isinstance(expr, sympy.Add):
        return _fold(torch.add, children)
    if isinstance(expr, sympy.Mul):
        return _fold(torch.mul, children)
    if isinstance(expr, sympy.Pow):
        return _compile_pow(expr, *children)
    tensors = [_tensor(c) for c in children]
    if isinstance(expr, (sympy.Max, sympy.Min)):
        pick = torch.maximum if isinstance(expr, sympy.Max) else torch.minimum
        return lambda env: reduce(pick, torch.broadcast_tensors(*(c(env) for c in tensors)))
    if isinstance(expr, sympy.Heaviside):
        arg = tensors[0]
        return lambda env: torch.heaviside(arg(env), _constant(0.5, env))
    for kind, op in _UNARY.items():
        if isinstance(expr, kind):
            return _apply(op, tensors[0])
    raise LosslabError(f"cannot evaluate {type(expr).__name__} ({expr}) with torch")


def _tensor(node: Node) -> Compiled:
    if isinstance(node, float):
        return lambda env: _constant(node, env)
    return node


def _fold(op: Callable[[Tensor, Tensor | float], Tensor], children: list[Node]) -> Compiled:
    """``op`` over the children in order; a constant (SymPy puts it first) joins as a scalar operand.

    ``c + a`` and ``a + c`` are the same IEEE operation, so ``(a + c) + b`` equals ``(c + a) + b`` bit for bit.
    """
    constants = [c for c in children if isinstance(c, float)]
    terms = [c for c in children if not isinstance(c, float)]
    if len(constants) != 1 or children[0] is not constants[0]:
        ordered = [_tensor(c) for c in children]
        if len(ordered) == 2:  # the common case, without reduce's generator (a formula's gradient runs per step)
            a, b = ordered
            return lambda env: op(a(env), b(env))
        return lambda env: reduce(op, (c(env) for c in ordered))
    scalar, first, rest = constants[0], terms[0], terms[1:]
    if not rest:
        return lambda env: op(first(env), scalar)
    return lambda env: reduce(op, (c(env) for c in rest), op(first(env), scalar))


def _apply(op: Callable[[Tensor], Tensor], arg: Compiled) -> Compiled:
    return lambda env: op(arg(env))


def _compile_pow(expr: sympy.Pow, base: Node, exponent: Node) -> Compiled:
    power = expr.exp
    if isinstance(base, float):  # a constant base, e.g. 2**x
        constant, exp_fn = base, _tensor(exponent)
        return lambda env: torch.pow(constant, exp_fn(env))
    if power == sympy.Rational(1, 2):
        return lambda env: torch.sqrt(base(env))
    if power == -1:
        return lambda env: torch.reciprocal(base(env))
    if power.is_Integer:
        k = int(power)
        return lambda env: torch.pow(base(env), k)
    exp_node = exponent
    return lambda env: torch.pow(base(env), exp_node(env) if callable(exp_node) else exp_node)


def _constant(value: float, env: Mapping[str, Tensor]) -> Tensor:
    like = next(iter(env.values()), None)
    if like is None:
        return torch.tensor(value, dtype=torch.float64)
    return torch.tensor(value, dtype=like.dtype, device=like.device)
