"""The JSON contract between the server and the page: pydantic models, published at ``/openapi.json``.

Numbers in responses are JSON numbers when finite and the strings ``"Infinity"``,
``"-Infinity"`` or ``"NaN"`` otherwise (:func:`losslab.serialize.jsonable`): the type
:data:`Num`. Requests refuse non-finite numbers and unknown fields.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from losslab.objectives.data_models import MODELS, SYNTHETIC

Num = float | Literal["Infinity", "-Infinity", "NaN"]
# the names /api/catalog lists are the names a request may give: both read the library's registry
MODEL_NAMES = tuple(MODELS)
Seed = Annotated[int, Field(ge=0, le=2**31 - 1, description="seed of the random source")]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# -- objectives ------------------------------------------------------------------------------
class GallerySource(Request):
    """A named surface of ``GET /api/gallery``."""

    source: Literal["gallery"]
    name: str = Field(examples=["case_study_2"])


class FormulaSource(Request):
    """A typed formula (whitelist parser); ``variables`` fixes the parameter order."""

    source: Literal["formula"]
    text: str = Field(examples=["(w0 - 1)**2 + 3*(w1 + 2)**2"])
    variables: list[str] | None = None


class DataSource(Request):
    """A model fitted to points: pasted ``x, y`` lines, or a data set made on the spot."""

    source: Literal["data"]
    model: Literal[MODEL_NAMES]  # type: ignore[valid-type]
    points: str | None = Field(None, description="'x, y' per line; an optional header line")
    synthetic: Literal[SYNTHETIC] | None = None  # type: ignore[valid-type]
    n: int = Field(20, description="number of synthetic points")
    seed: Seed = 0


ObjectiveSpec = Annotated[GallerySource | FormulaSource | DataSource, Field(discriminator="source")]


class ObjectiveRequest(Request):
    objective: ObjectiveSpec


class SurfaceRequest(Request):
    objective: ObjectiveSpec
    points: int = Field(101, description="grid points per axis")
    domain: list[tuple[float, float]] | None = Field(None, description="[lo, hi] per parameter")


class OptimizerChoice(Request):
    """One runner: a registry name (``GET /api/optimizers``) and its hyper-parameters."""

    name: str = Field(examples=["gd"])
    hyperparameters: dict[str, float | bool | list[float]] = Field(default_factory=dict, examples=[{"lr": 0.1}])
    batch_size: int | None = Field(None, description="mini-batch size (sgd on data objectives)")


class RaceRequest(Request):
    objective: ObjectiveSpec
    start: list[float]
    optimizers: list[OptimizerChoice]
    steps: int = 100
    seed: Seed = 0


class AnimationRequest(RaceRequest):
    """A race as a GIF: one frame per step, or ``frames`` evenly spaced steps when the race is longer."""

    frames: int = Field(30, ge=2, description="most frames in the GIF (the bound frames caps it)")
    fps: int = Field(8, ge=1, le=30, description="frames per second when the GIF plays")


class FitRequest(Request):
    """A data model's fit at each parameter vector of a run (as ``/api/race`` returned them)."""

    objective: ObjectiveSpec
    params: list[list[Num]] = Field(description="θ_k of each step; non-finite entries as the race wrote them")
    points: int = Field(121, description="points of the x grid")


class HessianRequest(Request):
    objective: ObjectiveSpec
    point: list[float]
    radius: float | None = Field(None, description="half-width of the Taylor overlay grid")
    points: int = Field(31, description="Taylor overlay grid points per axis")


class LandscapeJobRequest(Request):
    points: int = Field(41, description="grid points per axis of the network plane")
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


class Catalog(BaseModel):
    models: list[ModelInfo]
    synthetic: list[str]
    bounds: dict[str, float]
    markers: dict[str, MarkerInfo] = Field(description="start, minimum, maximum, saddle, degenerate, kink")


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


class BowlMountains(BaseModel):
    bowl: GridOut
    network: GridOut
    bowl_title: str
    network_title: str


class JobResponse(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float
    message: str
    result: BowlMountains | None = None
