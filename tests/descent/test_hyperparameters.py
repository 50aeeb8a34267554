"""Optimizer hyper-parameters are checked against what torch accepts, before anything runs.

One registry of invalid inputs: every optimizer × every hyper-parameter it accepts × every wrong shape
of that hyper-parameter's kind (length, type, range, a bool for a number), each with the message it
must give, each raised before the first evaluation of the loss. Valid edge values run, and match
torch.optim run by hand in float64.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import pytest
import torch
from test_optimizers import hand_loop
from torch import Tensor

from losslab.descent.hyperparameters import RULES, check_together
from losslab.descent.optimizers import OPTIMIZERS, Newton, parse_optimizer, signature_defaults
from losslab.descent.race import Runner, race
from losslab.descent.run import check_run, descend
from losslab.errors import LosslabError
from losslab.objectives.objective import Objective

# What each hyper-parameter accepts, written out here (the oracle for the messages, not read from the table).
ACCEPTS = {
    "lr": "a finite number > 0 (the learning rate)",
    "momentum": "a finite number ≥ 0",
    "dampening": "a number in [0, 1]",
    "weight_decay": "a finite number ≥ 0",
    "eps": "a finite number > 0",
    "betas": "two numbers, each in [0, 1) (β1;β2, e.g. betas=0.9;0.999)",
    "alpha": "a number in [0, 1) (the smoothing constant)",
    "lr_decay": "a finite number ≥ 0",
    "initial_accumulator_value": "a finite number ≥ 0",
    "max_iter": "a whole number in [1, 1000000]",
    "max_eval": "a whole number in [1, 1000000], or none",
    "tolerance_grad": "a finite number ≥ 0",
    "tolerance_change": "a finite number ≥ 0",
    "history_size": "a whole number in [1, 1000000]",
    "line_search_fn": "none or 'strong_wolfe'",
    "damping": "a finite number ≥ 0",
    "nesterov": "true or false",
    "maximize": "true or false",
    "amsgrad": "true or false",
    "centered": "true or false",
    "decoupled_weight_decay": "true or false",
}

# The wrong shapes of each kind: (what is wrong, the value).
NUMBER = [
    ("bool", True),
    ("bool", False),
    ("type", "fast"),
    ("type", None),
    ("length", (0.1, 0.2)),
    ("range", math.nan),
]
NUMBER += [("range", math.inf), ("range", -math.inf), ("range", -1.0), ("range", -1)]
BELOW = {  # the excluded end of a range, and one value past the other end where there is one
    "lr": [0.0],
    "eps": [0.0, -0.0],
    "dampening": [1.5],
    "alpha": [1.0, 1],
}
COUNT = [("bool", True), ("type", 2.5), ("type", "five"), ("range", 0), ("range", -3), ("range", math.inf)]
COUNT += [("range", math.nan), ("length", (5, 5)), ("type", None), ("range", 1_000_001), ("range", 1e7)]
PAIR = [("length", (0.9,)), ("length", ()), ("length", (0.9, 0.99, 0.5)), ("length", 0.9), ("type", ("a", "b"))]
PAIR += [("type", "0.9;0.999"), ("bool", (True, 0.9)), ("bool", (0.9, False)), ("range", (1.0, 0.9))]
PAIR += [("range", (0.9, 1)), ("range", (-0.1, 0.9)), ("range", (0.9, math.nan)), ("type", None)]
FLAG = [("type", 1), ("type", 0), ("type", "yes"), ("type", None), ("type", 1.0)]
CHOICE = [("type", 1), ("type", "wolfe"), ("type", "Strong_Wolfe"), ("bool", True), ("type", ("strong_wolfe",))]
SHAPES = {"number": NUMBER, "count": COUNT, "pair": PAIR, "flag": FLAG, "choice": CHOICE}


def wrong_values(key: str) -> list[tuple[str, Any]]:
    shapes = list(SHAPES[RULES[key].kind])
    shapes += [("range", v) for v in BELOW.get(key, [])]
    if key in ("max_eval", "lr"):  # None is torch's own default for max_eval, and descend's "the default" for lr
        shapes = [(what, v) for what, v in shapes if v is not None]
    return shapes


INVALID = [
    (name, key, what, value)
    for name, entry in OPTIMIZERS.items()
    for key in entry.accepted
    for what, value in wrong_values(key)
]


def expected(name: str, key: str, value: Any) -> str:
    hint = " (true/false is not a number)" if isinstance(value, bool) and ACCEPTS[key] != "true or false" else ""
    return f"optimizer '{name}': {key} must be {ACCEPTS[key]}, got {value!r}{hint}"


class Counted(Objective):
    """Rosenbrock, counting its evaluations: a refusal must come before the first one."""

    def __init__(self) -> None:
        super().__init__(names=("x", "y"), title="counted Rosenbrock")
        self.calls = 0

    def _evaluate(self, thetas: Tensor) -> Tensor:
        self.calls += 1
        x, y = thetas[..., 0], thetas[..., 1]
        return (1 - x) ** 2 + 100 * (y - x**2) ** 2


@pytest.mark.parametrize(
    ("name", "key", "what", "value"), INVALID, ids=[f"{n}-{k}-{w}-{v!r}" for n, k, w, v in INVALID]
)
def test_every_wrong_value_is_one_error_before_the_first_step(name: str, key: str, what: str, value: Any) -> None:
    loss = Counted()
    with pytest.raises(LosslabError) as caught:
        descend(loss, "x=-1.5,y=2", name, steps=3, **{key: value})
    assert str(caught.value) == expected(name, key, value)
    assert "\n" not in str(caught.value) and loss.calls == 0


def test_the_registry_covers_every_optimizer_and_every_kind_of_mistake() -> None:
    assert {n for n, *_ in INVALID} == set(OPTIMIZERS)
    assert {(n, k) for n, k, *_ in INVALID} == {(n, k) for n, e in OPTIMIZERS.items() for k in e.accepted}
    kinds = {RULES[k].kind: {w for n, k2, w, _ in INVALID if k2 == k} for k in RULES}
    assert kinds["number"] == kinds["count"] == kinds["pair"] == {"bool", "type", "range", "length"}
    assert len(INVALID) > 400


def test_every_accepted_hyperparameter_has_a_rule_and_every_default_passes_it() -> None:
    """A torch upgrade that adds a hyper-parameter fails here until the table says what it accepts."""
    for name, entry in OPTIMIZERS.items():
        assert set(entry.accepted) <= set(RULES), name
        assert set(entry.rules) == set(entry.accepted)
        defaults = {k: v for k, v in {**signature_defaults(entry.cls), **entry.defaults}.items() if k in entry.accepted}
        check_run(name, None, 1, defaults)  # raises on a default outside its rule


# -- the cases of issue 16, as a user types them --------------------------------------------------------------------
TYPED = [
    ("lbfgs:history_size=0", "optimizer 'lbfgs': history_size must be a whole number in [1, 1000000], got 0"),
    ("lbfgs:history_size=true", "optimizer 'lbfgs': history_size must be a whole number in [1, 1000000], got True"),
    ("lbfgs:line_search_fn=1", "optimizer 'lbfgs': line_search_fn must be none or 'strong_wolfe', got 1"),
    ("lbfgs:max_iter=0", "optimizer 'lbfgs': max_iter must be a whole number in [1, 1000000], got 0"),
    ("lbfgs:max_eval=0", "optimizer 'lbfgs': max_eval must be a whole number in [1, 1000000], or none, got 0"),
    (
        "adam:betas=0.9",
        "optimizer 'adam': betas must be two numbers, each in [0, 1) (β1;β2, e.g. betas=0.9;0.999), got 0.9",
    ),
    ("adamw:betas=0.9;0.999;0.5", "got (0.9, 0.999, 0.5)"),
    ("adam:betas=1;0.9", "got (1, 0.9)"),
    ("rmsprop:alpha=-0.5", "optimizer 'rmsprop': alpha must be a number in [0, 1) (the smoothing constant), got -0.5"),
    ("momentum:momentum=-1", "optimizer 'momentum': momentum must be a finite number ≥ 0, got -1"),
    ("sgd:weight_decay=-1", "optimizer 'sgd': weight_decay must be a finite number ≥ 0, got -1"),
    ("adagrad:eps=0", "optimizer 'adagrad': eps must be a finite number > 0, got 0"),
    ("newton:damping=-1", "optimizer 'newton': damping must be a finite number ≥ 0, got -1"),
    (
        "gd:lr=true",
        "optimizer 'gd': lr must be a finite number > 0 (the learning rate), got True (true/false is not a number)",
    ),
    ("adam:amsgrad=1", "optimizer 'adam': amsgrad must be true or false, got 1"),
    ("nesterov:momentum=0", "Nesterov momentum needs momentum > 0 and dampening 0, got momentum=0.0, dampening=0"),
    ("nesterov:dampening=0.5", "Nesterov momentum needs momentum > 0 and dampening 0, got momentum=0.9, dampening=0.5"),
    ("lbfgs:max_iter=1", "with line_search_fn 'strong_wolfe', max_eval must be ≥ 2"),
    ("lbfgs:max_eval=1", "got max_eval=1; give max_eval=2 or more, or max_iter=2 or more"),
    ("adam:lr=0.1,lr=0.2", "optimizer 'adam:lr=0.1,lr=0.2' gives lr twice; give each hyper-parameter once"),
    ("adam,lr=0.1", "optimizer 'adam,lr=0.1' is not of the form name:key=value,key=value"),
    # names, keys and the learning rate, as they were refused before the rule table
    ("gdd", "optimizer 'gdd' is not one of gd, sgd, momentum"),
    ("adam:lrr=0.1", "has no hyper-parameter 'lrr'; accepted: lr, betas, eps"),
    ("gd:momentum=0.9", "has no hyper-parameter 'momentum'"),
    ("adam:foreach=true", "has no hyper-parameter 'foreach'"),
    ("gd:lr=0", "optimizer 'gd': lr must be a finite number > 0 (the learning rate), got 0"),
    ("gd:lr=-0.1", "lr must be a finite number > 0 (the learning rate), got -0.1"),
    ("gd:lr=nan", "lr must be a finite number > 0 (the learning rate), got nan"),
    ("gd:lr=inf", "lr must be a finite number > 0 (the learning rate), got inf"),
    ("gd:lr", "is not of the form name:key=value"),
]


@pytest.mark.parametrize(("text", "message"), TYPED, ids=[t for t, _ in TYPED])
def test_typed_specs_are_refused_when_parsed(text: str, message: str) -> None:
    with pytest.raises(LosslabError) as caught:
        parse_optimizer(text)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_huge_number_is_refused_on_one_short_line() -> None:
    with pytest.raises(LosslabError) as caught:
        parse_optimizer("lbfgs:history_size=1" + "0" * 400)
    assert str(caught.value) == (
        "optimizer 'lbfgs': history_size must be a whole number in [1, 1000000], got 100000000000000000000000… "
        "(401 characters)"
    )
    with pytest.raises(LosslabError, match=r"lr must be a finite number > 0 \(the learning rate\), got 1000"):
        parse_optimizer("gd:lr=1" + "0" * 400)  # an int too large for a float: refused, not an OverflowError


def test_a_registry_class_gets_the_same_checks_as_its_name() -> None:
    loss = Counted()
    with pytest.raises(
        LosslabError, match=r"^optimizer 'LBFGS': history_size must be a whole number in \[1, 1000000\], got 0$"
    ):
        descend(loss, "x=-1.5,y=2", torch.optim.LBFGS, history_size=0)
    with pytest.raises(LosslabError, match=r"^optimizer 'Adam': betas must be two numbers"):
        descend(loss, "x=-1.5,y=2", torch.optim.Adam, betas=(0.9,))
    assert loss.calls == 0


def test_check_together_reads_the_full_set() -> None:
    check_together("lbfgs", {"line_search_fn": "strong_wolfe", "max_iter": 1, "max_eval": 2})
    check_together("lbfgs", {"line_search_fn": None, "max_iter": 1, "max_eval": None})  # no line search: fine
    check_together("momentum", {"nesterov": False, "momentum": 0.0, "dampening": 0.5})


def test_a_race_refuses_before_running_what_the_web_sent() -> None:
    """The web API's races: a bad value is a LosslabError (a 4xx), not torch's IndexError inside step (a 500)."""
    loss = Counted()
    for runner in (
        Runner("lbfgs", {"history_size": 0.0}),
        Runner("adam", {"betas": [0.9]}),
        Runner("gd", {"lr": True}),
    ):
        with pytest.raises(LosslabError, match=f"^optimizer '{runner.optimizer}': "):
            race(loss, "x=-1.5,y=2", [Runner("gd"), runner], steps=5)
    assert loss.calls == 0


# -- valid edge values run, as torch.optim runs them by hand (hand_loop: test_optimizers) ------------------------------


EDGES = [
    ("adam", {"betas": (0, 0.999), "lr": 0.01}),
    ("adam", {"betas": [0.0, 0.0], "lr": 0.01}),  # a list (JSON) is a pair too
    ("adamw", {"betas": (0.999999, 0.5), "weight_decay": 0, "lr": 0.01}),
    ("lbfgs", {"history_size": 1}),
    ("lbfgs", {"history_size": 5.0}),  # a JSON number 5.0 is the count 5
    ("lbfgs", {"line_search_fn": "strong_wolfe", "max_iter": 2}),
    ("lbfgs", {"line_search_fn": "strong_wolfe", "max_iter": 1, "max_eval": 2}),
    ("lbfgs", {"line_search_fn": None, "max_iter": 1, "lr": 1e-3}),
    ("lbfgs", {"tolerance_grad": 0, "tolerance_change": 0}),
    ("rmsprop", {"alpha": 0, "lr": 1e-3}),
    ("rmsprop", {"momentum": 0.5, "centered": True, "lr": 1e-3}),
    ("adagrad", {"eps": 5e-324, "lr_decay": 0, "initial_accumulator_value": 0.5}),
    ("momentum", {"momentum": 0, "dampening": 1, "lr": 1e-4}),
    ("momentum", {"dampening": 0.5, "lr": 1e-4}),
    ("nesterov", {"momentum": 0.5, "lr": 1e-4}),
    ("sgd", {"weight_decay": 0.5, "maximize": False, "lr": 1e-4}),
]


@pytest.mark.parametrize(("name", "given"), EDGES, ids=[f"{n}-{g}" for n, g in EDGES])
def test_valid_edge_values_run_as_torch_runs_them(name: str, given: dict[str, Any]) -> None:
    trajectory = descend(Counted(), "x=-1.5,y=2", name, steps=3, divergence_factor=math.inf, **given)
    hand = hand_loop(OPTIMIZERS[name].cls, trajectory.steps, **trajectory.hyperparameters)
    torch.testing.assert_close(trajectory.params, hand, rtol=0, atol=0)


def test_newton_edges() -> None:
    bowl = Counted()
    assert descend(bowl, "x=-1.5,y=2", "newton", damping=0, steps=2).steps == 2
    with pytest.raises(LosslabError, match="^optimizer 'newton': damping must be a finite number ≥ 0, got nan$"):
        Newton([torch.zeros(2, dtype=torch.float64)], hessian=lambda t: torch.eye(2), damping=math.nan)
    assert "damping" in inspect.signature(Newton).parameters
