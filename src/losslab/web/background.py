"""The explorer served from a thread of this process, on a free port of 127.0.0.1: for the browser tests, the
API fuzz and ``docs/screenshots.py`` (``losslab serve`` runs uvicorn in the foreground instead)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from losslab.errors import LosslabError


@contextmanager
def served(app: Any, timeout: float = 60.0) -> Iterator[str]:
    """``app`` under uvicorn in a daemon thread; yields its address once it accepts requests, and stops it on
    leaving. Raises :class:`LosslabError` when it has not started within ``timeout`` seconds."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise LosslabError(f"the explorer did not start within {timeout:g} s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
