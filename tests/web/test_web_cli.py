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
