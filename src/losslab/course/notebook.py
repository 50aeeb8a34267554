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
and ``step.figure()`` is the picture the explorer shows for it, runs included
(:mod:`~losslab.course.lesson_pages`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from losslab.course.lessons import Lesson, Library, load_lesson
from losslab.errors import LosslabError


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
