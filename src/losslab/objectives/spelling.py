"""The way students write formulas, rewritten into the parser's spelling before it reads them.

Students type losses the way textbooks print them and the way Desmos, GeoGebra and Wolfram
accept them. :func:`normalize` turns that into the one spelling the whitelist parser reads
(:mod:`losslab.objectives.formula_parser`), and says what it understood, so nothing is
reinterpreted silently:

=========================  ======================  ===================================
written                    read as                 rule
=========================  ======================  ===================================
``x^2``                    ``x**2``                ``^`` is a power
``w²``, ``x⁻¹``            ``w**2``, ``x**(-1)``   superscript digits and minus
``w₀``                     ``w0``                  subscript digits
``4x``, ``2(x+1)``         ``4*x``, ``2*(x+1)``    a number before a name or ``(``
``2 x``, ``x y``, ``x² y²``  ``2*x``, ``x*y``, …      the same across spaces, and a name after a name
``(x+1)(x-1)``, ``(a)b``   ``(x+1)*(x-1)``         ``)`` before ``(``, a name or a number
``x(y+1)``, ``w0(x-1)``     ``x*(y+1)``             a one-letter name (digits may follow) before ``(``
``|x|``                    ``abs(x)``              bars are the absolute value
``θ₀``, ``2λ``, ``π``      ``theta0``, ``2*lam``, ``pi``  Greek letters by name (``λ``: ``lam``)
``sin²(x)``, ``sin^2(x)``  ``sin(x)**2``           a power on a function's name is its value's
``e^{-x}``, ``[x+1]^2``    ``e**(-x)``, ``(x+1)**2``  braces and brackets group (``w[0]`` stays indexing)
``½x``                     ``(1/2)*x``             fraction characters
``x² + xy + y²``           ``x**2 + x*y + y**2``   a name made of the formula's other names is their product
``√x``, ``√(x+1)``         ``sqrt(x)``             the root sign
``ln(x)``                  ``log(x)``              the natural logarithm
``e^x``                    ``e**x``                ``e`` is Euler's number
``·``, ``×``, ``−``, ``÷``  ``*``, ``*``, ``-``, ``/``
``L(w0, w1) = …``          ``…`` (variables w0, w1)  a left-hand side names the variables
=========================  ======================  ===================================

This is text rewriting by a small tokenizer (no ``eval``, no ``sympify``): what comes out
still goes through the whitelist parser, which refuses everything it does not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from losslab.errors import LosslabError

SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
SYMBOLS = {"·": "*", "×": "*", "⋅": "*", "∗": "*", "−": "-", "–": "-", "÷": "/", "＋": "+", "＝": "=",
           "{": "(", "}": ")"}  # fmt: skip
FRACTIONS = {"½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "⅕": "1/5", "⅙": "1/6", "⅛": "1/8"}
#: Greek letters a student types for parameters, by the names the parser reads (λ is ``lam``: ``lambda`` is
#: Python's keyword; π is the constant ``pi``); a letter is a name of its own, so ``αx`` is ``alpha*x``
GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ϵ": "epsilon", "ζ": "zeta", "η": "eta",
    "θ": "theta", "ϑ": "theta", "ι": "iota", "κ": "kappa", "λ": "lam", "μ": "mu", "ν": "nu", "ξ": "xi", "π": "pi",
    "ρ": "rho", "σ": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi", "ϕ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega",
}  # fmt: skip
FUNCTION_ALIASES = {"ln": "log", "arctan": "atan"}
_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    rf"|(?P<greek>[{''.join(GREEK)}]\d*)"
    r"|(?P<power>\*\*|\^)"
    r"|(?P<sup>[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+)"
    r"|(?P<root>√)"
    r"|(?P<bar>\|)"
    r"|(?P<op>[-+*/(),=])"
    r"|(?P<other>.)"
)
_NAME_END = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_VARIABLE_LIKE = re.compile(r"[A-Za-z](_?\d+)?")
_LEFT_SIDE = re.compile(r"^\s*[A-Za-z][A-Za-z0-9_]*\s*(?:\((?P<args>[^()=]*)\))?\s*=(?!=)")


@dataclass(frozen=True)
class Spelling:
    """A formula in the parser's spelling.

    Attributes:
        text: what the user typed.
        formula: the formula the parser reads (``x^2 - 4x + 5`` → ``x**2 - 4*x + 5``).
        variables: the variable order a left-hand side gave (``L(w0, w1) = …``), else None.
    """

    text: str
    formula: str
    variables: tuple[str, ...] | None = None

    @property
    def rewritten(self) -> bool:
        """True when the parser reads something other than what was typed (say so to the user)."""
        return self.formula != self.text.strip()


def normalize(
    text: str, functions: frozenset[str] | set[str] = frozenset(), variables: tuple[str, ...] = ()
) -> Spelling:
    """Rewrite student spellings into the parser's (see the module docstring).

    Args:
        text: the formula as typed.
        functions: names that are functions, so ``f(`` stays a call (not ``f*(``).
        variables: names declared as variables: never read as a product of others, and a factor before ``(``.

    >>> normalize("x^2 - 4x + 5").formula
    'x**2 - 4*x + 5'
    >>> normalize("L(w0,w1) = 2w0² + 3w1²").formula, normalize("L(w0,w1) = 2w0² + 3w1²").variables
    ('2*w0**2 + 3*w1**2', ('w0', 'w1'))
    >>> normalize("√(w₀² + w₁²) + |x| + ln(x)", {"sqrt", "abs", "log"}).formula
    'sqrt(w0**2 + w1**2) + abs(x) + log(x)'
    >>> normalize("2(x+1)^2 + (x-1)(x+1) + e^x").formula
    '2*(x+1)**2 + (x-1)*(x+1) + e**x'
    """
    declared, body = _left_side(text.translate(SUBSCRIPTS))
    for symbol, plain in SYMBOLS.items():
        body = body.replace(symbol, plain)
    body = _fractions(_brackets(body))
    tokens = _tokens(body)
    tokens = _roots(tokens)
    tokens = _bars(tokens, body)
    tokens = _function_powers(tokens, functions)
    known = {*variables, *(declared or ())}
    tokens = _joined_names(tokens, functions, known)
    out: list[tuple[str, str]] = []
    for kind, value in tokens:
        if kind == "power":
            value = "**"
        elif kind == "sup":
            digits = value.translate(SUPERSCRIPTS)
            kind, value = "raw", "**" + (digits if digits.isdigit() else f"({digits})")
        elif kind == "name":
            value = FUNCTION_ALIASES.get(value, value)
        elif kind == "greek":
            value = GREEK[value[0]] + value[1:]
        if out and _implicit_product(out, kind, value, functions, known):
            _star(out)
        out.append((kind, value))
    formula = "".join(value for _, value in out).strip()
    return Spelling(text, formula, declared)


def _left_side(text: str) -> tuple[tuple[str, ...] | None, str]:
    """``L(w0, w1) = body`` → the variables and the body; ``y = body`` → None and the body."""
    found = _LEFT_SIDE.match(text)
    if found is None:
        return None, text
    body = text[found.end() :]
    if "=" in body:
        raise LosslabError(f"'{text.strip()}' has more than one '='; write the loss alone, e.g. 'x**2 + y**2'")
    args = found.group("args")
    if args is None or not args.strip():
        return None, body
    names = tuple(variable_name(a.strip()) for a in args.split(","))
    if not all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", n) for n in names):
        return None, body  # not a list of variable names: the parser will say what is wrong with the body
    return names, body


def variable_name(name: str) -> str:
    """A variable's name as the parser reads it: ``θ₀`` → ``theta0``, ``w₁`` → ``w1``; other names as they are
    (where a variable is named outside a formula: a left-hand side, ``--at θ=1``, a slice)."""
    name = name.translate(SUBSCRIPTS)
    return GREEK[name[0]] + name[1:] if name[:1] in GREEK else name


def _brackets(text: str) -> str:
    """``[…]`` → ``(…)`` where it groups; right after a name it is indexing (``w[0]``, which the parser refuses
    by name) and stays."""
    out: list[str] = []
    grouping: list[bool] = []
    for char in text:
        if char == "[":
            grouping.append(_NAME_END.search("".join(out)) is None)
            char = "(" if grouping[-1] else char
        elif char == "]" and grouping:
            char = ")" if grouping.pop() else char
        out.append(char)
    return "".join(out)


def _fractions(text: str) -> str:
    """``½`` → ``(1/2)``; after a digit it would read as a product (``2½`` as 1), so it is refused there."""
    for i, char in enumerate(text):
        if char in FRACTIONS and i and text[i - 1].isdigit():
            raise LosslabError(f"'{text[i - 1]}{char}' is a mixed number; write it as a decimal or a sum, e.g. 2.5")
    for char, plain in FRACTIONS.items():
        text = text.replace(char, f"({plain})")
    return text


def _joined_names(
    tokens: list[tuple[str, str]], functions: frozenset[str] | set[str], declared: set[str]
) -> list[tuple[str, str]]:
    """``x^2 + xy + y^2`` → ``x**2 + x*y + y**2``: a name made only of names the formula also uses on their
    own or declares as variables, in exactly one way, is their product (as Desmos reads it); any other name,
    and a declared variable, stays one variable."""
    alone = {v for k, v in tokens if k == "name" and v not in functions} | declared
    out: list[tuple[str, str]] = []
    for kind, value in tokens:
        whole = kind != "name" or value in functions or value in declared
        parts = [] if whole else _segmentations(value, alone - {value})
        if len(parts) == 1:
            for index, part in enumerate(parts[0]):
                out.extend([("op", "*"), ("name", part)] if index else [("name", part)])
        else:
            out.append((kind, value))
    return out


def _segmentations(name: str, names: set[str]) -> list[list[str]]:
    """The ways (none, one, or two of several) to write ``name`` as two or more of ``names`` one after another;
    a name's digits stay with the letters before them. Counted left to right, at most 2 ways a prefix: linear in
    the name's length, whatever it is."""
    ways: list[list[list[str]]] = [[[]]]  # ways[i]: up to 2 splits of name[:i]
    ways.extend([] for _ in name)
    for end in range(1, len(name) + 1):
        for part in names:
            start = end - len(part)
            cuts_digits = end < len(name) and name[end].isdigit() and part[-1:].isalpha()
            if start < 0 or name[start:end] != part or cuts_digits:
                continue
            for split in ways[start]:
                if len(ways[end]) < 2:
                    ways[end].append([*split, part])
    return [split for split in ways[-1] if len(split) > 1]


def _function_powers(tokens: list[tuple[str, str]], functions: frozenset[str] | set[str]) -> list[tuple[str, str]]:
    """``sin²(x)``, ``sin^2(x)`` → ``sin(x)**2``: a whole-number power written on a function's name is the power
    of its value (the textbook's sin²x); ``sin⁻¹`` (arcsin) is refused by name."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        exponent = _name_power(tokens, i + 1) if kind == "name" and value in functions else []
        after = i + 1 + len(exponent)
        while after < len(tokens) and tokens[after][0] == "space":
            after += 1
        if not exponent or after >= len(tokens) or tokens[after] != ("op", "("):
            out.append(tokens[i])
            i += 1
            continue
        written = "".join(v for _, v in exponent)
        if not written.translate(SUPERSCRIPTS).lstrip("^*").isdigit():
            raise LosslabError(
                f"'{value}{written}' reads as an inverse function, which is not one losslab knows; "
                f"for a power of the value write {value}(x)^(-1)"
            )
        close = _closing(tokens, after)
        powered = [tokens[i], *tokens[after : close + 1], *exponent]
        if close + 1 < len(tokens) and tokens[close + 1][0] in ("power", "sup"):  # sin²(x)³ is (sin(x)**2)**3
            powered = [("op", "("), *powered, ("op", ")")]
        out.extend(powered)
        i = close + 1
    return out


def _name_power(tokens: list[tuple[str, str]], i: int) -> list[tuple[str, str]]:
    """The exponent tokens right after a name: a superscript, ``^``/``**`` and a whole number, or ``^-`` and what
    follows (an inverse function's spelling); else none."""
    kinds = [kind for kind, _ in tokens[i : i + 3]]
    if kinds[:1] == ["sup"]:
        return tokens[i : i + 1]
    if kinds[:2] == ["power", "number"] and tokens[i + 1][1].isdigit():
        return tokens[i : i + 2]
    if kinds[:1] == ["power"] and len(kinds) == 3 and tokens[i + 1] == ("op", "-"):
        return tokens[i : i + 3]  # sin^-1: refused as the inverse function
    return []


def _closing(tokens: list[tuple[str, str]], start: int) -> int:
    """The index of the ``)`` that closes the ``(`` at ``start`` (the last token when none does: the parser
    then says which ``(`` is never closed)."""
    depth = 0
    for j in range(start, len(tokens)):
        depth += {("op", "("): 1, ("op", ")"): -1}.get(tokens[j], 0)
        if depth == 0:
            return j
    return len(tokens) - 1


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        tokens.append((kind, match.group()))
    return tokens


def _roots(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``√x`` → ``sqrt(x)`` and ``√(…)`` → ``sqrt(…)``; ``√`` binds to the next name, number or group."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if kind != "root":
            out.append((kind, value))
            i += 1
            continue
        j = i + 1
        while j < len(tokens) and tokens[j][0] == "space":
            j += 1
        if j < len(tokens) and tokens[j] == ("op", "("):
            out.append(("name", "sqrt"))
            i = j
        elif j < len(tokens) and tokens[j][0] in ("name", "number", "greek"):
            out.extend([("name", "sqrt"), ("op", "("), tokens[j], ("op", ")")])
            i = j + 1
        else:
            raise LosslabError("'√' must be followed by a number, a name or '(…)', e.g. √(x**2 + 1)")
    return out


def _bars(tokens: list[tuple[str, str]], text: str) -> list[tuple[str, str]]:
    """``|…|`` → ``abs(…)``: a bar opens where a value cannot end (start, after an operator or '(') or where none
    is open (after a value: a product, ``2|x|``), else closes."""
    out: list[tuple[str, str]] = []
    depth = 0
    for kind, value in tokens:
        if kind != "bar":
            out.append((kind, value))
            continue
        previous = next((t for t in reversed(out) if t[0] != "space"), None)
        opens = previous is None or (previous[0] == "op" and previous[1] in "+-*/(,=") or previous[0] == "power"
        if opens or depth == 0:  # after a value with none open: a product, 2|x|, |x||y|, x |y|
            if not opens:
                _star(out)
            out.extend([("name", "abs"), ("op", "(")])
            depth += 1
        else:
            out.append(("op", ")"))
            depth -= 1
    if depth:
        raise LosslabError(f"an absolute value in '{text.strip()}' is not closed: write |x| (or abs(x))")
    return out


def _star(out: list[tuple[str, str]]) -> None:
    """A product sign after the last value: ``2*x``, or ``x**2 * y`` where spaces stood between them."""
    if out[-1][0] == "space":
        out[-1:] = [("space", " "), ("op", "*"), ("space", " ")]
    else:
        out.append(("op", "*"))


def _implicit_product(
    out: list[tuple[str, str]], kind: str, value: str, functions: frozenset[str] | set[str], known: set[str]
) -> bool:
    """Whether a '*' belongs between the last value and this one (``2x``, ``)(``, ``x(…)``; across spaces also
    ``2 x``, ``x y``, ``100 (y - x²)²`` — but never a number after a space: ``2 3`` or ``x 2`` stays refused)."""
    spaced = out[-1][0] == "space"
    previous_kind, previous = next((t for t in reversed(out) if t[0] != "space"), out[-1])
    starts_value = kind in ("name", "number", "greek") or (kind == "op" and value == "(")
    if not starts_value or previous_kind == "space" or (spaced and kind == "number"):
        return False
    if previous_kind == "greek" or (kind == "greek" and previous_kind == "name" and previous not in functions):
        return True  # θx, xθ, θ(x+1): a Greek letter is a name of its own
    if previous_kind == "number":
        return kind in ("name", "greek") or value == "("
    if (previous_kind == "op" and previous == ")") or previous_kind == "raw":  # ")(", ")x", "x²y"
        return True
    if previous_kind != "name" or previous in functions:  # tanh(x), sin x: a function's name, not a factor
        return False
    if value == "(":  # x(y+1), w0(…), eta(…) where eta is declared: a variable's name
        return _VARIABLE_LIKE.fullmatch(previous) is not None or previous in known
    return spaced  # x y: two names (written together they are one name)
