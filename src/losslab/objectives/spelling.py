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
``sin x``, ``ln 2x``       ``sin(x)``, ``log(2*x)``  a function's argument without parentheses (see below)
``sinx + cosy``            ``sin(x) + cos(y)``     a function's name joined to a one-letter name
``e^{-x}``, ``[x+1]^2``    ``e**(-x)``, ``(x+1)**2``  braces and brackets group (``w[0]`` stays indexing)
``½x``                     ``(1/2)*x``             fraction characters
``x² + xy + y²``           ``x**2 + x*y + y**2``   a name made of the formula's other names is their product
``x³ − 3xy²``              ``x**3 - 3*x*y**2``     single letters, one of them a variable on its own
``√x``, ``√(x+1)``         ``sqrt(x)``             the root sign
``ln(x)``                  ``log(x)``              the natural logarithm
``e^x``                    ``e**x``                ``e`` is Euler's number
``·``, ``×``, ``−``, ``÷``  ``*``, ``*``, ``-``, ``/``
``L(w0, w1) = …``          ``…`` (variables w0, w1)  a left-hand side names the variables
=========================  ======================  ===================================

A one-argument function printed before its argument takes the factor right after it: numbers, names, Greek
letters and groups written together, with their powers (``sin 2x`` is sin(2x), ``sin x²`` is sin(x²), ``sin²x``
is sin(x)², ``log cosh x`` is log(cosh(x))); a space after that factor, an operator or a bar ends it (``sin x cos y``
is sin(x)·cos(y), ``sin x/2`` is sin(x)/2, ``sin x y`` is sin(x)·y); a minus right before the factor is its own
(``exp -x²`` is exp(−x²)). The reading is said back, like every other.

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
    text: str,
    functions: frozenset[str] | set[str] = frozenset(),
    variables: tuple[str, ...] = (),
    unary: frozenset[str] | set[str] | None = None,
) -> Spelling:
    """Rewrite student spellings into the parser's (see the module docstring).

    Args:
        text: the formula as typed.
        functions: names that are functions, so ``f(`` stays a call (not ``f*(``).
        variables: names declared as variables: never read as a product of others, and a factor before ``(``.
        unary: the functions of one argument, which may be written without parentheses (``sin x``); all of
            ``functions`` when not given.

    >>> normalize("x^2 - 4x + 5").formula
    'x**2 - 4*x + 5'
    >>> normalize("L(w0,w1) = 2w0² + 3w1²").formula, normalize("L(w0,w1) = 2w0² + 3w1²").variables
    ('2*w0**2 + 3*w1**2', ('w0', 'w1'))
    >>> normalize("√(w₀² + w₁²) + |x| + ln(x)", {"sqrt", "abs", "log"}).formula
    'sqrt(w0**2 + w1**2) + abs(x) + log(x)'
    >>> normalize("2(x+1)^2 + (x-1)(x+1) + e^x").formula
    '2*(x+1)**2 + (x-1)*(x+1) + e**x'
    >>> normalize("sin²x + cos x² + sinx cosy", {"sin", "cos"}).formula
    'sin(x)**2 + cos(x**2) + sin(x) * cos(y)'
    """
    declared, body = _left_side(text.translate(SUBSCRIPTS))
    for symbol, plain in SYMBOLS.items():
        body = body.replace(symbol, plain)
    body = _fractions(_brackets(body))
    known = {*variables, *(declared or ())}
    unary = functions if unary is None else unary
    tokens = [(kind, FUNCTION_ALIASES.get(value, value) if kind == "name" else value) for kind, value in _tokens(body)]
    tokens = _glued_calls(tokens, unary, known)
    tokens = _roots(tokens)
    tokens = _bars(tokens, body, functions)
    tokens = _bare_arguments(tokens, unary)
    tokens = _function_powers(tokens, functions)
    tokens = _joined_names(tokens, functions, known)
    out: list[tuple[str, str]] = []
    for kind, value in tokens:
        if kind == "power":
            value = "**"
        elif kind == "sup":
            digits = value.translate(SUPERSCRIPTS)
            kind, value = "raw", "**" + (digits if digits.isdigit() else f"({digits})")
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
        parts = [] if whole else _segmentations(value, alone - {value}) or _letters(value, alone)
        if len(parts) == 1:
            for index, part in enumerate(parts[0]):
                out.extend([("op", "*"), ("name", part)] if index else [("name", part)])
        else:
            out.append((kind, value))
    return out


