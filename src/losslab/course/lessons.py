"""Lessons: the files that ship with losslab and those a teacher adds, loaded, checked and looked up.

:func:`load_lesson` reads a file (:mod:`~losslab.course.lesson_format`), and only when the file
reads without a problem builds every view (:mod:`~losslab.course.lesson_views`) and computes every
answer (:mod:`~losslab.course.lesson_questions`). :func:`check_lesson_file` reports every problem
of a file, one line each, instead of stopping at the first. A :class:`Library` holds the built-in
lessons and any folders added (``losslab serve --lessons DIR``); it loads a lesson the first time it
is asked for, so listing them costs only the reading.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from losslab.course.lesson_compute import Context
from losslab.course.lesson_format import Block, LessonFile, Step, parse_lesson
from losslab.course.lesson_pages import lesson_markdown, step_figure, step_markdown
from losslab.course.lesson_questions import Question, Verdict, prepare
from losslab.course.lesson_views import View, build_view, view_objective
from losslab.descent.optimizers import parse_optimizer
from losslab.errors import LosslabError, first_line

MAX_LESSON_BYTES = 200_000
MAX_LESSONS = 200


def builtin_folder() -> Path:
    """The folder of the lessons that ship with losslab (one per seed text)."""
    return Path(str(resources.files("losslab.course") / "lesson_files"))


@dataclass(frozen=True)
class LessonStep:
    """A step ready to show: its text, checked view and prepared questions."""

    title: str
    text: str
    view: View | None
    questions: tuple[Question, ...]

    def public(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "text": self.text,
            "view": self.view.to_dict() if self.view else None,
            "questions": [q.public() for q in self.questions],
        }

    def figure(self) -> Any:
        """The picture of this step's view, runs included (:func:`~losslab.course.lesson_pages.step_figure`)."""
        return step_figure(self)

    def __str__(self) -> str:
        return step_markdown(self)

    def _repr_markdown_(self) -> str:
        return str(self)


@dataclass(frozen=True)
class Lesson:
    """A loaded lesson: every view checked, every answer computed."""

    id: str
    title: str
    summary: str
    steps: tuple[LessonStep, ...]

    @property
    def questions(self) -> dict[str, Question]:
        return {q.id: q for step in self.steps for q in step.questions}

    def public(self) -> dict[str, Any]:
        """Steps with views and questions, no answers: what ``GET /api/lessons/{id}`` answers."""
        return {"id": self.id, "title": self.title, "summary": self.summary, "steps": [s.public() for s in self.steps]}

    def step(self, number: int) -> LessonStep:
        """Step ``number``, counted from 1 as the explorer's address does (``step=6``)."""
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= len(self.steps):
            raise LosslabError(f"step {number!r} is not one of 1 to {len(self.steps)} of lesson {self.id!r}")
        return self.steps[number - 1]

    def __str__(self) -> str:
        return lesson_markdown(self)

    def _repr_markdown_(self) -> str:
        return str(self)

    def answer(self, question: str, answer: Any) -> Verdict:
        """Check a student's answer to one question (LosslabError for an unknown question id)."""
        found = self.questions.get(question)
        if found is None:
            raise LosslabError(
                f"lesson {self.id!r} has no question {question!r}; its questions: {', '.join(self.questions)}"
            )
        return found.check(answer)


def read_lesson(path: Path) -> LessonFile:
    """Read a lesson file's text (no computing): problems listed in ``problems``."""
    source = str(path)
    try:
        if path.stat().st_size > MAX_LESSON_BYTES:
            return LessonFile(path.stem, path.stem, "", (), source, (f"{source}: over {MAX_LESSON_BYTES} bytes",))
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return LessonFile(path.stem, path.stem, "", (), source, (f"{source}: cannot be read: {first_line(error)}",))
    return parse_lesson(text, path.stem, source)


def build_lesson(written: LessonFile) -> tuple[Lesson | None, list[str]]:
    """Build every view and compute every answer; the lesson (None if any problem) and one line per problem."""
    if written.problems:
        return None, list(written.problems)  # a file that does not read is not run at all
    problems: list[str] = []
    steps = [_build_step(step, written.source, problems) for step in written.steps]
    ids = [q.id for step in steps for q in step.questions]
    problems += [
        f"{written.source}: question id {i!r} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})
    ]
    if problems:
        return None, problems
    return Lesson(written.id, written.title, written.summary, tuple(steps)), []


