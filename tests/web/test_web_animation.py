"""The race as a GIF, stopping work whose client has gone, and the gallery's families."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from PIL import Image

from losslab.descent.race import Runner, race
from losslab.errors import LosslabError
from losslab.objectives.gallery import gallery
from losslab.web import Bounds, ServerConfig, create_app, service
from losslab.web.schemas import AnimationRequest

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

BOWL = {"source": "gallery", "name": "case_study_2"}
GD = {"name": "gd", "hyperparameters": {"lr": 0.1}}


def gif_frames(data: bytes) -> list[Image.Image]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "GIF"
    frames = []
    for index in range(image.n_frames):
        image.seek(index)
        frames.append(image.convert("RGB"))
    return frames


def test_short_race_gives_one_frame_per_step(client: TestClient) -> None:
    body = {"objective": BOWL, "start": [0, 0], "steps": 4, "optimizers": [GD, {"name": "adam"}], "fps": 5}
    response = client.post("/api/animation", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/gif"
    assert 'filename="losslab-race.gif"' in response.headers["content-disposition"]
    frames = gif_frames(response.content)
    assert len(frames) == 5  # steps 0, 1, 2, 3, 4
    assert frames[0].size == (round(6.4 * service.GIF_DPI), round(5.0 * service.GIF_DPI))
    assert Image.open(io.BytesIO(response.content)).info["duration"] == 200  # 5 fps → 200 ms a frame
    moved = (np.asarray(frames[0]) != np.asarray(frames[-1])).any(axis=-1).sum()
    assert moved > 500, "the paths grow from the first frame to the last"


def test_long_race_is_subsampled_to_the_frames_asked(client: TestClient) -> None:
    body = {"objective": {"source": "gallery", "name": "double_well"}, "start": [0.5], "steps": 300}
    response = client.post("/api/animation", json={**body, "optimizers": [GD], "frames": 4})
    assert response.status_code == 200, response.text
    assert len(gif_frames(response.content)) == 4  # steps 0, 100, 200, 300


def test_a_gif_needs_one_or_two_parameters(client: TestClient) -> None:
    spec = {"source": "data", "model": "quadratic", "synthetic": "quadratic", "n": 10}
    response = client.post("/api/animation", json={"objective": spec, "start": [0, 0, 0], "optimizers": [GD]})
    assert response.status_code == 422
    assert response.json()["error"] == "a GIF shows a loss of 1 or 2 parameters; this one has 3 (w0, w1, w2)"


@pytest.mark.parametrize("frames", [0, 1], ids=["zero", "one"])
def test_fewer_than_two_frames_is_refused(client: TestClient, frames: int) -> None:
    body = {"objective": BOWL, "start": [0, 0], "optimizers": [GD], "frames": frames}
    response = client.post("/api/animation", json=body)
    assert response.status_code == 422 and "frames" in response.json()["error"]


def test_gif_past_the_wall_time_is_refused(make_client: Callable[..., TestClient]) -> None:
    with make_client(wall_time_s=0.05) as slow:
        body = {"objective": BOWL, "start": [0, 0], "optimizers": [GD], "steps": 20, "frames": 20}
        response = slow.post("/api/animation", json=body)
    assert response.status_code == 422 and response.json()["bound"] == "wall_time_s"


def test_rendering_stops_between_frames_when_asked() -> None:
    request = AnimationRequest.model_validate({"objective": BOWL, "start": [0, 0], "optimizers": [GD], "steps": 9})
    by_race: list[int] = []  # how often the race itself asks (its engine decides; measured, not assumed)
    race(gallery("case_study_2"), [0, 0], [Runner("gd", {"lr": 0.1})], 9, should_stop=lambda: bool(by_race.append(1)))
    asked: list[int] = []

    def stop_once_the_frames_ask() -> bool:  # never before the first frame; the second frame asks
        asked.append(1)
        return len(asked) > len(by_race)

    with pytest.raises(LosslabError, match=r"^stopped after 1 of 10 frames: out of time, or the page went away$"):
        service.animation(request, Bounds(), stop_once_the_frames_ask)
    assert len(asked) == len(by_race) + 1


# -- a client that goes away ---------------------------------------------------------------------
def _scope(path: str, body: bytes) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip


async def _call_and_leave(app: Any, body: dict[str, Any], leave_after: float) -> int:
    """POST ``body`` to /api/race as a client that closes the connection ``leave_after`` s after sending.

    Like uvicorn, ``receive`` answers ``http.disconnect`` at once once the client has gone, and
    otherwise waits (Starlette's ``is_disconnected`` cancels that wait straight away).
    """
    data, sent, status = json.dumps(body).encode(), False, 0
    leaves_at = time.monotonic() + leave_after

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": data, "more_body": False}
        if time.monotonic() >= leaves_at:
            return {"type": "http.disconnect"}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        status = message.get("status", status)

    await app(_scope("/api/race", data), receive, send)
    return status


RACE = {"objective": BOWL, "start": [0, 0], "optimizers": [GD], "steps": 10}


def run_in_own_loop(scenario: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """``asyncio.run`` in a thread of its own: Playwright's sync API may hold this thread's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, scenario()).result(timeout=30)


