"""``losslab serve``: builds the config, hands create_app(config) to uvicorn, nothing else."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from losslab.cli.app import app


def test_serve_builds_the_config_and_runs_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda application, **kw: calls.append((application, kw)))
    result = CliRunner().invoke(app, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    application, options = calls[0]
    assert isinstance(application, FastAPI)
    assert options["host"] == "127.0.0.1" and options["port"] == 8123
    assert application.state.config.port == 8123 and application.state.config.host == "127.0.0.1"
    assert "http://127.0.0.1:8123" in result.output


def test_serve_refuses_a_bad_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("uvicorn must not start"))
    result = CliRunner().invoke(app, ["serve", "--port", "70000"])
    assert result.exit_code == 2 and "port 70000 is not in 0..65535" in result.output


def test_ctrl_c_stops_the_server_and_its_workers_without_a_traceback(tmp_path: Any) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    losslab = Path(sys.executable).with_name("losslab")
    server = subprocess.Popen(
        [str(losslab), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a terminal gives it: Ctrl-C reaches every process
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                body = {"objective": {"source": "gallery", "name": "rosenbrock"}, "points": 21}
                if httpx.post(f"http://127.0.0.1:{port}/api/surface", json=body, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not answer within 90 s")
        os.killpg(server.pid, signal.SIGINT)
        _, err = server.communicate(timeout=15)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    assert server.returncode == 0 and b"Traceback" not in err, err.decode()[-2000:]
    deadline = time.monotonic() + 10
    while _alive_in_group(server.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive_in_group(server.pid) == []  # no worker, fork server or resource tracker left behind


def _alive_in_group(group: int) -> list[int]:
    """The processes of ``group`` that are not zombies (a container's init may never reap those)."""
    from pathlib import Path

    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive
