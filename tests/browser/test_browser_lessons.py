"""The Lessons tab as a student takes it: every lesson from its first step to its last, each question answered
wrongly once (the hint shows) and then rightly (the explanation shows), at 1280×800 and at 420×900.

The right and wrong answers come from the same lessons loaded in-process (what losslab computed), so the
page is checked against the library, not against numbers typed here.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from explorer_page import open_page, wait_idle

from lesson_texts import right_and_wrong
from losslab.course.lesson_questions import Question
from losslab.course.lessons import Library

# a click on the curve or map at data coordinates, as Plotly reports one
CLICK_THE_MAP = "(p) => document.getElementById('plot-main').emit('plotly_click', { points: [{ x: p[0], y: p[1] }] })"
# (width, height, wait for every step's pictures): the wide walk looks at every picture, 3-D surfaces drawn (WebGL);
# the narrow one checks the steps and questions on a phone's width in Chromium without WebGL (flat_browser: its 3-D
# views say "WebGL is not supported"), which takes a third less time.
VIEWPORTS = [(1280, 800, True), (420, 900, False)]


@pytest.fixture(scope="module")
def library(server_url: str) -> Library:
    """Every lesson loaded here before the page asks the server for any (once the server is up): torch's
    forward-mode AD levels are process-global, and this process also runs the server's thread."""
    shelf = Library()
    for entry in shelf.catalogue():
        shelf.lesson(entry["id"])
    return shelf


def answer(page: Any, form: Any, q: Question, given: Any) -> None:
    if q.kind == "choice":
        form.locator(f"input[value='{given}']").check()
        form.locator("button[type=submit]").click()
    elif q.kind == "predict":
        form.locator(f"button[value='{given}']").click()
    elif q.kind == "click":
        form.locator(".click-map").click()  # the next click on the map is the answer
        page.evaluate(CLICK_THE_MAP, given)
    else:
        form.locator("input[name=answer]").fill(str(given))
        form.locator("button[type=submit]").click()


def feedback(page: Any, form: Any, expected: str) -> str:
    box = form.locator(f".feedback.{expected}")
    box.wait_for(timeout=30_000)
    return str(box.text_content())


@pytest.mark.parametrize(("width", "height", "settle"), VIEWPORTS, ids=[f"{w}x{h}" for w, h, _ in VIEWPORTS])
def test_every_lesson_first_to_last_step(request: pytest.FixtureRequest, server_url: str, shots: Path,
                                         library: Library, width: int, height: int, settle: bool) -> None:  # fmt: skip
    browser = request.getfixturevalue("browser" if settle else "flat_browser")
    page = open_page(browser, server_url, width, height)
    page.locator("#tab-lessons").click()
    for entry in library.catalogue()[:5]:
        lesson = library.lesson(entry["id"])
        page.select_option("#lesson-select", entry["id"])
        page.wait_for_function(
            f"() => window.losslab.lessons.lesson && window.losslab.lessons.lesson.id === '{entry['id']}'"
        )
        if page.evaluate("window.losslab.lessons.step") != 0:
            page.evaluate("window.losslab.lessons.step = 1")  # a resumed lesson: start from its first step
            page.locator("#lesson-prev").click()
        for index, step in enumerate(lesson.steps):
            page.wait_for_function(f"() => window.losslab.lessons.step === {index}")
            shoot = index in (0, len(lesson.steps) - 1) or any(q.kind == "click" for q in step.questions)
            shoot = shoot or (step.view is not None and step.view.kind == "levels")
            if settle or shoot:  # the narrow run waits for the pictures only where it looks at them
                wait_idle(page)
            assert page.locator("#lesson-step h2").text_content() == step.title
            assert f"lesson={entry['id']}&step={index + 1}" in page.url
            if settle and step.view is not None and step.view.objective.dim <= 2:
                assert page.locator("#plot-main").is_visible()
            if settle and page.locator("#lesson-batch").is_visible():  # the mini-batch control re-runs the race
                before = page.evaluate("JSON.stringify(window.losslab.live.race.runs[1].losses)")
                page.locator("#lesson-batch-size").fill("2")
                wait_idle(page)
                assert page.evaluate("window.losslab.state.batch") == 2
                assert page.evaluate("JSON.stringify(window.losslab.live.race.runs[1].losses)") != before
                page.screenshot(path=str(shots / f"lesson-{entry['id']}-{index + 1}-batch-{width}x{height}.png"))
            if step.view is not None and step.view.kind == "levels":
                page.wait_for_function("() => (document.getElementById('lesson-levels').data || []).length === 2")
            for q in step.questions:
                form = page.locator(f"form[data-question='{q.id}']")
                form.scroll_into_view_if_needed()
                right, wrong = right_and_wrong(q)
                answer(page, form, q, wrong)
                hint = feedback(page, form, "wrong")
                assert hint.startswith("✗ Not yet.") and len(hint) > 12
                answer(page, form, q, right)
                feedback(page, form, "right")
            if shoot:
                wait_idle(page)
                page.screenshot(
                    path=str(shots / f"lesson-{entry['id']}-{index + 1}-{width}x{height}.png"), full_page=True
                )
            if index < len(lesson.steps) - 1:
                page.locator("#lesson-next").click()
    assert page.errors == [], page.errors
    page.close()


def test_a_link_resumes_a_lesson_at_a_step(browser: Any, server_url: str) -> None:
    page = open_page(browser, f"{server_url}/?lesson=02-hill-descending&step=6")
    page.wait_for_function("() => window.losslab.lessons.lesson && window.losslab.lessons.step === 5")
    wait_idle(page)
    assert page.locator("#lesson-step h2").text_content() == "Hand simulation"
    assert page.evaluate("window.losslab.state.gallery") == "hand_simulation"
    assert page.evaluate("window.losslab.state.runners") == [{"name": "gd", "hyper": {"lr": 0.3}}]
    stored = page.evaluate("JSON.parse(localStorage.getItem('losslab.lessons'))")
    assert stored["02-hill-descending"]["step"] == 5
    page.locator("#tab-explore").click()
    assert page.locator("#view-explore #stage").count() == 1 and "lesson=" not in page.url
    assert not math.isnan(page.evaluate("window.losslab.live.step"))
    page.close()
