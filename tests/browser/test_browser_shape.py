"""The shape of a landscape on the page: the basins and merge trees beside bowl and mountains, and the
minimum-energy path between two of Himmelblau's minima — the page's figures against the API's and the gallery's."""

from __future__ import annotations

import json
import math
import urllib.request
from pathlib import Path
from typing import Any

from explorer_page import number, numbers, open_page, state_url, wait_idle

from losslab.objectives.gallery import gallery

SADDLE_TOLERANCE = 1e-4  # the climbing image polished by Newton lands within 1e-10; the page prints 6 digits


def post(server_url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(server_url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return dict(json.loads(answer.read()))


def test_basins_and_merge_trees_beside_bowl_and_mountains(browser: Any, server_url: str, shots: Path) -> None:
    page = open_page(browser, server_url, 1280, 800)
    page.click("#tab-compare")
    page.wait_for_function("document.querySelector('#landscape-message').textContent === 'done'", timeout=90_000)
    job = post(server_url, "/api/landscape/jobs", {"points": 41, "span": 1.0, "seed": 0})  # the same job, reused
    assert job["status"] == "done"
    for side, key in (("bowl", "bowl_basins"), ("mountains", "network_basins")):
        shape = job["result"][key]
        assert page.text_content(f"#basins-{side}") == shape["summary"]
        tree = page.evaluate(f"document.getElementById('tree-{side}').data.map((t) => t.x.length)")
        assert tree[-1] == len(shape["basins"])  # the minima of the tree, one per basin
        # the minima on the surface and in the tree have the same colour per basin
        colours = page.evaluate(f"""(() => {{
            const surface = document.getElementById('plot-{side}').data[1].marker.color;
            const tree = document.getElementById('tree-{side}').data.at(-1).marker.color;
            return [surface, tree]; }})()""")
        assert colours[0] == colours[1] and len(colours[0]) == len(shape["basins"])
    assert len(job["result"]["bowl_basins"]["basins"]) == 1
    assert len(job["result"]["network_basins"]["basins"]) > 1
    page.screenshot(path=str(shots / "basins-1280x800.png"), full_page=True)
    assert page.errors == []
    page.close()


def test_connect_two_minima_of_himmelblau(browser: Any, server_url: str, shots: Path) -> None:
    page = open_page(browser, state_url(server_url, gallery="himmelblau", steps=20), 1280, 800)
    wait_idle(page)
    page.wait_for_selector("#connect-panel:not([hidden])")
    options = page.eval_on_selector_all("#connect-a option", "(os) => os.map((o) => o.textContent)")
    minima = [numbers(text) for text in options]
    assert len(minima) == 4
    a = next(i for i, p in enumerate(minima) if math.isclose(p[0], 3) and math.isclose(p[1], 2))
    b = next(i for i, p in enumerate(minima) if p[0] < -2.5 and p[1] > 3)  # (−2.805, 3.131): across the 67.7 saddle
    page.select_option("#connect-a", str(a))
    page.select_option("#connect-b", str(b))
    with page.expect_request("**/api/path") as asked:
        page.click("#connect-go")
    page.wait_for_selector("[data-testid='path-barrier']")
    wait_idle(page)
    api = post(server_url, "/api/path", asked.value.post_data_json)  # the page's request, asked again
    shown_barrier = number(page.text_content("[data-testid='path-barrier']"))
    assert math.isclose(shown_barrier, api["barrier"], rel_tol=1e-5)  # the page prints 6 digits
    assert page.evaluate("window.losslab.live.energyPath.barrier") == api["barrier"]
    saddle = numbers(page.text_content("[data-testid='path-saddle']"))
    known = min((p for p in gallery("himmelblau").known_points if p.kind == "saddle"),
                key=lambda p: math.dist(p.point, saddle))  # fmt: skip
    assert math.dist(known.point, saddle) < SADDLE_TOLERANCE and math.isclose(known.value, 67.71915008752615)
    # the path is drawn on the map and in 3-D, its saddle marked
    traces = "(id) => document.getElementById(id).data.map((t) => t.name)"
    names = page.evaluate(f"['plot-main', 'plot-surface'].map({traces})")
    for traces in names:
        assert "minimum-energy path" in traces and "saddle of the path" in traces
    page.screenshot(path=str(shots / "connect-1280x800.png"), full_page=True)
    page.set_viewport_size({"width": 420, "height": 900})
    page.wait_for_timeout(400)
    page.screenshot(path=str(shots / "connect-420x900.png"), full_page=True)
    assert page.errors == []
    page.close()
