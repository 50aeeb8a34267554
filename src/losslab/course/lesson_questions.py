"""A lesson's questions, prepared when the lesson loads (answers computed), and how an answer is checked.

Five kinds, as the seeds ask them:

- ``choice``: options written as ``right:`` / ``wrong:`` lines, each followed by ``because:`` (the
  explanation shown for that option; the hint when it is picked wrongly). An answer is the option's
  number (1, 2, …), its letter (a, b, …) or its text.
- ``number``: ``compute:`` (see :mod:`losslab.course.lesson_compute`) and ``tolerance:``; an answer is
  a number, or a constant expression (``6/5``), read through the whitelist parser.
- ``formula``: ``compute:`` a formula; an answer is accepted when SymPy finds it equal to the computed
  one. Answers go through :func:`losslab.objectives.formula_parser.parse_formula` (never ``sympify``).
- ``predict``: ``run:`` with a learning rate; the answer (``converges``/``yes``, ``oscillates``,
  ``diverges``/``no``) is checked against 2/λmax (:func:`losslab.analysis.stability.predict_gd`).
- ``click``: ``want:`` minimum, maximum or saddle, ``tolerance:`` a distance; an answer is a point
  (``1.2, -0.5`` or a list of numbers), accepted within the tolerance of a computed stationary point
  of that kind (:func:`losslab.analysis.stationary.stationary_points`).

Every kind but ``choice`` needs a ``hint:``: what a wrong answer is told (the idea, not the answer).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import sympy

from losslab.analysis.stability import PASS_A_POINT, predict_gd
from losslab.analysis.stationary import stationary_points
from losslab.course.lesson_compute import Context, compute_formula, compute_number
from losslab.course.lesson_format import Block
from losslab.errors import LosslabError, first_line
from losslab.objectives.formula_parser import parse_formula

MAX_ANSWER_CHARS = 500
OUTCOMES = ("converges", "oscillates", "diverges")
SAYS: dict[str, tuple[str, ...]] = {
    "converges": ("converges", "converge", "yes", "y", "true", "it converges", "converging"),
    "oscillates": ("oscillates", "oscillate", "oscillates forever", "bounces", "neither", "it oscillates"),
    "diverges": ("diverges", "diverge", "no", "n", "false", "it diverges", "blows up", "explodes", "diverging"),
}
KINDS_TO_CLICK = ("minimum", "maximum", "saddle")


@dataclass(frozen=True)
class Verdict:
    """The result of checking an answer: ``message`` is the explanation when right, the hint when wrong."""

    correct: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"correct": self.correct, ("explanation" if self.correct else "hint"): self.message}

    def __str__(self) -> str:
        """The verdict as the explorer says it: ✓ Right. and the explanation, or ✗ Not yet. and the hint."""
        if self.correct:
            opening = "✓" if re.match(r"(Right|Yes)\b", self.message) else "✓ Right."
        else:
            opening = "✗ Not yet."
        return f"{opening} {self.message}".strip()

    def _repr_markdown_(self) -> str:
        return str(self)


@dataclass(frozen=True)
class Question:
    """A prepared question: what the page shows (``public``) and what the check compares with."""

    id: str
    kind: str
    ask: str
    hint: str
    explain: str
    answer: Any  # the computed answer: a float, a SymPy expression, an outcome, points, or the right option
    tolerance: float = 0.0
    options: tuple[tuple[str, bool, str], ...] = ()  # choice: (text, right, because)
    names: tuple[str, ...] = ()  # formula: the names an answer may use; click: the axes
    run: dict[str, Any] = field(default_factory=dict)  # predict: the run to show after answering

    def public(self) -> dict[str, Any]:
        """The question as the page sees it: no answer, no explanation."""
        shown: dict[str, Any] = {"id": self.id, "kind": self.kind, "ask": self.ask}
        if self.kind == "choice":
            shown["options"] = [text for text, _, _ in self.options]
        if self.kind in ("formula", "click"):
            shown["names"] = list(self.names)
        if self.kind == "number":
            shown["tolerance"] = self.tolerance
        if self.kind == "click":
            shown["tolerance"], shown["want"] = self.tolerance, self.answer[0]
        if self.kind == "predict":
            shown["run"] = self.run
        return shown

    def check(self, answer: Any) -> Verdict:
        """Check a student's answer; a malformed one is a wrong answer with a hint, never an error."""
        if isinstance(answer, str) and len(answer) > MAX_ANSWER_CHARS:
            return Verdict(False, f"the answer is over {MAX_ANSWER_CHARS} characters; {self.hint}")
        return _CHECKS[self.kind](self, answer)


def prepare(block: Block, context: Context | None, where: str) -> Question:
    """Compute a question's answer from its block; LosslabError (one line, with ``where``) on a problem."""
    qid, kind, ask = block.get("id") or "", block.get("kind") or "", block.get("ask") or ""
    if not qid or not kind or not ask:
        raise LosslabError(f"{where}: a question needs 'id:', 'kind:' and 'ask:'")
    if kind not in _PREPARE:
        raise LosslabError(f"{where}: question kind {kind!r} is not one of {', '.join(_CHECKS)}")
    hint, explain = block.get("hint") or "", block.get("explain") or ""
    if kind != "choice" and not hint:
        raise LosslabError(f"{where}: question {qid!r} needs a 'hint:' for wrong answers")
    if kind != "choice" and context is None:
        raise LosslabError(f"{where}: question {qid!r} needs a loss: give 'loss:' here or a view in its step")
    try:
        return _PREPARE[kind](block, context, Question(qid, kind, ask, hint, explain, None))
    except LosslabError as error:
        raise LosslabError(f"{where}: question {qid!r}: {error}") from None


def _tolerance(block: Block) -> float:
    text = block.get("tolerance")
    if text is None:
        raise LosslabError("give 'tolerance:' (how far from the computed answer is still right)")
    value = _number(text)
    if value is None or not value >= 0:
        raise LosslabError(f"tolerance {text!r} must be a number ≥ 0")
    return value


def _prepare_choice(block: Block, context: Context | None, q: Question) -> Question:
    options: list[tuple[str, bool, str]] = []
    order = [(k, v) for k, v, _ in block.entries if k in ("right", "wrong", "because")]
    for i, (key, value) in enumerate(order):
        if key == "because":
            continue
        follows = order[i + 1] if i + 1 < len(order) else ("", "")
        if follows[0] != "because":
            raise LosslabError(f"option {value!r} needs a 'because:' line right after it")
        options.append((value, key == "right", follows[1]))
    if len(options) < 2 or sum(right for _, right, _ in options) != 1:
        raise LosslabError("a choice needs two or more options ('right:'/'wrong:'), exactly one of them right")
    right = next(i for i, (_, ok, _) in enumerate(options) if ok)
    return _replace(q, answer=right, options=tuple(options))


def _prepare_number(block: Block, context: Context | None, q: Question) -> Question:
    context = _needs(context)
    value = compute_number(block.get("compute") or "", context)
    if not math.isfinite(value):
        raise LosslabError(f"compute {block.get('compute')!r} gives {value}, not a finite number")
    return _replace(q, answer=value, tolerance=_tolerance(block))


def _prepare_formula(block: Block, context: Context | None, q: Question) -> Question:
    context = _needs(context)
    expr, names = compute_formula(block.get("compute") or "", context.objective)
    return _replace(q, answer=sympy.simplify(expr), names=names)


def _prepare_predict(block: Block, context: Context | None, q: Question) -> Question:
    context = _needs(context)
    if context.run is None or "lr" not in context.run.hyperparameters or context.run.name != "gd":
        raise LosslabError("a predict question needs 'run: gd:lr=…' (plain gradient descent with a learning rate)")
    lr = float(context.run.hyperparameters["lr"])
    try:
        prediction = predict_gd(context.objective, lr)
    except LosslabError as error:  # its remedy is the CLI's and Python's (--at, at=), not a lesson's
        why = first_line(error).removesuffix(f"; {PASS_A_POINT}")
        raise LosslabError(
            f"a predict question compares lr with 2/λmax at the loss's minimum: {why}; give the view a loss with "
            "a smooth minimum"
        ) from None
    outcome = "diverges" if prediction.behaviour == "diverges" else (
        "oscillates" if prediction.behaviour == "oscillates forever" else "converges"
    )  # fmt: skip
    run = {"name": "gd", "hyper": {"lr": lr}, "start": context.start, "steps": context.steps or 30}
    because = f"losslab predicts: {prediction}"
    return _replace(q, answer=outcome, run=run, explain=f"{q.explain} {because}".strip())


def _prepare_click(block: Block, context: Context | None, q: Question) -> Question:
    context = _needs(context)
    want = block.get("want") or ""
    if want not in KINDS_TO_CLICK:
        raise LosslabError(f"want {want!r} is not one of {', '.join(KINDS_TO_CLICK)}")
    found = [(p.kind, tuple(float(v) for v in p.point.tolist())) for p in stationary_points(context.objective)]
    if not any(kind == want for kind, _ in found):
        raise LosslabError(f"losslab finds no {want} of this loss to click")
    return _replace(q, answer=(want, tuple(found)), tolerance=_tolerance(block), names=tuple(context.objective.names))


def _needs(context: Context | None) -> Context:
    if context is None:
        raise LosslabError("this question needs a loss: give 'loss:' in it or a view in its step")
    return context


def _replace(q: Question, **changes: Any) -> Question:
    from dataclasses import replace

    return replace(q, **changes)


