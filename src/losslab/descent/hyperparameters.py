r"""What each optimizer hyper-parameter accepts: one table, checked before anything runs.

torch.optim checks some of its arguments eagerly (``Invalid beta parameter at index 0: 1``) and not
others: an L-BFGS ``history_size`` of 0 fails inside ``step()`` with ``pop from empty list``,
``line_search_fn=1`` with ``only 'strong_wolfe' is supported``, ``max_eval=0`` with an
``UnboundLocalError``, a ``betas`` of one number with ``'float' object is not subscriptable``; and
``True`` passes for a number (it is 1). Here every hyper-parameter of the registry has one
:class:`Rule` in :data:`RULES` — its kind and range — and :func:`check_hyperparameter` checks a value
with the one check of its kind, so a bad value is one LosslabError naming it and what is accepted,
raised before the optimizer is built. The table is data (:meth:`Rule.to_dict`), so a form or a
schema can read it too.

=================================  ==================================================================
hyper-parameter                    accepted
=================================  ==================================================================
``lr``                             a finite number > 0 (the learning rate)
``momentum``                       a finite number ≥ 0 (β)
``dampening``                      a number in [0, 1]
``weight_decay``                   a finite number ≥ 0
``eps``                            a finite number > 0 (it keeps a division by √v away from 0/0)
``betas``                          two numbers, each in [0, 1) (β1;β2)
``alpha``                          a number in [0, 1) (RMSprop's smoothing constant)
``lr_decay``                       a finite number ≥ 0
``initial_accumulator_value``      a finite number ≥ 0
``max_iter``, ``history_size``     a whole number in [1, 1000000] (torch allocates a list of
                                   ``history_size`` entries; ``max_iter`` iterations a step)
``max_eval``                       the same, or none (torch's default: max_iter·5//4)
``tolerance_grad``,                a finite number ≥ 0
``tolerance_change``
``line_search_fn``                 none or ``'strong_wolfe'``
``damping``                        a finite number ≥ 0 (Newton's smallest μ)
``nesterov``, ``maximize``,        true or false
``amsgrad``, ``centered``,
``decoupled_weight_decay``
=================================  ==================================================================

A number is an ``int`` or ``float``, never a ``bool`` (``True`` is not 1); a whole number may come
as an integral float (``5.0``: JSON does not tell 5 from 5.0); a pair is a tuple or list.
Two rules join hyper-parameters (:func:`check_together`): Nesterov momentum needs momentum > 0 and
dampening 0 (torch's own rule), and L-BFGS with ``line_search_fn='strong_wolfe'`` needs
``max_eval`` ≥ 2 — with one evaluation, the one that starts the step, the line search has none to
spend and θ never moves.

>>> check_hyperparameter("adam", "betas", [0, 0.999])
(0.0, 0.999)
>>> check_hyperparameter("lbfgs", "history_size", 0)
Traceback (most recent call last):
losslab.errors.LosslabError: optimizer 'lbfgs': history_size must be a whole number in [1, 1000000], got 0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from losslab.errors import LosslabError

KINDS = ("number", "count", "pair", "flag", "choice")
# L-BFGS's counts: torch allocates a list of history_size entries, and makes up to max_iter iterations a step
MAX_COUNT = 1_000_000


@dataclass(frozen=True)
class Rule:
    """What one hyper-parameter accepts.

    Attributes:
        kind: ``number`` (finite int or float), ``count`` (a whole number), ``pair`` (two
            numbers), ``flag`` (true or false) or ``choice`` (one of ``choices``).
        low, high: the range of a number, a count or each number of a pair (None: unbounded).
        low_open, high_open: whether ``low`` / ``high`` themselves are excluded.
        choices: the values a ``choice`` accepts.
        none_ok: whether None is accepted too (torch then picks the value).
        meaning: what the value is, in a few words, for the message.
    """

    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] = ()
    none_ok: bool = False
    meaning: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise LosslabError(f"rule kind {self.kind!r} is not one of {', '.join(KINDS)}")

    @property
    def words(self) -> str:
        """What is accepted, in words: ``a whole number in [1, 1000000]``, ``two numbers, each in [0, 1)``."""
        if self.kind == "flag":
            text = "true or false"
        elif self.kind == "choice":
            text = " or ".join("none" if c is None else repr(c) for c in self.choices)
        elif self.kind == "count":
            text = f"a whole number{self._range()}"
        elif self.kind == "pair":
            text = f"two numbers, each{self._range()}"
        elif self.kind == "number":
            text = f"{'a number' if self._bounded() else 'a finite number'}{self._range()}"
        else:
            raise LosslabError(f"rule kind {self.kind!r} is not one of {', '.join(KINDS)}")
        text += ", or none" if self.none_ok else ""
        return f"{text} ({self.meaning})" if self.meaning else text

    def _bounded(self) -> bool:
        return self.low is not None and self.high is not None

    def _range(self) -> str:
        if self._bounded():
            return f" in {'(' if self.low_open else '['}{_g(self.low)}, {_g(self.high)}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f" {'>' if self.low_open else '≥'} {_g(self.low)}"
        if self.high is not None:
            return f" {'<' if self.high_open else '≤'} {_g(self.high)}"
        return ""

    def within(self, x: float) -> bool:
        """Whether the number ``x`` lies in the rule's range (non-finite numbers never do; ints of any size compare
        exactly)."""
        if isinstance(x, float) and not math.isfinite(x):
            return False
        above = self.low is None or (x > self.low if self.low_open else x >= self.low)
        below = self.high is None or (x < self.high if self.high_open else x <= self.high)
        return above and below

    def to_dict(self) -> dict[str, Any]:
        """The rule as plain JSON-able data, with its words."""
        return {
            "kind": self.kind,
            "low": self.low,
            "high": self.high,
            "low_open": self.low_open,
            "high_open": self.high_open,
            "choices": list(self.choices),
            "none_ok": self.none_ok,
            "words": self.words,
        }


def _g(x: float | None) -> str:
    return str(int(x)) if x is not None and float(x).is_integer() else f"{x:g}"


RULES: dict[str, Rule] = {
    "lr": Rule("number", low=0.0, low_open=True, meaning="the learning rate"),
    "momentum": Rule("number", low=0.0),
    "dampening": Rule("number", low=0.0, high=1.0),
    "weight_decay": Rule("number", low=0.0),
    "eps": Rule("number", low=0.0, low_open=True),
    "betas": Rule("pair", low=0.0, high=1.0, high_open=True, meaning="β1;β2, e.g. betas=0.9;0.999"),
    "alpha": Rule("number", low=0.0, high=1.0, high_open=True, meaning="the smoothing constant"),
    "lr_decay": Rule("number", low=0.0),
    "initial_accumulator_value": Rule("number", low=0.0),
    "max_iter": Rule("count", low=1, high=MAX_COUNT),
    "max_eval": Rule("count", low=1, high=MAX_COUNT, none_ok=True),
    "tolerance_grad": Rule("number", low=0.0),
    "tolerance_change": Rule("number", low=0.0),
    "history_size": Rule("count", low=1, high=MAX_COUNT),
    "line_search_fn": Rule("choice", choices=(None, "strong_wolfe")),
    "damping": Rule("number", low=0.0),
    **{flag: Rule("flag") for flag in ("nesterov", "maximize", "amsgrad", "centered", "decoupled_weight_decay")},
}


class _Refused(Exception):
    """A value outside its rule (the check names what is wrong; the caller words the error)."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_float(value: Any) -> float:
    """A number as a float; an int too large for one (10**400) is refused, not an OverflowError."""
    if not _is_number(value):
        raise _Refused
    try:
        return float(value)
    except OverflowError:
        raise _Refused from None