def _build_step(step: Step, source: str, problems: list[str]) -> LessonStep:
    view = None
    if step.view is not None:
        try:
            view = build_view(step.view)
        except LosslabError as error:
            problems.append(f"{source}:{step.view.line}: view: {first_line(error)}")
    questions = []
    for block in step.questions:
        if step.view is not None and view is None and block.get("loss") is None:
            continue  # about a view that failed: its one line says why; the question is checked once it builds
        try:
            questions.append(prepare(block, _context(block, view), f"{source}:{block.line}"))
        except LosslabError as error:
            problems.append(first_line(error) if str(error).startswith(source) else f"{source}:{block.line}: {error}")
    return LessonStep(step.title, step.text, view, tuple(questions))


def _context(block: Block, view: View | None) -> Context | None:
    """The loss and run a question is about: its own keys first, then its step's view."""
    if block.get("loss") is None and view is None:
        return None
    objective = view_objective(block.get("loss"), None, block.get("vars"))[0] if block.get("loss") else None
    if objective is None and view is not None:
        objective = view.objective
    if objective is None:
        return None
    start = block.get("start") or (_start_text(view) if view is not None and block.get("loss") is None else None)
    own_run = block.get("run")
    run = parse_optimizer(own_run) if own_run else (view.runs[0] if view and view.runs else None)
    steps = block.get("steps")
    return Context(objective, start, run, int(steps) if steps and steps.isdigit() else None)


def _start_text(view: View) -> str | None:
    if view.start is None:
        return None
    return ",".join(f"{name}={value!r}" for name, value in zip(view.objective.names, view.start, strict=True))


_LOADED: dict[tuple[str, int, int], Lesson] = {}  # (path, mtime, size) → the lesson: a file is loaded once per process
_LOADING = threading.Lock()


def load_lesson(path: Path) -> Lesson:
    """A lesson file, loaded and checked (once per process while the file is unchanged); LosslabError listing
    its problems (one per line)."""
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = (str(path), -1, -1)
    with _LOADING:
        if key in _LOADED:
            return _LOADED[key]
        lesson, problems = build_lesson(read_lesson(path))
        if lesson is None:
            raise LosslabError(f"lesson {path.name} has {len(problems)} problem(s):\n" + "\n".join(problems))
        if key[1] >= 0:
            _LOADED[key] = lesson
        return lesson


def check_lesson_file(path: Path) -> list[str]:
    """Every problem of a lesson file, one line each (empty when the lesson is sound)."""
    return build_lesson(read_lesson(path))[1]


class Library:
    """The lessons on offer: the built-in ones, then those of any added folders (same id: the later wins).

    >>> library = Library()
    >>> [entry["id"] for entry in library.catalogue()][:2]
    ['01-loss-landscape', '02-hill-descending']
    """

    def __init__(self, folders: tuple[Path, ...] = ()) -> None:
        self._files: dict[str, Path] = {}
        for folder in (builtin_folder(), *folders):
            if not folder.is_dir():
                raise LosslabError(f"lesson folder {folder} does not exist or is not a folder")
            for path in sorted(folder.glob("*.md"))[:MAX_LESSONS]:
                self._files[path.stem] = path
        self._loaded: dict[str, Lesson] = {}
        self._lock = threading.Lock()

    def catalogue(self) -> list[dict[str, Any]]:
        """id, title, summary, steps and questions of each lesson, from reading the files (nothing computed)."""
        entries = []
        for lesson_id, path in sorted(self._files.items()):
            written = read_lesson(path)
            entries.append({
                "id": lesson_id,
                "title": written.title,
                "summary": written.summary,
                "steps": len(written.steps),
                "questions": sum(len(s.questions) for s in written.steps),
                "problems": len(written.problems),
            })  # fmt: skip
        return entries

    def has(self, lesson_id: str) -> bool:
        return lesson_id in self._files

    def is_loaded(self, lesson_id: str) -> bool:
        return lesson_id in self._loaded

    def lesson(self, lesson_id: str) -> Lesson:
        """The lesson with this id, loaded (and kept) on first use."""
        if lesson_id not in self._files:
            raise LosslabError(f"no lesson {lesson_id!r}; lessons: {', '.join(sorted(self._files))}")
        with self._lock:
            if lesson_id not in self._loaded:
                self._loaded[lesson_id] = load_lesson(self._files[lesson_id])
            return self._loaded[lesson_id]
