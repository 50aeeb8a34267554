"""Chapter 3's decision boundaries, trained live in the lesson: a hyperplane on two clusters and a hypersphere
around a ring's inner class, the boundary moving with the step shown — checked against the API's own frames."""

from __future__ import annotations

import json
import math
import urllib.request
from pathlib import Path
from typing import Any

from explorer_page import open_page, wait_idle

LESSON = "05-classifiers-and-gradients"
SHOWN = """() => { const el = document.getElementById('plot-boundary'); const b = window.losslab.live.boundary;
  return { hidden: document.getElementById('boundary-panel').hidden, traces: el.data ? el.data.length : 0,
           z: el.data ? el.data[1].z : null, caption: document.getElementById('boundary-caption').textContent,
           steps: b ? b.steps : null, race: window.losslab.live.race, spec: window.losslab.live.spec }; }"""


def post(server_url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(server_url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return dict(json.loads(answer.read()))


def shown_at_end(page: Any, server_url: str) -> dict[str, Any]:
    """Go to the last step; the boundary drawn there is the API's for that step's θ."""
    first = page.evaluate(SHOWN)
    assert not first["hidden"] and first["traces"] == 4, first
    last = len(first["race"]["runs"][0]["params"]) - 1
    page.fill("#speed-input", "60")
    page.dispatch_event("#speed-input", "input")
    page.click("#btn-play")
    page.wait_for_function(f"document.getElementById('boundary-caption').textContent.startsWith('step {last}:')",
                           timeout=20_000)  # fmt: skip
    end = page.evaluate(SHOWN)
    theta = end["race"]["runs"][0]["params"][last]
    fresh = post(server_url, "/api/boundary", {"objective": end["spec"], "params": [theta], "points": 31})
    assert end["z"] == fresh["probability"][0]  # the boundary drawn is the library's at the last step
    assert end["z"] != first["z"]  # and it moved
    return {"theta": theta, "names": end["race"]["names"]}


def test_hyperplane_and_hypersphere_trained_live(browser: Any, server_url: str, shots: Path) -> None:
    page = open_page(browser, f"{server_url}/?lesson={LESSON}&step=1", 1280, 800)
    page.wait_for_selector("#boundary-panel:not([hidden])", timeout=30_000)
    wait_idle(page)
    plane = shown_at_end(page, server_url)
    assert plane["names"] == ["w0", "w1", "w2"]
    w0, w1, w2 = plane["theta"]
    assert w1 > 0 and w2 > 0 and abs(w0) < 0.5 * math.hypot(w1, w2)  # a line between (−1, −1) and (1, 1)
    page.screenshot(path=str(shots / "boundary-hyperplane-1280x800.png"), full_page=True)
    page.click("#lesson-next")
    page.wait_for_function("window.losslab.live.spec && window.losslab.live.spec.model === 'hypersphere'")
    wait_idle(page)
    sphere = shown_at_end(page, server_url)
    c1, c2, r = sphere["theta"]
    assert math.dist((c1, c2), (0.4, 0.2)) < 0.3 and 0.9 < abs(r) < 1.6  # the circle sits in the ring's gap
    page.fill("#speed-input", "8")
    page.dispatch_event("#speed-input", "input")
    page.set_viewport_size({"width": 420, "height": 900})
    page.wait_for_timeout(400)
    page.screenshot(path=str(shots / "boundary-hypersphere-420x900.png"), full_page=True)
    # the Explore tab keeps the classifier, and offers the others: the hyperplane on the ring cannot separate it
    page.click("#tab-explore")
    assert page.is_checked("input[name='source'][value='classifier']")
    assert page.input_value("#classifier-select") == "hypersphere:ring"
    page.select_option("#classifier-select", "hyperplane:ring")
    page.wait_for_function("window.losslab.live.spec.model === 'hyperplane' && window.losslab.live.boundary")
    assert page.locator("#plot-boundary").is_visible()
    assert page.errors == []
    page.close()