def _number(rule: Rule, value: Any) -> float:
    number = _as_float(value)
    if not rule.within(number):
        raise _Refused
    return number


def _count(rule: Rule, value: Any) -> int:
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())  # 5.0 from JSON is 5
    if not _is_number(value) or not whole or not rule.within(value):
        raise _Refused
    return int(value)


def _pair(rule: Rule, value: Any) -> tuple[float, float]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise _Refused
    first, second = (_number(rule, v) for v in value)
    return first, second


def _flag(rule: Rule, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Refused
    return value


def _choice(rule: Rule, value: Any) -> Any:
    if not any(value is c if c is None else (type(value) is type(c) and value == c) for c in rule.choices):
        raise _Refused
    return value


CHECKS: dict[str, Callable[[Rule, Any], Any]] = {
    "number": _number,
    "count": _count,
    "pair": _pair,
    "flag": _flag,
    "choice": _choice,
}


def check_hyperparameter(optimizer: str, name: str, value: Any, rules: Mapping[str, Rule] = RULES) -> Any:
    """``value`` as the optimizer takes it (numbers as floats, a pair as a tuple), or one LosslabError.

    A name without a rule is passed through as given (torch checks it).

    >>> check_hyperparameter("gd", "lr", True)
    Traceback (most recent call last):
    losslab.errors.LosslabError: optimizer 'gd': lr must be a finite number > 0 (the learning rate), got True \
(true/false is not a number)
    """
    rule = rules.get(name)
    if rule is None:
        return value
    if value is None and rule.none_ok:
        return None
    try:
        return CHECKS[rule.kind](rule, value)
    except _Refused:
        raise refusal(optimizer, name, value, rule.words) from None


def refusal(optimizer: str, name: str, value: Any, words: str) -> LosslabError:
    """The one wording of a refused hyper-parameter: ``optimizer 'adam': eps must be …, got 0``."""
    hint = " (true/false is not a number)" if isinstance(value, bool) and "true or false" not in words else ""
    shown = repr(value)
    if len(shown) > 60:  # 10**400 typed by mistake: the start and the length, on one line
        shown = f"{shown[:24]}… ({len(shown)} characters)"
    return LosslabError(f"optimizer {optimizer!r}: {name} must be {words}, got {shown}{hint}")


def check_together(optimizer: str, values: Mapping[str, Any]) -> None:
    """The rules that join hyper-parameters, on the full set an optimizer will run with (defaults included).

    >>> check_together("nesterov", {"nesterov": True, "momentum": 0.0, "dampening": 0.0})
    Traceback (most recent call last):
    losslab.errors.LosslabError: optimizer 'nesterov': Nesterov momentum needs momentum > 0 and dampening 0, \
got momentum=0.0, dampening=0.0
    """
    if values.get("nesterov") and not (values.get("momentum", 0) > 0 and values.get("dampening", 0) == 0):
        raise LosslabError(
            f"optimizer {optimizer!r}: Nesterov momentum needs momentum > 0 and dampening 0, "
            f"got momentum={values.get('momentum', 0)!r}, dampening={values.get('dampening', 0)!r}"
        )
    if values.get("line_search_fn") == "strong_wolfe" and "max_iter" in values:
        given = values.get("max_eval")
        evaluations = values["max_iter"] * 5 // 4 if given is None else given
        if evaluations < 2:
            source = f"max_eval={given!r}" if given is not None else f"max_eval = max_iter·5//4 = {evaluations}"
            raise LosslabError(
                f"optimizer {optimizer!r}: with line_search_fn 'strong_wolfe', max_eval must be ≥ 2 (the line "
                f"search needs an evaluation beyond the one that starts the step), got {source}; "
                "give max_eval=2 or more, or max_iter=2 or more"
            )
