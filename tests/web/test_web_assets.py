"""The page's files cross the wire compressed, once: gzip when accepted, 304 on a reload, nothing outside the folder."""

from __future__ import annotations

import gzip
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/static/style.css", "/vendor/plotly.min.js"])
def test_files_are_gzipped_when_accepted_and_equal_the_plain_ones(client: TestClient, path: str) -> None:
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    packed = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert plain.status_code == packed.status_code == 200
    assert "content-encoding" not in plain.headers and packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < int(plain.headers["content-length"])
    assert packed.content == plain.content  # the client decodes gzip: the same bytes arrive
    assert plain.headers["etag"] == packed.headers["etag"] and "Accept-Encoding" in packed.headers["vary"]


def test_plotly_crosses_the_wire_at_under_a_third_of_its_size(client: TestClient) -> None:
    plain = client.get("/vendor/plotly.min.js", headers={"Accept-Encoding": "identity"}).content
    sent = gzip.compress(plain, compresslevel=9, mtime=0)
    assert len(sent) < len(plain) / 3  # 4.8 MB → about 1.4 MB
    assert "max-age=86400" in client.get("/vendor/plotly.min.js").headers["cache-control"]


def test_a_reload_with_the_etag_is_304_without_a_body(client: TestClient) -> None:
    first = client.get("/static/app.js")
    again = client.get("/static/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b"" and first.headers["cache-control"] == "no-cache"


def test_modules_are_javascript(client: TestClient) -> None:
    assert client.get("/static/state.js").headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize("name", ["nothing.js", "..%2Fapp.py", ".hidden", "%2E%2E%2F__init__.py"])
def test_only_the_page_folders_own_files_are_served(client: TestClient, name: str) -> None:
    answer = client.get(f"/static/{name}")
    assert answer.status_code == 404 and "error" in answer.json()
