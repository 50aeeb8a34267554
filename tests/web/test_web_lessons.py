"""The lessons API in-process: the catalogue, a lesson without answers, answers checked, 4xx never 5xx."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from lesson_texts import bowl_lesson
from losslab.web import ServerConfig, create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TEACHER = bowl_lesson("one-step", "slope times rate, subtracted")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("lessons")
    (folder / "my-bowl.md").write_text(TEACHER)
    (folder / "broken.md").write_text("no title here\n")
    # no lifespan: the lesson endpoints need none of the workers
    yield TestClient(create_app(ServerConfig(warm_up=False, torch_threads=None, lessons=(str(folder),))))


def test_catalogue_lists_the_shipped_and_the_added_lessons(client: TestClient) -> None:
    listed = client.get("/api/lessons").json()
    ids = [entry["id"] for entry in listed]
    assert ids[:5] == ["01-loss-landscape", "02-hill-descending", "03-learning-a-line", "04-loss-surface",
                       "05-classifiers-and-gradients"]  # fmt: skip
    assert "my-bowl" in ids
    assert all({"id", "title", "summary", "steps", "questions"} <= set(entry) for entry in listed)


def test_a_lesson_has_steps_views_questions_and_no_answers(client: TestClient) -> None:
    response = client.get("/api/lessons/02-hill-descending")
    assert response.status_code == 200
    lesson = response.json()
    assert len(lesson["steps"]) == 8
    hand = next(step for step in lesson["steps"] if step["title"] == "Hand simulation")
    assert hand["view"]["loss"] == "hand_simulation" and hand["view"]["runs"] == [{"name": "gd", "hyper": {"lr": 0.3}}]
    assert hand["view"]["start"] == [0.0] and hand["view"]["source"] == "gallery"
    assert [q["id"] for q in hand["questions"]][:2] == ["hand-gradient", "hand-step-1"]
    text = response.text
    assert "1.99868928" not in text and "hint" not in text and "because" not in text and "explanation" not in text


def test_answers_are_checked(client: TestClient) -> None:
    url = "/api/lessons/02-hill-descending/answer"
    right = client.post(url, json={"question": "hand-step-1", "answer": "1.2"}).json()
    assert right["correct"] is True and "explanation" in right and "hint" not in right
    wrong = client.post(url, json={"question": "hand-step-1", "answer": 1.3}).json()
    assert wrong == {"correct": False, "hint": "At w = 0 the gradient is 2·0 − 4. Then w − 0.3 · gradient."}
    formula = client.post(url, json={"question": "update-rule", "answer": "w - eta*2(w-3)"}).json()
    assert formula["correct"] is True
    choice = client.post(url, json={"question": "read-a-gradient", "answer": "2"}).json()
    assert choice["correct"] is True
    click = client.post(
        "/api/lessons/04-loss-surface/answer", json={"question": "click-minimum", "answer": [2.05, 0.02]}
    )
    assert click.json()["correct"] is True


def test_a_teachers_folder_is_taught(client: TestClient) -> None:
    answer = client.post("/api/lessons/my-bowl/answer", json={"question": "one-step", "answer": "0.4"}).json()
    assert answer["correct"] is True


BAD = [
    ("get", "/api/lessons/nope", None, 404, "no lesson 'nope'"),
    ("get", "/api/lessons/..%2Fsecrets", None, 404, ""),
    ("get", "/api/lessons/UPPER", None, 422, "lesson_id"),
    ("post", "/api/lessons/nope/answer", {"question": "a", "answer": "1"}, 404, "no lesson"),
    (
        "post",
        "/api/lessons/02-hill-descending/answer",
        {"question": "nope", "answer": "1"},
        422,
        "has no question 'nope'",
    ),
    ("post", "/api/lessons/02-hill-descending/answer", {"question": "hand-step-1"}, 422, "answer"),
    ("post", "/api/lessons/02-hill-descending/answer", {"question": "hand-step-1", "answer": "1", "x": 1}, 422, "x"),
    ("post", "/api/lessons/02-hill-descending/answer", {"question": "q" * 65, "answer": "1"}, 422, "question"),
    (
        "post",
        "/api/lessons/02-hill-descending/answer",
        {"question": "hand-step-1", "answer": [1.0] * 11},
        422,
        "at most 10",
    ),
    ("post", "/api/lessons/02-hill-descending/answer", {"question": "hand-step-1", "answer": None}, 422, "answer"),
    ("post", "/api/lessons/broken/answer", {"question": "a", "answer": "1"}, 422, "problem"),
]


@pytest.mark.parametrize(("method", "url", "body", "status", "says"), BAD, ids=[f"{u}-{s}" for _, u, _, s, _ in BAD])
def test_bad_requests_are_4xx_json(
    client: TestClient, method: str, url: str, body: object, status: int, says: str
) -> None:
    response = client.request(method, url, json=body)
    assert response.status_code == status, response.text
    assert says in response.json()["error"]


def test_odd_answers_are_wrong_answers_not_errors(client: TestClient) -> None:
    url = "/api/lessons/02-hill-descending/answer"
    for answer in ("x" * 5000, "", "__import__('os')", "9**9**9**9", {"w": 1.0}, [1.0, 2.0]):
        response = client.post(url, json={"question": "update-rule", "answer": answer})
        assert response.status_code == 200 and response.json()["correct"] is False


def test_a_missing_lesson_folder_stops_the_app() -> None:
    from losslab.course.lessons import Library
    from losslab.errors import LosslabError

    with pytest.raises(LosslabError, match="does not exist"):
        Library((Path("/nowhere/lessons"),))


def test_level_surfaces_of_a_levels_step(client: TestClient) -> None:
    figure = client.get("/api/lessons/05-classifiers-and-gradients/levels/5").json()
    assert [trace["type"] for trace in figure["data"]] == ["isosurface", "cone"]
    missing = client.get("/api/lessons/05-classifiers-and-gradients/levels/1")
    assert missing.status_code == 404 and "no level-surfaces view" in missing.json()["error"]
