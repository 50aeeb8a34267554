"""The JSON contract between the server and the page: pydantic models, published at ``/openapi.json``.

Numbers in responses are JSON numbers when finite and the strings ``"Infinity"``,
``"-Infinity"`` or ``"NaN"`` otherwise (:func:`losslab.serialize.jsonable`): the type
:data:`Num`. Requests refuse non-finite numbers and unknown fields.

It runs past 400 lines because the whole contract is read in one place: one small model per request
and per answer, no logic.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from losslab.course.classifiers import CLASSIFIERS, PLANE_DATA, PLANE_POINTS
from losslab.course.classifiers import MAX_POINTS as MAX_PLANE_POINTS
from losslab.objectives.data_models import MODELS, SYNTHETIC

Num = float | Literal["Infinity", "-Infinity", "NaN"]
# the names /api/catalog lists are the names a request may give: both read the library's registry
MODEL_NAMES = tuple(MODELS)
Seed = Annotated[StrictInt, Field(ge=0, le=2**31 - 1, description="seed of the random source")]


class Request(BaseModel):
    """A request body: unknown fields, non-finite numbers, booleans for whole numbers (``"seed": false``) and
    text that is not Unicode (a lone surrogate such as ``"\\ud800"``, which JSON can carry) are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*")
    @classmethod
    def _unicode_text(cls, value: Any) -> Any:
        for text in _strings(value):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as error:
                bad = text[error.start]
                raise ValueError(f"holds {bad!r} at character {error.start + 1}, a lone surrogate: not text") from None
        return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _strings(item)]
    if isinstance(value, dict):
        return [text for pair in value.items() for item in pair for text in _strings(item)]
    return []


# -- objectives ------------------------------------------------------------------------------
class GallerySource(Request):
    """A named surface of ``GET /api/gallery``."""

    source: Literal["gallery"]
    name: str = Field(examples=["case_study_2"])


class FormulaSource(Request):
    """A typed formula (whitelist parser); ``variables`` fixes the parameter order."""

    source: Literal["formula"]
    text: str = Field(
        examples=["(w0 - 1)**2 + 3*(w1 + 2)**2"],
        json_schema_extra={"format": "formula"},  # a hint for clients and fuzzers: the whitelist grammar
    )
    variables: list[str] | None = None


class DataSource(Request):
    """A model fitted to points: pasted ``x, y`` lines, or a data set made on the spot."""

    source: Literal["data"]
    model: Literal[MODEL_NAMES]  # type: ignore[valid-type]
    points: str | None = Field(None, description="'x, y' per line; an optional header line")
    synthetic: Literal[SYNTHETIC] | None = None  # type: ignore[valid-type]
    n: StrictInt = Field(20, description="number of synthetic points")
    seed: Seed = 0


class ClassifierSource(Request):
    """Chapter 3's classifiers on labelled points of the plane (:mod:`losslab.course.classifiers`)."""

    source: Literal["classifier"]
    model: Literal[tuple(CLASSIFIERS)]  # type: ignore[valid-type]
    data: Literal[PLANE_DATA] | None = Field(None, description="the model's own data set when left out")  # type: ignore[valid-type]
    n: StrictInt = Field(PLANE_POINTS, ge=2, le=MAX_PLANE_POINTS, description="number of points")
    seed: Seed = 0


ObjectiveSpec = Annotated[
    GallerySource | FormulaSource | DataSource | ClassifierSource, Field(discriminator="source")
]


class ObjectiveRequest(Request):
    objective: ObjectiveSpec


class SliceSpec(Request):
    """A slice of a loss of 3 or more parameters: vary one or two of them, hold the others at ``at``'s values."""

    vary: list[str] = Field(examples=[["w0", "w1"]], description="the one or two parameters that vary")
    at: list[float] = Field(description="a point of the loss (one value per parameter); the varied ones are ignored")


class SurfaceRequest(Request):
    objective: ObjectiveSpec
    points: StrictInt = Field(101, description="grid points per axis")
    domain: list[tuple[float, float]] | None = Field(None, description="[lo, hi] per parameter (per varied one)")
    slice: SliceSpec | None = Field(None, description="the slice to draw, for a loss of 3 or more parameters")


class LevelsRequest(Request):
    """Nested level surfaces L = c of a loss of 3 parameters, with ∇L arrows (a Plotly figure)."""

    objective: ObjectiveSpec
    levels: StrictInt = Field(4, ge=1, le=12, description="how many level surfaces")
    resolution: StrictInt = Field(24, ge=6, le=40, description="grid points per axis of the 3-D grid")


