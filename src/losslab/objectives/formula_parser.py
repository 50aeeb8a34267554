"""A whitelist parser that turns formula text into a SymPy expression.

User text is never given to ``eval`` or ``sympify``. Python's own tokenizer/parser
(``ast.parse``) only builds a syntax tree; this module then walks that tree and accepts a
node only if it is on the whitelist: numbers, variable names, ``+ - * / **``, unary minus,
parentheses and calls of the functions in :data:`FUNCTIONS`. Everything else — attribute
access, subscripts, strings, lambdas, comparisons, calls of unknown names, keyword
arguments — is refused with a message that points at the offending part. Size bounds
(length, node count, nesting, numeric magnitude, constant exponents) keep SymPy from being
asked to build something enormous, such as ``9**9**9**9``.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy

from losslab.errors import LosslabError, not_one_of
from losslab.objectives.sympy_functions import sigmoid, softplus

MAX_FORMULA_LENGTH = 2_000
MAX_NODES = 500
MAX_DEPTH = 40
MAX_NUMBER = 1e15
MAX_CONSTANT_EXPONENT = 100


def _relu(x: sympy.Expr) -> sympy.Expr:
    return sympy.Max(0, x)


# name -> (SymPy constructor, smallest arity, largest arity or None for any)
FUNCTIONS: dict[str, tuple[Callable[..., sympy.Expr], int, int | None]] = {
    "exp": (sympy.exp, 1, 1),
    "log": (sympy.log, 1, 1),
    "sqrt": (sympy.sqrt, 1, 1),
    "sin": (sympy.sin, 1, 1),
    "cos": (sympy.cos, 1, 1),
    "tan": (sympy.tan, 1, 1),
    "tanh": (sympy.tanh, 1, 1),
    "abs": (sympy.Abs, 1, 1),
    "sigmoid": (sigmoid, 1, 1),
    "relu": (_relu, 1, 1),
    "softplus": (softplus, 1, 1),
    "max": (sympy.Max, 2, None),
    "min": (sympy.Min, 2, None),
}
CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "e": sympy.E}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_DESCRIBE = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.Compare: "comparison",
    ast.BoolOp: "boolean operator",
    ast.IfExp: "conditional expression",
    ast.Tuple: "tuple",
    ast.List: "list",
    ast.Dict: "dict",
    ast.Set: "set",
    ast.JoinedStr: "f-string",
    ast.NamedExpr: "assignment",
    ast.Starred: "star-argument",
    ast.ListComp: "comprehension",
    ast.GeneratorExp: "comprehension",
    ast.Await: "await",
}


@dataclass(frozen=True)
class ParsedFormula:
    """A formula as SymPy sees it.

    Attributes:
        text: the formula as typed.
        expr: the SymPy expression.
        symbols: the variables in order (real SymPy symbols).
    """

    text: str
    expr: sympy.Expr
    symbols: tuple[sympy.Symbol, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.symbols)


def natural_key(name: str) -> tuple[object, ...]:
    """Sort key that orders names as a person does: w2 before w10.

    >>> sorted(["w10", "w2", "b", "w0"], key=natural_key)
    ['b', 'w0', 'w2', 'w10']
    """
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def symbol(name: str) -> sympy.Symbol:
    """The real SymPy symbol losslab uses for a variable name."""
    return sympy.Symbol(name, real=True)


def parse_formula(text: str, variables: Sequence[str] | None = None) -> ParsedFormula:
    """Parse formula text into SymPy through the whitelist.

    Args:
        text: e.g. ``"0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)"``.
        variables: the variable names in order; by default those found in the formula,
            sorted naturally (w0, w1, …, w10).

    Raises:
        LosslabError: on anything outside the whitelist, with the position.

    >>> parse_formula("w**2 - 4*w + 5").expr
    w**2 - 4*w + 5
    >>> parse_formula("sqrt(w1**2 + w0**2)").names
    ('w0', 'w1')
    """
    if not isinstance(text, str):
        raise LosslabError(f"a formula must be text, got {type(text).__name__}")
    if len(text) > MAX_FORMULA_LENGTH:
        raise LosslabError(f"formula is {len(text)} characters long; at most {MAX_FORMULA_LENGTH} are accepted")
    if not text.strip():
        raise LosslabError("formula is empty; type an expression such as '(w - 3)**2'")
    tree = _syntax_tree(text)
    walker = _Walker(text)
    expr = walker.build(tree.body, depth=0)
    found = sorted(walker.names, key=natural_key)
    symbols = _order_variables(text, found, variables)
    if isinstance(expr, sympy.Basic) and expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise LosslabError(f"formula '{_clip(text)}' is undefined everywhere (it simplifies to {expr})")
    return ParsedFormula(text=text, expr=sympy.sympify(expr), symbols=symbols)


def _syntax_tree(text: str) -> ast.Expression:
    if "^" in text:
        col = text.index("^")
        raise LosslabError(f"'^' at column {col + 1} of '{_clip(text, col)}': write powers as '**'", column=col + 1)
    try:
        return ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col = max((exc.offset or 1) - 1, 0)
        raise LosslabError(
            f"cannot parse formula at column {col + 1} of '{_clip(text, col)}': {exc.msg}", column=col + 1
        ) from None


def _order_variables(text: str, found: list[str], variables: Sequence[str] | None) -> tuple[sympy.Symbol, ...]:
    if variables is None:
        return tuple(symbol(n) for n in found)
    names = list(variables)
    for name in names:
        if not _NAME.match(name) or name in FUNCTIONS or name in CONSTANTS:
            raise LosslabError(
                f"variable name {name!r} is not accepted: use a letter followed by letters,"
                " digits or '_', and not a function or constant name"
            )
    if len(set(names)) != len(names):
        raise LosslabError(f"variables {names} contain a repeated name")
    unknown = [n for n in found if n not in names]
    if unknown:
        raise LosslabError(
            f"formula '{_clip(text)}' uses {', '.join(unknown)}, which "
            f"{'is' if len(unknown) == 1 else 'are'} not among the variables {', '.join(names)}"
        )
    return tuple(symbol(n) for n in names)


def _clip(text: str, col: int = 0, width: int = 60) -> str:
    """The formula, shortened around ``col`` so a 100 kB formula is not echoed whole."""
    if len(text) <= width:
        return text
    start = max(0, min(col - width // 2, len(text) - width))
    return ("…" if start else "") + text[start : start + width] + ("…" if start + width < len(text) else "")


class _Walker:
    def __init__(self, text: str) -> None:
        self.text = text
        self.names: set[str] = set()
        self.nodes = 0

    def refuse(self, node: ast.AST, what: str) -> LosslabError:
        col = getattr(node, "col_offset", 0)
        return LosslabError(f"{what} at column {col + 1} of '{_clip(self.text, col)}'", column=col + 1)

    def build(self, node: ast.AST, depth: int) -> sympy.Expr:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.refuse(node, f"formula has more than {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            raise self.refuse(node, f"formula nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.build(node.operand, depth + 1)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return self.binary(node, depth)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.BinOp):
            raise self.refuse(node, "operator not accepted (use + - * / **)")
        what = _DESCRIBE.get(type(node), type(node).__name__)
        if isinstance(node, ast.Attribute):
            what += f" '.{node.attr}'"
        raise self.refuse(node, f"{what} is not accepted in a formula")

    def number(self, node: ast.Constant) -> sympy.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.refuse(node, f"{type(value).__name__} value {value!r} is not accepted")
        if not math.isfinite(value) or abs(value) > MAX_NUMBER:
            raise self.refuse(node, f"number {value!r} is larger than {MAX_NUMBER:g}")
        if isinstance(value, int):
            return sympy.Integer(value)
        # Keep decimals exact (0.5 -> 1/2) so symbolic results are exact; SymPy prints
        # them back as fractions, and numeric evaluation is unchanged.
        return sympy.Rational(repr(value))

    def name(self, node: ast.Name) -> sympy.Expr:
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise self.refuse(node, f"function '{node.id}' used without arguments")
        if not _NAME.match(node.id):
            raise self.refuse(node, f"name '{node.id}' is not accepted (start with a letter)")
        self.names.add(node.id)
        return symbol(node.id)

    def binary(self, node: ast.BinOp, depth: int) -> sympy.Expr:
        left = self.build(node.left, depth + 1)
        right = self.build(node.right, depth + 1)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            if right == 0:
                raise self.refuse(node, "division by zero")
            return left / right
        return self.power(node, left, right)

    def power(self, node: ast.BinOp, base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
        if exponent.is_number:
            bound = MAX_CONSTANT_EXPONENT
            if abs(float(exponent)) > bound:
                raise self.refuse(node, f"exponent {exponent} is beyond ±{bound}")
            if base.is_number and abs(float(base)) > MAX_NUMBER:
                raise self.refuse(node, f"constant {base} is larger than {MAX_NUMBER:g}")
        elif base.is_number and abs(float(base)) > MAX_CONSTANT_EXPONENT:
            raise self.refuse(node, f"base {base} of a variable exponent is beyond ±{MAX_CONSTANT_EXPONENT}")
        result = base**exponent
        if result.is_number and not (abs(float(result)) <= MAX_NUMBER**2):
            raise self.refuse(node, f"constant power {base}**{exponent} is too large")
        return result

    def call(self, node: ast.Call, depth: int) -> sympy.Expr:
        if not isinstance(node.func, ast.Name):
            raise self.refuse(node, "only named functions can be called")
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.refuse(node, str(not_one_of("function", name, sorted(FUNCTIONS))))
        if node.keywords:
            raise self.refuse(node, f"'{name}' takes no keyword arguments")
        make, least, most = FUNCTIONS[name]
        count = len(node.args)
        if count < least or (most is not None and count > most):
            wanted = f"{least}" if least == most else f"at least {least}"
            raise self.refuse(node, f"'{name}' takes {wanted} argument(s), got {count}")
        args = [self.build(arg, depth + 1) for arg in node.args]
        return make(*args)
