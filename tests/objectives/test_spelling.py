"""Formulas as students write them (Desmos, GeoGebra, Wolfram, the seeds' own print) are read, and said back."""

from __future__ import annotations

import random
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import losslab
from losslab.errors import LosslabError
from losslab.objectives.formula_parser import parse_formula
from losslab.objectives.spelling import normalize

READ_AS = [
    ("x^2 - 4x + 5", "x**2 - 4*x + 5"),
    ("2x", "2*x"),
    ("2(x+1)**2", "2*(x+1)**2"),
    ("w²", "w**2"),
    ("x⁻¹ + y³", "x**(-1) + y**3"),
    ("|x|", "abs(x)"),
    ("|x - |y||", "abs(x - abs(y))"),
    ("ln(x)", "log(x)"),
    ("e^x", "e**x"),
    ("√x + √(x + 1)", "sqrt(x) + sqrt(x + 1)"),
    ("(x+1)(x-1)", "(x+1)*(x-1)"),
    ("x(y+1)", "x*(y+1)"),
    ("x²y", "x**2*y"),
    ("w₁² + w₂²", "w1**2 + w2**2"),
    ("3·x − 2÷y", "3*x - 2/y"),
    ("-x**2 + y**2", "-x**2 + y**2"),
    ("f(x) = (x-3)^2 + 1", "(x-3)**2 + 1"),
    ("2 x", "2 * x"),
    ("x y", "x * y"),
    ("x^2 y^2", "x**2 * y**2"),
    ("(1 - x)^2 + 100 (y - x^2)^2", "(1 - x)**2 + 100 * (y - x**2)**2"),
    ("sin(x) cos(y)", "sin(x) * cos(y)"),
    ("(x-1)^2 (y+1)", "(x-1)**2 * (y+1)"),
    ("2|x|", "2*abs(x)"),
    ("θ₀² + 10θ₁²", "theta0**2 + 10*theta1**2"),
    ("αx + λ|w|", "alpha*x + lam*abs(w)"),
    ("πr^2", "pi*r**2"),
    ("sin²(x) + cos^2 (x)", "sin(x)**2 + cos(x)**2"),
    ("sin²(x)³", "(sin(x)**2)**3"),
    ("e^{-x^2}", "e**(-x**2)"),
    ("[(x+1)^2 + 1]^2", "((x+1)**2 + 1)**2"),
    ("2[x+1]", "2*(x+1)"),
    ("x^2 + xy + y^2", "x**2 + x*y + y**2"),
    ("x^3 - 3xy^2", "x**3 - 3*x*y**2"),
    ("w0² + w0w1 + w1²", "w0**2 + w0*w1 + w1**2"),
    ("½x²", "(1/2)*x**2"),
    ("|x| |y|", "abs(x) * abs(y)"),
    ("sin x", "sin(x)"),
    ("x sin x", "x * sin(x)"),
    ("e^{-x} sin x", "e**(-x) * sin(x)"),
    ("sin²x + cos²y", "sin(x)**2 + cos(y)**2"),
    ("sin x²", "sin(x**2)"),
    ("sin 2x cos y", "sin(2*x) * cos(y)"),
    ("sin x/2", "sin(x)/2"),
    ("log cosh x", "log(cosh(x))"),
    ("|sin x| + |cos y|", "abs(sin(x)) + abs(cos(y))"),
    ("sin √x", "sin(sqrt(x))"),
    ("ln x", "log(x)"),
    ("sinθ", "sin(theta)"),
    ("sinx + cosy", "sin(x) + cos(y)"),
    ("sin2x", "sin(2*x)"),
    ("tanhx", "tanh(x)"),
    ("lnx^2", "log(x**2)"),
    ("exp -x^2", "exp(-x**2)"),
    ("sin -(x + 1)", "sin(-(x + 1))"),
    ("cos2πx", "cos(2*pi*x)"),
    ("sin 2πx", "sin(2*pi*x)"),
]


@pytest.mark.parametrize(("typed", "understood"), READ_AS, ids=[t for t, _ in READ_AS])
def test_student_spellings_are_read_and_echoed(typed: str, understood: str) -> None:
    parsed = parse_formula(typed)
    assert parsed.understood == understood
    assert parsed.expr == parse_formula(understood).expr  # the same loss as the parser's own spelling


# factors a student writes side by side; none starts with a digit (a number after a space stays refused)
FACTORS = ["x", "y", "w0", "x^2", "y²", "(x + 1)", "(y - 2)^2", "sin(x)", "e^y", "|x - y|", "√(x² + 1)", "ln(1 + y²)"]


def test_factors_side_by_side_with_spaces_are_their_product() -> None:
    rng = random.Random(6)
    for _ in range(300):
        factors = rng.choices(FACTORS, k=rng.randint(2, 4))
        coefficient = rng.choice(["", "3", "0.5"])
        spaced = coefficient + " " * rng.randint(0, 2) + " ".join(factors) if coefficient else " ".join(factors)
        starred = "*".join(([coefficient] if coefficient else []) + [f"({f})" for f in factors])
        assert parse_formula(spaced).expr == parse_formula(starred).expr, spaced


