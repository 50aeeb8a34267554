"""The explorer clicked in arbitrary orders: a seeded generator draws sequences of actions (edit a box, step,
step back, play, pause, switch the loss's source, gallery entry, formula or data, add or remove optimizers,
change the steps, hover, click the map) and, after each, once the page is idle, the state shown must equal
the state computed: the step counter against the table's step column, θ and L in the table against the
race the page holds and against a fresh /api/race for the page's state, the map's marks against θ_k, the
curvature panel's dimension against the loss's.

A failure names the seed and the actions so far; rerun one sequence with ``LOSSLAB_SEEDS=7``, a longer one
with ``LOSSLAB_ACTIONS=100``. The walks run in Chromium without WebGL (``flat_browser``): they check state, not the
3-D surface's pixels, which the explorer's own tests draw.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any

import pytest
from explorer_page import check_consistent, open_page, state_url, wait_idle

SEEDS = [int(s) for s in os.environ.get("LOSSLAB_SEEDS", "1,2,3").split(",")]
ACTIONS = int(os.environ.get("LOSSLAB_ACTIONS", "40"))
# losses whose analysis takes well under a second, so that a sequence spends its time on the page
GALLERY = ("case_study_2", "case_study_1", "hand_simulation", "double_well", "cone", "himmelblau", "rosenbrock",
           "saddle", "booth", "ill_conditioned", "three_hump_camel", "styblinski_tang")  # fmt: skip
FORMULAS = ("(w0 - 1)**2 + 3*(w1 + 2)**2", "x^2 - 4x + 5", "w**4 - 3*w**2 + w", "0*w", "w0 +* 2",
            "x**2 + y**2 + z**2", "abs(x) + y**2", "(a - 1)**2 + (b + 1)**2 + a*b")  # fmt: skip
MODELS = ("line_origin", "line", "quadratic", "logistic")
SYNTHETIC = ("case_study_1", "linear", "quadratic", "labels")
OPTIMIZERS = ("gd", "momentum", "nesterov", "adam", "rmsprop", "adagrad", "sgd")


def visible(page: Any, selector: str) -> bool:
    return bool(page.locator(selector).count()) and page.locator(selector).first.is_visible()


def edit(page: Any, rng: random.Random, selector: str, value: str) -> str:
    """Type into a box; then leave it (Tab), or not: the next action's click leaves it."""
    page.fill(selector, value)
    if rng.random() < 0.6:
        page.press(selector, "Tab")
        return f"{selector} = {value}, left"
    return f"{selector} = {value}"


def edit_start(page: Any, rng: random.Random) -> str:
    boxes = page.locator("#start-inputs input")
    if not boxes.count():
        return "no start box"
    i = rng.randrange(boxes.count())
    return edit(page, rng, f"#start-inputs input[data-index='{i}']", f"{rng.uniform(-3, 3):.2g}")


def edit_lr(page: Any, rng: random.Random) -> str:
    count = page.locator("#runner-list .runner").count()
    if not count:
        return "no optimizer"
    return edit(page, rng, f"[data-testid='knob-{rng.randrange(count)}-lr']", f"{10 ** rng.uniform(-3, -0.5):.2g}")


def edit_steps(page: Any, rng: random.Random) -> str:
    return edit(page, rng, "#steps-input", str(rng.choice((1, 2, 8, 30, 60, 100))))


def click(selector: str) -> Callable[[Any, random.Random], str]:
    def act(page: Any, rng: random.Random) -> str:
        page.click(selector)
        return f"click {selector}"

    return act


def play(page: Any, rng: random.Random) -> str:
    page.click("#btn-play")  # play, or pause when it plays
    page.wait_for_timeout(rng.choice((0, 100, 400)))
    return "click #btn-play"


def source(page: Any, rng: random.Random) -> str:
    value = rng.choice(("gallery", "formula", "data"))
    page.check(f"input[name='source'][value='{value}']")
    return f"source {value}"


