"""The README's explorer screenshots, taken again from the page as it is now: Debian's Chromium driven by
Playwright, as the browser tests do.

    .venv/bin/python docs/screenshots.py            # writes docs/images/explorer.png, explorer_data.png,
                                                    # explorer-connect.png

Each picture is a page state (the link's hash) played to its last step; nothing is arranged by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from losslab.web import ServerConfig, create_app
from losslab.web.background import served

CHROMIUM = "/usr/bin/chromium"
IMAGES = Path(__file__).parent / "images"
IDLE = "() => window.losslab && window.losslab.idle()"

RACE = {  # four optimizers from near Himmelblau's maximum, to three of its minima
    "source": "gallery", "gallery": "himmelblau", "start": [-0.3, -0.2], "steps": 120, "speed": 60,
    "runners": [
        {"name": "gd", "hyper": {"lr": 0.01}},
        {"name": "momentum", "hyper": {"lr": 0.002, "momentum": 0.9}},
        {"name": "adam", "hyper": {"lr": 0.1, "betas": [0.9, 0.999]}},
        {"name": "newton", "hyper": {"lr": 1}},
    ],
}  # fmt: skip
DATA = {  # Case Study 1's five points and a line, GD against Adam
    "source": "data", "data": {"model": "line", "synthetic": "case_study_1", "points": ""}, "start": [0, 0],
    "steps": 60, "speed": 60,
    "runners": [{"name": "gd", "hyper": {"lr": 0.02}}, {"name": "adam", "hyper": {"lr": 0.3, "betas": [0.9, 0.999]}}],
}  # fmt: skip
CONNECT = {"source": "gallery", "gallery": "himmelblau", "steps": 20}


def _open(browser: Any, url: str, state: dict[str, Any]) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{url}/#{quote(json.dumps(state))}")
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    _idle(page)
    return page


def _idle(page: Any) -> None:
    for _ in range(3):
        page.wait_for_function(IDLE, timeout=120_000, polling=50)
        page.wait_for_timeout(300)


def _played(page: Any, steps: int) -> None:
    """Play to the last step and let the 3-D paths catch up."""
    page.click("#btn-play")
    page.wait_for_function(
        f"document.querySelector('#step-label').textContent.startsWith('step {steps} ')", timeout=60_000
    )
    _idle(page)
    page.evaluate("window.scrollTo(0, 0)")  # the Play button is below the fold at 1280×800
    page.wait_for_timeout(1000)


def main() -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is not installed (apt-get install chromium)")
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with served(create_app(ServerConfig())) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = _open(browser, url, RACE)
        _played(page, RACE["steps"])
        page.screenshot(path=str(IMAGES / "explorer.png"))
        page.close()

        page = _open(browser, url, DATA)
        _played(page, DATA["steps"])
        page.screenshot(path=str(IMAGES / "explorer_data.png"))
        page.close()

        page = _open(browser, url, CONNECT)
        page.wait_for_selector("#connect-panel:not([hidden])")
        texts = page.eval_on_selector_all("#connect-a option", "(os) => os.map((o) => o.textContent)")
        page.select_option("#connect-a", str(next(i for i, t in enumerate(texts) if t.startswith("(3, 2)"))))
        page.select_option("#connect-b", str(next(i for i, t in enumerate(texts) if t.startswith("(-2.8"))))
        page.click("#connect-go")
        page.wait_for_selector("[data-testid='path-barrier']")
        _idle(page)
        top = page.locator("#objective-title").bounding_box()
        bottom = page.locator("#connect-result").bounding_box()
        left = page.locator("#plot-main").bounding_box()
        height = bottom["y"] + bottom["height"] - top["y"] + 20
        clip = {"x": left["x"] - 15, "y": top["y"] - 10, "width": 950, "height": height}
        page.screenshot(path=str(IMAGES / "explorer-connect.png"), clip=clip)
        page.close()
        browser.close()
    for name in ("explorer.png", "explorer_data.png", "explorer-connect.png"):
        print(f"written {IMAGES / name}")


if __name__ == "__main__":
    main()