def test_names_written_together_are_a_product_only_of_names_used_alone() -> None:
    rng = random.Random(12)
    names = ["x", "y", "z", "w0", "w1", "b"]
    for _ in range(200):
        factors = rng.choices(names, k=rng.randint(2, 3))
        alone = " + ".join(f"{n}^2" for n in sorted(set(factors)))
        written = f"{alone} + {''.join(factors)}"
        assert parse_formula(written).expr == parse_formula(f"{alone} + {'*'.join(factors)}").expr, written
    assert parse_formula("a + bc").names == ("a", "bc")  # neither b nor c alone: bc is a variable of its own
    assert parse_formula("x + xy").understood == "x + x*y"  # single letters, x alone: x times y (Desmos, Wolfram)
    assert parse_formula("x^3 - 3xy^2").names == ("x", "y")  # the monkey saddle
    assert parse_formula("xy").understood == "x*y" and parse_formula("xyz").names == ("x", "y", "z")  # saddles
    assert parse_formula("x + xi + eta").names == ("eta", "x", "xi")  # Greek letters' names stay words
    assert parse_formula("x^2 + xy + y^2", ["x", "y", "xy"]).names == ("x", "y", "xy")  # declared
    assert parse_formula("L(x, y, xy) = x^2 + xy + y^2").names == ("x", "y", "xy")
    assert parse_formula("2w0w1", ["w0", "w1"]).understood == "2*w0*w1"  # declared, never alone: still factors
    long = "x" * 900  # found by the API fuzzer: a recursive search overflowed Python's stack on such a name
    assert parse_formula(f"x + xx + {long}").understood == f"x + x*x + {long}"  # two splits: left whole
    assert parse_formula("L(w0, w1) = w0w1").understood == "w0*w1"
    assert parse_formula("eta(w - 3)^2", ["eta", "w"]).understood == "eta*(w - 3)**2"  # declared: a factor


def test_a_left_hand_side_names_the_variables_in_order() -> None:
    spelling = normalize("L(w1, w0) = 2w0² + 3w1²")
    assert spelling.variables == ("w1", "w0") and spelling.formula == "2*w0**2 + 3*w1**2"
    assert parse_formula("L(w1, w0) = 2w0² + 3w1²").names == ("w1", "w0")


def test_the_seeds_spellings_give_the_seeds_answers() -> None:
    # Chapter 3: L(w0, w1) = 2w0² + 3w1² at (3, 4) is 66 with gradient (12, 24)
    bowl = losslab.formula("L(w0,w1) = 2w0² + 3w1²")
    assert float(bowl.value("w0=3,w1=4")) == 66 and bowl.grad([3.0, 4.0]).tolist() == [12.0, 24.0]
    # Hill-Descending: w² − 4w + 5 from 0 at lr 0.3 gives 1.2, 1.68, 1.872, 1.9488
    run = losslab.descend(losslab.formula("w^2 - 4w + 5"), "w=0", lr=0.3, steps=4)
    torch.testing.assert_close(run.params[1:, 0], torch.tensor([1.2, 1.68, 1.872, 1.9488], dtype=torch.float64))
    # Chapter 3's cone, written with the root sign, has its minimum 0 at the origin
    cone = losslab.formula("√(w0² + w1²)")
    assert float(cone.value("w0=3,w1=4")) == 5


def test_function_names_stay_calls_and_unknown_ones_are_named() -> None:
    assert parse_formula("sin(x)cos(x)").understood == "sin(x)*cos(x)"
    with pytest.raises(LosslabError, match="function 'sec' is not one of"):
        parse_formula("sec(x)")  # not read as the product sec·x


@pytest.mark.parametrize(
    ("typed", "column", "words"),
    [
        ("x**2 +", 6, "ends with '+'; add what follows it or remove it"),
        ("w0 +* 2", 5, "an operator lacks a value next to it"),
        ("(x + 1", 1, "this '(' is never closed; add ')'"),
        ("x + 1)", 6, "this ')' closes nothing"),
        ("x^2 + y^2 = 1", 13, "a loss is one expression, not an equation; write x**2 + y**2 - (1)"),
        ("2 3", 2, "a number after a value with only a space between them; write '*' to multiply"),
        ("(x + 1) 2", 8, "write '*' to multiply"),
        ("x**2 + max x", 11, "a function's arguments go in parentheses: write max(x, …)"),
        ("w0 + 2w1 +", 11, "read 'w0 + 2w1 +' as 'w0 + 2*w1 +'"),
    ],
)
def test_what_is_still_refused_names_the_position_and_the_fix(typed: str, column: int, words: str) -> None:
    with pytest.raises(LosslabError) as info:
        parse_formula(typed)
    assert info.value.column == column and words in str(info.value) and f"column {column}" in str(info.value)


