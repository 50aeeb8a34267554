"""The lessons' JSON API under ``/api/lessons``: the catalogue, one lesson (no answers), and checking an answer.

``GET /api/lessons`` lists them (id, title, summary, steps, questions), reading the files only;
``GET /api/lessons/{id}`` loads a lesson — its views checked and its answers computed by
:mod:`losslab.course.lessons` the first time — and answers its steps, views and questions without
any answer; ``POST /api/lessons/{id}/answer`` checks one answer and says ``correct`` with an
``explanation``, or not, with a ``hint``. An unknown lesson is 404; an unknown question or a
malformed body 422, as everywhere in the API.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from losslab.course.lessons import Lesson, Library
from losslab.web.schemas import ErrorResponse

MAX_ANSWER_ITEMS = 10
LessonId = Annotated[str, PathParam(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="a lesson's id")]

lessons_router = APIRouter(
    prefix="/api/lessons", responses={code: {"model": ErrorResponse} for code in (404, 413, 422)}
)


class LessonSummary(BaseModel):
    id: str
    title: str
    summary: str
    steps: int
    questions: int


class LessonRun(BaseModel):
    name: str
    hyper: dict[str, Any]


class LessonView(BaseModel):
    """How the page sets the explorer up for a step: the loss (formula, gallery name or model on data), start, runs."""

    kind: Literal["curve", "contour", "3d", "race", "boundary", "levels"]
    source: Literal["formula", "gallery", "data", "classifier"]
    loss: str
    model: str | None
    data: str | None
    names: list[str]
    start: list[float] | None
    runs: list[LessonRun]
    steps: int
    caption: str


class LessonQuestion(BaseModel):
    """A question without its answer: options for a choice, the names a formula may use, the run a prediction shows."""

    id: str
    kind: Literal["choice", "number", "formula", "predict", "click"]
    ask: str
    options: list[str] | None = None
    names: list[str] | None = None
    tolerance: float | None = None
    want: str | None = None
    run: dict[str, Any] | None = None


class LessonStep(BaseModel):
    title: str
    text: str = Field(description="Markdown; formulas between $…$")
    view: LessonView | None
    questions: list[LessonQuestion]


class LessonDetail(BaseModel):
    id: str
    title: str
    summary: str
    steps: list[LessonStep]


class AnswerRequest(BaseModel):
    """An answer: text (a number, a formula, an option's number or letter, converges/diverges, "x, y"), a number,
    or the coordinates of a click."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    question: str = Field(max_length=64)
    answer: str | float | list[float] | dict[str, float] = Field(union_mode="left_to_right")

    def checked_answer(self) -> Any:
        if isinstance(self.answer, str) and len(self.answer) > 500:
            return self.answer  # the question says it is too long, as a hint
        if isinstance(self.answer, list | dict) and len(self.answer) > MAX_ANSWER_ITEMS:
            raise HTTPException(422, f"answer has {len(self.answer)} numbers; at most {MAX_ANSWER_ITEMS}")
        return self.answer


class AnswerResponse(BaseModel):
    correct: bool
    hint: str | None = None
    explanation: str | None = None


def library(request: Request) -> Library:
    """The app's lessons: the built-in ones and the folders of ``ServerConfig.lessons``, made on first use."""
    found = getattr(request.app.state, "lessons", None)
    if found is None:
        folders = tuple(Path(folder) for folder in getattr(request.app.state.config, "lessons", ()))
        found = request.app.state.lessons = Library(folders)
    return found


async def _lesson(request: Request, lesson_id: str) -> Lesson:
    """The lesson, loaded on the app's one computing thread: loading computes Hessians, and torch's
    forward-mode AD levels are process-global (two threads computing Hessians at once fail)."""
    shelf = library(request)
    if not shelf.has(lesson_id):
        raise HTTPException(404, f"no lesson {lesson_id!r}")
    if shelf.is_loaded(lesson_id):  # answers are checked at once, not queued behind a race
        return shelf.lesson(lesson_id)
    executor = getattr(request.app.state, "executor", None)
    return await asyncio.get_running_loop().run_in_executor(executor, shelf.lesson, lesson_id)


@lessons_router.get("", response_model=list[LessonSummary])
def list_lessons(request: Request) -> list[dict[str, Any]]:
    """Every lesson on offer, from reading the files (nothing computed)."""
    return library(request).catalogue()


@lessons_router.get("/{lesson_id}", response_model=LessonDetail, response_model_exclude_none=True)
async def get_lesson(request: Request, lesson_id: LessonId) -> dict[str, Any]:
    """One lesson's steps, views and questions; no answers, hints or explanations."""
    return (await _lesson(request, lesson_id)).public()


@lessons_router.post("/{lesson_id}/answer", response_model=AnswerResponse, response_model_exclude_none=True)
async def answer(request: Request, lesson_id: LessonId, body: AnswerRequest) -> dict[str, Any]:
    """Check one answer: ``correct`` with an ``explanation``, or not, with a ``hint``."""
    lesson = await _lesson(request, lesson_id)
    return lesson.answer(body.question, body.checked_answer()).to_dict()


@lessons_router.get("/{lesson_id}/levels/{step}")
async def step_levels(request: Request, lesson_id: LessonId, step: Annotated[int, PathParam(ge=1, le=100)]) -> Response:
    """The level surfaces of a ``levels`` step's loss (3 parameters) as a Plotly figure: ``{"data", "layout"}``."""
    lesson = await _lesson(request, lesson_id)
    view = lesson.steps[step - 1].view if step <= len(lesson.steps) else None
    if view is None or view.kind != "levels":
        raise HTTPException(404, f"step {step} of lesson {lesson_id!r} has no level-surfaces view")
    from losslab.plot.levels import level_surfaces

    executor = getattr(request.app.state, "executor", None)
    loop = asyncio.get_running_loop()
    figure = await loop.run_in_executor(executor, lambda: level_surfaces(view.objective, resolution=20))
    return Response(figure.to_json(), media_type="application/json")
