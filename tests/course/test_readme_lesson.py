"""The lesson the README shows teachers is one losslab checks as the README says it does."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from losslab.cli.app import app

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_s_lesson_checks_as_shown(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("````markdown\n") + len("````markdown\n")
    lesson = text[start : text.index("\n````\n", start)] + "\n"
    folder = tmp_path / "teacher"
    folder.mkdir()
    (folder / "my-parabola.md").write_text(lesson, encoding="utf-8")
    shown = text[text.index("$ losslab lessons check teacher/my-parabola.md\n") :].splitlines()[1]
    result = CliRunner().invoke(app, ["lessons", "check", str(folder / "my-parabola.md")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == shown.replace("teacher/", f"{folder}/")
