"""A whitelist parser that turns formula text into a SymPy expression.

User text is never given to ``eval`` or ``sympify``. Python's own tokenizer/parser
(``ast.parse``) only builds a syntax tree; this module then walks that tree and accepts a
node only if it is on the whitelist: numbers, variable names, ``+ - * / **``, unary minus,
parentheses and calls of the functions in :data:`FUNCTIONS`. Everything else — attribute
access, subscripts, strings, lambdas, comparisons, calls of unknown names, keyword
arguments — is refused with a message that points at the offending part. Size bounds
(length, node count, nesting, numeric magnitude, constant exponents) keep SymPy from being
asked to build something enormous, such as ``9**9**9**9``. (Just over 400 lines: the whitelist
and every refusal's wording are read in one place, which is what makes it auditable.)
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy

from losslab.errors import LosslabError, first_line, not_one_of
from losslab.objectives.spelling import normalize, variable_name
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
    "sinh": (sympy.sinh, 1, 1),
    "cosh": (sympy.cosh, 1, 1),
    "atan": (sympy.atan, 1, 1),
    "abs": (sympy.Abs, 1, 1),
    "sigmoid": (sigmoid, 1, 1),
    "relu": (_relu, 1, 1),
    "softplus": (softplus, 1, 1),
    "max": (sympy.Max, 2, None),
    "min": (sympy.Min, 2, None),
}
#: the functions of one argument: a textbook's ``sin x`` is read as ``sin(x)`` (see :mod:`losslab.objectives.spelling`)
UNARY = frozenset(name for name, (_, fewest, most) in FUNCTIONS.items() if fewest == most == 1)
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
        understood: the formula in the parser's spelling (``x^2 - 4x + 5`` → ``x**2 - 4*x + 5``,
            see :mod:`losslab.objectives.spelling`); equal to the stripped text when nothing was rewritten.
    """

    text: str
    expr: sympy.Expr
    symbols: tuple[sympy.Symbol, ...]
    understood: str = ""

    @property
    def rewritten(self) -> bool:
        """True when the parser read another spelling than the one typed (tell the user what it read)."""
        return self.understood != self.text.strip()

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


def parse_formula(text: str, variables: Sequence[str] | None = None, known: Sequence[str] = ()) -> ParsedFormula:
    """Parse formula text into SymPy through the whitelist.

    Args:
        text: e.g. ``"0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)"``.
        variables: the variable names in order; by default those found in the formula,
            sorted naturally (w0, w1, …, w10).
        known: names the context knows without requiring them (a question's parameters): like
            ``variables``, never read as a product of other names, and factors of a name written
            together (``w0w1``).

    The spellings students use (``x^2 - 4x + 5``, ``w²``, ``|x|``, ``ln``, ``√``, ``L(w0, w1) = …``) are
    first rewritten by :func:`losslab.objectives.spelling.normalize`; ``understood`` says what was read.

    Raises:
        LosslabError: on anything outside the whitelist, with the position and what to write instead.

    >>> parse_formula("w**2 - 4*w + 5").expr
    w**2 - 4*w + 5
    >>> parse_formula("sqrt(w1**2 + w0**2)").names
    ('w0', 'w1')
    >>> parsed = parse_formula("L(w) = w^2 - 4w + 5")
    >>> parsed.understood, parsed.expr
    ('w**2 - 4*w + 5', w**2 - 4*w + 5)
    """
    if not isinstance(text, str):
        raise LosslabError(f"a formula must be text, got {type(text).__name__}")
    if len(text) > MAX_FORMULA_LENGTH:
        raise LosslabError(f"formula is {len(text)} characters long; at most {MAX_FORMULA_LENGTH} are accepted")
    if not text.strip():
        raise LosslabError("formula is empty; type an expression such as '(w - 3)**2'")
    declared = tuple(variable_name(v) for v in (*(variables or ()), *known) if isinstance(v, str))
    spelling = normalize(text, frozenset(FUNCTIONS), declared, UNARY)
    if not spelling.formula:
        raise LosslabError(f"formula '{_clip(text)}' has nothing after '='; write the loss, e.g. 'L(w) = (w - 3)**2'")
    try:
        tree = _syntax_tree(spelling.formula)
        walker = _Walker(spelling.formula)
        expr = walker.build(tree.body, depth=0)
    except LosslabError as error:
        if not spelling.rewritten:
            raise
        raise LosslabError(
            f"{error} (read '{_clip(text)}' as '{_clip(spelling.formula)}')", column=error.column
        ) from None
    found = sorted(walker.names, key=natural_key)
    given = tuple(variable_name(v) if isinstance(v, str) else v for v in variables) if variables is not None else None
    symbols = _order_variables(spelling.formula, found, given if given is not None else spelling.variables)
    if isinstance(expr, sympy.Basic) and expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise LosslabError(f"formula '{_clip(text)}' is undefined everywhere (it simplifies to {expr})")
    return ParsedFormula(text=text, expr=sympy.sympify(expr), symbols=symbols, understood=spelling.formula)


