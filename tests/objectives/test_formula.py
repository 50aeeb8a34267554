"""The whitelist parser and formula objectives, against SymPy and closed forms."""

from __future__ import annotations

import math
import re

import pytest
import sympy
import torch

import losslab.objectives.objective as objective_module
from losslab.errors import LosslabError
from losslab.objectives.domain import Domain
from losslab.objectives.formula_parser import MAX_FORMULA_LENGTH, parse_formula
from losslab.objectives.objective import FormulaObjective, Objective, formula

# (id, formula, words the message must contain)
INVALID = [
    ("syntax", "w +", "cannot parse"),
    ("dunder-import", "__import__('os')", "function '__import__' is not one of"),
    ("class-escape", "().__class__", "attribute access '.__class__'"),
    ("power-tower", "9**9**9**9", "exponent 387420489 is beyond"),
    ("huge-formula", "w+" * 50_000 + "w", f"at most {MAX_FORMULA_LENGTH}"),
    ("string", "'abc'", "str value"),
    ("lambda", "lambda: 0", "lambda is not accepted"),
    ("unknown-function", "foo(w)", "function 'foo' is not one of"),
    ("subscript", "w[0]", "indexing is not accepted in a formula; for a numbered parameter write w0"),
    ("subscript-by-name", "w[x]", "indexing is not accepted in a formula at column 1"),
    ("comparison", "w < 3", "comparison is not accepted"),
    ("keyword-argument", "exp(x=1)", "no keyword arguments"),
    ("arity", "max(w)", "'max' takes at least 2"),
    ("huge-number", "1e300*w", "larger than"),
    ("bool", "True*w", "bool value"),
    ("empty", "   ", "empty"),
    ("undefined-constant", "log(0) + w", "undefined"),
    ("division-by-zero", "w/0", "division by zero"),
    ("method-call", "w.conjugate()", "only named functions"),
    ("function-as-name", "exp + w", "without arguments"),
    ("deep-nesting", "(" * 60 + "w" + ")" * 60 + "+exp(" * 45 + "w" + ")" * 45, "deeper"),
]


