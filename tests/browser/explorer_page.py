"""Driving the explorer page from the tests: open it, wait until it is idle, and compare what it shows with
what it computed (and with what the server computes afresh for the state it holds)."""

from __future__ import annotations

import json
import math
import re
import urllib.request
from typing import Any
from urllib.parse import quote

IDLE = "() => window.losslab && window.losslab.idle()"

# One consistent reading of the page (one synchronous evaluate: playback cannot step in between).
SNAPSHOT = """() => {
  const { state, live } = window.losslab;
  const text = (el) => (el ? el.textContent : null);
  const rows = [...document.querySelectorAll("#numbers tr")].slice(1).map((tr) => ({
    name: text(tr.querySelector(".col-name")), step: text(tr.querySelector(".col-step")),
    theta: text(tr.querySelector(".col-theta")), loss: text(tr.querySelector(".col-loss")) }));
  const main = document.getElementById("plot-main");
  const focused = document.activeElement;
  return {
    state: JSON.parse(JSON.stringify(state)), step: live.step, playing: live.playing, race: live.race,
    info: live.info && { dim: live.info.dim, names: live.info.names, title: live.info.title },
    label: text(document.getElementById("step-label")), rows,
    title: text(document.getElementById("objective-title")),
    inspectorDim: document.getElementById("inspector-body").dataset.dim || "",
    inspectorText: text(document.getElementById("inspector-body")),
    taylorDim: live.taylor ? live.taylor.names.length : null,
    startInputs: [...document.querySelectorAll("#start-inputs input")]
      .map((i) => ({ value: i.value, focused: i === focused })),
    shapes: main && main.layout && !main.hidden
      ? (main.layout.shapes || []).map((s) => [s.type, s.xanchor, s.yanchor]) : null,
    problem: live.problem, dataPoints: live.info && live.info.data ? live.info.data.x.length : null,
  };
}"""


def open_page(browser: Any, url: str, width: int = 1280, height: int = 800) -> Any:
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{error}\n{error.stack}"))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    page.errors = errors
    return page


def state_url(server_url: str, **state: Any) -> str:
    return f"{server_url}/#{quote(json.dumps(state))}"


def wait_idle(page: Any, timeout: float = 60_000) -> None:
    """No request in flight, no debounced work waiting, no landscape drawing — twice, 50 ms apart."""
    try:
        for _ in range(2):
            page.wait_for_function(IDLE, timeout=timeout, polling=25)
            page.wait_for_timeout(50)
        page.wait_for_function(IDLE, timeout=timeout, polling=25)
    except Exception as error:
        raise AssertionError(f"the page never became idle: {page.evaluate('window.losslab.pending()')}") from error


def number(text: str) -> float:
    """A number as the page prints it (format.js fmt): "∞", "−∞", "NaN", "—" (none), else decimal."""
    return {"∞": math.inf, "−∞": -math.inf, "NaN": math.nan, "—": math.nan}.get(text, None) or float(text)


def numbers(text: str) -> list[float]:
    inner = text.strip()[1:-1]
    return [number(t.strip()) for t in inner.split(",")] if inner else []


def as_float(value: Any) -> float:
    return float(value)  # "NaN", "Infinity", "-Infinity" as the server writes them, or a number


def close(shown: float, held: float) -> bool:
    """Equal to the precision the page prints: 6 significant digits, 4 in exponent form (|v| < 1e-4 or ≥ 1e6)."""
    if math.isnan(held) or math.isnan(shown):
        return math.isnan(held) and math.isnan(shown)
    if math.isinf(held) or math.isinf(shown):
        return shown == held
    exponent_form = held != 0 and (abs(held) < 1e-4 or abs(held) >= 1e6)
    return math.isclose(shown, held, rel_tol=1e-3 if exponent_form else 1e-5, abs_tol=1e-300)


def race_body(state: dict[str, Any], data_points: int | None) -> dict[str, Any]:
    """/api/race's body for the page's state, written out again here (state.js objectiveSpec, race.js raceBody)."""
    if state["source"] == "gallery":
        spec: dict[str, Any] = {"source": "gallery", "name": state["gallery"]}
    elif state["source"] == "formula":
        spec = {"source": "formula", "text": state["formula"]}
    else:
        d = state["data"]
        spec = {"source": "data", "model": d["model"]}
        spec.update({"points": d["points"]} if d["synthetic"] == "pasted" else {"synthetic": d["synthetic"], "n": 30})
    batch = min(state.get("batch", 8), data_points) if data_points else None
    sgd_batch = {"sgd": batch} if batch else {}
    optimizers = [
        {"name": r["name"], "hyperparameters": r["hyper"], "batch_size": sgd_batch.get(r["name"])}
        for r in state["runners"]
    ]
    return {"objective": spec, "start": state["start"], "steps": state["steps"], "optimizers": optimizers}


