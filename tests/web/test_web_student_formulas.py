"""Generated student formulas on the live API: every path answers 2xx or 4xx JSON, never 5xx (see
tests/test_student_formulas.py for the grammar and the Python and CLI faces)."""

from __future__ import annotations

from hypothesis import given, settings

from student_formulas import student_formulas
from test_student_formulas import EXAMPLES, FUZZ


@settings(FUZZ, max_examples=max(10, EXAMPLES // 20))
@given(case=student_formulas())
def test_the_web_api_answers_every_formula_with_2xx_or_4xx_json(client, case: tuple[str, tuple[str, ...]]) -> None:
    text, names = case
    spec = {"source": "formula", "text": text, "variables": list(names)}
    start = [0.7] * len(names)
    bodies = {
        "/api/analyze": {"objective": spec},
        "/api/race": {"objective": spec, "start": start, "steps": 10, "optimizers": [{"name": "gd"}, {"name": "adam"}]},
    }
    if len(names) <= 2:
        bodies["/api/surface"] = {"objective": spec, "points": 21}
    for path, body in bodies.items():
        answer = client.post(path, json=body)
        assert answer.status_code < 500, f"{path} {text!r}: {answer.status_code} {answer.text[:300]}"
        assert answer.headers["content-type"].startswith("application/json"), answer.text[:200]
        answer.json()
