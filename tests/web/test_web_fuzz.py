"""The API fuzzed from its own OpenAPI schema (schemathesis, in-process ASGI): no 5xx, no hang.

Tight bounds keep each generated request small, so the whole run stays well under 30 s;
the landscape job's work is a stub (its computation is tested in test_explore_lib.py).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from losslab.objectives.grid import Grid, evaluate_grid
from losslab.objectives.objective import formula
from losslab.web import Bounds, ServerConfig, create_app
from losslab.web.jobs import JobStore

pytestmark = pytest.mark.filterwarnings("ignore::starlette.exceptions.StarletteDeprecationWarning")
BOUNDS = Bounds(grid_points=41, steps=50, optimizers=3, data_points=50, wall_time_s=5.0, network_points=9, frames=3)


def _stub(points: int, span: float, seed: int, progress: Any) -> tuple[Grid, Grid]:
    grid = evaluate_grid(formula("x**2 + y**2"), resolution=points)
    return grid, grid


app = create_app(ServerConfig(bounds=BOUNDS, torch_threads=None))
app.state.jobs = JobStore(4, work=_stub)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_from_its_schema(case: schemathesis.Case) -> None:
    started = time.monotonic()
    response = case.call()
    assert response.status_code < 500, response.text[:500]
    assert time.monotonic() - started < BOUNDS.wall_time_s + 5, "a request outlived the wall-time bound"
    # Schema-valid is not always acceptable here: a well-formed string can be a bad formula.
    case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance])
