"""What a student types on the command line: formulas that begin with '-', student spellings, typos in options,
text with rich markup — each a result or one line on stderr with exit 2, never a traceback or a boxed panel."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from losslab.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "-x**2 + y**2", "--json"],
        ["analyze", "--json", "-x**2 + y**2"],
        ["descend", "-w**2 + w**4", "--start", "w=0.5", "--steps", "3", "--json"],
        ["plot", "contour", "-x**2 + y**2", "--out", "{tmp}/c.png"],
    ],
    ids=["analyze", "analyze-option-first", "descend", "plot"],
)
def test_a_formula_may_begin_with_a_minus(args: list[str], tmp_path) -> None:
    result = runner.invoke(app, [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 0, result.output
    if "--json" in args:
        doc = json.loads(result.stdout)
        assert doc.get("variables", ["x", "y"])[0] in ("w", "x")


def test_student_spellings_are_analysed_like_the_parsers_own() -> None:
    typed = json.loads(runner.invoke(app, ["analyze", "x^2 - 4x + 5", "--json"]).stdout)
    plain = json.loads(runner.invoke(app, ["analyze", "x**2 - 4*x + 5", "--json"]).stdout)
    assert typed["stationary_points"] == plain["stationary_points"] and typed["gradient"] == {"x": "2*x - 4"}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["analyze"], "Missing argument 'formula'"),
        (["analyze", "w**2", "--bogus", "1"], "No such option: --bogus (the options: --vars, --domain, --at"),
        (["analyze", "w**2", "--dommain=-1:1"], "No such option: --dommain (Possible options: --domain)"),
        (["basins", "himmelblau", "--grid", "5"], "No such option: --grid (the options: --value, --resolution"),
        (["analyze", "w**2", "3"], "Got unexpected extra argument(s) (3)"),
        (["nosuch"], "No such command 'nosuch'"),
        (["descend", "w**2", "--start", "w=1", "--steps", "many"], "Invalid value for '--steps'"),
        (["analyze", "w[/]"], "w[/]"),
        (["analyze", "w[link=http://x]x[/link]"], "w[link=http://x]x[/link]"),
    ],
    ids=["missing-formula", "unknown-option", "misspelt-option", "option-of-another-verb", "extra-argument",
         "unknown-command", "bad-int", "markup-close", "markup-link"],
)
def test_bad_input_is_one_line_on_stderr_with_exit_2(args: list[str], words: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], result.stderr
    assert "Traceback" not in result.output and "╭" not in result.output


def test_the_cli_says_how_it_read_a_students_spelling() -> None:
    result = runner.invoke(app, ["analyze", "L(w) = w^2 - 4w + 5"])
    assert result.exit_code == 0 and result.stderr.strip() == "read 'L(w) = w^2 - 4w + 5' as w**2 - 4*w + 5"
    plain = runner.invoke(app, ["analyze", "w**2 - 4*w + 5"])
    assert plain.exit_code == 0 and plain.stderr == ""  # nothing to say when it was read as typed
