"""``losslab lessons``: list the lessons, and ``losslab lessons check FILE`` to validate a teacher's file.

A shell over :mod:`losslab.course.lessons`: checking a file reads it, builds every view and computes
every answer, and prints one line per problem (exit code 2 when there is any).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from losslab.cli.common import Json, emit, friendly, out

FolderOpt = Annotated[
    list[Path] | None, typer.Option("--lessons", help="Also list the lessons in this folder (repeatable).")
]
lessons_app = typer.Typer(
    help="The lessons: list them, or check a lesson file.", invoke_without_command=True, no_args_is_help=False
)


def register(app: typer.Typer) -> None:
    """Add ``losslab lessons`` (and ``lessons check``) to the ``losslab`` app."""
    app.add_typer(lessons_app, name="lessons")


@lessons_app.callback()
@friendly
def lessons(ctx: typer.Context, folders: FolderOpt = None, as_json: Json = False) -> None:
    """List the lessons: id, title, steps and questions (`losslab serve` teaches them in its Lessons tab; in Python
    and Jupyter, `losslab.lesson(n)`)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from losslab.course.lessons import Library

    catalogue = Library(tuple(folders or ())).catalogue()
    if as_json:
        emit(catalogue, True)
        return
    table = Table(
        title="losslab lessons — `losslab serve` teaches them; in Python: losslab.lesson(n)", title_justify="left"
    )
    table.add_column("id", no_wrap=True)
    table.add_column("title")
    table.add_column("steps", justify="right")
    table.add_column("questions", justify="right")
    for entry in catalogue:
        table.add_row(entry["id"], entry["title"], str(entry["steps"]), str(entry["questions"]))
    out.print(table)


@lessons_app.command()
@friendly
def check(
    files: Annotated[list[Path], typer.Argument(help="Lesson files (.md) to check.")], as_json: Json = False
) -> None:
    """Check lesson files: every formula parses, every answer computes, every view renders; one line per problem."""
    from losslab.course.lesson_questions import Question
    from losslab.course.lessons import build_lesson, read_lesson

    report: dict[str, list[str]] = {}
    for path in files:
        lesson, problems = build_lesson(read_lesson(path))
        report[str(path)] = problems
        if as_json:
            continue
        for line in problems:
            out.print(line, highlight=False, markup=False)
        if lesson is not None:
            questions: list[Question] = [q for step in lesson.steps for q in step.questions]
            kinds = ", ".join(
                f"{sum(q.kind == k for q in questions)} {k}" for k in dict.fromkeys(q.kind for q in questions)
            )
            views = sum(step.view is not None for step in lesson.steps)
            out.print(
                f"{path}: ok — {_count(len(lesson.steps), 'step')}, {_count(views, 'view')}, "
                f"{_count(len(questions), 'question')} ({kinds})",
                highlight=False,
                markup=False,
            )
    if as_json:
        emit({"files": report, "problems": sum(len(p) for p in report.values())}, True)
    if any(report.values()):
        raise typer.Exit(code=2)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
