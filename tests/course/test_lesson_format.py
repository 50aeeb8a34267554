"""A teacher's lesson file: one clear line per problem, and nothing runs while the file has one."""

from __future__ import annotations

from pathlib import Path

import pytest

from lesson_texts import bowl_lesson
from losslab.course import lessons as lessons_module
from losslab.course.lesson_format import parse_lesson
from losslab.course.lessons import Library, check_lesson_file, load_lesson
from losslab.errors import LosslabError

GOOD = bowl_lesson()

# (what the file has, its text, the problem line expected)
READING_PROBLEMS = [
    ("no title", "## Step\ntext\n", "first line must be the lesson's title"),
    ("no steps", "# T\nsummary\n", "no steps"),
    ("unknown key", GOOD.replace("kind: curve", "kind: curve\ncolour: red"), "a view has no key 'colour'"),
    ("not key: value", GOOD.replace("kind: curve", "kind: curve\njust words"), "'just words' is not 'key: value'"),
    ("key twice", GOOD.replace("kind: curve", "kind: curve\nkind: 3d"), "'kind' is given twice"),
    ("unclosed", GOOD.rstrip().rstrip("`"), "never closed"),
    ("two views", GOOD.replace("```question", "```view\nloss: w\n```\n\n```question"), "has a second view"),
]
# (what is wrong, a replacement in GOOD, the problem line expected) — found while building, one line each
BUILDING_PROBLEMS = [
    ("bad formula", ("loss: (w - 2)**2", "loss: (w - 2)**"), "view:"),
    ("unsafe formula", ("loss: (w - 2)**2", "loss: __import__('os').system('x')"), "view:"),
    ("kind vs parameters", ("kind: curve", "kind: contour"), "a contour view shows a loss of 2 parameters"),
    ("unknown optimizer", ("run: gd:lr=0.1", "run: warp:lr=0.1"), "view:"),
    ("bad start", ("start: w=0", "start: v=0"), "view:"),
    ("unknown quantity", ("compute: w after step 1", "compute: the answer"), "not a quantity losslab knows"),
    ("no tolerance", ("tolerance: 1e-9\n", ""), "give 'tolerance:'"),
    ("no hint", ("hint: slope times rate\n", ""), "needs a 'hint:'"),
    ("unknown kind", ("kind: number", "kind: essay"), "question kind 'essay'"),
    ("wrong parameter", ("compute: w after step 1", "compute: v after step 1"), "'v' is not a parameter"),
]


@pytest.mark.parametrize(("what", "text", "expected"), READING_PROBLEMS, ids=[w for w, _, _ in READING_PROBLEMS])
def test_reading_problems_one_line_each(tmp_path: Path, what: str, text: str, expected: str) -> None:
    path = tmp_path / "teacher.md"
    path.write_text(text)
    problems = check_lesson_file(path)
    assert any(expected in line for line in problems), problems
    assert all(line.startswith(str(path)) and "\n" not in line for line in problems)


@pytest.mark.parametrize(("what", "change", "expected"), BUILDING_PROBLEMS, ids=[w for w, _, _ in BUILDING_PROBLEMS])
def test_building_problems_one_line_each(tmp_path: Path, what: str, change: tuple[str, str], expected: str) -> None:
    path = tmp_path / "teacher.md"
    assert change[0] in GOOD
    path.write_text(GOOD.replace(*change))
    problems = check_lesson_file(path)
    assert len(problems) >= 1 and any(expected in line for line in problems), problems
    assert all(line.startswith(f"{path}:") and "\n" not in line for line in problems)


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    path = tmp_path / "teacher.md"
    path.write_text(
        GOOD.replace("kind: curve", "kind: curve\ncolour: red").replace("tolerance: 1e-9", "tolerance: 1e-9\nanswer: 1")
    )
    assert len(check_lesson_file(path)) == 2


def test_a_file_that_does_not_read_runs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("a view was built for a file with problems")

    monkeypatch.setattr(lessons_module, "build_view", refuse)
    monkeypatch.setattr(lessons_module, "prepare", refuse)
    path = tmp_path / "teacher.md"
    path.write_text(GOOD.replace("kind: curve", "kind: curve\ncolour: red"))
    with pytest.raises(LosslabError, match="1 problem"):
        load_lesson(path)


def test_a_good_file_loads_and_a_folder_adds_it(tmp_path: Path) -> None:
    (tmp_path / "my-bowl.md").write_text(GOOD)
    assert check_lesson_file(tmp_path / "my-bowl.md") == []
    library = Library((tmp_path,))
    assert "my-bowl" in [entry["id"] for entry in library.catalogue()]
    lesson = library.lesson("my-bowl")
    assert lesson.answer("first-step", "0.4").correct and not lesson.answer("first-step", "0.2").correct
    with pytest.raises(LosslabError, match="no lesson 'missing'"):
        library.lesson("missing")
    with pytest.raises(LosslabError, match="does not exist"):
        Library((tmp_path / "nowhere",))


def test_comments_continuations_and_code_blocks() -> None:
    text = (
        GOOD.replace("ask: w after one step?", "ask: w after one  # a comment\n  step?") + "\n```python\nx = 1\n```\n"
    )
    lesson = parse_lesson(text, "bowls")
    assert lesson.problems == ()
    assert lesson.steps[0].questions[0].get("ask") == "w after one step?"
    assert "```python" in lesson.steps[0].text


def test_shipped_lessons_have_no_problems(library: Library) -> None:
    catalogue = library.catalogue()
    assert len(catalogue) == 5 and all(entry["problems"] == 0 for entry in catalogue)
