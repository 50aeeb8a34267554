"""The explorer used as a person would: pick the bowl, set a start, race GD and Adam, read the numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any


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
    page.wait_for_function("document.querySelector('[data-testid=\"theta-0\"]').textContent === '(0, 0)'")

    page.click("#btn-forward")
    assert page.text_content("[data-testid='theta-0']") == "(0.4, 0.6)"  # one GD step from (0, 0)
    assert page.text_content("[data-testid='loss-0']") == "0.58"
    assert page.text_content("[data-testid='theta-1']") == "(0.01, 0.01)"  # Adam's first step is lr·sign(g)
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
    assert "invalid syntax" in text and "\n    ^\n" in text  # the caret sits under column 5
    page.fill("#formula-input", "(w0 - 1)**2 + 2*(w1 + 2)**2")
    page.wait_for_function("document.querySelector('#objective-title').textContent.includes('2*(w1 + 2)**2')")
    assert page.text_content("#formula-error") == ""
    page.screenshot(path=str(shots / "explore-420x900.png"), full_page=True)
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
