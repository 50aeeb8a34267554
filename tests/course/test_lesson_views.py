"""The shipped lessons' views: every run shown behaves as its step says — the ones meant to diverge diverge,
and no other does (a view whose optimizer flies off by accident would teach the wrong thing)."""

from __future__ import annotations

from losslab.analysis.defaults import suggest_defaults
from losslab.course.lessons import Lesson
from losslab.descent.run import descend

# (lesson, step number, optimizer): the runs the lessons show diverging on purpose
MEANT_TO_DIVERGE = {
    ("02-hill-descending", 3, "gd:lr=2.0"),  # (w − 3)², lr 2.0
    ("02-hill-descending", 7, "gd:lr=1.5"),  # Extension A
    ("03-learning-a-line", 4, "gd:lr=0.1"),  # the α = 0.1 caution
    ("04-loss-surface", 7, "gd:lr=0.3"),  # above 2/λmax ≈ 0.29
}


def test_every_run_shown_behaves_as_its_step_says(lessons: dict[str, Lesson]) -> None:
    diverged = set()
    for lesson in lessons.values():
        for number, step in enumerate(lesson.steps, start=1):
            view = step.view
            if view is None or not view.runs:
                continue
            start = list(view.start) if view.start is not None else list(suggest_defaults(view.objective).start)
            for run in view.runs:
                batch = 8 if run.name == "sgd" and view.data else None
                trajectory = descend(view.objective, start, run, steps=view.steps, batch_size=batch)
                if trajectory.diagnosis.status in ("diverged", "unbounded"):
                    diverged.add((lesson.id, number, str(run)))
    assert diverged == MEANT_TO_DIVERGE


def test_views_are_sent_as_the_explorer_state(lessons: dict[str, Lesson]) -> None:
    view = lessons["02-hill-descending"].steps[3].view
    assert view is not None
    shown = view.to_dict()
    assert shown["source"] == "data" and (shown["model"], shown["data"]) == ("line", "linear")
    assert shown["runs"] == [{"name": "gd", "hyper": {"lr": 0.1}}, {"name": "sgd", "hyper": {"lr": 0.1}}]
    kinds = {step.view.kind for lesson in lessons.values() for step in lesson.steps if step.view}
    assert kinds == {"curve", "contour", "3d", "race", "boundary", "levels"}


def test_a_formula_view_keeps_its_parameter_order(lessons: dict[str, Lesson]) -> None:
    from losslab.objectives.from_text import objective_from_text

    view = lessons["03-learning-a-line"].steps[4].view  # vars: m,b — not the natural order b, m
    assert view is not None
    shown = view.to_dict()
    assert shown["loss"].startswith("L(m, b) = ") and shown["names"] == ["m", "b"]
    assert objective_from_text(shown["loss"]).names == ("m", "b")  # what the page's /api/objective reads
