"""A teacher's smallest lesson, one bowl and one computed question: the file the CLI, API and format tests write."""

from __future__ import annotations


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
