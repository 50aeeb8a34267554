"""A teacher's smallest lesson, one bowl and one computed question: the file the CLI, API and format tests write;
and a right and a wrong answer to any question, from what losslab computed for it."""

from __future__ import annotations

import math
from typing import Any

from losslab.course.lesson_questions import Question


def bowl_lesson(question_id: str = "first-step", hint: str = "slope times rate") -> str:
    """The lesson's Markdown, with the question's id and hint as given."""
    return f"""# Bowls
One bowl, one question.

## The bowl
$L = (w - 2)^2$

```view
loss: (w - 2)**2
kind: curve
start: w=0
run: gd:lr=0.1
```

```question
id: {question_id}
kind: number
ask: w after one step?
compute: w after step 1
tolerance: 1e-9
hint: {hint}
```
"""


def right_and_wrong(q: Question) -> tuple[Any, Any]:
    """An answer the check should accept and one it should refuse, for each kind."""
    if q.kind == "choice":
        wrong = next(i for i, (_, ok, _) in enumerate(q.options) if not ok)
        return q.answer + 1, wrong + 1
    if q.kind == "number":
        return f"{q.answer:.12g}", f"{q.answer + 10 * q.tolerance + 0.5:.12g}"
    if q.kind == "formula":
        return str(q.answer), f"{q.answer} + 1"
    if q.kind == "predict":
        return q.answer, "converges" if q.answer != "converges" else "diverges"
    want, found = q.answer
    wanted = [point for kind, point in found if kind == want]
    shifts = (0.5 * k for k in range(1, 20))
    far = next(
        [v + shift for v in wanted[0]]
        for shift in shifts
        if all(math.dist([v + shift for v in wanted[0]], p) > q.tolerance for p in wanted)
    )
    return list(wanted[0]), far
