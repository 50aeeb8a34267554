"""Every number the shipped lessons check equals the value the seed prints, and the lesson computes it.

The answers are computed by losslab from each lesson's loss when the lesson loads (a ``compute:``
line, never a typed key); this registry holds the seeds' printed values to compare them with.
"""

from __future__ import annotations

import pytest

from losslab.course.lessons import Lesson

# (lesson, question id, the seed's printed value, tolerance: the seed's printed digits)
SEED_NUMBERS = [
    ("01-loss-landscape", "bowl-bottom", 0.0, 0),
    ("01-loss-landscape", "bowl-side", 1.0, 0),
    ("02-hill-descending", "parabola-step-1", 0.6, 1e-12),
    ("02-hill-descending", "parabola-step-2", 1.08, 1e-12),
    ("02-hill-descending", "lr-two-step-2", -24, 1e-12),
    ("02-hill-descending", "hand-step-1", 1.2, 1e-12),
    ("02-hill-descending", "hand-step-2", 1.68, 1e-12),
    ("02-hill-descending", "hand-step-3", 1.872, 1e-12),
    ("02-hill-descending", "hand-step-4", 1.9488, 1e-12),
    ("02-hill-descending", "hand-step-8", 1.99868928, 1e-12),
    ("02-hill-descending", "extension-a-step-3", 18, 1e-12),
    ("02-hill-descending", "extension-b", 51, 0),
    ("03-learning-a-line", "closed-form", 1.994545, 5e-7),
    ("03-learning-a-line", "residual", 0.007673, 5e-7),
    ("03-learning-a-line", "gd-slope", 1.994545, 5e-7),
    ("03-learning-a-line", "curvature", 22, 1e-12),
    ("03-learning-a-line", "largest-alpha", 2 / 22, 1e-12),
    ("03-learning-a-line", "project-slope", 2.02, 1e-9),
    ("03-learning-a-line", "project-intercept", 0.2, 1e-9),
    ("04-loss-surface", "partial-at-origin", -4, 1e-12),
    ("04-loss-surface", "step-w0", 0.4, 1e-12),
    ("04-loss-surface", "step-w1", 0.6, 1e-12),
    ("04-loss-surface", "minimum-w0", 2, 1e-12),
    ("04-loss-surface", "minimum-w1", 0, 1e-12),
    ("04-loss-surface", "mixed-partial", 3, 1e-12),
    ("04-loss-surface", "mixed-partial-other", 3, 1e-12),
    ("04-loss-surface", "second-w1", 5, 1e-12),
    ("05-classifiers-and-gradients", "loss-at-p", 66, 1e-12),
    ("05-classifiers-and-gradients", "gradient-w0", 12, 1e-12),
    ("05-classifiers-and-gradients", "gradient-w1", 24, 1e-12),
    ("05-classifiers-and-gradients", "change-first", 0.01320066, 1e-12),
    ("05-classifiers-and-gradients", "change-predicted", 0.0132, 1e-12),
    ("05-classifiers-and-gradients", "change-turned", 0.0120006, 1e-7),  # the seed rounds to 7 digits
]
# formula answers the seeds print, as SymPy prints them
SEED_FORMULAS = [
    ("02-hill-descending", "hand-gradient", "2*w - 4"),
    ("04-loss-surface", "partial-w0", "2*w0 + 3*w1 - 4"),
    ("04-loss-surface", "partial-w1", "3*w0 + 5*w1 - 6"),
]
# the outcome the seed reports for each learning rate it tries
SEED_OUTCOMES = [
    ("02-hill-descending", "lr-one", "oscillates"),  # (w − 3)², lr 1.0: 0, 6, 0, 6, …
    ("02-hill-descending", "lr-two", "diverges"),  # lr 2.0: 12, −24, …
    ("02-hill-descending", "extension-a", "diverges"),  # w² − 4w + 5, lr 1.5
    ("03-learning-a-line", "alpha-point-one", "diverges"),  # "oscillates wildly or diverges"
]


@pytest.mark.parametrize(("lesson", "question", "seed", "tol"), SEED_NUMBERS, ids=[q for _, q, _, _ in SEED_NUMBERS])
def test_number_equals_the_seed(
    lessons: dict[str, Lesson], lesson: str, question: str, seed: float, tol: float
) -> None:
    computed = lessons[lesson].questions[question]
    assert computed.kind == "number"
    assert abs(computed.answer - seed) <= tol, (
        f"{lesson}/{question}: lesson computes {computed.answer}, seed prints {seed}"
    )


@pytest.mark.parametrize(("lesson", "question", "seed"), SEED_FORMULAS, ids=[q for _, q, _ in SEED_FORMULAS])
def test_formula_equals_the_seed(lessons: dict[str, Lesson], lesson: str, question: str, seed: str) -> None:
    assert str(lessons[lesson].questions[question].answer) == seed


@pytest.mark.parametrize(("lesson", "question", "seed"), SEED_OUTCOMES, ids=[q for _, q, _ in SEED_OUTCOMES])
def test_predicted_outcome_equals_the_seed(lessons: dict[str, Lesson], lesson: str, question: str, seed: str) -> None:
    assert lessons[lesson].questions[question].answer == seed


def test_the_numbers_are_computed_not_typed(lessons: dict[str, Lesson]) -> None:
    """No lesson file types a number question's answer: each has a compute: line and no answer key."""
    from losslab.course.lesson_format import QUESTION_KEYS

    assert not {"answer", "expect", "value"} & QUESTION_KEYS


def test_the_stated_numbers_match(lessons: dict[str, Lesson]) -> None:
    """Numbers the lesson texts state, beside what the lessons compute."""
    surface = lessons["04-loss-surface"]
    assert {surface.questions["step-w0"].answer, round(surface.questions["step-w1"].answer, 12)} == {0.4, 0.6}
    line = lessons["03-learning-a-line"]
    assert "$y \\approx m x$" in line.steps[0].text and "| y | 2.1 | 3.9 | 6.1 | 8.0 | 9.9 |" in line.steps[0].text
    chapter = lessons["05-classifiers-and-gradients"]
    assert "20.2" in chapter.steps[-1].text or "20.2" in chapter.questions["chord-point"].hint
    assert chapter.questions["big-step-actual"].answer - chapter.questions["big-step-first"].answer == pytest.approx(
        0.66
    )


def test_every_seed_element_has_a_place(lessons: dict[str, Lesson]) -> None:
    titles = " | ".join(step.title.lower() for lesson in lessons.values() for step in lesson.steps)
    for element in (
        "refresher", "navigation" if "navigation" in titles else "downhill", "two valleys", "contour", "convex",
        "non-convex", "update rule", "too small, too large", "mini-batches", "adam", "hand simulation",
        "extension a", "extension b", "calculus finds the bottom", "caution", "mini-project", "partial",
        "clairaut", "decision boundaries", "small step", "level curves", "level surfaces", "taylor", "chords",
    ):  # fmt: skip
        assert element in titles, element
    kinds = {q.kind for lesson in lessons.values() for q in lesson.questions.values()}
    assert kinds == {"choice", "number", "formula", "predict", "click"}
