"""The explorer app in-process: one TestClient per module, float64 oracles in the tests."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from losslab.web import Bounds, ServerConfig, create_app

with warnings.catch_warnings():
    # starlette's TestClient warns that it prefers httpx2 (not installed); the client works the same.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _client(**bounds: Any) -> TestClient:
    return TestClient(create_app(ServerConfig(bounds=Bounds(**bounds), torch_threads=None)))


@pytest.fixture
def make_client() -> Callable[..., TestClient]:
    """A factory: ``make_client(wall_time_s=0.05)`` is a TestClient on an app with those bounds."""
    return _client


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with _client() as c:
        yield c
