"""The lessons in Python and Jupyter: losslab.lessons(), losslab.lesson(…), a step's Markdown and picture, a
verdict said as the explorer says it. Oracles: the library's own catalogue and checks (the explorer's), the
lesson files' own text, the runs of losslab.descend drawn on the figure."""

from __future__ import annotations

from typing import Any

import matplotlib.figure
import plotly.graph_objects as go
import pytest

import losslab
from lesson_texts import bowl_lesson, right_and_wrong
from losslab.course.lessons import Lesson
from losslab.errors import LosslabError


def test_the_lessons_are_listed_and_opened_by_number_id_or_a_part_of_it(lessons: dict[str, Lesson]) -> None:
    listed = losslab.lessons()
    assert [entry["id"] for entry in listed] == list(lessons) and len(listed) == 5
    hill = lessons["02-hill-descending"]
    for which in (2, "02-hill-descending", "02", "hill", " hill-descending "):
        opened = losslab.lesson(which)
        assert (opened.id, [s.title for s in opened.steps]) == (hill.id, [s.title for s in hill.steps]), which
    assert losslab.lesson("hill") is losslab.lesson(2)  # loaded once: its answers are computed once a session


@pytest.mark.parametrize(
    ("which", "words"),
    [
        (0, "lesson 0 is not one of 1 to 5"),
        (6, "lesson 6 is not one of 1 to 5"),
        ("0", "5 lessons (01-loss-landscape, 02-hill-descending"),
        ("calculus", "no lesson named 'calculus'; lessons: 01-loss-landscape"),
        (True, "a lesson is named by its number, id or file, got bool"),
        (2.0, "a lesson is named by its number, id or file, got float"),
        ("missing.md", "lesson file 'missing.md' does not exist; lessons: 01-loss-landscape"),
    ],
)
def test_a_lesson_that_is_not_there_is_one_clear_line(which: Any, words: str) -> None:
    with pytest.raises(LosslabError) as info:
        losslab.lesson(which)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_a_teachers_file_opens_by_its_path(tmp_path: Any) -> None:
    path = tmp_path / "my-parabola.md"
    path.write_text(bowl_lesson(), encoding="utf-8")
    mine = losslab.lesson(path)
    assert mine.title == "Bowls" and str(mine.answer("first-step", "0.4")).startswith("✓ Right.")
    assert losslab.lesson(str(path)).title == "Bowls"
    assert [e["id"] for e in losslab.lessons((tmp_path,))][-1] == "my-parabola"


def test_steps_are_counted_from_one_as_the_explorers_address() -> None:
    hill = losslab.lesson(2)
    assert hill.step(6).title == "Hand simulation" and hill.step(1) is hill.steps[0]
    for bad in (0, 9, "6", True):
        with pytest.raises(LosslabError, match="is not one of 1 to 8 of lesson '02-hill-descending'"):
            hill.step(bad)  # type: ignore[arg-type]


def test_a_lesson_and_a_step_read_as_markdown(lessons: dict[str, Lesson]) -> None:
    for lesson in lessons.values():
        text = lesson._repr_markdown_()
        assert text.startswith(f"# {lesson.title}\n") and lesson.summary in text
        for number, step in enumerate(lesson.steps, start=1):
            assert f"\n{number}. {step.title}" in text
            shown = step._repr_markdown_()
            assert shown.startswith(f"## {step.title}\n") and step.text.strip() in shown
            for question in step.questions:
                assert f"**{question.id}** — {question.ask}" in shown
                assert all(f") {option}" in shown for option, _, _ in question.options)
            if step.view is not None:
                assert f"*View ({step.view.kind} of {step.view.loss}" in shown and "`step.figure()`" in shown
    assert "gd from w = 0" in str(losslab.lesson(2).step(6))


def test_answers_are_checked_as_in_the_explorer_and_said_the_same_way(lessons: dict[str, Lesson]) -> None:
    for lesson in lessons.values():
        for question in lesson.questions.values():
            right, wrong = right_and_wrong(question)
            said_right, said_wrong = lesson.answer(question.id, right), lesson.answer(question.id, wrong)
            assert said_right.correct and not said_wrong.correct, question.id
            assert str(said_right).startswith("✓") and said_right.message in str(said_right)
            assert str(said_wrong) == f"✗ Not yet. {said_wrong.message}" == said_wrong._repr_markdown_()


def _first_step(kind: str) -> Any:
    for entry in losslab.lessons():
        for step in losslab.lesson(entry["id"]).steps:
            if step.view is not None and step.view.kind == kind:
                return step
    raise AssertionError(f"no lesson step shows a {kind} view")


@pytest.mark.parametrize("kind", ["curve", "contour", "3d", "race", "boundary", "levels"])
def test_a_steps_figure_is_its_view_with_its_runs(kind: str) -> None:
    step = _first_step(kind)
    figure = step.figure()
    view = step.view
    if kind == "levels":
        assert isinstance(figure, go.Figure) and [t.type for t in figure.data][:1] == ["isosurface"]
        return
    assert isinstance(figure, matplotlib.figure.Figure)
    runs = [losslab.descend(view.objective, list(view.start), run, steps=view.steps) for run in view.runs]
    if kind in ("curve", "contour", "race") and runs:  # each run's path is drawn, point by point (to where a
        # diverging one leaves the picture)
        drawn = [[round(p[0], 9) for p in line.get_xydata()] for ax in figure.axes for line in ax.get_lines()]
        for run in runs:
            xs = [round(x, 9) for x in run.params[:, 0].tolist()]
            assert any(len(d) >= 2 and d == xs[: len(d)] for d in drawn), (kind, run.optimizer)
    assert figure.axes[0].get_title() or figure.get_suptitle() or kind == "boundary"


def test_a_step_without_a_view_says_so() -> None:
    plain = next(s for e in losslab.lessons() for s in losslab.lesson(e["id"]).steps if s.view is None)
    with pytest.raises(LosslabError, match=f"step '{plain.title}' has no view to draw"):
        plain.figure()


def test_the_readmes_notebook_example_runs_as_printed() -> None:
    import doctest
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("**In Python and Jupyter**", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    test = doctest.DocTestParser().get_doctest(block, {}, "README", "README.md", 0)
    assert len(test.examples) == 6
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
