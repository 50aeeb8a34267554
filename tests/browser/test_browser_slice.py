"""A loss of 3 or more parameters in the Explore tab: its level surfaces (3 parameters), and a slice — vary two
parameters, hold the others — drawn as a map and a 3-D surface with the race projected onto it."""

from __future__ import annotations

import json
import math
import urllib.request
from pathlib import Path
from typing import Any

from explorer_page import open_page, state_url, wait_idle

THREE = "w0**2 + 2*w1**2 + 3*w2**2 + w0*w2"
SHOWN = """() => { const { live, state } = window.losslab; const main = document.getElementById('plot-main');
  const side = document.getElementById('plot-surface');
  const levels = document.getElementById('plot-levels');
  return { slice: live.slice && { vary: live.slice.vary, at: live.slice.at }, start: state.start, race: live.race,
    z: main.data ? main.data[0].customdata : null, mainHidden: main.hidden,
    sideTypes: side.data ? side.data.map((t) => t.type) : [],
    levels: levels.hidden ? null : (levels.data || []).map((t) => t.type), step: live.step,
    circles: (main.layout && main.layout.shapes || []).filter((s) => s.type === 'circle')
      .map((s) => [s.xanchor, s.yanchor]),
    xTitle: main.layout && main.layout.xaxis.title.text, yTitle: main.layout && main.layout.yaxis.title.text }; }"""


def post(server_url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(server_url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return dict(json.loads(answer.read()))


def check_slice(page: Any, server_url: str, formula: str, names: list[str]) -> dict[str, Any]:
    """The map is the API's slice, and each run's mark sits at its θ_k projected onto the slice's two parameters."""
    shown = page.evaluate(SHOWN)
    assert not shown["mainHidden"] and "surface" in shown["sideTypes"]
    vary = [names[k] for k in shown["slice"]["vary"]]
    assert [shown["xTitle"], shown["yTitle"]] == vary
    slice_ = {"vary": vary, "at": shown["slice"]["at"]}
    body = {"objective": {"source": "formula", "text": formula}, "points": 81, "slice": slice_}
    assert shown["z"] == post(server_url, "/api/surface", body)["values"]
    i, j = shown["slice"]["vary"]
    heads = shown["circles"][-len(shown["race"]["runs"]) :]
    for run, head in zip(shown["race"]["runs"], heads, strict=True):
        theta = run["params"][min(shown["step"], len(run["params"]) - 1)]
        assert math.isclose(head[0], theta[i], abs_tol=1e-12) and math.isclose(head[1], theta[j], abs_tol=1e-12)
    return shown


def test_three_and_four_parameters_get_level_surfaces_and_slices(browser: Any, server_url: str, shots: Path) -> None:
    runners = [{"name": "gd", "hyper": {"lr": 0.1}}, {"name": "adam", "hyper": {"lr": 0.3}}]
    url = state_url(server_url, source="formula", formula=THREE, runners=runners, steps=30)
    page = open_page(browser, url, 1280, 800)
    wait_idle(page)
    page.wait_for_selector("#slice-panel:not([hidden])")
    page.wait_for_function("document.getElementById('plot-levels').data !== undefined")
    wait_idle(page)
    shown = check_slice(page, server_url, THREE, ["w0", "w1", "w2"])
    assert shown["levels"] == ["isosurface", "cone"]
    assert shown["slice"]["at"] == shown["start"]  # the first slice goes through the start
    page.click("#btn-forward")
    page.click("#btn-forward")
    page.wait_for_function("document.querySelector('#step-label').textContent.startsWith('step 2 ')")
    check_slice(page, server_url, THREE, ["w0", "w1", "w2"])
    page.screenshot(path=str(shots / "slice-3-1280x800.png"), full_page=True)
    # vary w0 and w2, hold w1 at 0.5
    page.select_option("#slice-y", "2")
    page.wait_for_selector("[aria-label='hold w1 at']")
    page.fill("[aria-label='hold w1 at']", "0.5")
    page.dispatch_event("[aria-label='hold w1 at']", "change")
    page.wait_for_function("(() => { const s = window.losslab.live.slice; return s && s.at[1] === 0.5 && s.surface; })"
                           "()")  # fmt: skip
    wait_idle(page)
    shown = check_slice(page, server_url, THREE, ["w0", "w1", "w2"])
    assert shown["slice"]["vary"] == [0, 2]
    # the link restores that slice
    shared = open_page(browser, page.url, 1280, 800)
    wait_idle(shared)
    shared.wait_for_function("(() => { const s = window.losslab.live.slice; return s && s.surface; })()")
    wait_idle(shared)
    restored = check_slice(shared, server_url, THREE, ["w0", "w1", "w2"])
    assert restored["slice"] == shown["slice"] and restored["slice"]["at"][1] == 0.5
    assert shared.errors == []
    shared.close()
    # four parameters: a slice, no level surfaces
    four = "w0**2 + w1**2 + (w2 - 1)**2 + 0.5*w3**2"
    assert page.errors == []
    page.close()
    url = state_url(server_url, source="formula", formula=four, runners=runners, steps=10)
    page = open_page(browser, url, 420, 900)
    wait_idle(page)
    page.wait_for_selector("#slice-panel:not([hidden])")
    shown = check_slice(page, server_url, four, ["w0", "w1", "w2", "w3"])
    assert shown["levels"] is None
    page.screenshot(path=str(shots / "slice-4-420x900.png"), full_page=True)
    assert page.errors == []
    page.close()