def choose(selector: str, values: tuple[str, ...], radio: str) -> Callable[[Any, random.Random], str]:
    def act(page: Any, rng: random.Random) -> str:
        page.check(f"input[name='source'][value='{radio}']")
        value = rng.choice(values)
        page.select_option(selector, value)
        return f"{selector} {value}"

    return act


def formula(page: Any, rng: random.Random) -> str:
    page.check("input[name='source'][value='formula']")
    text = rng.choice(FORMULAS)
    page.fill("#formula-input", text)
    return f"formula {text}"


def add(page: Any, rng: random.Random) -> str:
    if page.locator("#runner-list .runner").count() >= 4:
        return "four optimizers already"
    name = rng.choice(OPTIMIZERS)
    page.select_option("#optimizer-select", name)
    page.click("#add-optimizer")
    return f"add {name}"


def remove(page: Any, rng: random.Random) -> str:
    count = page.locator("#runner-list .remove").count()
    if not count:
        return "nothing to remove"
    page.locator("#runner-list .remove").nth(rng.randrange(count)).click()
    return "remove"


def over_the_map(page: Any, rng: random.Random, clicking: bool) -> str:
    if not visible(page, "#plot-main .nsewdrag"):
        return "no map"
    page.locator("#plot-main").scroll_into_view_if_needed()
    box = page.locator("#plot-main .nsewdrag").first.bounding_box()
    x, y = box["x"] + box["width"] * rng.uniform(0.1, 0.9), box["y"] + box["height"] * rng.uniform(0.1, 0.9)
    if clicking:
        page.mouse.click(x, y)
        return "click the map"
    page.mouse.move(x, y)
    page.wait_for_timeout(250)  # the inspector asks 120 ms after the mouse stops
    return "hover"


ACTIONS_BY_WEIGHT: list[tuple[int, Callable[[Any, random.Random], str]]] = [
    (3, edit_start), (3, edit_lr), (2, edit_steps), (5, click("#btn-forward")), (3, click("#btn-back")),
    (1, click("#btn-reset")), (3, play), (1, source), (2, choose("#gallery-select", GALLERY, "gallery")),
    (2, formula), (1, choose("#model-select", MODELS, "data")), (1, choose("#synthetic-select", SYNTHETIC, "data")),
    (2, add), (2, remove), (2, lambda page, rng: over_the_map(page, rng, False)),
    (1, lambda page, rng: over_the_map(page, rng, True)),
]  # fmt: skip


@pytest.mark.parametrize("seed", SEEDS)
def test_any_order_of_actions_shows_what_was_computed(flat_browser: Any, server_url: str, seed: int) -> None:
    rng = random.Random(seed)
    width, height = (1280, 800) if seed % 2 else (420, 900)
    page = open_page(flat_browser, state_url(server_url, speed=60), width, height)
    wait_idle(page)
    weights, actions = zip(*ACTIONS_BY_WEIGHT, strict=True)
    done: list[str] = []
    seen: dict[str, int] = {}
    began = time.monotonic()
    for _ in range(ACTIONS):
        action = rng.choices(actions, weights)[0]
        done.append(action(page, rng))
        try:
            wait_idle(page)
            snap = check_consistent(page, server_url)
        except Exception as error:
            steps = "\n  ".join(done)
            raise AssertionError(f"seed {seed} at {width}×{height}, after:\n  {steps}\n{error}") from error
        shown = "no loss" if snap["info"] is None else f"{snap['info']['dim']}-D" + ("" if snap["race"] else " no race")
        seen[shown] = seen.get(shown, 0) + 1
    # what the sequence went through, for the log (pytest -s): e.g. {'2-D': 25, '1-D': 11, 'no loss': 4}
    print(f"seed {seed}: {ACTIONS} actions at {width}×{height} in {time.monotonic() - began:.1f} s, states {seen}")
    page.close()
