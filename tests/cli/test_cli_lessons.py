"""``losslab lessons`` and ``losslab lessons check``: the list, and one line per problem of a teacher's file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lesson_texts import bowl_lesson
from losslab.cli.app import app

runner = CliRunner()
GOOD = bowl_lesson("one")


def test_lessons_lists_the_five(tmp_path: Path) -> None:
    result = runner.invoke(app, ["lessons"])
    assert result.exit_code == 0, result.output
    for lesson_id in ("01-loss-landscape", "02-hill-descending", "03-learning-a-line", "04-loss-surface",
                      "05-classifiers-and-gradients"):  # fmt: skip
        assert lesson_id in result.stdout
    (tmp_path / "bowl.md").write_text(GOOD)
    listed = json.loads(runner.invoke(app, ["lessons", "--lessons", str(tmp_path), "--json"]).stdout)
    assert [e["id"] for e in listed][-1] == "bowl" and listed[-1]["questions"] == 1


def test_check_a_good_file(tmp_path: Path) -> None:
    (tmp_path / "bowl.md").write_text(GOOD)
    result = runner.invoke(app, ["lessons", "check", str(tmp_path / "bowl.md")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{tmp_path / 'bowl.md'}: ok — 1 step, 1 view, 1 question (1 number)"


def test_check_a_file_with_errors_one_line_each_exit_2(tmp_path: Path) -> None:
    bad = GOOD.replace("loss: (w - 2)**2", "loss: (w - 2)**2\ncolour: red").replace("hint: slope times rate\n", "")
    (tmp_path / "bad.md").write_text(bad)
    result = runner.invoke(app, ["lessons", "check", str(tmp_path / "bad.md")])
    assert result.exit_code == 2
    lines = result.stdout.strip().splitlines()
    assert lines == [
        f"{tmp_path / 'bad.md'}:9: a view has no key 'colour'; keys: caption, data, kind, loss, run, start, steps, vars"
    ]
    assert "Traceback" not in result.output
    (tmp_path / "bad2.md").write_text(GOOD.replace("run: gd", "run: warp"))
    result = runner.invoke(app, ["lessons", "check", str(tmp_path / "bad2.md"), "--json"])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    [line] = report["files"][str(tmp_path / "bad2.md")]  # the question about the view waits for the view
    assert report["problems"] == 1 and "optimizer 'warp'" in line


def test_a_predict_question_on_a_loss_without_a_smooth_minimum_is_refused_in_a_lesson_s_words(tmp_path: Path) -> None:
    """gd at lr 0.6 on |w − 2| never settles (it hops across the kink), yet the question expected "converges": the
    "Hessian" at the kink read 0 (torch's DiracDelta(0)). Refused, in a lesson's words, not the CLI's (--at)."""
    kinked = GOOD.replace("loss: (w - 2)**2", "loss: abs(w - 2)") + (
        "\n```question\nid: p\nkind: predict\nask: Converges?\nrun: gd:lr=0.6\nhint: 2/λmax\n```\n"
    )
    (tmp_path / "kink.md").write_text(kinked)
    result = runner.invoke(app, ["lessons", "check", str(tmp_path / "kink.md")])
    assert result.exit_code == 2
    assert ("question 'p': a predict question compares lr with 2/λmax at the loss's minimum: the lowest minimum found, "
            "(2), is a point where L is not differentiable") in result.stdout  # fmt: skip
    assert "--at" not in result.stdout and "give the view a loss with a smooth minimum" in result.stdout


def test_check_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["lessons", "check", str(tmp_path / "missing.md")])
    assert result.exit_code == 2 and "cannot be read" in result.stdout


def test_serve_refuses_a_missing_lesson_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--lessons", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "does not exist or is not a folder" in result.output
    assert "Traceback" not in result.output
