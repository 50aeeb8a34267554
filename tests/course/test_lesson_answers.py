"""Answer checking, for every question kind: right answers in several spellings are accepted, wrong
and near-miss answers are refused with the question's hint (the idea, not the answer)."""

from __future__ import annotations

from typing import Any

import pytest

from losslab.course.lessons import Lesson
from losslab.errors import LosslabError

# (lesson, question, accepted spellings, refused answers: wrong and near misses)
ANSWERS: list[tuple[str, str, list[Any], list[Any]]] = [
    (
        "02-hill-descending",
        "hand-step-1",
        ["1.2", 1.2, "6/5", " 1.20 ", "w = 1.2", "1.2000000001"],
        ["1.21", 1.19, "0.12", "-1.2"],
    ),
    ("02-hill-descending", "hand-step-8", ["1.99868928", "1.998689280"], ["1.9987", "1.99868", 2]),
    ("02-hill-descending", "extension-b", ["51", 51, "51.0"], ["50", 52, "5", "fifty-one"]),
    ("03-learning-a-line", "closed-form", ["1.994545", "1.9945454", "109.7/55"], ["2", "1.9945", "1.99455"]),
    ("05-classifiers-and-gradients", "change-first", ["0.01320066", "1.320066e-2"], ["0.0132", "0.01320067"]),
    (
        "02-hill-descending",
        "update-rule",
        ["w - eta*2*(w - 3)", "w - eta(2w - 6)", "w_new = w − 2·eta·(w − 3)", "(1 - 2eta)w + 6eta",
         "w − 2η(w − 3)", "(1 - 2η) w + 6 η", "w - 2 eta (w - 3)"],
        ["w + eta*2*(w - 3)", "w - eta*(w - 3)", "w - 2*(w - 3)", "w - lr*2*(w-3)"],
    ),  # fmt: skip
    (
        "04-loss-surface",
        "partial-w0",
        ["2*w0 + 3*w1 - 4", "2w0+3w1-4", "(w0 + w1 - 2) + (w0 + 2w1 - 2)", "dL/dw0 = 3w₁ + 2w₀ − 4",
         "2 w0 + 3 w1 - 4"],
        ["2*w0 + 3*w1", "3*w0 + 5*w1 - 6", "2*w0 + 3*w1 - 4.01", "import os"],
    ),  # fmt: skip
    (
        "03-learning-a-line",
        "derivative",
        ["22m - 43.88", "22*m - 1097/25", "-(2/5)*(109.7 - 55m)"],
        ["22m - 43.8", "11m - 21.94"],
    ),
    (
        "02-hill-descending",
        "extension-a",
        ["diverges", "No", "it diverges", "blows up", "DIVERGE."],
        ["converges", "yes", "oscillates", "maybe"],
    ),
    ("02-hill-descending", "lr-one", ["oscillates", "oscillates forever", "no"], ["converges", "yes", "diverges"]),
    ("04-loss-surface", "predict-point-three", ["diverges", "no"], ["converges", "yes"]),
    (
        "01-loss-landscape",
        "click-a-saddle",
        ["0.09, 2.88", [-3.07, -0.08], "(3.38, 0.07)", {"x": -0.13, "y": -1.95}],
        ["3, 2", "-0.27, -0.92", "0.09 2.88 1", [0.5, 2.88], "0, 0"],
    ),  # fmt: skip
    ("04-loss-surface", "click-minimum", ["2, 0", [2.1, -0.1], "1.9 0.05"], ["0, 0", [2.3, 0.2], "2", "two, zero"]),
    (
        "01-loss-landscape",
        "what-is-height",
        [2, "2", "b", "B", "The loss of the model whose parameters are the point below"],
        [1, "a", "3", "d", "The learning rate"],
    ),  # fmt: skip
    ("02-hill-descending", "discuss-lr", [3, "c"], [1, 2, "a"]),
]


@pytest.mark.parametrize(("lesson", "question", "right", "wrong"), ANSWERS, ids=[q for _, q, _, _ in ANSWERS])
def test_right_spellings_accepted_wrong_refused_with_the_hint(
    lessons: dict[str, Lesson], lesson: str, question: str, right: list[Any], wrong: list[Any]
) -> None:
    asked = lessons[lesson].questions[question]
    for answer in right:
        verdict = lessons[lesson].answer(question, answer)
        assert verdict.correct, f"{answer!r} refused: {verdict.message}"
        assert set(verdict.to_dict()) == {"correct", "explanation"}
    for answer in wrong:
        verdict = lessons[lesson].answer(question, answer)
        assert not verdict.correct, f"{answer!r} accepted"
        assert set(verdict.to_dict()) == {"correct", "hint"}
        if asked.kind == "choice":
            picked = next((o for o in asked.options if not o[1] and o[2] == verdict.message), None)
            assert picked is not None, "a wrong option's hint is its own explanation"
        else:
            assert asked.hint in verdict.message


def test_every_kind_is_in_the_registry(lessons: dict[str, Lesson]) -> None:
    kinds = {lessons[lesson].questions[q].kind for lesson, q, _, _ in ANSWERS}
    assert kinds == {"choice", "number", "formula", "predict", "click"}


def test_the_hint_does_not_give_the_answer(lessons: dict[str, Lesson]) -> None:
    for lesson in lessons.values():
        for q in lesson.questions.values():
            if q.kind == "number" and abs(q.answer) > 1e-9 and q.answer not in (1, 2, 3, 4, 5, 6):
                assert f"{q.answer:.6g}" not in q.hint, f"{lesson.id}/{q.id} hint gives {q.answer:.6g}"


def test_every_choice_option_is_explained(lessons: dict[str, Lesson]) -> None:
    for lesson in lessons.values():
        for q in lesson.questions.values():
            if q.kind == "choice":
                assert all(because for _, _, because in q.options)
                assert sum(right for _, right, _ in q.options) == 1


def test_public_questions_hold_no_answers(lessons: dict[str, Lesson]) -> None:
    text = str(lessons["02-hill-descending"].public())
    assert "1.99868928" not in text and "because" not in text and "hint" not in text


def test_unknown_question_and_oversized_answer(lessons: dict[str, Lesson]) -> None:
    lesson = lessons["02-hill-descending"]
    with pytest.raises(LosslabError, match="has no question 'nope'"):
        lesson.answer("nope", "1")
    assert not lesson.answer("hand-step-1", "1" * 600).correct
    assert not lesson.answer("update-rule", "9**9**9**9").correct
    assert not lesson.answer("update-rule", "__import__('os')").correct


def test_a_decimal_comma_is_asked_for_as_a_point(lessons: dict[str, Lesson]) -> None:
    """'1,2' (a decimal comma, as many students write it) is neither taken as 1.2 nor as 12 nor marked wrong with
    the hint: losslab says to write 1.2."""
    for answer, point in [("1,2", "1.2"), (" -0,5 ", "-0.5"), ("1,000", "1.000")]:
        verdict = lessons["02-hill-descending"].answer("hand-step-1", answer)
        assert not verdict.correct
        assert verdict.message == f"{answer.strip()} is not a number here: write a decimal point ({point}), no comma"
    assert lessons["02-hill-descending"].answer("hand-step-1", "1.2").correct
