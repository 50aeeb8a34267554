"""The lesson file format: Markdown with two kinds of fenced blocks, read into plain data.

A lesson is one ``.md`` file. Its first line is ``# Title``; the paragraph under it is the
lesson's summary. Each ``## Heading`` starts a step; the step's text is Markdown (formulas
between ``$…$``). Two fenced blocks carry what the page does with a step:

````markdown
```view
loss: w**2 - 4*w + 5          # a formula or a gallery name
kind: curve                   # curve | contour | 3d | race | boundary | levels
start: w=0
run: gd:lr=0.3                # one line per optimizer, as `losslab descend --optimizer` spells it
steps: 8
```

```question
id: step-1
kind: number                  # choice | number | formula | predict | click
ask: What is w after the first step?
compute: w after step 1       # computed by losslab from the loss at load time
tolerance: 1e-9
hint: Take the gradient at w = 0, multiply by the learning rate, subtract.
```
````

Every block line is ``key: value``; a line that starts with spaces continues the value above
it; ``#`` after a space starts a comment. Keys that may repeat (``run``, ``right``, ``wrong``,
``because``) keep their order. Nothing in a file is executed: values are text that later
modules read through losslab's whitelist parsers. The keys each question kind needs are
listed in :mod:`losslab.course.lesson_answers`.

Problems are collected, not raised one at a time: :func:`parse_lesson` returns the lesson and
one line per problem (``file:line: what is wrong``), so a teacher sees them all at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_LESSON_CHARS = 200_000
BLOCKS = ("view", "question")
VIEW_KINDS = ("curve", "contour", "3d", "race", "boundary", "levels")
QUESTION_KINDS = ("choice", "number", "formula", "predict", "click")
REPEATABLE = frozenset({"run", "right", "wrong", "because", "accept"})
VIEW_KEYS = frozenset({"loss", "kind", "start", "run", "steps", "data", "vars", "caption"})
QUESTION_KEYS = frozenset(
    {"id", "kind", "ask", "loss", "vars", "start", "run", "steps", "compute", "tolerance", "hint", "explain"}
    | {"right", "wrong", "because", "want", "lr", "symbols"}
)
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_KEY_LINE = re.compile(r"^(?P<key>[a-z][a-z0-9_]*)\s*:\s?(?P<value>.*)$")
_FENCE = re.compile(r"^```\s*(?P<name>[A-Za-z0-9_-]*)\s*$")


@dataclass(frozen=True)
class Block:
    """A fenced ``view`` or ``question`` block: its keys in order (a repeated key keeps every value)."""

    name: str
    line: int
    entries: tuple[tuple[str, str, int], ...]

    def get(self, key: str, default: str | None = None) -> str | None:
        for name, value, _ in self.entries:
            if name == key:
                return value
        return default

    def all(self, key: str) -> list[str]:
        return [value for name, value, _ in self.entries if name == key]

    def line_of(self, key: str) -> int:
        return next((line for name, _, line in self.entries if name == key), self.line)


@dataclass(frozen=True)
class Step:
    """One step of a lesson: a heading, Markdown text, at most one view and any questions."""

    title: str
    text: str
    view: Block | None
    questions: tuple[Block, ...]
    line: int


@dataclass(frozen=True)
class LessonFile:
    """A lesson as written: id (the file name), title, summary and steps."""

    id: str
    title: str
    summary: str
    steps: tuple[Step, ...]
    source: str = ""
    problems: tuple[str, ...] = field(default=())


def parse_lesson(text: str, lesson_id: str, source: str = "<lesson>") -> LessonFile:
    """Read a lesson's Markdown into steps and blocks; problems are listed in ``problems``.

    >>> lesson = parse_lesson("# Bowls\\nA short one.\\n## First\\nSee $L = w^2$.\\n"
    ...                       "```view\\nloss: w**2\\nkind: curve\\n```\\n", "bowls")
    >>> lesson.title, lesson.steps[0].title, lesson.steps[0].view.get("loss"), lesson.problems
    ('Bowls', 'First', 'w**2', ())
    """
    problems: list[str] = []
    if not _ID.match(lesson_id):
        problems.append(f"{source}:1: lesson id {lesson_id!r} (the file name) must be lower-case letters, digits, '-'")
    if len(text) > MAX_LESSON_CHARS:
        return LessonFile(lesson_id, lesson_id, "", (), source, (f"{source}:1: over {MAX_LESSON_CHARS} characters",))
    lines = text.splitlines()
    title, summary, start = _title(lines, source, problems)
    steps = _steps(lines, start, source, problems)
    if not steps:
        problems.append(f"{source}:1: no steps: start each step with a '## Heading' line")
    return LessonFile(lesson_id, title, summary, tuple(steps), source, tuple(problems))


def _title(lines: list[str], source: str, problems: list[str]) -> tuple[str, str, int]:
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or not lines[first].startswith("# "):
        problems.append(f"{source}:1: the first line must be the lesson's title, '# Title'")
        return "untitled", "", 0
    end = next((i for i in range(first + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    summary = " ".join(line.strip() for line in lines[first + 1 : end] if line.strip())
    return lines[first][2:].strip(), summary, end


def _steps(lines: list[str], start: int, source: str, problems: list[str]) -> list[Step]:
    steps: list[Step] = []
    i = start
    while i < len(lines):
        title, heading = lines[i][3:].strip(), i + 1
        i += 1
        text: list[str] = []
        blocks: list[Block] = []
        while i < len(lines) and not lines[i].startswith("## "):
            fence = _FENCE.match(lines[i])
            if fence and fence.group("name") in BLOCKS:
                block, i = _block(lines, i, fence.group("name"), source, problems)
                blocks.append(block)
                continue
            if fence:  # an ordinary code block stays text, whole
                close = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), len(lines) - 1)
                text.extend(lines[i : close + 1])
                i = close + 1
                continue
            text.append(lines[i])
            i += 1
        steps.append(_step(title, "\n".join(text).strip(), blocks, heading, source, problems))
    return steps


def _step(title: str, text: str, blocks: list[Block], line: int, source: str, problems: list[str]) -> Step:
    views = [b for b in blocks if b.name == "view"]
    if len(views) > 1:
        problems.append(f"{source}:{views[1].line}: step '{title}' has a second view; give each step at most one")
    if not title:
        problems.append(f"{source}:{line}: a step heading '## ' has no title")
    questions = tuple(b for b in blocks if b.name == "question")
    return Step(title, text, views[0] if views else None, questions, line)


def _block(lines: list[str], at: int, name: str, source: str, problems: list[str]) -> tuple[Block, int]:
    entries: list[tuple[str, str, int]] = []
    allowed = VIEW_KEYS if name == "view" else QUESTION_KEYS
    i = at + 1
    while i < len(lines) and lines[i].strip() != "```":
        raw, number = lines[i], i + 1
        i += 1
        body = _without_comment(raw)
        if not body.strip():
            continue
        if raw[:1] in (" ", "\t") and entries:
            key, value, line = entries[-1]
            entries[-1] = (key, f"{value} {body.strip()}".strip(), line)
            continue
        match = _KEY_LINE.match(body.strip())
        if not match:
            problems.append(f"{source}:{number}: '{raw.strip()[:60]}' is not 'key: value'")
        elif match.group("key") not in allowed:
            problems.append(
                f"{source}:{number}: a {name} has no key {match.group('key')!r}; keys: {', '.join(sorted(allowed))}"
            )
        elif match.group("key") not in REPEATABLE and any(k == match.group("key") for k, _, _ in entries):
            problems.append(f"{source}:{number}: {match.group('key')!r} is given twice in this {name}")
        else:
            entries.append((match.group("key"), match.group("value").strip(), number))
    if i >= len(lines):
        problems.append(f"{source}:{at + 1}: the {name} block is never closed with ```")
    return Block(name, at + 1, tuple(entries)), i + 1


def _without_comment(line: str) -> str:
    """The line up to a ``#`` that follows a space (``#`` inside a word, as in ``C#``, stays)."""
    cut = re.search(r"(^|\s)#", line)
    return line[: cut.start()] if cut else line