class OptimizerChoice(Request):
    """One runner: a registry name (``GET /api/optimizers``) and its hyper-parameters."""

    name: str = Field(examples=["gd"])
    hyperparameters: dict[str, bool | int | float | str | list[float]] = Field(
        default_factory=dict,
        examples=[{"lr": 0.1}],
        description="each optimizer's knobs (GET /api/optimizers); whole numbers stay whole (history_size), text "
        "is for the knobs that take a name (L-BFGS's line_search_fn: 'strong_wolfe')",
    )
    batch_size: StrictInt | None = Field(None, description="mini-batch size (sgd on data objectives)")


class RaceRequest(Request):
    objective: ObjectiveSpec
    start: list[float]
    optimizers: list[OptimizerChoice]
    steps: StrictInt = 100
    seed: Seed = 0


class AnimationRequest(RaceRequest):
    """A race as a GIF: one frame per step, or ``frames`` evenly spaced steps when the race is longer."""

    frames: StrictInt = Field(30, ge=2, description="most frames in the GIF (the bound frames caps it)")
    fps: StrictInt = Field(8, ge=1, le=30, description="frames per second when the GIF plays")


class FitRequest(Request):
    """A data model's fit at each parameter vector of a run (as ``/api/race`` returned them)."""

    objective: ObjectiveSpec
    params: list[list[Num]] = Field(description="θ_k of each step; non-finite entries as the race wrote them")
    points: StrictInt = Field(121, description="points of the x grid")


class HessianRequest(Request):
    objective: ObjectiveSpec
    point: list[float]
    radius: float | None = Field(None, description="half-width of the Taylor overlay grid")
    points: StrictInt = Field(31, description="Taylor overlay grid points per axis")


class PathRequest(Request):
    """Two minima of the loss to join by a minimum-energy path (a nudged elastic band)."""

    objective: ObjectiveSpec
    a: list[float] = Field(examples=[[3.0, 2.0]], description="the first minimum, one number per parameter")
    b: list[float] = Field(examples=[[-2.805118, 3.131313]], description="the second minimum")
    images: StrictInt = Field(21, ge=3, le=101, description="points on the band, ends included")


class BoundaryRequest(Request):
    """A classifier's P(y = 1) over its input plane at each θ_k of a run (as ``/api/race`` returned them)."""

    objective: ObjectiveSpec
    params: list[list[Num]] = Field(description="θ_k of each step; non-finite entries as the race wrote them")
    points: StrictInt = Field(31, ge=2, le=81, description="grid points per input axis")


class LandscapeJobRequest(Request):
    points: StrictInt = Field(41, description="grid points per axis of the network plane")
    span: float = Field(1.0, gt=0, le=10, description="the plane covers a, b ∈ [−span, span]")
    seed: Seed = 0


# -- responses -------------------------------------------------------------------------------
class ErrorResponse(BaseModel):
    """Every 4xx: what went wrong; for a bound, its name and limit; for a formula, the column."""

    error: str
    bound: str | None = None
    limit: float | None = None
    column: int | None = None


class GalleryPoint(BaseModel):
    point: dict[str, float]
    kind: str
    value: float
    is_global: bool
    differentiable: bool


class GalleryItem(BaseModel):
    name: str
    title: str
    formula: str
    variables: list[str]
    domain: str
    description: str
    source: str
    family: Literal["seed", "test function"]
    start: list[float] | None = Field(None, description="the start a descent classically takes, if any")
    points: list[GalleryPoint]


class Knob(BaseModel):
    """A hyper-parameter control: its default and range (``log``: a log-scale slider)."""

    name: str
    default: float
    min: float
    max: float
    log: bool


class OptimizerInfo(BaseModel):
    name: str
    summary: str
    mini_batch: bool
    knobs: list[Knob]


class ModelInfo(BaseModel):
    name: str
    formula: str
    loss: str
    title: str
    data: str = Field(description="the synthetic data set the model starts on")
    suitable: list[str] = Field(description="the synthetic data sets that fit the model")


class MarkerInfo(BaseModel):
    """A mark of the marker language every picture uses (``losslab.plot._style.MARKERS``)."""

    symbol: str = Field(description="Plotly's marker symbol")
    words: str = Field(description="what the legend says")
    glyph: str = Field(description="the shape as a character (★ ▲ ✖ ◆ ⬢): the mark in a 3-D scene")


class Catalog(BaseModel):
    models: list[ModelInfo]
    synthetic: list[str]
    bounds: dict[str, float]
    markers: dict[str, MarkerInfo] = Field(description="start, minimum, maximum, saddle, degenerate, kink")
    classifiers: list[dict[str, str]] = Field(
        default_factory=list, description="Chapter 3's classifiers of the plane: name, title, the data set they suit"
    )
    plane_data: list[str] = Field(default_factory=list, description="the labelled data sets of the plane")


class MathML(BaseModel):
    loss: str
    partials: list[dict[str, str]]
    hessian: str | None


