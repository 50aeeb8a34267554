"""The lessons in Python and Jupyter: list them, open one, read a step, draw its view, answer its questions.

The explorer's Lessons tab is one face of the lessons; this is the notebook's. The same lessons, the same
checked answers (:meth:`~losslab.course.lessons.Lesson.answer`), the same views, drawn by :mod:`losslab.plot`:

>>> import losslab
>>> [entry["id"] for entry in losslab.lessons()][:2]
['01-loss-landscape', '02-hill-descending']
>>> hill = losslab.lesson(2)
>>> hill.step(6).title
'Hand simulation'
>>> print(hill.answer("update-rule", "w - eta (2w - 6)"))
✓ Right. The new w is the old one minus eta times the slope 2(w − 3). losslab computes -2*eta*(w - 3) + w.
>>> print(hill.answer("parabola-step-1", 0.5))
✗ Not yet. The slope at w = 0 is 2(0 − 3). Multiply by the learning rate and subtract from w.

In Jupyter a lesson, a step and a verdict show themselves as Markdown (the step's text, its questions),
and ``step.figure()`` is the picture the explorer shows for it, runs included.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from losslab.course.lessons import Library, load_lesson
from losslab.errors import LosslabError

if TYPE_CHECKING:
    from losslab.course.lesson_questions import Question, Verdict
    from losslab.course.lessons import Lesson, LessonStep
    from losslab.descent.trajectory import Trajectory

#: how each kind of question is answered, said under it
ANSWERS = {
    "number": "a number (or a constant expression such as 6/5)",
    "formula": "a formula in {names}",
    "choice": "one of the options: its letter, number or text",
    "click": "a point: {names}",
    "predict": "converges, oscillates or diverges",
}


def lessons(folders: tuple[Path | str, ...] = ()) -> list[dict[str, Any]]:
    """The lessons on offer — the built-in ones (one per seed text), then those in ``folders`` — each as its id,
    title, summary and the number of its steps and questions. Reading them computes nothing."""
    return _library(tuple(Path(f) for f in folders)).catalogue()


def lesson(which: int | str | Path, folders: tuple[Path | str, ...] = ()) -> Lesson:
    """A lesson, loaded (every view built, every answer computed): by its number in :func:`lessons` (1 is the
    first), its id (``"02-hill-descending"``) or the start of one (``"02"``, ``"hill"``: one lesson's), or the
    path of a lesson file a teacher wrote."""
    library = _library(tuple(Path(f) for f in folders))
    ids = [entry["id"] for entry in library.catalogue()]
    if isinstance(which, bool) or not isinstance(which, int | str | Path):
        raise LosslabError(f"a lesson is named by its number, id or file, got {type(which).__name__}")
    if isinstance(which, int):
        if not 1 <= which <= len(ids):
            raise LosslabError(f"lesson {which} is not one of 1 to {len(ids)}; lessons: {', '.join(ids)}")
        return library.lesson(ids[which - 1])
    if isinstance(which, Path) or str(which).endswith(".md"):
        if not Path(which).is_file():
            raise LosslabError(f"lesson file {str(which)!r} does not exist; lessons: {', '.join(ids)}")
        return load_lesson(Path(which))  # a teacher's file with problems: each one on a line of its own
    text = which.strip()
    found = [i for i in ids if i == text] or [i for i in ids if i.startswith(text) or text in i.split("-", 1)[-1]]
    if len(found) != 1:
        what = "no lesson" if not found else f"{len(found)} lessons ({', '.join(found)})"
        raise LosslabError(f"{what} named {which!r}; lessons: {', '.join(ids)}")
    return library.lesson(found[0])


@functools.lru_cache(maxsize=8)
def _library(folders: tuple[Path, ...]) -> Library:
    return Library(folders)  # kept: a lesson is loaded (its answers computed) once per session


def lesson_markdown(shown: Lesson) -> str:
    """A lesson as Markdown: its title, summary and numbered steps with how many questions each asks."""
    lines = [f"# {shown.title}", "", shown.summary, ""]
    for number, step in enumerate(shown.steps, start=1):
        asks = f" — {len(step.questions)} question{'s' * (len(step.questions) != 1)}" if step.questions else ""
        lines.append(f"{number}. {step.title}{asks}")
    lines += ["", "`lesson.step(n)` shows step n; `lesson.answer(question_id, answer)` checks an answer."]
    return "\n".join(lines)


def step_markdown(step: LessonStep, number: int | None = None) -> str:
    """A step as Markdown: its title, text, what its view shows, and its questions with how each is answered."""
    lines = [f"## {f'{number}. ' if number else ''}{step.title}", "", step.text.strip(), ""]
    if step.view is not None:
        view = step.view
        runs = ", ".join(run.name for run in view.runs)
        start = ", ".join(f"{n} = {v:g}" for n, v in zip(view.objective.names, view.start or (), strict=False))
        shows = f"{view.kind} of {view.loss}" + (f"; {runs} from {start}" if runs and start else "")
        lines += [f"*View ({shows}): `step.figure()` draws it.*", ""]
    for question in step.questions:
        lines += [f"**{question.id}** — {question.ask}", ""]
        lines += [f"- {letter}) {text}" for letter, (text, _, _) in zip("abcdefghij", question.options, strict=False)]
        lines += [""] if question.options else []
        lines += [f"*Answer with {_how(question)}.*", ""]
    return "\n".join(lines).rstrip() + "\n"


def verdict_text(verdict: Verdict) -> str:
    """A checked answer as the explorer says it: ✓ Right. and the explanation, or ✗ Not yet. and the hint."""
    if verdict.correct:
        opening = "✓" if re.match(r"(Right|Yes)\b", verdict.message) else "✓ Right."
    else:
        opening = "✗ Not yet."
    return f"{opening} {verdict.message}".strip()


def step_figure(step: LessonStep) -> Any:
    """The picture of a step's view, with its runs: a curve, contour map, 3-D surface or race (matplotlib), a
    classifier's boundary at the end of its run, or level surfaces (plotly). LosslabError for a step with none."""
    import losslab.plot as plot
    from losslab.plot.levels import level_surfaces

    view = step.view
    if view is None:
        raise LosslabError(f"step {step.title!r} has no view to draw")
    runs = _runs(step)
    if view.kind == "levels":
        return level_surfaces(view.objective)
    if view.kind == "boundary":
        return plot.decision_boundary(view.objective, runs[0].params[-1] if runs else None, title=step.title)
    if view.kind == "race" and runs:
        return plot.race(view.objective, runs, title=step.title)
    if view.kind == "3d":
        return plot.surface(view.objective, runs, title=step.title)
    if view.objective.dim == 1:
        return plot.curve(view.objective, runs, title=step.title)
    return plot.contour(view.objective, runs, title=step.title)


def _runs(step: LessonStep) -> list[Trajectory]:
    from losslab.descent.run import descend

    view = step.view
    if view is None or view.start is None:
        return []
    return [descend(view.objective, list(view.start), run, steps=view.steps) for run in view.runs]


def _how(question: Question) -> str:
    return ANSWERS[question.kind].format(names=", ".join(question.names))