#: names that are words, never letters side by side: the Greek letters' names, ``lam``, the constants
WORDS = frozenset({*GREEK.values(), "lam", "pi", "e"})


def _letters(name: str, alone: set[str]) -> list[list[str]]:
    """``xy`` → ``x*y`` where ``x`` stands alone in the formula (x³ − 3xy², the monkey saddle: y never does): a
    short name of single letters (each may carry digits, ``x1y``) of which one is a variable used on its own is
    the letters' product, as Desmos and Wolfram read it, and so are the coordinates' letters alone (``xy``, the
    saddle; ``xyz``); a Greek letter's name (``eta``, ``xi``) stays a word."""
    parts = re.findall(r"[A-Za-z]\d*", name)
    single = "".join(parts) == name and 2 <= len(parts) <= 4 and name not in WORDS
    coordinates = set(name) <= set("xyz")  # xy, xyz: the textbook's saddle x·y, whatever else the formula holds
    return [parts] if single and (coordinates or any(part in alone for part in parts)) else []


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


_LOG_BASE = re.compile(r"(?:log|ln|lg)_?(2|10)")
_GLUED_REST = re.compile(r"(?P<number>\d+)?(?P<name>[A-Za-z](_?\d+)?)?")


def _glued_calls(
    tokens: list[tuple[str, str]], unary: frozenset[str] | set[str], declared: set[str]
) -> list[tuple[str, str]]:
    """``sinx``, ``cosw1``, ``sin2x``, ``lnx`` → ``sin x``, ``cos w1``, ``sin 2x``, ``log x`` (then read as calls): a
    name that is a one-argument function's name followed by a one-letter name (digits may follow it; a number may
    come before it) is the function of that name, as Desmos reads it; so is a name that is a function's name and a
    number before a Greek letter (``cos2πx``). A declared variable, a name called with
    ``(`` (``sine(x)``: an unknown function, named so) and ``…e`` (Euler's number: write ``sin(e)``) stay whole."""
    prefixes = sorted({*unary, *(a for a, f in FUNCTION_ALIASES.items() if f in unary)}, key=len, reverse=True)
    out: list[tuple[str, str]] = []
    for index, (kind, value) in enumerate(tokens):
        base = _LOG_BASE.fullmatch(value) if kind == "name" and value not in declared else None
        if base is not None:  # log2 x, log10(x): a logarithm to a base, not a variable named log2
            raise LosslabError(
                f"'{value}' reads as a logarithm to base {base.group(1)}, which losslab writes "
                f"log(x)/log({base.group(1)}); log(x) and ln(x) are the natural logarithm"
            )
        called = index + 1 < len(tokens) and tokens[index + 1] == ("op", "(")
        if kind != "name" or value in unary or value in declared or called:
            out.append((kind, value))
            continue
        before_greek = index + 1 < len(tokens) and tokens[index + 1][0] == "greek"  # cos2πx: the name read is cos2
        for prefix in prefixes:
            rest = _GLUED_REST.fullmatch(value[len(prefix) :]) if value.startswith(prefix) else None
            number, name = (rest.group("number"), rest.group("name")) if rest is not None else (None, None)
            if name != "e" and (name is not None or (before_greek and number is not None)):
                out.extend([("name", FUNCTION_ALIASES.get(prefix, prefix)), ("space", " ")])
                out.extend([("number", number)] if number else [])
                out.extend([("name", name)] if name else [])
                break
        else:
            out.append((kind, value))
    return out


