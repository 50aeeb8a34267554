"""From validated requests to library calls: build the objective, check the bounds, call.

No maths here: every number comes from the library (:mod:`losslab.objectives`,
:mod:`losslab.analysis`, :mod:`losslab.descent`) and the objective itself; this module only lays
results out as the page's JSON. Objectives and analyses are cached by the
request's JSON (an LRU per process), so the page can ask again for free.

It runs past 400 lines because the worker processes call each request's work here by name
(``service.<name>``, :mod:`losslab.web.workers`): one short function per endpoint; the layouts of the
shape of a landscape (basins, paths, boundaries) live in :mod:`losslab.web.shape`.
"""

from __future__ import annotations

import functools
import re
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch

from losslab.analysis.defaults import suggest_defaults
from losslab.analysis.point_curvature import curvature_at
from losslab.analysis.report import Analysis, analyze
from losslab.course.classifiers import CLASSIFIERS, PLANE_DATA, classifier_objective
from losslab.descent.optimizers import OPTIMIZERS, build
from losslab.descent.race import Race, Runner, race
from losslab.descent.tried_rates import tried_rates
from losslab.errors import LosslabError
from losslab.objectives.data_models import (
    MODEL_DATA,
    MODELS,
    SYNTHETIC,
    ModelFits,
    model_fits,
    model_objective,
    parse_points,
    suitable_data,
    synthetic_points,
)
from losslab.objectives.domain import Domain
from losslab.objectives.from_text import objective_from_text
from losslab.objectives.gallery import ENTRIES, gallery_entry
from losslab.objectives.gallery import gallery as gallery_objective
from losslab.objectives.grid import Grid, evaluate_grid, plotly_layout, view_domain
from losslab.objectives.held_slice import HeldSlice
from losslab.objectives.objective import FormulaObjective, Objective
from losslab.plot import animate
from losslab.plot._marks import PointsLike
from losslab.plot._style import MARKERS
from losslab.plot.levels import level_surfaces
from losslab.serialize import jsonable
from losslab.web.config import Bounds
from losslab.web.mathml import formula_mathml
from losslab.web.schemas import (
    AnimationRequest,
    BoundaryRequest,
    ClassifierSource,
    DataSource,
    FitRequest,
    FormulaSource,
    GallerySource,
    HessianRequest,
    LevelsRequest,
    ObjectiveSpec,
    PathRequest,
    RaceRequest,
    SurfaceRequest,
)
from losslab.web.shape import boundary_json, energy_path_json

# hyper-parameter controls the page shows: name -> (min, max, log scale); index: element of a tuple
_KNOBS: dict[str, list[tuple[str, int | None, float, float, bool]]] = {
    "momentum": [("momentum", None, 0.0, 0.999, False)],
    "nesterov": [("momentum", None, 0.0, 0.999, False)],
    "rmsprop": [("alpha", None, 0.5, 0.999, False)],
    "adam": [("betas", 0, 0.0, 0.999, False), ("betas", 1, 0.5, 0.9999, False)],
    "adamw": [("betas", 0, 0.0, 0.999, False), ("betas", 1, 0.5, 0.9999, False), ("weight_decay", None, 0, 1, False)],
    "newton": [("damping", None, 0.0, 10.0, False)],
}


T = TypeVar("T")
GIF_DPI = 80  # 512×400 pixels: readable labels; every frame is a full matplotlib draw (~0.2 s)
GIF_TITLE_CHARS = 46  # what fits across 512 pixels at the title's size