@pytest.mark.parametrize(("text", "words"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_formulas_are_refused_with_a_pointed_message(text: str, words: str) -> None:
    with pytest.raises(LosslabError) as info:
        parse_formula(text)
    message = str(info.value)
    assert words in message
    assert "\n" not in message and len(message) < 400


def test_variables_are_sorted_as_a_person_expects() -> None:
    parsed = parse_formula("w10 + w2*w1 + w0 + b")
    assert parsed.names == ("b", "w0", "w1", "w2", "w10")


def test_explicit_variables_set_the_order_and_reject_strangers() -> None:
    assert parse_formula("w1 - w0", ["w1", "w0"]).names == ("w1", "w0")
    assert parse_formula("w0", ["w0", "w1"]).names == ("w0", "w1")
    with pytest.raises(LosslabError, match="z, which is not among the variables w0, w1"):
        parse_formula("w0 + z", ["w0", "w1"])


def test_decimals_are_kept_exact() -> None:
    assert parse_formula("0.5*w**2").expr == sympy.Rational(1, 2) * sympy.Symbol("w", real=True) ** 2


FUNCTIONS = [
    ("exp", "exp(w)", math.exp),
    ("log", "log(w)", math.log),
    ("sqrt", "sqrt(w)", math.sqrt),
    ("sin", "sin(w)", math.sin),
    ("cos", "cos(w)", math.cos),
    ("tan", "tan(w)", math.tan),
    ("tanh", "tanh(w)", math.tanh),
    ("sinh", "sinh(w)", math.sinh),
    ("cosh", "log(cosh(w - 1))", lambda w: math.log(math.cosh(w - 1))),  # the log-cosh loss
    ("atan", "arctan(w)", math.atan),
    ("abs", "abs(w - 2)", lambda w: abs(w - 2)),
    ("sigmoid", "sigmoid(w)", lambda w: 1 / (1 + math.exp(-w))),
    ("relu", "relu(w - 1)", lambda w: max(0.0, w - 1)),
    ("softplus", "softplus(w)", lambda w: math.log1p(math.exp(w))),
    ("max", "max(w, 1, w**2)", lambda w: max(w, 1, w * w)),
    ("min", "min(w, 1)", lambda w: min(w, 1)),
    ("constants", "pi*w + e", lambda w: math.pi * w + math.e),
    ("rational-power", "w**1.5 + w**(-2)", lambda w: w**1.5 + w**-2),
]


@pytest.mark.parametrize(("text", "oracle"), [c[1:] for c in FUNCTIONS], ids=[c[0] for c in FUNCTIONS])
def test_compiled_torch_matches_python_math_and_sympy(text: str, oracle) -> None:
    objective = formula(text)
    ws = [0.3, 0.9, 1.7]
    got = objective.values(torch.tensor(ws, dtype=torch.float64)[:, None])
    symbol = objective.symbols[0]
    for w, value in zip(ws, got.tolist(), strict=True):
        assert value == pytest.approx(oracle(w), rel=1e-12, abs=1e-14)
        assert value == pytest.approx(float(objective.expr.subs(symbol, w).evalf(30)), rel=1e-12)


def test_log_cosh_gradient_is_tanh_and_atans_is_its_closed_form() -> None:
    log_cosh, arctan = formula("log(cosh(w - 1))"), formula("atan(w)^2")
    for w in (-2.5, 0.3, 4.0):
        assert float(log_cosh.grad([w])[0]) == pytest.approx(math.tanh(w - 1), rel=1e-12)
        assert float(arctan.grad([w])[0]) == pytest.approx(2 * math.atan(w) / (1 + w * w), rel=1e-12)


def test_values_broadcast_over_any_stack_and_match_value(generator: torch.Generator) -> None:
    objective = formula("(x**2 + y - 11)**2 + (x + y**2 - 7)**2")
    thetas = torch.randn(3, 7, 2, generator=generator, dtype=torch.float64)
    stacked = objective.values(thetas)
    assert stacked.shape == (3, 7)
    one_by_one = torch.stack([objective.value(t) for t in thetas.reshape(-1, 2)]).reshape(3, 7)
    torch.testing.assert_close(stacked, one_by_one, rtol=0, atol=0)
    chunked = objective.values(thetas, chunk_size=4)
    torch.testing.assert_close(chunked, stacked, rtol=0, atol=0)


def test_autodiff_gradient_and_hessian_match_sympy(generator: torch.Generator) -> None:
    objective = formula("exp(0.3*w0)*sin(w1) + w0**3*w1 - log(1 + w1**2)")
    theta = torch.randn(2, generator=generator, dtype=torch.float64)
    subs = dict(zip(objective.symbols, theta.tolist(), strict=True))
    exact_grad = [float(sympy.diff(objective.expr, s).subs(subs)) for s in objective.symbols]
    exact_hess = [
        [float(sympy.diff(objective.expr, a, b).subs(subs)) for b in objective.symbols] for a in objective.symbols
    ]
    torch.testing.assert_close(
        objective.grad(theta), torch.tensor(exact_grad, dtype=torch.float64), rtol=1e-12, atol=1e-12
    )
    torch.testing.assert_close(
        objective.hessian(theta), torch.tensor(exact_hess, dtype=torch.float64), rtol=1e-12, atol=1e-12
    )
    v = torch.tensor([0.7, -1.1], dtype=torch.float64)
    torch.testing.assert_close(objective.hvp(theta, v), objective.hessian(theta) @ v, rtol=1e-12, atol=1e-12)


def test_chapter3_point_value_and_gradient() -> None:
    bowl = formula("2*w0**2 + 3*w1**2")
    assert float(bowl.value("w0=3,w1=4")) == 66.0
    assert bowl.grad({"w0": 3, "w1": 4}).tolist() == [12.0, 24.0]


POINTS = [
    ("unknown-name", "w0=1,z=2", "'z', which is not a parameter"),
    ("missing-name", "w0=1", "no value for w1"),
    ("not-a-number", "w0=a,w1=2", "'a' for w0"),
    ("wrong-count", "1,2,3", "has 3 coordinates"),
    ("non-finite", "w0=nan,w1=1", "not finite"),
]


@pytest.mark.parametrize(("spec", "words"), [c[1:] for c in POINTS], ids=[c[0] for c in POINTS])
def test_bad_points_are_refused(spec: str, words: str) -> None:
    with pytest.raises(LosslabError, match=words):
        formula("w0 + w1").point(spec)


def test_domains_parse_and_refuse_inverted_ranges() -> None:
    domain = Domain.parse("w0=-5:5,w1=0:2.5", ("w0", "w1"))
    assert domain.bounds == ((-5.0, 5.0), (0.0, 2.5))
    assert Domain.parse("-1:1", ("a", "b")).bounds == ((-1.0, 1.0), (-1.0, 1.0))
    assert domain.grid(3).shape == (9, 2)
    with pytest.raises(LosslabError, match="minimum must be below the maximum"):
        Domain.parse("w0=5:-5,w1=0:1", ("w0", "w1"))
    with pytest.raises(LosslabError, match="not of the form lo:hi"):
        Domain.parse("w0=5,w1=0:1", ("w0", "w1"))


SYMBOLIC = [
    "(1 - x)**2 + 100*(y - x**2)**2",
    "sin(x)*exp(y) + log(1 + x**2)*tanh(y)",
    "sigmoid(x - y) + softplus(2*x) + abs(x*y)",
    "sqrt(x**2 + y**2 + 1)",
    "3",  # constant: the gradient is zero everywhere, shaped like the stack
]


@pytest.mark.parametrize("text", SYMBOLIC)
def test_stack_gradient_from_compiled_derivatives_equals_autograd(text: str, generator: torch.Generator) -> None:
    """Oracle: one autograd backward pass over the same stack (the base class's way), to 1e-12."""
    objective = formula(text, ["x", "y"])
    thetas = torch.randn(7, 2, generator=generator, dtype=torch.float64)
    assert objective._symbolic_value_and_partials is not None
    loss, gradient = objective.values_and_grads(thetas)
    expected_loss, expected = Objective.values_and_grads(objective, thetas)
    torch.testing.assert_close(loss, expected_loss, rtol=0, atol=0)
    torch.testing.assert_close(gradient, expected, rtol=1e-12, atol=1e-12)
    assert gradient.shape == (7, 2) and not gradient.requires_grad


def test_stack_gradient_falls_back_to_autograd_past_the_compiler_or_the_size_bound(monkeypatch) -> None:
    w = sympy.Symbol("w", real=True)
    sign = FormulaObjective(sympy.sign(w) + w**2, [w])  # d sign/dw is a DiracDelta: refused by the compiler
    assert sign._symbolic_value_and_partials is None
    thetas = torch.tensor([[-1.0], [2.0]], dtype=torch.float64)
    assert sign.values_and_grads(thetas)[1].tolist() == [[-2.0], [4.0]]
    monkeypatch.setattr(objective_module, "SYMBOLIC_GRADIENT_OPS", 2)
    big = formula("(w - 1)**2 + (w - 2)**4 + 7*w")  # a formula no other test compiled (the cache is keyed by it)
    assert big._symbolic_value_and_partials is None
    assert big.values_and_grads(thetas)[1].tolist() == [[-2 * 2 - 4 * 27 + 7.0], [2 + 0 + 7.0]]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("w**2 + (-8)**(1/3)", "'(-8)**(1/3)' is not a real number (a fractional power of a negative number"),
        ("w + (-1)**0.5", "'(-1)**0.5' is not a real number"),
        ("sqrt(-4) + w", "'sqrt(-4)' is not a real number"),
        ("log(-1) + w", "'log(-1)' is not a real number"),
        ("w**2 + exp(exp(10**15))", "'exp(10**15)' is beyond the largest float"),
        ("sin(exp(10**15)) + w", "'exp(10**15)' is beyond the largest float"),
        # found by the 4 000-formula run: SymPy's Max refuses a never-real argument with a ValueError of its own
        ("max(sqrt(min(-8, w2)), w2)", "takes an argument that is not a real number anywhere"),
    ],
)
def test_constant_parts_must_be_finite_real_numbers_and_are_checked_at_once(text: str, words: str) -> None:
    import time

    began = time.perf_counter()
    with pytest.raises(LosslabError, match=re.escape(words)):
        formula(text)
    assert time.perf_counter() - began < 2.0  # SymPy's evalf of exp(exp(10**15)) never returned


def test_large_but_finite_constants_are_kept_exact() -> None:
    L = formula("w + exp(700) + 2**0.5")
    assert float(L.value([0.0])) == pytest.approx(math.exp(700) + math.sqrt(2), rel=1e-15)