def _syntax_tree(text: str) -> ast.Expression:
    try:
        return ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col, advice = _syntax_advice(text, exc)
        raise LosslabError(
            f"cannot parse formula at column {col + 1} of '{_clip(text, col)}': {advice}", column=col + 1
        ) from None


def _syntax_advice(text: str, exc: SyntaxError) -> tuple[int, str]:
    """Where a syntax error is and what to write instead (Python's own message names neither for a student)."""
    stripped = text.rstrip()
    opened: list[int] = []
    for col, char in enumerate(text):
        if char == "(":
            opened.append(col)
        elif char == ")":
            if not opened:
                return col, "this ')' closes nothing; remove it or add the '(' it belongs to"
            opened.pop()
    if opened:
        return opened[-1], "this '(' is never closed; add ')'"
    equation = re.fullmatch(r"([^=<>!]*[^=<>!\s][^=<>!]*)=([^=]*[^=\s][^=]*)", text)  # one '=', a side each
    if equation is not None:
        left, right = equation.groups()
        return len(left), (
            f"a loss is one expression, not an equation; write {left.strip()} - ({right.strip()}) or the "
            "expression alone (a left-hand side names the variables: L(w0, w1) = …)"
        )
    ending = re.search(r"(\*\*|[-+*/,])$", stripped)
    if ending is not None:
        return ending.start(), f"the formula ends with '{ending.group()}'; add what follows it or remove it"
    found = re.search(r"[-+*/,]\s*([*/,)])", text)
    if found is not None and not found.group().startswith("**"):
        return found.start(
            1
        ), f"'{found.group().replace(' ', '')}': an operator lacks a value next to it; write one or remove it"
    called = re.search(r"\b([A-Za-z]+)\s+([\w.]+)", text)
    if called is not None and called.group(1) in FUNCTIONS:
        name, argument = called.groups()
        more = ", …" if FUNCTIONS[name][1] > 1 else ""
        return called.end(1), f"a function's arguments go in parentheses: write {name}({argument}{more})"
    found = re.search(r"[\w)]\s+[\w(]", text)
    if found is not None:
        return (
            found.start() + 1,
            "a number after a value with only a space between them; write '*' to multiply (2*3) or an operator",
        )
    col = max((exc.offset or 1) - 1, 0)
    return col, f"{exc.msg} (write the loss with numbers, names, + - * / ** ^, parentheses and functions)"