class BoundError(LosslabError):
    """A request past one of the server's bounds; the API answers 4xx naming it."""

    def __init__(self, bound: str, limit: float, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.bound, self.limit, self.status = bound, limit, status


def check(bound: str, value: float, limit: float, what: str) -> None:
    """Raise :class:`BoundError` when ``value`` exceeds ``limit``."""
    if value > limit:
        raise BoundError(bound, limit, f"{what} is {value:g}; the bound {bound} allows at most {limit:g}")


# -- JSON the page reads ------------------------------------------------------------------------
def grid_json(grid: Grid) -> dict[str, Any]:
    """A grid as the page's JSON: ``names``, ``axes``, ``values`` in Plotly's layout (:meth:`Grid.plotly_z`),
    ``min``/``max`` of the finite loss, and ``extras`` (the other value arrays, same layout).

    >>> from losslab.objectives.objective import formula
    >>> grid_json(evaluate_grid(formula("x**2"), "-1:1", resolution=3))["values"]
    [1.0, 0.0, 1.0]
    """
    loss = grid.values["loss"]
    finite = loss[torch.isfinite(loss)]
    low, high = (float(finite.min()), float(finite.max())) if finite.numel() else (None, None)
    return {
        "names": list(grid.axis_names),
        "axes": [c.tolist() for c in grid.coordinates],
        "values": plotly_layout(loss).tolist(),
        "min": low,
        "max": high,
        "extras": {k: plotly_layout(v).tolist() for k, v in grid.values.items() if k != "loss"},
    }


# -- catalogs ----------------------------------------------------------------------------------
def gallery() -> list[dict[str, Any]]:
    """Every gallery surface with its family, the seeds' examples first (the order of ``ENTRIES``)."""
    return [entry.to_dict() for entry in ENTRIES]


@functools.cache
def optimizers() -> list[dict[str, Any]]:
    out = []
    for name, entry in OPTIMIZERS.items():
        extra = {"hessian": lambda t: torch.eye(1, dtype=t.dtype)} if name == "newton" else {}
        defaults = build(name, [torch.zeros(1, requires_grad=True)], extra).defaults
        knobs = [{"name": "lr", "index": None, "default": defaults["lr"], "min": 1e-4, "max": 10.0, "log": True}]
        for knob, index, low, high, log in _KNOBS.get(name, []):
            value = defaults[knob] if index is None else defaults[knob][index]
            knobs.append({"name": knob, "index": index, "default": float(value), "min": low, "max": high, "log": log})
        first = entry.doc.split("\n\n")[0].replace("\n", " ")
        summary = re.split(r":?,?\s*:math:", first)[0]  # the words, not the update rule
        out.append({"name": name, "summary": summary, "mini_batch": entry.mini_batch, "knobs": knobs})
    return out


def catalog(bounds: Bounds) -> dict[str, Any]:
    """Data models (with the data sets that fit each), synthetic data sets, bounds, and the marker language."""
    models = [
        {"name": n, "formula": f, "loss": loss, "title": t, "data": MODEL_DATA[n], "suitable": list(suitable_data(n))}
        for n, (f, loss, t) in MODELS.items()
    ]
    markers = {kind: {"symbol": m.plotly, "words": m.words, "glyph": m.glyph} for kind, m in MARKERS.items()}
    classifiers = [{"name": n, "title": title, "data": data} for n, (_, data, title) in CLASSIFIERS.items()]
    return {"models": models, "synthetic": list(SYNTHETIC), "bounds": dict(vars(bounds)), "markers": markers,
            "classifiers": classifiers, "plane_data": list(PLANE_DATA)}  # fmt: skip


# -- objectives --------------------------------------------------------------------------------
def objective(spec: ObjectiveSpec, bounds: Bounds) -> Objective:
    """The objective a request names, after its bounds are checked (cached by the spec's JSON)."""
    if isinstance(spec, FormulaSource):
        check("formula_length", len(spec.text), bounds.formula_length, "the formula's length")
    elif isinstance(spec, DataSource):
        if spec.points is not None:
            check("data_points", spec.points.count("\n") + 1, bounds.data_points + 1, "the number of lines")
        else:
            check("data_points", spec.n, bounds.data_points, "the number of synthetic points")
    return _cached_objective(spec.model_dump_json())


@functools.lru_cache(maxsize=64)
def _cached_objective(key: str) -> Objective:
    from pydantic import TypeAdapter

    spec: Any = TypeAdapter(ObjectiveSpec).validate_json(key)
    if isinstance(spec, GallerySource):
        return gallery_objective(spec.name)
    elif isinstance(spec, FormulaSource):
        return objective_from_text(spec.text, spec.variables)
    elif isinstance(spec, DataSource):
        x, y = _points(spec)
        return model_objective(x, y, spec.model)
    elif isinstance(spec, ClassifierSource):
        return classifier_objective(spec.model, spec.data, spec.n, spec.seed)
    else:
        raise LosslabError(f"unknown objective source {spec!r}")


def _points(spec: DataSource) -> tuple[list[float], list[float]]:
    if spec.points is not None and spec.synthetic is not None:
        raise LosslabError("give either pasted points or a synthetic data set, not both")
    if spec.points is not None:
        return parse_points(spec.points)
    if spec.synthetic is None:
        raise LosslabError("a data objective needs pasted points or a synthetic data set")
    if spec.n < 2:
        raise LosslabError(f"n = {spec.n}: a synthetic data set needs at least 2 points")
    return synthetic_points(spec.synthetic, spec.n, spec.seed)


def describe(spec: ObjectiveSpec, bounds: Bounds) -> dict[str, Any]:
    obj = objective(spec, bounds)
    data = None
    if isinstance(spec, DataSource):
        x, y = _points(spec)
        data = {"x": x, "y": y}
    return {
        "title": obj.title,
        "names": list(obj.names),
        "dim": obj.dim,
        "domain": [list(b) for b in view_domain(obj).bounds],
        "formula": None if obj.expr is None else str(obj.expr),
        "understood": obj.understood if isinstance(obj, FormulaObjective) else None,
        "mathml": formula_mathml(obj),
        "data": data,
    }


def analysis(spec: ObjectiveSpec, bounds: Bounds) -> dict[str, Any]:
    objective(spec, bounds)
    return _cached_analysis(spec.model_dump_json())


@functools.lru_cache(maxsize=64)
def _cached_analysis(key: str) -> dict[str, Any]:
    obj = _cached_objective(key)
    return jsonable({**_analysed(key).to_dict(), "mathml": formula_mathml(obj)})


@functools.lru_cache(maxsize=64)
def _analysed(key: str) -> Analysis:
    obj = _cached_objective(key)
    return analyze(obj, domain=view_domain(obj), generator=torch.Generator().manual_seed(0))


def suggestion(spec: ObjectiveSpec, bounds: Bounds) -> dict[str, Any]:
    """The start and learning rates that suit the loss (:func:`losslab.analysis.defaults.suggest_defaults`),
    with each optimizer's rate at its other knobs' defaults, tried on a 100-step run (``lrs``,
    :func:`losslab.descent.tried_rates.tried_rates`)."""
    obj = objective(spec, bounds)
    preferred = gallery_entry(spec.name).start if isinstance(spec, GallerySource) else None
    # A gallery surface lists its stationary points and the explorer's data models are convex (their one
    # stationary point is the minimum): only a typed formula needs its analysis, which for a logistic
    # loss takes seconds that the first race would wait for.
    analysed = None
    if isinstance(spec, FormulaSource):
        try:
            analysed = _analysed(spec.model_dump_json())
        except LosslabError:  # no analysis (its own 4xx says why): the start still avoids L's known points
            analysed = None
    found = suggest_defaults(obj, analysed, preferred)
    knobs = {
        o["name"]: {k["name"]: k["default"] for k in o["knobs"] if k["index"] is None and k["name"] != "lr"}
        for o in optimizers()
    }
    lrs = tried_rates(obj, found, {name: knobs[name] for name in OPTIMIZERS})
    return jsonable({**vars(found), "start": list(found.start), "lrs": lrs})


# -- surfaces, races, curvature ---------------------------------------------------------------
def surface(request: SurfaceRequest, bounds: Bounds) -> dict[str, Any]:
    check("grid_points", request.points, bounds.grid_points, "points per axis")
    obj = objective(request.objective, bounds)
    if request.slice is not None:  # vary one or two parameters, hold the others
        obj = HeldSlice(obj, request.slice.vary, request.slice.at)
    domain = None if request.domain is None else _domain(obj, request.domain)
    return grid_json(evaluate_grid(obj, domain, request.points))


def levels(request: LevelsRequest, bounds: Bounds) -> bytes:
    """The level surfaces of a 3-parameter loss with its gradient arrows (:func:`losslab.plot.levels.level_surfaces`),
    as Plotly's figure JSON."""
    figure = level_surfaces(objective(request.objective, bounds), levels=request.levels, resolution=request.resolution)
    return figure.to_json().encode()


def _domain(objective: Objective, bounds: list[tuple[float, float]]) -> Domain:
    if len(bounds) != objective.dim:
        raise LosslabError(f"domain gives {len(bounds)} ranges; the objective has {objective.dim} parameters")
    return Domain(tuple(objective.names), tuple((float(lo), float(hi)) for lo, hi in bounds))


def run_race(request: RaceRequest, bounds: Bounds, should_stop: Callable[[], bool]) -> Race:
    check("steps", request.steps, bounds.steps, "steps")
    check("optimizers", len(request.optimizers), bounds.optimizers, "the number of optimizers")
    obj = objective(request.objective, bounds)
    runners = [Runner(o.name, _hyper(o.hyperparameters), o.batch_size) for o in request.optimizers]
    return race(obj, request.start, runners, request.steps, seed=request.seed, should_stop=should_stop)


def warm_up() -> None:
    """A 11×11 surface and a three-step race of every optimizer on Rosenbrock, answers dropped.

    Loads what the first request would otherwise load: the modules torch imports on its first
    optimizer (``torch._dynamo``), SymPy's derivative code, and the objective's compiled partials.
    """
    spec = GallerySource(source="gallery", name="rosenbrock")
    bounds = Bounds()
    surface(SurfaceRequest.model_validate({"objective": spec, "points": 11}), bounds)
    body = {"objective": spec, "start": [-1.5, 2.0], "steps": 3, "optimizers": [{"name": n} for n in OPTIMIZERS]}
    run_race(RaceRequest.model_validate(body), bounds, lambda: False)


def energy_path(request: PathRequest, bounds: Bounds) -> dict[str, Any]:
    """The minimum-energy path between the minima ``a`` and ``b`` of the loss (:mod:`losslab.web.shape`)."""
    return energy_path_json(objective(request.objective, bounds), request.a, request.b, request.images)


def boundary(request: BoundaryRequest, bounds: Bounds) -> dict[str, Any]:
    """A classifier's P(y = 1) over its input plane at each step given (:mod:`losslab.web.shape`)."""
    check("steps", len(request.params) - 1, bounds.steps, "the number of steps")
    return boundary_json(objective(request.objective, bounds), request.params, request.points)


def _hyper(given: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}


def fits(request: FitRequest, bounds: Bounds) -> ModelFits:
    check("steps", len(request.params) - 1, bounds.steps, "the number of steps")
    check("grid_points", request.points, bounds.grid_points, "points of the x grid")
    obj = objective(request.objective, bounds)
    params = [[float(v) for v in row] for row in request.params]  # "NaN", "Infinity" as the race wrote them
    return model_fits(obj, params, request.points)


def hessian(request: HessianRequest, bounds: Bounds) -> dict[str, Any]:
    check("grid_points", request.points, bounds.grid_points, "Taylor grid points per axis")
    obj = objective(request.objective, bounds)
    found = curvature_at(obj, request.point, request.radius, request.points)
    return {**jsonable(found), "taylor": grid_json(found.taylor)}


# -- a race as a GIF ---------------------------------------------------------------------------
def animation(request: AnimationRequest, bounds: Bounds, should_stop: Callable[[], bool]) -> bytes:
    """The race of ``request`` as GIF bytes, drawn by :func:`losslab.plot.animate`.

    ``should_stop`` is asked between optimizers and before each frame after the first
    (out of time, or the page went away): the one compute worker is then free again.
    """
    check("frames", request.frames, bounds.frames, "frames")
    check("steps", request.steps, bounds.steps, "steps")
    check("optimizers", len(request.optimizers), bounds.optimizers, "the number of optimizers")
    obj = objective(request.objective, bounds)
    if obj.dim > 2:
        raise LosslabError(f"a GIF shows a loss of 1 or 2 parameters; this one has {obj.dim} ({', '.join(obj.names)})")
    runners = [Runner(o.name, _hyper(o.hyperparameters), o.batch_size) for o in request.optimizers]
    runs = race(obj, request.start, runners, request.steps, seed=request.seed, should_stop=should_stop).runs
    marks = _marks(obj, request.objective, bounds)
    title = textwrap.fill(obj.title or "the loss", GIF_TITLE_CHARS)  # the film's title line gets " — step k" too
    film = animate(obj, list(runs), domain=view_domain(obj), max_frames=request.frames, fps=request.fps, title=title,
                   stationary=marks)  # fmt: skip
    film.update = _stoppable(film.update, should_stop, len(film.steps))
    with tempfile.TemporaryDirectory(prefix="losslab-gif-") as folder:  # pillow's writer wants a path
        return film.save(Path(folder) / "race.gif", dpi=GIF_DPI).read_bytes()


def _marks(objective: Objective, spec: ObjectiveSpec, bounds: Bounds) -> PointsLike:
    """What the film marks: the objective's known points, else the (cached) analysis's stationary points.

    The film then marks what the page marks — a curve of them drawn along itself, a kink as a kink — and the
    picture does not search for them again (for a logistic loss that search takes seconds; the page has asked
    for the analysis already).
    """
    if objective.known_points:
        return True
    analysis(spec, bounds)
    return _analysed(spec.model_dump_json()).stationary_points


def _stoppable(update: Callable[[int], T], should_stop: Callable[[], bool], frames: int) -> Callable[[int], T]:
    """``update`` that raises once ``should_stop()`` — never before the first frame, which the writer needs."""
    drawn = 0

    def checked(step: int) -> T:
        nonlocal drawn
        if drawn and should_stop():
            raise LosslabError(f"stopped after {drawn} of {frames} frames: out of time, or the page went away")
        drawn += 1
        return update(step)

    return checked
