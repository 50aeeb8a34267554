"""The live API (worker processes and all) fed the content that found its 500s (issue 16): formulas with roots
of negative numbers and every other student spelling, lone surrogates in any text field, and optimizer
hyper-parameters of every wrong shape. Every answer is JSON with a status below 500, within the bound.

Schemathesis (test_web_fuzz.py) draws bodies from the OpenAPI schema, where a formula is any string and a knob
any number; the generators here put the hostile content into schema-valid bodies of every POST path.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from losslab.web import Bounds, ServerConfig, create_app
from student_formulas import student_formulas

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

BOUNDS = Bounds(grid_points=41, steps=50, optimizers=3, data_points=50, wall_time_s=5.0, frames=3)
FORMULA = {"source": "formula", "text": "x**2 + y**2"}
RACE = {"objective": FORMULA, "start": [1.0, 1.0], "steps": 5, "optimizers": [{"name": "gd", "hyperparameters": {}}]}
BODIES: dict[str, dict[str, Any]] = {  # a valid body of every POST path the content goes into
    "/api/objective": {"objective": FORMULA},
    "/api/analyze": {"objective": FORMULA},
    "/api/suggest": {"objective": FORMULA},
    "/api/surface": {"objective": FORMULA, "points": 11},
    "/api/race": RACE,
    "/api/animation": {**RACE, "frames": 2},
    "/api/fit": {
        "objective": {"source": "data", "model": "line", "synthetic": "case_study_1"},
        "params": [[0, 0]],
        "points": 9,
    },
    "/api/hessian": {"objective": FORMULA, "point": [1.0, 1.0], "points": 5},
    "/api/path": {"objective": FORMULA, "a": [1.0, 1.0], "b": [-1.0, -1.0], "images": 5},
    "/api/levels": {"objective": {"source": "formula", "text": "x**2 + y**2 + z**2"}, "levels": 2, "resolution": 6},
    "/api/boundary": {"objective": {"source": "classifier", "model": "hyperplane"}, "params": [[0, 1, 1]], "points": 3},
}
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**9),
    st.floats(-1e300, 1e300),
    st.text(max_size=6),
    st.lists(st.floats(-2, 2), max_size=4),
    st.lists(st.integers(-2, 2), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[TestClient, dict[str, list[str]]]]:
    with TestClient(create_app(ServerConfig(bounds=BOUNDS, torch_threads=None))) as client:
        knobs = {o["name"]: [k["name"] for k in o["knobs"]] for o in client.get("/api/optimizers").json()}
        yield client, knobs


def text_fields(body: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(body, str):
        yield path
    elif isinstance(body, dict):
        for key, value in body.items():
            yield from text_fields(value, (*path, key))
    elif isinstance(body, list):
        for i, value in enumerate(body):
            yield from text_fields(value, (*path, i))


def put(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    inner: Any = body
    for key in path[:-1]:
        inner = inner[key]
    inner[path[-1]] = value


@st.composite
def hostile_requests(draw: st.DrawFn, knobs: dict[str, list[str]]) -> tuple[str, dict[str, Any]]:
    path = draw(st.sampled_from(sorted(BODIES)))
    body = copy.deepcopy(BODIES[path])
    kind = draw(st.sampled_from(["formula", "surrogate", "hyperparameter"]))
    if kind == "formula" and body["objective"]["source"] == "formula":
        text, names = draw(student_formulas(min_depth=2))
        body["objective"] = {"source": "formula", "text": text, "variables": list(names)}
        for key in ("start", "point", "a"):
            if key in body:
                body[key] = [0.5] * len(names)
        if "b" in body:
            body["b"] = [-0.5] * len(names)
    elif kind == "surrogate":
        where = draw(st.sampled_from(list(text_fields(body))))
        inner: Any = body
        for key in where:
            inner = inner[key]
        cut = draw(st.integers(0, len(inner)))
        put(body, where, inner[:cut] + draw(SURROGATES) + inner[cut:])
    elif "optimizers" in body:
        name = draw(st.sampled_from(sorted(knobs)))
        knob = draw(st.sampled_from(knobs[name]))
        body["optimizers"] = [{"name": name, "hyperparameters": {knob: draw(WRONG_VALUES)}}]
    return path, body


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.data())
def test_hostile_content_gets_json_below_500(live: tuple[TestClient, dict[str, list[str]]], data: Any) -> None:
    client, knobs = live
    path, body = data.draw(hostile_requests(knobs))
    began = time.monotonic()
    answer = client.post(path, json=body) if _encodable(body) else _raw(client, path, body)
    assert answer.status_code < 500, (path, body, answer.text[:300])
    assert time.monotonic() - began < BOUNDS.wall_time_s + 3
    if path != "/api/animation" or answer.status_code != 200:
        assert isinstance(answer.json(), dict | list)


def _encodable(body: dict[str, Any]) -> bool:
    import json

    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _raw(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    """A body with a lone surrogate, sent as JSON escapes (``\\ud800``), as a hostile client would."""
    import json

    return client.post(path, content=json.dumps(body).encode("ascii"), headers={"content-type": "application/json"})


@pytest.mark.parametrize("path", ["/api/fit", "/api/boundary"])
@pytest.mark.parametrize("params", [[[0, 1], [1]], [[]], [[0, 1], [0, 1, 1, 1]]])
def test_ragged_steps_are_refused_by_shape(live: tuple[TestClient, Any], path: str, params: list[list[int]]) -> None:
    # found by the schemathesis fuzz: /api/boundary answered 500 on rows of different lengths
    body = {**BODIES[path], "params": params}
    answer = live[0].post(path, json=body)
    assert answer.status_code == 422 and "params must be" in answer.json()["error"], answer.text[:300]
