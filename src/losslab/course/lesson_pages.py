"""A lesson and its steps as a notebook shows them: Markdown, and the picture of a step's view with its runs.

The lessons' own module (:mod:`~losslab.course.lessons`) calls these for ``str``, ``_repr_markdown_`` and
``figure()``; they read a lesson by its parts (title, summary, steps; a step's title, text, view and questions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from losslab.course.lesson_questions import Question
from losslab.course.lesson_views import View
from losslab.errors import LosslabError

if TYPE_CHECKING:
    from losslab.descent.trajectory import Trajectory

#: how each kind of question is answered, said under it
ANSWERS = {
    "number": "a number (or a constant expression such as 6/5)",
    "formula": "a formula in {names}",
    "choice": "one of the options: its letter, number or text",
    "click": "a point: {names}",
    "predict": "converges, oscillates or diverges",
}


class StepParts(Protocol):
    """What a step is read by: :class:`~losslab.course.lessons.LessonStep`."""

    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def view(self) -> View | None: ...
    @property
    def questions(self) -> tuple[Question, ...]: ...


class LessonParts(Protocol):
    """What a lesson is read by: :class:`~losslab.course.lessons.Lesson`."""

    @property
    def title(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def steps(self) -> Sequence[StepParts]: ...


def lesson_markdown(shown: LessonParts) -> str:
    """A lesson as Markdown: its title, summary and numbered steps with how many questions each asks."""
    lines = [f"# {shown.title}", "", shown.summary, ""]
    for number, step in enumerate(shown.steps, start=1):
        asks = f" — {len(step.questions)} question{'s' * (len(step.questions) != 1)}" if step.questions else ""
        lines.append(f"{number}. {step.title}{asks}")
    lines += ["", "`lesson.step(n)` shows step n; `lesson.answer(question_id, answer)` checks an answer."]
    return "\n".join(lines)


def step_markdown(step: StepParts, number: int | None = None) -> str:
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


def step_figure(step: StepParts) -> Any:
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


def _runs(step: StepParts) -> list[Trajectory]:
    from losslab.descent.run import descend

    view = step.view
    if view is None or view.start is None:
        return []
    return [descend(view.objective, list(view.start), run, steps=view.steps) for run in view.runs]


def _how(question: Question) -> str:
    return ANSWERS[question.kind].format(names=", ".join(question.names))
