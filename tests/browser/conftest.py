"""A real server in a background thread and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from losslab.web import ServerConfig, create_app
from losslab.web.background import served

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path("/tmp/losslab-browser-shots")


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    threads = torch.get_num_threads()
    with served(create_app(ServerConfig(torch_threads=1))) as url:
        yield url
    torch.set_num_threads(threads)  # the app set 1 for its start-up; give the rest of the suite its own


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (.ci/run installs it with apt-get)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def _launch(playwright: Any, *extra: str) -> Any:
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", *extra]
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args)


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    """Chromium as a user runs it, WebGL included (in software here: SwiftShader draws the 3-D surfaces)."""
    chromium = _launch(playwright)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def flat_browser(playwright: Any) -> Iterator[Any]:
    """Chromium without WebGL, for the long walks that check what the page holds and shows in its tables, maps
    and charts, not the 3-D surfaces' pixels (Plotly says "WebGL is not supported" in their place): SwiftShader
    drawing every surface in software took a third of the lesson walks' time. The 3-D views are tested with
    ``browser``."""
    chromium = _launch(playwright, "--disable-webgl")
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    return SHOTS
