"""Nothing a student types breaks losslab: generated formulas through the Python API, the CLI and the web API.

Every formula drawn from the student grammar (:mod:`student_formulas`) must end, within a time
bound, in a result or a :class:`LosslabError` naming the cause: no other exception, no traceback,
CLI exit 0 or 2, HTTP 2xx or 4xx JSON. Valid formulas are parsed, not refused. CI runs a few
hundred examples of the cheap faces (parse, five optimizers, a grid), a tenth as many of ``analyze``
and a twentieth through the CLI and the web API; ``LOSSLAB_FUZZ_EXAMPLES=5000`` runs many thousands once.
"""

from __future__ import annotations

import os
import time

from hypothesis import HealthCheck, Phase, given, settings
from typer.testing import CliRunner

import losslab
from losslab.cli.app import app
from losslab.errors import LosslabError
from losslab.objectives.formula_parser import parse_formula
from student_formulas import student_formulas, two_spellings

EXAMPLES = int(os.environ.get("LOSSLAB_FUZZ_EXAMPLES", "200"))
SECONDS_PER_FORMULA = 30.0  # one face of one formula, on 2 busy cores
OPTIMIZERS = ("gd", "momentum", "adam", "newton", "lbfgs")
# what a well-formed formula may still be refused for: its value, not its spelling
VALUE_REFUSALS = (
    "undefined", "larger than", "beyond", "too large", "division by zero", "no variables", "not a real number",
    "not a finite number",
)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # a failure is reported as drawn (shrinking took minutes)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def parsed_or_refused_for_its_value(text: str, names: tuple[str, ...]) -> losslab.Objective | None:
    try:
        return losslab.formula(text, names)
    except LosslabError as error:
        assert any(words in str(error) for words in VALUE_REFUSALS), f"{text!r} refused: {error}"
        return None


def named(call, *args, **kwargs):  # type: ignore[no-untyped-def]
    """The call's result, or None when it refuses with a LosslabError (any other exception fails the test)."""
    try:
        return call(*args, **kwargs)
    except LosslabError as error:
        assert str(error).strip() and "\n" not in str(error).strip(), f"unclear refusal: {error!r}"
        return None


@FUZZ
@given(two_spellings())
def test_a_students_spelling_is_the_same_loss_as_the_parsers(case: tuple[str, str]) -> None:
    """``(x)²``, ``|x|``, ``√(x)``, ``ln(x)``, ``2(x)``, factors side by side: the same expression as written out."""
    student, plain = case
    try:
        expected = parse_formula(plain).expr
    except LosslabError as error:
        assert any(words in str(error) for words in VALUE_REFUSALS), f"{plain!r} refused: {error}"
        return
    assert parse_formula(student).expr == expected, (student, plain)


@FUZZ
@given(student_formulas())
def test_every_formula_is_descended_and_gridded_or_refused_by_name(case: tuple[str, tuple[str, ...]]) -> None:
    text, names = case
    began = time.perf_counter()
    objective = parsed_or_refused_for_its_value(text, names)
    if objective is None:
        return
    start = ",".join(f"{n}=0.7" for n in names)
    for optimizer in OPTIMIZERS:
        named(losslab.descend, objective, start, optimizer, steps=12)
    if objective.dim <= 2:
        named(losslab.evaluate_grid, objective, resolution=21)
    assert time.perf_counter() - began < SECONDS_PER_FORMULA, f"{text!r} took {time.perf_counter() - began:.1f} s"


@settings(FUZZ, max_examples=max(10, EXAMPLES // 10))
@given(student_formulas())
def test_every_formula_is_analysed_or_refused_by_name(case: tuple[str, tuple[str, ...]]) -> None:
    text, names = case  # analyze is the costly face (stationary points, kinks, continua, convexity)
    began = time.perf_counter()
    objective = parsed_or_refused_for_its_value(text, names)
    if objective is not None:
        named(losslab.analyze, objective)
    assert time.perf_counter() - began < SECONDS_PER_FORMULA, f"{text!r} took {time.perf_counter() - began:.1f} s"


runner = CliRunner()


@settings(FUZZ, max_examples=max(10, EXAMPLES // 20))
@given(student_formulas())
def test_the_cli_answers_every_formula_with_exit_0_or_2(case: tuple[str, tuple[str, ...]]) -> None:
    text, names = case
    start = ",".join(f"{n}=0.7" for n in names)
    for args in (["analyze", text, "--vars", ",".join(names)], ["descend", text, "--start", start, "--steps", "8"]):
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 2), f"{args}: exit {result.exit_code}\n{result.output}"
        assert "Traceback" not in result.output
        if result.exit_code == 2:
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