def test_a_race_stops_soon_after_its_client_disconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    # timed from the request, not from when the race began: beside another test process the executor's thread
    # started the race 0.15 s late, and "stopped 0.05 s after it began" read as stopping before the client left
    stopped_after: list[float] = []
    sent = time.monotonic()

    def endless_race(body: Any, bounds: Bounds, should_stop: Callable[[], bool]) -> dict[str, Any]:
        started = time.monotonic()
        while not should_stop():  # what explore.race does between optimizers
            if time.monotonic() - started > 10:
                raise AssertionError("should_stop never turned true")
            time.sleep(0.005)
        stopped_after.append(time.monotonic() - sent)
        raise LosslabError("stopped")

    monkeypatch.setattr(service, "run_race", endless_race)
    app = create_app(ServerConfig(torch_threads=None))  # wall_time_s = 20: the clock is not what stops it
    status = run_in_own_loop(lambda: _call_and_leave(app, RACE, leave_after=0.2))
    app.state.executor.shutdown(wait=True)  # the worker has finished once this returns
    assert status == 422
    assert len(stopped_after) == 1 and 0.2 <= stopped_after[0] < 2.0  # not before the client left at 0.2 s


def test_a_queued_request_whose_client_left_never_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[int] = []
    monkeypatch.setattr(service, "run_race", lambda *args: ran.append(1) or {})
    app = create_app(ServerConfig(torch_threads=None))
    release = threading.Event()
    app.state.executor.submit(release.wait, 10)  # the one worker is busy with someone else's request

    async def scenario() -> int:
        call = asyncio.create_task(_call_and_leave(app, RACE, leave_after=0.1))
        status = await call  # answered as soon as the client is seen to have gone, while still queued
        release.set()
        return status

    status = run_in_own_loop(scenario)
    app.state.executor.shutdown(wait=True)
    assert status == 422 and ran == []


# -- gallery ------------------------------------------------------------------------------------
SEED_EXAMPLES = {"case_study_2", "case_study_1", "shifted_parabola", "hand_simulation", "chapter3_bowl", "cone"}


def test_seed_family_is_the_seed_examples_and_double_well(client: TestClient) -> None:
    items = client.get("/api/gallery").json()
    seeds = [i["name"] for i in items if i["family"] == "seed"]
    assert set(seeds) == SEED_EXAMPLES | {"double_well"}  # double_well is "after … (seed 001)"
    assert [i["family"] for i in items[: len(seeds)]] == ["seed"] * len(seeds)


def test_the_film_marks_what_the_page_marks_a_ring_drawn_along_itself() -> None:
    """The film of a typed formula takes the page's (cached) analysis: the ring of minima of (x² + y² − 1)² is
    drawn along the circle, as the page draws it, not as a star at one of its points."""
    from losslab.plot import animate
    from losslab.web.schemas import FormulaSource

    spec = FormulaSource(source="formula", text="(x^2 + y^2 - 1)^2")
    bounds = Bounds()
    obj = service.objective(spec, bounds)
    marks = service._marks(obj, spec, bounds)
    assert not isinstance(marks, bool) and [p.dimension for p in marks] == [1, 0]
    runs = race(obj, [0.5, 1.5], [Runner("gd", {"lr": 0.01})], 3).runs
    film = animate(obj, list(runs), domain=service.view_domain(obj), stationary=marks)  # as the service films it
    lines = {line.get_gid(): line for line in film.figure.axes[0].lines}
    ring = lines["stationary:curve:minimum"].get_xydata()
    assert np.abs((ring**2).sum(-1) - 1).max() < 1e-9 and "stationary:minimum" not in lines
    assert service._marks(gallery("himmelblau"), BOWL, bounds) is True  # a gallery loss marks its known points