def test_greek_variables_are_named_the_same_outside_the_formula() -> None:
    loss = losslab.formula("J(θ₀, θ₁) = (θ₀ - 1)² + 10θ₁²")
    assert loss.names == ("theta0", "theta1")
    assert float(loss.value("θ₀=3, theta1=1")) == 14
    assert parse_formula("θ^2 + w^2", ["w", "θ"]).names == ("w", "theta")


# what a textbook prints after a function's name, and the same factor in parentheses
BARE = [("x", "x"), ("2x", "2*x"), ("x²", "x**2"), ("x^2", "x**2"), ("3y^{-1}", "3*y**(-1)"), ("θ", "theta"),
        ("θ₁", "theta1"), ("2(x + 1)", "2*(x + 1)"), ("√x", "sqrt(x)"), ("|x - y|", "abs(x - y)"), ("w0", "w0"),
        ("0.5y", "0.5*y"), ("cosh x", "cosh(x)")]  # fmt: skip
UNARY_NAMES = ["sin", "cos", "tan", "exp", "log", "ln", "sqrt", "tanh", "sigmoid", "softplus", "relu", "atan"]


def test_a_function_printed_before_its_argument_takes_the_factor_after_it() -> None:
    rng = random.Random(7)
    for _ in range(400):
        name, power = rng.choice(UNARY_NAMES), rng.choice(["", "²", "^2"])
        written, meant = rng.choice(BARE)
        call = f"{name}{power} {written}" if power or rng.random() < 0.7 else f"{name}{written}"
        explicit = f"({name}({meant}))" + ("**2" if power else "")
        before, after = rng.choice([("", ""), ("2", ""), ("x + ", ""), ("y ", ""), ("", " + y"), ("", " cos y")])
        starred = {"": "", "2": "2*", "x + ": "x + ", "y ": "y*"}[before] + explicit
        starred += {"": "", " + y": " + y", " cos y": "*cos(y)"}[after]
        typed = before + call + after
        if call.startswith(name + written) and not re.fullmatch(r"\d*[A-Za-z]\d*", written):
            continue  # glued to the name only a one-letter name (a number before it) is an argument
        assert parse_formula(typed).expr == parse_formula(starred).expr, (typed, parse_formula(typed).understood)


def test_a_glued_name_stays_whole_where_it_is_declared_called_or_euler() -> None:
    assert parse_formula("L(cost, w) = cost^2 + w^2").names == ("cost", "w")
    assert parse_formula("cost + w").understood == "cos(t) + w"  # said back, as Desmos reads it
    with pytest.raises(LosslabError, match="function 'sine' is not one of"):
        parse_formula("sine(x)")
    assert parse_formula("sine + x").names == ("sine", "x")
    with pytest.raises(LosslabError, match="'sin⁻¹' reads as an inverse function"):
        parse_formula("sin⁻¹ x")


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("2½ x", "'2½' is a mixed number; write it as a decimal or a sum"),
        ("sin⁻¹(x)", "'sin⁻¹' reads as an inverse function"),
        ("sin^-1(x)", "write sin(x)^(-1)"),
        ("log2 x", "'log2' reads as a logarithm to base 2, which losslab writes log(x)/log(2)"),
        ("log10(x + 1)", "'log10' reads as a logarithm to base 10"),
        ("3 + log_2(x)", "'log_2' reads as a logarithm to base 2"),
    ],
)
def test_textbook_spellings_with_two_readings_are_refused_by_name(typed: str, words: str) -> None:
    with pytest.raises(LosslabError, match=re.escape(words)):
        parse_formula(typed)


@pytest.mark.parametrize(
    "typed", ["|x", "x|", "√", "x = 1 = 2", "L(w) =", "sin", "x + sin", "|x| sin", "sin^", "sin²", "x ==", "= x"]
)
def test_broken_student_spellings_get_one_clear_line(typed: str) -> None:
    with pytest.raises(LosslabError) as info:
        parse_formula(typed)
    assert "\n" not in str(info.value)


# pieces of what a student may type, in any order: every string of them is read or refused by name
PIECES = ["x", "y", "w0", "xy", "sin", "exp", "max", "2", "0.5", "10", " ", "+", "-", "*", "/", "^", "**", "²",
          "⁻¹", "(", ")", "[", "]", "{", "}", "|", "√", "θ", "λ", "π", "₀", "½", ",", "=", "L(x)", "e", "ln", "!",
          "…", "sinx", "cos2", "log2", "xyz", "eta"]  # fmt: skip


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join))
def test_any_string_of_student_pieces_is_read_or_refused_in_one_line(typed: str) -> None:
    try:
        parse_formula(typed)
    except LosslabError as error:
        assert str(error).strip() and "\n" not in str(error), typed