def _bare_arguments(tokens: list[tuple[str, str]], unary: frozenset[str] | set[str]) -> list[tuple[str, str]]:
    """``sin x``, ``sin 2x``, ``sin²x``, ``log cosh x`` → ``sin(x)``, ``sin(2x)``, ``sin²(x)``, ``log(cosh(x))``: a
    one-argument function's name (with a power on it) before a factor without parentheses takes that factor (see
    the module docstring). The last such name is taken first, so an argument may itself be a call."""
    tokens = list(tokens)
    index = len(tokens) - 1
    while index >= 0:
        kind, value = tokens[index]
        if kind == "name" and value in unary:
            start = index + 1 + len(_name_power(tokens, index + 1))
            first = start
            while first < len(tokens) and tokens[first][0] == "space":
                first += 1
            end = _factor_end(tokens, first, unary)
            if end > first:
                tokens[start:end] = [("op", "("), *tokens[first:end], ("op", ")")]
        index -= 1
    return tokens


def _factor_end(tokens: list[tuple[str, str]], first: int, unary: frozenset[str] | set[str]) -> int:
    """Where the factor written together from ``first`` ends: the index after it; ``first`` when none starts
    there (or when a ``(`` does: the call is already written out)."""
    at = first
    if at + 1 < len(tokens) and tokens[at] == ("op", "-"):  # sin -x, exp -x², sin -(x + 1): the minus is its own
        if tokens[at + 1] == ("op", "("):
            at = _closing(tokens, at + 1) + 1
            first = at - 1  # a power or a factor may follow the group
        elif tokens[at + 1][0] in ("number", "name", "greek"):
            at += 1
            first = at
    while at < len(tokens):
        kind, value = tokens[at]
        if kind in ("number", "greek") or (kind == "name" and value not in unary):
            at += 1
            if kind == "name" and at < len(tokens) and tokens[at] == ("op", "("):
                at = _closing(tokens, at) + 1  # abs(x), max(x, y), w0(x + 1): a call or a factor's group
        elif kind == "name" and at + 1 < len(tokens) and tokens[at + 1] == ("op", "("):
            at = _closing(tokens, at + 1) + 1  # a call already written out: sin(x) inside log sin(x)
        elif at > first and kind == "sup":
            at += 1
        elif at > first and kind == "power" and at + 1 < len(tokens):
            after = at + 2 if tokens[at + 1] == ("op", "-") else at + 1
            if after >= len(tokens):
                break
            if tokens[after] == ("op", "("):
                at = _closing(tokens, after) + 1
            elif tokens[after][0] in ("number", "name", "greek"):
                at = after + 1
            else:
                break
        elif at > first and (kind, value) == ("op", "("):
            at = _closing(tokens, at) + 1  # sin 2(x + 1)
        else:
            break
    return at


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


def _bars(
    tokens: list[tuple[str, str]], text: str, functions: frozenset[str] | set[str] = frozenset()
) -> list[tuple[str, str]]:
    """``|…|`` → ``abs(…)``: a bar opens where a value cannot end (start, after an operator, '(' or a function's
    name: ``sin |x|``) or where none is open (after a value: a product, ``2|x|``), else closes."""
    out: list[tuple[str, str]] = []
    depth = 0
    for kind, value in tokens:
        if kind != "bar":
            out.append((kind, value))
            continue
        previous = next((t for t in reversed(out) if t[0] != "space"), None)
        opens = previous is None or (previous[0] == "op" and previous[1] in "+-*/(,=") or previous[0] == "power"
        last = [t for t in out[-6:] if t[0] != "space"][-3:]  # enough for a name and its power: sin^2 |x|
        opens = opens or _after_function_name(last, functions)
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


def _after_function_name(written: list[tuple[str, str]], functions: frozenset[str] | set[str]) -> bool:
    """Whether the tokens end with a function's name, or its name and a power (``sin``, ``sin²``, ``sin^2``)."""
    for drop in (0, 1, 2):
        if len(written) > drop and written[-1 - drop][0] == "name" and written[-1 - drop][1] in functions:
            return _name_power(written, len(written) - drop) == written[len(written) - drop :]
    return False


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
