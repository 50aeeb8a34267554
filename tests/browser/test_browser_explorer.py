"""The explorer used as a person would: pick the bowl, set a start, race GD and Adam, read the numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import torch
from explorer_page import wait_idle
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from losslab.descent.race import Runner, race
from losslab.objectives.data_models import model_objective


def open_page(browser: Any, url: str, width: int, height: int) -> Any:
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    page.errors = errors
    return page


def wait_for_race(page: Any, rows: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('#numbers tr').length === {rows + 1}", timeout=20_000)


def test_a_start_picked_while_the_suggestion_is_asked_for_is_kept(browser: Any, server_url: str) -> None:
    """A click on the map made before the server's suggested start arrives is the start: the suggestion took its place
    when the server was slow (found when test_race_gd_and_adam_on_the_bowl ran beside another test process). The
    suggestion is held here until the click is made, then let through."""
    page = open_page(browser, server_url + '/#{"gallery":"hand_simulation"}', 1280, 800)
    held: list[Any] = []
    page.route("**/api/suggest", lambda route: held.append(route))
    page.select_option("#gallery-select", "case_study_2")  # a new loss: no start until the suggestion comes
    page.wait_for_selector("#plot-main .contourlayer", state="attached", timeout=30_000)
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(50)
    assert held and page.evaluate("window.losslab.live.suggestion") is None
    box = page.locator("#plot-main .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)
    picked = page.evaluate("window.losslab.state.start")
    assert 2.5 < picked[0] < 5 and 0 < picked[1] < 3  # upper right of the box w0 ∈ [−1, 5], w1 ∈ [−3, 3]
    page.fill("[data-testid='knob-0-lr']", "0.0123")  # and the first optimizer's rate typed meanwhile
    page.dispatch_event("[data-testid='knob-0-lr']", "change")
    for route in held:
        route.continue_()
    page.unroute("**/api/suggest")
    page.wait_for_function("window.losslab.live.suggestion !== null", timeout=30_000)
    wait_idle(page)
    assert page.evaluate("window.losslab.state.start") == picked
    runners, rates = page.evaluate("[window.losslab.state.runners, window.losslab.live.suggestion.lrs]")
    assert runners[0]["hyper"]["lr"] == 0.0123  # the typed rate kept; the other optimizer's the suggested one
    assert runners[1]["hyper"]["lr"] == rates[runners[1]["name"]] != 0.0123
    assert [float(page.input_value(f"[aria-label='start {n}']")) for n in ("w0", "w1")] == picked
    assert page.errors == []
    page.close()


def test_race_gd_and_adam_on_the_bowl(browser: Any, server_url: str, shots: Path) -> None:
    page = open_page(browser, server_url + '/#{"gallery":"hand_simulation"}', 1280, 800)
    page.select_option("#gallery-select", "case_study_2")
    page.wait_for_function("document.querySelector('#objective-title').textContent.includes('Case Study 2')")
    page.wait_for_selector("#plot-main .contourlayer", state="attached", timeout=30_000)

    # a click on the contour map sets the start point
    box = page.locator("#plot-main .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)
    page.wait_for_function("document.querySelector('[aria-label=\"start w0\"]').value !== '0'")
    w0 = float(page.input_value("[aria-label='start w0']"))
    w1 = float(page.input_value("[aria-label='start w1']"))
    assert 2.5 < w0 < 5 and 0 < w1 < 3  # upper right of the box w0 ∈ [−1, 5], w1 ∈ [−3, 3]

    # …and typing sets it exactly
    for name in ("w0", "w1"):
        page.fill(f"[aria-label='start {name}']", "0")
        page.dispatch_event(f"[aria-label='start {name}']", "change")
    while page.locator("#runner-list .remove").count():
        page.locator("#runner-list .remove").first.click()
    page.select_option("#optimizer-select", "gd")
    page.click("#add-optimizer")
    page.fill("[data-testid='knob-0-lr']", "0.1")
    page.dispatch_event("[data-testid='knob-0-lr']", "change")
    page.select_option("#optimizer-select", "adam")
    page.click("#add-optimizer")
    wait_for_race(page, 2)
    # the table of the race with gd and adam, not the one before it (gd and momentum also make two rows)
    page.wait_for_function(
        "[...document.querySelectorAll('#numbers .col-name')].map(c => c.textContent.split(' ')[0]).join()"
        " === 'gd,adam'",
        timeout=20_000,
    )
    page.wait_for_function("document.querySelector('[data-testid=\"theta-0\"]').textContent === '(0, 0)'")

    page.click("#btn-forward")
    assert page.text_content("[data-testid='theta-0']") == "(0.4, 0.6)"  # one GD step from (0, 0)
    assert page.text_content("[data-testid='loss-0']") == "0.58"
    # Adam's first step is lr·sign(g), at the rate the server suggests for this loss: a fiftieth of its box, 0.1
    assert page.text_content("[data-testid='theta-1']") == "(0.1, 0.1)"
    assert page.text_content("#step-label") == "step 1 of 100"

    page.fill("#speed-input", "60")
    page.dispatch_event("#speed-input", "input")
    page.click("#btn-play")
    page.wait_for_function("document.querySelector('#step-label').textContent === 'step 100 of 100'", timeout=15_000)
    assert "step" in page.text_content("[data-testid='diagnosis-0']")
    page.click("#btn-back")
    assert page.text_content("#step-label") == "step 99 of 100"
    with page.expect_download() as download:
        page.click("#btn-csv")
    rows = Path(download.value.path()).read_text().splitlines()
    assert rows[0] == "optimizer,step,w0,w1,L,dL/dw0,dL/dw1,grad_norm,lr"
    assert rows[2].startswith("gd (lr 0.1),1,0.4,0.6") and rows[2].split(",")[4] == "0.58"
    assert "lr" in page.url and "case_study_2" in page.url.replace("%22", "")  # the state is in the URL
    page.screenshot(path=str(shots / "explore-1280x800.png"))
    page.screenshot(path=str(shots / "explore-1280-full.png"), full_page=True)
    assert page.errors == []
    page.close()


def test_state_in_the_url_is_restored(browser: Any, server_url: str) -> None:
    page = open_page(browser, server_url, 1280, 800)
    page.select_option("#gallery-select", "double_well")
    page.wait_for_function("document.querySelector('#objective-title').textContent.includes('double well')")
    wait_for_race(page, 2)
    shared = page.url
    page.close()
    again = open_page(browser, shared, 1280, 800)
    assert again.input_value("#gallery-select") == "double_well"
    assert again.locator("#runner-list .runner").count() == 2
    again.close()


def test_bad_formula_shows_the_parsers_error(browser: Any, server_url: str, shots: Path) -> None:
    page = open_page(browser, server_url, 420, 900)
    page.check("input[name='source'][value='formula']")
    page.fill("#formula-input", "w0 +* 2")
    page.wait_for_function("document.querySelector('#formula-error').textContent.includes('column 5')")
    text = page.text_content("#formula-error")
    assert "column 5" in text and "\n    ^\n" in text  # the caret sits under column 5 (the parser's words vary)
    page.fill("#formula-input", "(w0 - 1)**2 + 2*(w1 + 2)**2")
    page.wait_for_function("document.querySelector('#objective-title').textContent.includes('2*(w1 + 2)**2')")
    assert page.text_content("#formula-error") == ""
    wait_for_race(page, 2)
    for _ in range(3):
        page.click("#btn-forward")
    page.wait_for_function("document.querySelector('#step-label').textContent.startsWith('step 3 ')")
    page.screenshot(path=str(shots / "explore-420x900.png"), full_page=True)
    # on a phone the live numbers fit their box: no sideways scrolling to reach |∇L| or the diagnosis
    box = "document.querySelector('#live .scroll')"
    assert page.evaluate(f"{box}.scrollWidth <= {box}.clientWidth")
    page.close()


def test_bowl_vs_mountains(browser: Any, server_url: str, shots: Path) -> None:
    page = open_page(browser, server_url, 1280, 800)
    page.click("#tab-compare")
    page.wait_for_function("document.querySelector('#landscape-message').textContent === 'done'", timeout=90_000)
    assert page.locator("#plot-bowl .gl-container").count() == 1
    assert page.locator("#plot-mountains .gl-container").count() == 1
    assert "Mountains" in page.text_content("#plot-mountains")
    page.screenshot(path=str(shots / "compare-1280x800.png"))
    page.set_viewport_size({"width": 420, "height": 900})
    page.wait_for_timeout(500)
    page.screenshot(path=str(shots / "compare-420x900.png"), full_page=True)
    assert page.errors == []
    page.close()


def state_url(server_url: str, **state: Any) -> str:
    return f"{server_url}/#{quote(json.dumps(state))}"


def set_speed(page: Any, steps_per_second: int) -> None:
    page.fill("#speed-input", str(steps_per_second))
    page.dispatch_event("#speed-input", "input")


def test_newest_start_wins_then_the_race_downloads_as_gif(browser: Any, server_url: str) -> None:
    runners = [{"name": "gd", "hyper": {"lr": 0.1}}, {"name": "adam", "hyper": {"lr": 0.1}}]
    page = open_page(browser, state_url(server_url, gallery="case_study_2", runners=runners, steps=6), 1280, 800)
    wait_for_race(page, 2)
    page.wait_for_selector("#plot-main .contourlayer", state="attached")

    # two clicks on the map; the first start's race is held in flight until after the second
    held: list[Any] = []
    aborted: list[str] = []
    page.on("requestfailed", lambda request: aborted.append(request.url) if "/api/race" in request.url else None)
    page.route("**/api/race", lambda route: held.append(route) if not held else route.continue_())
    box = page.locator("#plot-main .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(10)
    assert held, "the first race request never left the page"
    first = page.input_value("[aria-label='start w0']"), page.input_value("[aria-label='start w1']")
    # Plotly hands a click to the page on its own schedule, and one that lands while the map is being
    # redrawn after the first start is lost (seen once in a full suite on 2 busy cores): click again
    # until the start moves, each time past Plotly's doubleClickDelay (300 ms; sooner is a double-click)
    moved = f"document.querySelector(\"[aria-label='start w0']\").value !== '{first[0]}'"
    for _ in range(3):
        page.wait_for_timeout(400)
        page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
        try:
            page.wait_for_function(moved, timeout=3_000)
            break
        except PlaywrightTimeout:
            continue
    else:
        raise AssertionError("three clicks on the map never moved the start")
    second = page.input_value("[aria-label='start w0']"), page.input_value("[aria-label='start w1']")
    assert first != second
    shown = f"({float(second[0]):g}, {float(second[1]):g})"
    page.wait_for_function(f"document.querySelector('[data-testid=\"theta-0\"]').textContent === '{shown}'")
    try:
        held[0].continue_()  # the first answer, late: the page has already given up on it
    except Exception:  # noqa: BLE001 - Playwright refuses to continue a request the page aborted
        pass
    page.wait_for_timeout(300)
    assert page.text_content("[data-testid='theta-0']") == shown  # the newest start won
    assert aborted == [held[0].request.url], "the superseded race was aborted"
    page.unroute("**/api/race")

    # the race from the second start as a GIF
    with page.expect_download(timeout=60_000) as download:
        page.click("#btn-gif")
        assert page.text_content("#btn-gif") == "Rendering GIF…" and page.is_disabled("#btn-gif")
    assert download.value.suggested_filename == "losslab-race.gif"
    with Image.open(download.value.path()) as image:
        assert image.format == "GIF" and image.n_frames == 7  # one frame per step: 6 steps ≤ the 30 asked
    page.wait_for_function("document.querySelector('#btn-gif').textContent === 'Run as GIF'")
    assert "losslab-race.gif" in page.text_content("#status") and page.errors == []
    page.close()


def data_traces(page: Any) -> list[dict[str, Any]]:
    script = "() => document.getElementById('plot-data').data.map((t) => ({mode: t.mode, x: t.x, y: t.y}))"
    return list(page.evaluate(script))


def wait_for_caption(page: Any, step: int, timeout: float = 20_000) -> None:
    page.wait_for_function(
        f"document.querySelector('#data-caption').textContent.startsWith('step {step}:')", timeout=timeout
    )


def test_data_panel_shows_the_points_and_the_fit_at_each_step(browser: Any, server_url: str, shots: Path) -> None:
    data = {"model": "line", "synthetic": "case_study_1", "points": ""}
    runners = [{"name": "gd", "hyper": {"lr": 0.02}}, {"name": "adam", "hyper": {"lr": 0.3}}]
    page = open_page(browser, state_url(server_url, source="data", data=data, runners=runners, steps=60), 1280, 800)
    wait_for_caption(page, 0)
    points, fit = data_traces(page)
    assert points["mode"] == "markers" and len(points["x"]) == 5 and points["y"] == [2.1, 3.9, 6.1, 8.0, 9.9]

    loss = model_objective([1.0, 2.0, 3.0, 4.0, 5.0], [2.1, 3.9, 6.1, 8.0, 9.9], "line")
    gd = race(loss, [0, 0], [Runner("gd", {"lr": 0.02})], 60).runs[0]
    grid = torch.tensor(fit["x"], dtype=torch.float64)
    for step in (1, 2, 3):
        page.click("#btn-forward")
        wait_for_caption(page, step)
        _, fit = data_traces(page)
        expected = loss.predict(gd.params[step], {"x": grid})  # the library's model at θ_step
        np.testing.assert_allclose(fit["y"], expected.numpy(), rtol=1e-12, atol=1e-12)
    page.select_option("#data-runner", "1")  # the fit of the second optimizer, Adam, in its colour
    page.wait_for_function("document.getElementById('plot-data').data.at(-1).line.color === '#1f77b4'")
    set_speed(page, 60)
    page.click("#btn-play")
    wait_for_caption(page, 60, timeout=15_000)
    page.screenshot(path=str(shots / "explore-data-1280x800.png"))

    # a logistic classifier on 0/1 labels, on a phone-sized screen
    page.select_option("#model-select", "logistic")
    page.select_option("#synthetic-select", "labels")  # supersedes the objective just asked for
    page.wait_for_function("document.querySelector('#objective-title').textContent.includes('logistic')")
    page.set_viewport_size({"width": 420, "height": 900})
    wait_for_caption(page, 0)
    zeros, ones, curve = data_traces(page)
    assert len(zeros["x"]) + len(ones["x"]) == 30  # the page asks for 30 synthetic points
    assert set(zeros["y"]) == {0} and set(ones["y"]) == {1}
    assert all(v == 0.5 for v in curve["y"])  # σ(0) at the start θ = (0, 0)
    page.click("#btn-play")
    wait_for_caption(page, 60, timeout=15_000)
    _, _, curve = data_traces(page)
    assert curve["y"] == sorted(curve["y"]) and curve["y"][0] < 0.5 < curve["y"][-1]  # P(y=1) rises with x
    assert page.evaluate("document.documentElement.scrollWidth") <= 420  # nothing wider than the screen
    page.screenshot(path=str(shots / "explore-data-420x900.png"), full_page=True)
    assert page.errors == []
    page.close()


def test_textbook_formula_with_greek_letters_is_read_and_raced(browser: Any, server_url: str, shots: Path) -> None:
    page = open_page(browser, server_url, 1280, 800)
    page.check("input[name='source'][value='formula']")
    page.fill("#formula-input", "(1 - θ₀)^2 + 10 (θ₁ - θ₀^2)^2")
    page.wait_for_function("document.querySelector('#objective-title').textContent.includes('θ₀')")
    assert page.text_content("#formula-error") == ""
    wait_for_race(page, 2)
    assert page.locator("[aria-label='start theta0']").count() == 1  # the parameters under their read names
    page.screenshot(path=str(shots / "explore-greek.png"), full_page=True)
    assert not page.errors
    page.close()


def test_the_map_is_drawn_to_scale_where_its_spans_are_alike(browser: Any, server_url: str) -> None:
    """Case Study 2's box w0 ∈ [−1, 5], w1 ∈ [−3, 3]: one unit is as many pixels on both axes (its tilted ellipses
    drawn as they are, not stretched to the panel's width)."""

    def pixels_per_unit(page: Any) -> list[float]:
        return page.evaluate(
            "(() => { const l = document.getElementById('plot-main')._fullLayout;"
            " return [l.xaxis._length / (l.xaxis.range[1] - l.xaxis.range[0]),"
            " l.yaxis._length / (l.yaxis.range[1] - l.yaxis.range[0])]; })()"
        )

    page = open_page(browser, server_url + '/#{"gallery":"case_study_2"}', 1600, 700)  # a wide panel
    page.wait_for_selector("#plot-main .contourlayer", state="attached", timeout=30_000)
    wait_idle(page)
    across, up = pixels_per_unit(page)
    assert abs(across - up) <= 0.01 * across, (across, up)
    assert page.errors == []