def _number(answer: Any) -> float | None:
    """A number from a JSON number or text (``1.2``, ``6/5``, ``1.99868928``); None when it is not one."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, int | float):
        return float(answer)
    if not isinstance(answer, str) or not answer.strip():
        return None
    try:
        parsed = parse_formula(answer.strip())
    except LosslabError:
        return None
    if parsed.expr.free_symbols:
        return None
    value = float(parsed.expr)
    return value if math.isfinite(value) else None


def _check_choice(q: Question, answer: Any) -> Verdict:
    picked = _option(q, answer)
    if picked is None:
        return Verdict(False, f"pick one of the options by its number (1–{len(q.options)}), letter or text")
    text, right, because = q.options[picked]
    return Verdict(right, because)


def _option(q: Question, answer: Any) -> int | None:
    if isinstance(answer, int) and not isinstance(answer, bool):
        return answer - 1 if 1 <= answer <= len(q.options) else None
    if not isinstance(answer, str):
        return None
    said = " ".join(answer.split()).lower().rstrip(".")
    if said.isdigit():
        return _option(q, int(said))
    if len(said) == 1 and "a" <= said <= "z":
        return ord(said) - ord("a") if ord(said) - ord("a") < len(q.options) else None
    return next(
        (i for i, (text, _, _) in enumerate(q.options) if " ".join(text.split()).lower().rstrip(".") == said), None
    )


def _check_number(q: Question, answer: Any) -> Verdict:
    value = _number(answer)
    if value is None and isinstance(answer, str) and re.fullmatch(r"\s*[-+]?\d+,\d+\s*", answer):
        point = answer.strip().replace(",", ".")  # a decimal comma, or a thousands separator: ask, never guess
        return Verdict(False, f"{answer.strip()} is not a number here: write a decimal point ({point}), no comma")
    if value is None:
        return Verdict(False, f"{answer!s:.40} is not a number. {q.hint}")
    if abs(value - q.answer) <= q.tolerance:
        return Verdict(True, f"{q.explain} losslab computes {q.answer:.10g}.".strip())
    return Verdict(False, q.hint)


def _check_formula(q: Question, answer: Any) -> Verdict:
    if not isinstance(answer, str) or not answer.strip():
        return Verdict(False, f"write a formula. {q.hint}")
    text = answer.split("=")[-1] if answer.count("=") == 1 else answer  # 'w_new = …', 'dL/dw0 = …'
    try:
        parsed = parse_formula(text, known=q.names)  # 'eta(2w - 6)': the question's own names are factors
    except LosslabError as error:
        return Verdict(False, f"losslab cannot read that formula ({first_line(error)}). {q.hint}")
    unknown = sorted(s.name for s in parsed.expr.free_symbols if s.name not in q.names)  # type: ignore[attr-defined]
    if unknown:
        return Verdict(False, f"the answer uses {', '.join(unknown)}; write it in {', '.join(q.names)}. {q.hint}")
    if sympy.simplify(parsed.expr - q.answer) == 0:
        return Verdict(True, f"{q.explain} losslab computes {q.answer}.".strip())
    return Verdict(False, q.hint)


def _check_predict(q: Question, answer: Any) -> Verdict:
    said = " ".join(str(answer).split()).lower().rstrip(".!") if isinstance(answer, str) else ""
    outcome = next((o for o in OUTCOMES if said in SAYS[o]), None)
    if outcome is None:
        return Verdict(False, f"answer converges (yes), oscillates, or diverges (no). {q.hint}")
    agree = outcome == q.answer or (q.answer == "oscillates" and said in ("no", "n", "false"))
    return Verdict(True, q.explain) if agree else Verdict(False, q.hint)


def _check_click(q: Question, answer: Any) -> Verdict:
    point = _point(answer, len(q.names))
    if point is None:
        return Verdict(False, f"click the map, or give {len(q.names)} numbers: {', '.join(q.names)}. {q.hint}")
    want, found = q.answer
    nearest = min(found, key=lambda item: math.dist(item[1], point))
    if nearest[0] == want and math.dist(nearest[1], point) <= q.tolerance:
        where = ", ".join(f"{v:.6g}" for v in nearest[1])
        return Verdict(True, f"{q.explain} losslab finds a {want} at ({where}).".strip())
    if math.dist(nearest[1], point) <= q.tolerance:
        return Verdict(False, f"that point is a {nearest[0]}, not a {want}. {q.hint}")
    return Verdict(False, q.hint)


def _point(answer: Any, dim: int) -> tuple[float, ...] | None:
    if isinstance(answer, str):
        answer = [part for part in re.split(r"[,\s()]+", answer) if part]
    if isinstance(answer, dict):
        answer = list(answer.values())
    if not isinstance(answer, list) or len(answer) != dim:
        return None
    values = [_number(v) for v in answer]
    return None if any(v is None for v in values) else tuple(float(v) for v in values if v is not None)


_PREPARE = {
    "choice": _prepare_choice,
    "number": _prepare_number,
    "formula": _prepare_formula,
    "predict": _prepare_predict,
    "click": _prepare_click,
}
_CHECKS = {
    "choice": _check_choice,
    "number": _check_number,
    "formula": _check_formula,
    "predict": _check_predict,
    "click": _check_click,
}