def fresh_race(server_url: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(server_url + "/api/race", json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=60) as answer:
        return dict(json.loads(answer.read()))


def same_runs(shown: dict[str, Any], fresh: dict[str, Any]) -> bool:
    for a, b in zip(shown["runs"], fresh["runs"], strict=True):
        for key in ("params", "losses"):
            x = [as_float(v) for v in _flat(a[key])]
            y = [as_float(v) for v in _flat(b[key])]
            pairs = zip(x, y, strict=False)
            if len(x) != len(y) or not all(u == v or math.isnan(u) and math.isnan(v) for u, v in pairs):
                return False
    return True


def _flat(values: list[Any]) -> list[Any]:
    return [v for row in values for v in (row if isinstance(row, list) else [row])]


def check_consistent(page: Any, server_url: str, *, fresh: bool = True) -> dict[str, Any]:
    """The state shown equals the state computed; raises AssertionError saying what differs. Returns the snapshot."""
    snap = dict(page.evaluate(SNAPSHOT))
    state, info, race = snap["state"], snap["info"], snap["race"]
    where = f"(state {json.dumps(state)[:300]})"
    assert page.errors == [], f"page errors: {page.errors}"
    if info is None:  # the loss could not be built: nothing of another loss may show
        assert snap["title"] == "No loss to show" and snap["rows"] == [] and snap["label"] == "", where
        assert snap["inspectorDim"] == "" and snap["taylorDim"] is None, where
        return snap
    assert snap["title"] == f"L({', '.join(info['names'])}) — {info['title']}", where
    assert len(state["start"]) == info["dim"], f"start {state['start']} for a loss of {info['dim']} parameters {where}"
    for box, value in zip(snap["startInputs"], state["start"], strict=True):
        assert box["focused"] or float(box["value"]) == value, f"start box {box} vs {value} {where}"
    # the curvature panel is about this loss or about nothing
    assert snap["inspectorDim"] in ("", str(info["dim"])), f"inspector dim {snap['inspectorDim']} vs {info['dim']}"
    assert snap["taylorDim"] in (None, info["dim"]), where
    if race is None:
        assert snap["rows"] == [] and snap["label"] == "", where
        return snap
    runs = race["runs"]
    last = max(len(run["losses"]) - 1 for run in runs)
    assert snap["label"] == f"step {snap['step']} of {last}", f"{snap['label']} vs step {snap['step']} {where}"
    assert len(runs) == len(state["runners"]) == len(snap["rows"]), where
    assert [as_float(v) for v in race["start"]] == state["start"], f"race from {race['start']} {where}"
    for row, run, runner in zip(snap["rows"], runs, state["runners"], strict=True):
        k = min(snap["step"], len(run["params"]) - 1)
        assert run["optimizer"] == runner["name"], where
        assert run["hyperparameters"].get("lr") == runner["hyper"].get("lr"), f"{run['hyperparameters']} {where}"
        assert len(run["losses"]) - 1 <= state["steps"], where
        assert row["step"] == str(k), f"table step {row['step']} vs {k} {where}"
        theta = numbers(row["theta"])
        assert all(close(s, as_float(h)) for s, h in zip(theta, run["params"][k], strict=True)), f"θ {row} {where}"
        assert close(number(row["loss"]), as_float(run["losses"][k])), f"L {row} vs {run['losses'][k]} {where}"
    if info["dim"] <= 2 and snap["shapes"] is not None:  # each run's mark on the map sits at its θ_k
        heads = [s for s in snap["shapes"] if s[0] == "circle"][-len(runs) :]
        for run, head in zip(runs, heads, strict=False):
            k = min(snap["step"], len(run["params"]) - 1)
            point = [as_float(v) for v in run["params"][k]]
            y = point[1] if info["dim"] == 2 else as_float(run["losses"][k])
            if all(math.isfinite(v) for v in (point[0], y)):
                assert math.isclose(head[1], point[0], rel_tol=1e-9, abs_tol=1e-12), f"map mark {head} vs {point}"
                assert math.isclose(head[2], y, rel_tol=1e-9, abs_tol=1e-12), f"map mark {head} vs {point}"
    if fresh:  # what the server computes afresh for this state is what the page holds
        again = fresh_race(server_url, race_body(state, snap["dataPoints"]))
        assert same_runs(race, again), f"the page's race is not the state's {where}"
    return snap


def step_label(page: Any) -> tuple[int, int]:
    match = re.fullmatch(r"step (\d+) of (\d+)", page.text_content("#step-label") or "")
    assert match, page.text_content("#step-label")
    return int(match[1]), int(match[2])