def _numbered(node: ast.AST) -> str:
    """``w0`` for ``w[0]`` (a name indexed by a whole number), else ''."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and isinstance(node.slice, ast.Constant):
        return f"{node.value.id}{node.slice.value!s}" if isinstance(node.slice.value, int) else ""
    return ""


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


# Constant parts are computed in floats by this small evaluator (SymPy's evalf of exp(exp(10**15))
# works towards 10**15 digits and never returns); each SymPy class it meets maps to a math function.
_FLOAT_FUNCTIONS: dict[type, Callable[..., float]] = {
    sympy.exp: math.exp,
    sympy.log: math.log,
    sympy.sin: math.sin,
    sympy.cos: math.cos,
    sympy.tan: math.tan,
    sympy.tanh: math.tanh,
    sympy.sinh: math.sinh,
    sympy.cosh: math.cosh,
    sympy.atan: math.atan,
    sympy.Abs: abs,
    sympy.Max: max,
    sympy.Min: min,
    sigmoid: lambda v: 1.0 / (1.0 + math.exp(-v)) if v > -700 else 0.0,
    softplus: lambda v: v + math.log1p(math.exp(-v)) if v > 0 else math.log1p(math.exp(v)),
}


def _float_value(expr: sympy.Basic) -> float:
    """A constant SymPy expression in floats; OverflowError, ValueError or TypeError (a complex) when it is none."""
    if isinstance(expr, sympy.Rational | sympy.Float | sympy.Integer):
        return float(expr)
    if expr is sympy.pi or expr is sympy.E:
        return float(expr)
    if expr is sympy.I or expr.is_real is False:
        raise TypeError("not a real number")
    args = [_float_value(a) for a in expr.args]
    if isinstance(expr, sympy.Add):
        return math.fsum(args)
    if isinstance(expr, sympy.Mul):
        return math.prod(args)
    if isinstance(expr, sympy.Pow):
        value = math.pow(args[0], args[1])  # ValueError for a negative base and a fractional exponent
        return value
    for kind, function in _FLOAT_FUNCTIONS.items():
        if isinstance(expr, kind):
            return float(function(*args))
    raise TypeError(f"no float rule for {type(expr).__name__}")


def _check_real_constant(expr: sympy.Basic, part: str, refuse: Callable[[str], LosslabError]) -> None:
    """Refuse a constant part (as typed: ``part``) that is not a finite real number, saying which and why."""
    shown = part if len(part) <= 40 else part[:37] + "…"
    if expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise refuse(f"the constant '{shown}' is undefined (it has no finite value)")
    try:
        value = _float_value(expr)
    except OverflowError:
        raise refuse(f"the constant '{shown}' is beyond the largest float (about 1.8e308)") from None
    except (ValueError, TypeError, ZeroDivisionError):
        hint = ""
        if any(p.base.is_negative and not p.exp.is_integer for p in expr.atoms(sympy.Pow)) or "**" in part:
            hint = " (a fractional power of a negative number; for the real cube root of -8 write -(8**(1/3)))"
        raise refuse(f"the constant '{shown}' is not a real number{hint}") from None
    if not math.isfinite(value):
        raise refuse(f"the constant '{shown}' is not a finite number")


class _Walker:
    def __init__(self, text: str) -> None:
        self.text = text
        self.names: set[str] = set()
        self.nodes = 0

    def refuse(self, node: ast.AST, what: str) -> LosslabError:
        col = getattr(node, "col_offset", 0)
        return LosslabError(f"{what} at column {col + 1} of '{_clip(self.text, col)}'", column=col + 1)

    def build(self, node: ast.AST, depth: int) -> sympy.Expr:
        expr = self._build(node, depth)
        if isinstance(expr, sympy.Basic) and not expr.free_symbols and not isinstance(expr, sympy.Number):
            part = ast.get_source_segment(self.text.strip(), node) or str(expr)
            _check_real_constant(expr, part, lambda what: self.refuse(node, what))
        return expr

    def _build(self, node: ast.AST, depth: int) -> sympy.Expr:
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
        hint = f"; for a numbered parameter write {_numbered(node)}" if _numbered(node) else ""
        raise self.refuse(node, f"{what} is not accepted in a formula{hint}")

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
        if result.is_number:
            part = ast.get_source_segment(self.text.strip(), node) or f"{base}**{exponent}"
            _check_real_constant(result, part, lambda what: self.refuse(node, what))
            if not abs(float(result)) <= MAX_NUMBER**2:
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
        try:
            return make(*args)
        except (ValueError, TypeError) as error:  # SymPy refuses e.g. max of a never-real sqrt(min(-8, w))
            part = ast.get_source_segment(self.text.strip(), node) or name
            reason = first_line(error).rstrip(".")
            what = f"{part} takes an argument that is not a real number anywhere (SymPy: {reason})"
            raise self.refuse(node, what) from None
