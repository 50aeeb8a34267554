"""Hypothesis strategies for the formulas a student types: the whitelisted functions (sqrt, log, abs,
max/min, exp, sin, tanh, relu), powers (integer, fractional, negative), division, 1–3 variables,
nesting of depth 3 and more, each written in the parser's spelling or a student's (``^``, ``2x``,
``|…|``, ``√``, ``ln``, superscripts, ``sin x`` without parentheses).

A formula is drawn as a small tree and rendered in one spelling, so shrinking keeps it readable.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

NAMES = ("x", "y", "w0", "w1", "w2", "theta")
GREEK = {"theta": "θ"}  # a student's spelling of a name
UNARY = ("sqrt", "log", "abs", "exp", "sin", "tanh", "cosh", "atan", "relu", "-")
BINARY = ("+", "-", "*", "/", "**")
NUMBERS = ("0", "1", "2", "3", "0.5", "1.5", "10", "0.1", "-1", "(-8)", "1/3", "2/3")


@dataclass(frozen=True)
class Node:
    op: str
    args: tuple[Node, ...] = ()

    def depth(self) -> int:
        return 1 + max((a.depth() for a in self.args), default=0)

    def plain(self) -> str:
        if not self.args:
            return self.op
        if self.op == "-" and len(self.args) == 1:
            return f"-({self.args[0].plain()})"
        if len(self.args) == 1 or self.op in ("max", "min"):
            return f"{self.op}({', '.join(a.plain() for a in self.args)})"
        left, right = (a.plain() for a in self.args)
        return f"({left}) {self.op} ({right})"

    def student(self) -> str:
        """The same formula as a student might type it."""
        if not self.args:
            return GREEK.get(self.op, self.op)
        if self.op == "-" and len(self.args) == 1:
            return f"-({self.args[0].student()})"
        if self.bare():
            return f"{'ln' if self.op == 'log' else self.op} {self.args[0].student()}"  # sin x, ln w0, exp 2
        if self.op == "abs":
            return f"|{self.args[0].student()}|"
        if self.op == "sqrt":
            return f"√({self.args[0].student()})"
        if self.op == "log":
            return f"ln({self.args[0].student()})"
        if len(self.args) == 1 or self.op in ("max", "min"):
            return f"{self.op}({', '.join(a.student() for a in self.args)})"
        left, right = self.args
        if self.op == "**" and right.op in ("2", "3") and not right.args:
            square = "²" if right.op == "2" else "³"
            if left.bare():
                return f"{left.op}{square} {left.args[0].student()}"  # sin² x
            if left.op in ("exp", "sin", "tanh") and len(left.args) == 1:
                return f"{left.op}{square}({left.args[0].student()})"  # sin²(x): the textbook's power of a value
            return f"({left.student()}){square}"
        if self.op == "**":
            return f"({left.student()})^({right.student()})"
        if self.op == "*" and not left.args and left.op[0].isdigit() and "/" not in left.op:
            return f"{left.op}({right.student()})"  # 2(x + 1): implicit multiplication
        if self.op == "*":
            return f"({left.student()}) ({right.student()})"  # (x + 1) (y - 2): side by side, with a space
        return f"({left.student()}) {self.op} ({right.student()})"

    def bare(self) -> bool:
        """Whether a student may print this call without parentheses: a function of a name or a plain number."""
        simple = len(self.args) == 1 and not self.args[0].args and self.args[0].op.replace(".", "").isalnum()
        return simple and self.op in ("exp", "sin", "tanh", "cosh", "atan", "log")


def leaves(names: tuple[str, ...]) -> st.SearchStrategy[Node]:
    return st.one_of(st.sampled_from(names).map(Node), st.sampled_from(NUMBERS).map(Node))


def trees(names: tuple[str, ...]) -> st.SearchStrategy[Node]:
    def extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        unary = st.builds(lambda op, a: Node(op, (a,)), st.sampled_from(UNARY), children)
        binary = st.builds(lambda op, a, b: Node(op, (a, b)), st.sampled_from(BINARY), children, children)
        extreme = st.builds(lambda op, a, b: Node(op, (a, b)), st.sampled_from(("max", "min")), children, children)
        return st.one_of(unary, binary, binary, extreme)

    return st.recursive(leaves(names), extend, max_leaves=8)


@st.composite
def student_formulas(draw: st.DrawFn, min_depth: int = 3) -> tuple[str, tuple[str, ...]]:
    """A formula text and the variables it is declared over (every variable appears in it)."""
    count = draw(st.integers(1, 3))
    names = tuple(draw(st.permutations(NAMES))[:count])
    tree = draw(trees(names).filter(lambda t: t.depth() >= min_depth))
    spelled = tree.student() if draw(st.booleans()) else tree.plain()
    used = tuple(n for n in names if _mentions(spelled, n) or _mentions(spelled, GREEK.get(n, n)))
    if not used:
        spelled, used = f"({spelled}) + {names[0]}**2", names[:1]
    return spelled, used


@st.composite
def two_spellings(draw: st.DrawFn) -> tuple[str, str]:
    """One formula in a student's spelling and in the parser's."""
    names = tuple(draw(st.permutations(NAMES))[: draw(st.integers(1, 3))])
    tree = draw(trees(names))
    return tree.student(), tree.plain()


def _mentions(text: str, name: str) -> bool:
    import re

    return re.search(rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])", text) is not None
