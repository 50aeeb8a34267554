"""A lesson step's live view, read from its ``view`` block and checked before any page draws it.

A view names a loss (a formula, a gallery name, or ``data: MODEL on DATA`` for a model fitted to one
of the explorer's data sets), how to look at it (``kind``), where to start and which optimizers to
run. :func:`build_view` checks each of them through the library — the formula through the
whitelist parser, the start against the loss's parameters, each optimizer through the optimizer
registry — and then *renders* it: the loss on a small grid (1 or 2 parameters) or at the start
point (3 or more), so a view that cannot be drawn is reported while the lesson loads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from losslab.course.classifiers import CLASSIFIERS, PLANE_DATA, classifier_objective
from losslab.course.lesson_format import VIEW_KINDS, Block
from losslab.descent.optimizers import OptimizerSpec, parse_optimizer
from losslab.errors import LosslabError, check_int, not_one_of
from losslab.objectives.data_models import MODELS, SYNTHETIC, model_objective, synthetic_points
from losslab.objectives.from_text import objective_from_text
from losslab.objectives.gallery import gallery_names
from losslab.objectives.grid import evaluate_grid
from losslab.objectives.objective import Objective

MAX_VIEW_STEPS = 5000
DATA_POINTS = 30  # the explorer draws its synthetic data sets with 30 points
# how many parameters each kind of picture shows
KIND_DIMS: dict[str, tuple[int, ...]] = {
    "curve": (1,),
    "contour": (2,),
    "3d": (2,),
    "race": (1, 2),
    "boundary": (1, 2, 3),
    "levels": (3,),
}


@dataclass(frozen=True)
class View:
    """A checked view: the loss as text, the objective built from it, and the runs to show."""

    loss: str
    kind: str
    objective: Objective
    start: tuple[float, ...] | None
    runs: tuple[OptimizerSpec, ...]
    steps: int
    data: tuple[str, str] | None = None  # (model, data set) for a model fitted to data
    caption: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """What the page needs to set the explorer up for this view (no answers)."""
        source = "data" if self.data else ("gallery" if self.loss in gallery_names() else "formula")
        if self.data and self.data[0] in CLASSIFIERS:
            source = "classifier"  # the page names it {"source": "classifier", "model": …, "data": …}
        loss = self.loss
        if source == "formula" and "=" not in loss:  # 'L(m, b) = …' keeps the parameters' order (vars:) on the page
            loss = f"L({', '.join(self.objective.names)}) = {loss}"
        return {
            "kind": self.kind,
            "source": source,
            "loss": loss,
            "model": self.data[0] if self.data else None,
            "data": self.data[1] if self.data else None,
            "names": list(self.objective.names),
            "start": list(self.start) if self.start is not None else None,
            "runs": [{"name": r.name, "hyper": _plain(r.hyperparameters)} for r in self.runs],
            "steps": self.steps,
            "caption": self.caption,
        }


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def view_objective(
    loss: str | None, data: str | None, variables: str | None = None
) -> tuple[Objective, tuple[str, str] | None]:
    """The objective of a ``loss:`` text or a ``data: MODEL on DATA`` line (exactly one of them).

    >>> view_objective(None, "line on case_study_1")[0].names
    ('w0', 'w1')
    """
    if (loss is None) == (data is None):
        raise LosslabError("give the loss as 'loss: FORMULA' or 'data: MODEL on DATA', exactly one of them")
    if data is not None:
        model, on, name = (part.strip() for part in data.partition(" on "))
        if not on:
            raise LosslabError(f"data {data!r} is not 'MODEL on DATA', e.g. 'logistic on labels'")
        if model in CLASSIFIERS:  # Chapter 3's classifiers of two inputs
            if name not in PLANE_DATA:
                raise not_one_of("data set of the plane", name, PLANE_DATA)
            return classifier_objective(model, name), (model, name)
        if model not in MODELS:
            raise not_one_of("model", model, (*MODELS, *CLASSIFIERS))
        if name not in SYNTHETIC:
            raise not_one_of("data set", name, SYNTHETIC)
        x, y = synthetic_points(name, n=DATA_POINTS)
        return model_objective(x, y, model), (model, name)
    return objective_from_text(loss or "", variables), None


def build_view(block: Block) -> View:
    """Check and render a ``view`` block; LosslabError naming the first problem.

    >>> from losslab.course.lesson_format import Block
    >>> view = build_view(Block("view", 1, (("loss", "(w - 3)**2", 2), ("kind", "curve", 3),
    ...                                     ("start", "w=0", 4), ("run", "gd:lr=0.1", 5))))
    >>> view.to_dict()["runs"], view.start
    ([{'name': 'gd', 'hyper': {'lr': 0.1}}], (0.0,))
    """
    objective, data = view_objective(block.get("loss"), block.get("data"), block.get("vars"))
    kind = block.get("kind", "contour" if objective.dim == 2 else "curve") or ""
    if kind not in VIEW_KINDS:
        raise not_one_of("view kind", kind, VIEW_KINDS)
    if objective.dim not in KIND_DIMS[kind]:
        shown = " or ".join(str(d) for d in KIND_DIMS[kind])
        raise LosslabError(f"a {kind} view shows a loss of {shown} parameters; this one has {objective.dim}")
    start_text = block.get("start")
    start = tuple(float(v) for v in objective.point(start_text).tolist()) if start_text else None
    runs = tuple(parse_optimizer(text) for text in block.all("run"))
    steps = check_int("steps", _whole(block.get("steps", "100")), least=1, most=MAX_VIEW_STEPS)
    render(objective, start)
    loss = block.get("loss") or block.get("data") or ""
    return View(loss, kind, objective, start, runs, steps, data, block.get("caption", "") or "")


def render(objective: Objective, start: tuple[float, ...] | None) -> None:
    """Draw the loss the way the page will (a small grid), refusing one that has no finite value there."""
    if objective.dim in (1, 2):
        values = evaluate_grid(objective, resolution=9).values["loss"]
    else:
        point = start if start is not None else tuple(0.0 for _ in objective.names)
        values = objective.value(torch.tensor(point, dtype=torch.float64)).reshape(1)
    if not bool(torch.isfinite(values).any()):
        raise LosslabError("the loss has no finite value where the view looks: nothing could be drawn")


def _whole(text: str | None) -> Any:
    try:
        number = float(text or "")
    except ValueError:
        return text
    return int(number) if math.isfinite(number) and number == int(number) else text