class ObjectiveInfo(BaseModel):
    title: str
    names: list[str]
    dim: int
    domain: list[tuple[float, float]]
    formula: str | None
    understood: str | None = Field(None, description="a typed formula as the parser read it, e.g. x**2 for x^2")
    mathml: MathML | None
    data: dict[str, list[float]] | None = Field(None, description="x and y of a data objective")


class StationaryOut(BaseModel):
    point: dict[str, Num]
    value: Num
    kind: str
    hessian_eigenvalues: list[Num]
    method: str
    differentiable: bool = Field(True, description="False at a kink: no gradient there (the page marks it so)")
    dimension: int = Field(
        0, description="0 for an isolated point; d ≥ 1 for a set of stationary points (a line, a plane)"
    )
    equations: list[str] = Field(
        default_factory=list, description="a set's equations (w0 = 0), then its free parameters (w2 free)"
    )
    note: str = Field("", description="what is special about the entry, when something is")
    curve: list[list[list[Num]]] = Field(
        default_factory=list,
        description="a curve of stationary points traced through the box: polylines of points (each a list of "
        "coordinates in the order of the variables), for the page to draw the set instead of one of its points",
    )


class AnalysisResponse(BaseModel):
    title: str
    variables: list[str]
    gradient: dict[str, str] | None
    hessian: list[list[str]] | None
    stationary_points: list[StationaryOut]
    global_minimum: StationaryOut | None
    convexity: dict[str, Any]
    condition_number: Num | None
    max_stable_lr: Num | None
    notes: list[str]
    mathml: MathML | None


class SuggestionResponse(BaseModel):
    """Defaults that suit a loss (``losslab.analysis.defaults.suggest_defaults``)."""

    start: list[float] = Field(description="a start away from stationary points and kinks, with ∇L finite and ≠ 0")
    lr: float = Field(description="gradient descent's learning rate: at most half of 2/λmax")
    max_stable_lr: Num | None = Field(description="2/λmax at the reference minimum")
    step: float = Field(description="the step length of the adaptive optimizers (Adam, AdaGrad)")
    reason: str
    lrs: dict[str, float] = Field(description="each optimizer's learning rate, its other knobs at their defaults")


class GridOut(BaseModel):
    names: list[str]
    axes: list[list[float]]
    values: list[list[Num]] | list[Num]
    min: float | None
    max: float | None
    extras: dict[str, Any]


class Diagnosis(BaseModel):
    status: str
    reason: str
    step: int


class RunOut(BaseModel):
    optimizer: str
    hyperparameters: dict[str, Any]
    params: list[list[Num]]
    losses: list[Num]
    gradients: list[list[Num]]
    gradient_norms: list[Num]
    lrs: list[Num]
    diagnosis: Diagnosis
    notes: list[str]


class RaceResponse(BaseModel):
    names: list[str]
    start: list[float]
    runs: list[RunOut]


class FitResponse(BaseModel):
    x: list[float]
    y: list[list[Num]]


class HessianResponse(BaseModel):
    names: list[str]
    point: list[float]
    value: Num
    gradient: list[Num]
    gradient_norm: Num
    hessian: list[list[Num]]
    eigenvalues: list[Num]
    kind: str
    taylor: GridOut


class BoundaryResponse(BaseModel):
    names: list[str] = Field(description="the two inputs")
    axes: list[list[float]]
    data: dict[str, list[float]] = Field(description="the points: each input, and y (the class)")
    probability: list[list[list[Num]]] = Field(description="per θ_k, P(y = 1) with rows along the second input")


class PathResponse(BaseModel):
    names: list[str]
    images: list[list[Num]] = Field(description="the band from a to b")
    values: list[Num] = Field(description="L at each image")
    saddle: list[Num] = Field(description="the climbing image, polished by Newton: the saddle between a and b")
    saddle_value: Num
    barrier: Num = Field(description="L at the saddle − max(L(a), L(b))")
    force: Num = Field(description="the largest force left on an image")
    iterations: int
    text: str


class BasinOut(BaseModel):
    index: int
    point: list[float]
    value: Num
    merges_at: Num
    merges_into: int | None
    saddle: list[float] | None
    persistence: Num
    size: int
    tree_x: int = Field(description="where the basin stands along the drawn merge tree")


class BasinsOut(BaseModel):
    """A grid's basins (deepest first) and their merge tree; ``labels``: each grid point's basin, as ``values``."""

    axis_names: list[str]
    basins: list[BasinOut]
    labels: list[list[int]] | list[int]
    summary: str


class BowlMountains(BaseModel):
    bowl: GridOut
    network: GridOut
    bowl_title: str
    network_title: str
    bowl_basins: BasinsOut | None = None
    network_basins: BasinsOut | None = None


class JobResponse(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float
    message: str
    result: BowlMountains | None = None
