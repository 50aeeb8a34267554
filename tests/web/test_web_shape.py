"""POST /api/path (the minimum-energy path between two minima) and the basins of the bowl-vs-mountains job."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from losslab.objectives.gallery import gallery
from losslab.objectives.grid import evaluate_grid
from losslab.web.shape import basins_json

HIMMELBLAU = {"source": "gallery", "name": "himmelblau"}
A, B = [3.0, 2.0], [-2.805118086952745, 3.131312518250573]


def test_the_path_between_two_minima_climbs_to_their_saddle(make_client: Callable[..., Any]) -> None:
    answer = make_client().post("/api/path", json={"objective": HIMMELBLAU, "a": A, "b": B})
    assert answer.status_code == 200
    path = answer.json()
    saddle = next(p for p in gallery("himmelblau").known_points if p.kind == "saddle" and p.value > 60 and p.value < 70)
    assert math.dist(path["saddle"], saddle.point) < 1e-8
    assert math.isclose(path["barrier"], saddle.value, rel_tol=1e-9)  # both minima are at L = 0
    assert path["images"][0] == A and path["images"][-1] == B and len(path["values"]) == 21


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"a": [3.0], "b": B}, "a has 1 coordinates; the loss has 2 (x, y)"),
        ({"a": A, "b": A}, "a and b are the same point"),
        ({"a": A, "b": B, "images": 500}, "less than or equal to 101"),
        ({"a": A, "b": B, "images": 2}, "greater than or equal to 3"),
        ({"objective": {"source": "formula", "text": "log(x) + y**2"}, "a": [1, 0], "b": [-1, 0]}, "not finite"),
    ],
    ids=["short-point", "same-point", "too-many-images", "too-few-images", "off-the-domain"],
)
def test_bad_paths_are_refused_with_a_reason(make_client: Callable[..., Any], body: dict[str, Any], words: str) -> None:
    answer = make_client().post("/api/path", json={"objective": HIMMELBLAU, **body})
    assert answer.status_code == 422 and words in answer.json()["error"]


def test_basins_json_colours_every_point_by_the_minimum_it_drains_to() -> None:
    shape = basins_json(evaluate_grid(gallery("six_hump_camel"), resolution=61))
    assert len(shape["basins"]) == 6
    labels = shape["labels"]
    for b in shape["basins"]:  # each minimum lies in its own basin (labels: rows = the second axis)
        i = round((b["point"][0] + 2) / 4 * 60)  # the camel's box is x ∈ [−2, 2], y ∈ [−1, 1]
        j = round((b["point"][1] + 1) / 2 * 60)
        assert labels[j][i] == b["index"]


SPHERE = {"source": "classifier", "model": "hypersphere"}


def test_a_classifiers_boundary_is_its_probability_over_the_plane(make_client: Callable[..., Any]) -> None:
    from losslab.course.classifiers import classifier_objective

    theta = [0.36, 0.2, 1.35]
    answer = make_client().post("/api/boundary", json={"objective": SPHERE, "params": [theta], "points": 5})
    assert answer.status_code == 200
    shown = answer.json()
    objective = classifier_objective("hypersphere")
    x1, x2 = shown["axes"]
    for j, row in enumerate(shown["probability"][0]):  # rows along the second input
        direct = objective.predict(theta, {"x1": x1, "x2": [x2[j]] * len(x1)})
        assert all(abs(p - float(d)) <= 5e-5 for p, d in zip(row, direct, strict=True))
    assert sorted(set(shown["data"]["y"])) == [0.0, 1.0] and len(shown["data"]["x1"]) == 240


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        ("/api/boundary", {"objective": HIMMELBLAU, "params": [[0, 0]]}, "classifier (bce) of two inputs"),
        ("/api/boundary", {"objective": SPHERE, "params": [[0, 0]]}, "vectors of 3 numbers"),
        ("/api/boundary", {"objective": SPHERE, "params": [[0, 0, 1]] * 800, "points": 31}, "send fewer steps"),
        ("/api/levels", {"objective": HIMMELBLAU}, "level surfaces are drawn for a loss of 3 parameters"),
        ("/api/surface", {"objective": HIMMELBLAU, "slice": {"vary": ["x", "q"], "at": [0, 0]}}, "q: not parameters"),
        ("/api/surface", {"objective": SPHERE, "slice": {"vary": ["c1"], "at": [0, 0]}}, "has 2 coordinates"),
    ],
    ids=["not-a-classifier", "short-theta", "too-many-frames", "levels-of-2", "slice-unknown", "slice-short-point"],
)
def test_bad_shapes_are_refused(make_client: Callable[..., Any], path: str, body: dict[str, Any], words: str) -> None:
    answer = make_client().post(path, json=body)
    assert answer.status_code == 422 and words in answer.json()["error"], answer.json()


def test_a_slice_holds_the_other_parameters(make_client: Callable[..., Any]) -> None:
    body = {"source": "formula", "text": "w0**2 + 2*w1**2 + 3*w2**2"}
    answer = make_client().post(
        "/api/surface",
        json={
            "objective": body,
            "points": 3,
            "domain": [[-1, 1], [-1, 1]],
            "slice": {"vary": ["w2", "w0"], "at": [9.0, 0.5, 9.0]},
        },  # fmt: skip
    )
    grid = answer.json()
    assert grid["names"] == ["w2", "w0"]  # rows along w0, columns along w2; w1 held at 0.5
    assert grid["values"] == [[1.5 + v for v in (3, 0, 3)], [0.5 + v for v in (3, 0, 3)], [1.5 + v for v in (3, 0, 3)]]
    figure = make_client().post("/api/levels", json={"objective": body, "resolution": 8}).json()
    assert [trace["type"] for trace in figure["data"]] == ["isosurface", "cone"]
