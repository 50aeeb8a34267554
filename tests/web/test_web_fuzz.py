"""The live server fuzzed from its own OpenAPI schema (schemathesis over HTTP): no 5xx, no hang; formulas drawn
from the students' grammar and hostile text (test_web_hostile.py puts the same content into every POST body
of the live server, worker processes included).

Tight bounds keep each generated request small, so the whole run stays well under 30 s;
the landscape job's work is a stub (its computation is tested in test_explore_lib.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from losslab.objectives.grid import Grid, evaluate_grid
from losslab.objectives.objective import formula
from losslab.web import Bounds, ServerConfig, create_app
from losslab.web.background import served
from losslab.web.jobs import JobStore
from student_formulas import student_formulas

pytestmark = pytest.mark.filterwarnings("ignore::starlette.exceptions.StarletteDeprecationWarning")
BOUNDS = Bounds(grid_points=41, steps=50, optimizers=3, data_points=50, wall_time_s=2.0, network_points=9, frames=3)


def _stub(points: int, span: float, seed: int, progress: Any) -> tuple[Grid, Grid]:
    grid = evaluate_grid(formula("x**2 + y**2"), resolution=points)
    return grid, grid


# The schema marks a formula's text with format "formula": besides any string, draw what found the 500s —
# students' formulas (roots of negative numbers, ^, √, |…|, superscripts) and text with lone surrogates.
SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
FORMULAS = st.one_of(
    student_formulas(min_depth=2).map(lambda case: case[0]),
    st.tuples(student_formulas(min_depth=1), SURROGATE).map(lambda pair: pair[0][0] + pair[1]),
    st.sampled_from(["w**2 + (-8)**(1/3)", "w**2 + exp(exp(10**15))", "x**2 +", "-x**2 + y**2", "w[/]"]),
    st.text(max_size=30),
)
schemathesis.openapi.format("formula", FORMULAS)


app = create_app(ServerConfig(bounds=BOUNDS, torch_threads=None))
app.state.jobs = JobStore(4, work=_stub)
schema = schemathesis.openapi.from_dict(app.openapi())


@pytest.fixture(scope="module")
def live_url() -> Iterator[str]:
    """The app served by uvicorn on a free port, worker processes and all: the fuzz goes over the wire."""
    with served(app) as url:
        yield url


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_from_its_schema(case: schemathesis.Case, live_url: str) -> None:
    started = time.monotonic()
    response = case.call(base_url=live_url)
    assert response.status_code < 500, response.text[:500]
    assert time.monotonic() - started < BOUNDS.wall_time_s + 5, "a request outlived the wall-time bound"
    # Schema-valid is not always acceptable here: a well-formed string can be a bad formula.
    case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance])
