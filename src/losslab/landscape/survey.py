"""Survey: a network's loss (and accuracy) on a grid of a line or plane, in chunks, resumable.

The grid ``(a_i, b_j)`` is flattened in row-major order (``ij``: b varies fastest) and cut
into chunks of a fixed size; chunk ``t`` is the flat indices ``[t·m, (t+1)·m)``. Each chunk
is one call of the :class:`~losslab.landscape.engine.SliceEvaluator` (the fast path). The
chunk size comes from a memory budget unless given: a batched chunk holds each point's
parameters and activations over the data; a point-by-point chunk (the image path) one
point's activations at a time, and at most :data:`POINT_BY_POINT_CHUNK` points. With ``out=``,
every finished chunk is written to the HDF5 file and flushed, and ``resume=True`` computes
only the chunks not yet in the file — with the same chunk size, so resumed values equal
uninterrupted ones bit for bit. The file is written beside ``out`` and renamed over it once its
first chunk is on disk, and an existing ``out`` that is not the same survey is left alone unless
``force=True`` (:mod:`losslab.landscape.target`). The grid is checked before anything is
allocated: finite ranges lo < hi whose points are distinct and finite in the survey's dtype (and
θ along them finite), at most :data:`~losslab.landscape.limits.MAX_POINTS` points, arrays that fit
in the free memory. How a survey runs (method, chunking, file, progress) is one
:class:`SurveyOptions`, shared by :func:`survey`, :func:`plan_survey` and
:func:`~losslab.landscape.distributed.distributed_survey`.

(Over 400 lines because the options, the plan, where a survey begins — fresh, resumed or over an
existing file — and the chunk recorder are one sequence that the single-process and the
distributed survey share; the grid's checks, the fingerprints and the file's rules are their own
modules.)
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor

from losslab.errors import LosslabError, check_choice, check_int
from losslab.landscape.directions import Directions
from losslab.landscape.engine import METHODS, SliceEvaluator, check_autocast
from losslab.landscape.fingerprints import model_provenance
from losslab.landscape.given_directions import given_directions
from losslab.landscape.limits import Ranges, check_reach, free_memory, survey_grid
from losslab.landscape.regenerated import RegeneratedDirections
from losslab.landscape.surface import AXIS_NAMES, Surface, load_surface, read_provenance
from losslab.landscape.target import NEW_KEYS, SurveyTarget, check_target, first_difference
from losslab.objectives.network import NetworkObjective

ChunkCallback = Callable[[int, int], None]
# bytes per chunk on a CPU. Measured (benchmarks/bench_landscape.py): the digits MLP is fastest at
# 16–64 points per chunk (1–4 points: 10–100× slower); with the sample-tiled chain, 25 points (this
# budget) 1.38 s, 32: 1.32–1.55 s, 64: 1.35 s per 51×51 plane (2 threads, shared machine).
CPU_BUDGET = 48 * 2**20
# Where fewer than this many points fit in CPU_BUDGET (a large model's activations over the data), the
# budget comes from the machine instead: room for this many points, within a quarter of the free memory.
MACHINE_POINTS = 16
# Points per chunk where the points run one after another (the image path): what is
# derived from θ once per chunk (folded BatchNorm, patch kernels) and the chunk's loss reduction are
# shared by more points, and no point's activations are kept. Digits CNN, median of 4 alternating
# 25×25 surveys: 2.31 ms per point at 2 points per chunk (the old activation-based budget), 2.15 at
# 4, 2.03 at 16, 1.93–1.96 at 32 and 64, 1.91–1.92 at 128 and 256. More than 64 gains nothing
# measurable and coarsens the progress bar and what an interruption loses.
POINT_BY_POINT_CHUNK = 64


@dataclass(frozen=True)
class SurveyOptions:
    """How a survey runs: how it evaluates, how it cuts the grid into chunks, where it writes and
    what it reports. Checked once, when made.

    :func:`survey`, :func:`plan_survey` and :func:`~losslab.landscape.distributed.distributed_survey`
    take one as ``options=``, or its fields as keywords (``survey(L, d, method="vmap", out="s.h5")``);
    see :func:`survey_options`.

    Attributes:
        method: how a chunk is evaluated: ``auto`` (``fused`` where it applies, else ``vmap``),
            ``fused``, ``vmap`` or ``compile`` (see :mod:`losslab.landscape.engine`).
        memory_budget: bytes one chunk may use (default: on a CPU 48 MiB — the cache-sized chunk —
            unless fewer than :data:`MACHINE_POINTS` points fit there, then room for that many within a
            quarter of the free memory; on a GPU a quarter of the free memory); sets the chunk size from
            :meth:`~losslab.landscape.engine.SliceEvaluator.memory` (parameters plus two
            activations of the widest layer over the data per point, or on the image path one
            point's activations and each point's parameters and outputs).
        chunk_size: grid points per chunk (overrides the budget; a resumed survey keeps its file's).
        out: an HDF5 file to write chunks to as they finish (None: keep the surface in memory only).
            It is written beside ``out`` and renamed over it once the first chunk is on disk. An
            existing ``out`` must be the same survey — model, data, directions, method, BatchNorm
            policy, dtype, grid and ranges (see :mod:`losslab.landscape.target`) — unless ``force``.
        resume: continue the survey already in ``out``; where ``out`` does not exist yet, start
            afresh. Without it the same survey in ``out`` is computed afresh.
        force: replace an ``out`` that is not a readable surface or holds another survey.
        progress: show a rich progress bar, counted in grid points; it moves within a chunk after every
            batch of streamed data (and every point of a ``loop``).
        on_chunk: called as ``on_chunk(done, total)`` after each chunk (counted in chunks).
        autocast: ``"bfloat16"`` or ``"float16"``: evaluate under ``torch.autocast`` — convolutions and
            matrix products in that precision, θ = c + a·d₁ + b·d₂ and the losses in the objective's
            dtype; recorded in the provenance (``autocast``). Faster where the hardware has it (ResNet-18
            on a 2-core AVX-512-bf16 CPU: 2.3× float32), at a cost in accuracy the values carry
            (see the README). None: the objective's own dtype throughout.

    Raises:
        LosslabError: ``method`` is not one of :data:`~losslab.landscape.engine.METHODS`, or
            ``memory_budget`` or ``chunk_size`` is not a whole number ≥ 1.

    >>> SurveyOptions(method="vmap", chunk_size=16).chunk_size
    16
    >>> SurveyOptions(method="magic")
    Traceback (most recent call last):
    losslab.errors.LosslabError: method 'magic' is not one of auto, fused, vmap, loop, compile
    """

    method: str = "auto"
    memory_budget: int | None = None
    chunk_size: int | None = None
    out: str | Path | None = None
    resume: bool = False
    force: bool = False
    progress: bool = False
    on_chunk: ChunkCallback | None = None
    autocast: str | None = None

    def __post_init__(self) -> None:
        check_choice("method", self.method, METHODS)
        if self.autocast is not None:
            check_autocast(self.autocast, self.method)
        if self.memory_budget is not None:
            check_int("memory_budget", self.memory_budget, least=1)
        if self.chunk_size is not None:
            check_int("chunk_size", self.chunk_size)
            if self.chunk_size < 1:
                raise LosslabError(f"chunk_size = {self.chunk_size}; need ≥ 1")


def survey_options(options: SurveyOptions | None = None, **keywords: Any) -> SurveyOptions:
    """``options`` (default: :class:`SurveyOptions`'s defaults) with ``keywords`` — any of its fields —
    put in: the one place the keyword style of the survey functions becomes options.

    Raises:
        TypeError: ``options`` is not a SurveyOptions, or a keyword is not one of its fields.
        LosslabError: a value is refused (see :class:`SurveyOptions`).

    >>> o = survey_options(SurveyOptions(method="vmap"), chunk_size=8, out="s.h5")
    >>> o.method, o.chunk_size, o.out, o.resume
    ('vmap', 8, 's.h5', False)
    >>> survey_options(chunksize=8)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    TypeError: unexpected survey option(s) 'chunksize'; the options are method, memory_budget, chunk_size, ...
    """
    base = SurveyOptions() if options is None else options
    if not isinstance(base, SurveyOptions):
        raise TypeError(f"options must be a SurveyOptions, not a {type(base).__name__}")
    if not keywords:
        return base
    names = [field.name for field in fields(SurveyOptions)]
    unknown = [repr(name) for name in keywords if name not in names]
    if unknown:
        raise TypeError(f"unexpected survey option(s) {', '.join(unknown)}; the options are {', '.join(names)}")
    return replace(base, **keywords)


class ChunkEvaluator(Protocol):
    """What evaluates a survey's chunks: :class:`~losslab.landscape.engine.SliceEvaluator` (stored directions),
    :class:`~losslab.landscape.regenerated_survey.RegeneratedEvaluator` (directions regenerated from a seed)."""

    objective: NetworkObjective
    classifier: bool  # the surface has an accuracy
    streamed: bool  # the data is a DataLoader: the surface has the loss's standard error over batches
    samples: int | None  # the streamed data's size, for on_progress
    on_progress: Callable[[float], None] | None  # called with the fraction of the chunk done

    def measure(self, coords: Tensor) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """(loss, accuracy or None, standard error or None) at each row of ``coords``."""
        ...


@dataclass
class SurveyPlan:
    """What a survey evaluates: the evaluator, the grid, the chunking and the provenance; the slice's
    directions (None where they are regenerated from a seed, not stored: the file then holds no slice)."""

    evaluator: ChunkEvaluator
    coordinates: tuple[Tensor, ...]
    chunk_size: int
    provenance: dict[str, Any]
    directions: Directions | None

    def chunk_points(self, index: int) -> Tensor:
        """Grid coordinates ``(m, k)`` of chunk ``index`` (flat indices in row-major order: the last axis fastest)."""
        where = self.chunk(index)
        flat = torch.arange(where.start, where.stop)
        columns = []
        for coords in reversed(self.coordinates):
            columns.append(coords[flat % len(coords)])
            flat = flat // len(coords)
        return torch.stack(columns[::-1], dim=-1)

    @property
    def size(self) -> int:
        """Grid points in all."""
        return math.prod(len(c) for c in self.coordinates)

    @property
    def n_chunks(self) -> int:
        return -(-self.size // self.chunk_size)

    def chunk(self, index: int) -> slice:
        return slice(index * self.chunk_size, min(self.size, (index + 1) * self.chunk_size))

    def evaluate(self, index: int) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """(loss, accuracy, the loss's standard error over streamed batches) of chunk ``index`` in
        float64 on the CPU; accuracy None but for classifiers, the error None but for streamed data."""
        return tuple(  # type: ignore[return-value]
            None if value is None else value.detach().to("cpu", torch.float64)
            for value in self.evaluator.measure(self.chunk_points(index))
        )

    def empty_surface(self) -> Surface:
        shape = tuple(len(c) for c in self.coordinates)
        keys = value_names(self.evaluator)
        values = {key: torch.full(shape, torch.nan, dtype=torch.float64) for key in keys}
        names = AXIS_NAMES[: len(shape)]
        return Surface(
            names,
            self.coordinates,
            values,
            torch.zeros(shape, dtype=torch.bool),
            dict(self.provenance),
            None if self.directions is None else self.directions.center.detach().cpu(),
            None if self.directions is None else self.directions.vectors.detach().cpu(),
        )

    def store(
        self, surface: Surface, index: int, loss: Tensor, accuracy: Tensor | None, stderr: Tensor | None = None
    ) -> None:
        where = self.chunk(index)
        surface.values["loss"].view(-1)[where] = loss
        if accuracy is not None and "accuracy" in surface.values:
            surface.values["accuracy"].view(-1)[where] = accuracy
        if stderr is not None and "loss_stderr" in surface.values:
            surface.values["loss_stderr"].view(-1)[where] = stderr
        surface.computed.view(-1)[where] = True


def plan_survey(
    objective: NetworkObjective,
    directions: Directions | Any,
    grid: int | Sequence[int] = 51,
    ranges: Ranges = (-1.0, 1.0),
    *,
    options: SurveyOptions | None = None,
    **keywords: Any,
) -> SurveyPlan:
    """Validate the grid, build the evaluator, and choose the chunk size (see :func:`survey`).

    Of the options it reads ``method``, ``memory_budget`` and ``chunk_size``; the rest are the run's.
    """
    options = survey_options(options, **keywords)
    if not isinstance(objective, NetworkObjective):
        raise LosslabError(f"survey needs a NetworkObjective (losslab.network), not a {type(objective).__name__}")
    if isinstance(directions, RegeneratedDirections):  # regenerated_survey builds on this module: no call back
        raise LosslabError("RegeneratedDirections are surveyed by regenerated_survey(L, directions, grid, ranges)")
    if not isinstance(directions, Directions):  # the user's own: tensors, state dicts, a file
        directions = given_directions(objective, directions)
    sizes, bounds, coordinates = survey_grid(grid, ranges, directions.k, objective.dtype)
    check_reach(directions, bounds, objective.dtype)
    evaluator = SliceEvaluator(objective, directions, options.method, options.autocast)
    chunk_size = options.chunk_size
    if chunk_size is None:
        budget = options.memory_budget
        chunk_size = _chunk_within(budget if budget is not None else _default_budget(evaluator), evaluator)
    provenance = _provenance(objective, directions, evaluator, sizes, bounds, chunk_size)
    return SurveyPlan(evaluator, coordinates, int(chunk_size), provenance, directions)


def survey(
    objective: NetworkObjective,
    directions: Directions | Any,
    grid: int | Sequence[int] = 51,
    ranges: Ranges = (-1.0, 1.0),
    *,
    options: SurveyOptions | None = None,
    **keywords: Any,
) -> Surface:
    """Loss (and accuracy, for classifiers) of a network on a grid of a line or plane.

    ``values[i, j] = L(c + a_i·d1 + b_j·d2)`` with ``a_i``, ``b_j`` evenly spaced over ``ranges``.

    Args:
        objective: the network objective (its dtype is the survey's; float32 by default).
        directions: the slice (1 direction: a line, 2: a plane): :class:`Directions`, or the user's own in any
            form :func:`~losslab.landscape.given_directions.given_directions` takes (tensors, state-dict
            mappings, a ``.pt`` file; used as given). :class:`RegeneratedDirections` are surveyed by
            :func:`~losslab.landscape.regenerated_survey.regenerated_survey`.
        grid: points per axis, one number for all axes or one per axis.
        ranges: ``(lo, hi)`` for all axes, or one pair per axis.
        options: how the survey runs — method, memory budget or chunk size, output file and
            resumption, progress bar and chunk callback (see :class:`SurveyOptions`).
        **keywords: any of :class:`SurveyOptions`'s fields, in place of (or overriding those of)
            ``options``: ``survey(L, d, 51, (-1, 1), method="fused", out="s.h5")``.

    >>> from torch import nn
    >>> from losslab.landscape.directions import random_directions
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).double()
    >>> L = NetworkObjective(net, (torch.ones(4, 2).double(), torch.tensor([0, 1, 1, 0])))
    >>> s = survey(L, random_directions(L), grid=5)
    >>> s.shape, s.complete, abs(s.center_value() - float(L.value(L.center))) < 1e-12
    ((5, 5), True, True)
    """
    options = survey_options(options, **keywords)
    return run_plan(plan_survey(objective, directions, grid, ranges, options=options), options)


def run_plan(plan: SurveyPlan, options: SurveyOptions) -> Surface:
    """A planned survey run in this process: begun (fresh, resumed or over a file), its pending chunks
    evaluated and recorded, the surface returned."""
    start = begin_survey(plan, options)
    with ChunkRecorder(plan, start, options) as recorder:
        for index in start.pending:
            plan.evaluator.on_progress = recorder.within(index)
            recorder.record(index, *plan.evaluate(index))
    plan.evaluator.on_progress = None
    return start.surface


@dataclass
class SurveyStart:
    """Where a survey begins: the surface to fill, the chunks still to compute and, with a file, the
    temporary file it is written to (:class:`~losslab.landscape.target.SurveyTarget`)."""

    surface: Surface
    pending: list[int]
    target: SurveyTarget | None = field(default=None, repr=False)


def begin_survey(plan: SurveyPlan, options: SurveyOptions) -> SurveyStart:
    """The surface to fill, the chunks still to compute and the file being written.

    Without ``options.resume`` (or without a file yet) a fresh surface; with it, the surface in
    ``out`` — checked against this survey's provenance (:data:`~losslab.landscape.target.CHECKED`)
    — and the plan's chunk size set to the file's, so resumed chunks are the very same chunks. An
    ``out`` holding anything but this survey is refused, unless ``options.force``; what the user
    should know (a file replaced, a resumed file without a data fingerprint) is in ``surface.notes``.
    """
    notes: list[str] = []
    surface = None
    out = None if options.out is None else check_target(options.out, force=options.force)
    if out is not None and out.exists() and options.resume:
        surface = _resumed(plan, out, options, notes)
    elif out is not None and out.exists():
        _check_replaced(plan, out, options, notes)
    surface = surface if surface is not None else plan.empty_surface()
    surface.notes = notes
    pending = [t for t in range(plan.n_chunks) if not bool(surface.computed.view(-1)[plan.chunk(t)].all())]
    target = None if out is None else SurveyTarget(out, surface)
    return SurveyStart(surface, pending, target)


def _resumed(plan: SurveyPlan, out: Path, options: SurveyOptions, notes: list[str]) -> Surface | None:
    """The survey in ``out`` when it is this one (the plan takes its chunk size); None when ``force`` replaces it."""
    try:
        stored = load_surface(out)
        difference = first_difference(stored.provenance, plan.provenance, tolerate=NEW_KEYS)
        chunk = stored.provenance.get("chunk_size")
        if difference is None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
            difference = f"its chunk_size {chunk!r} is not a whole number ≥ 1"
    except LosslabError as exc:
        difference = str(exc)
    if difference is not None:
        if not options.force:
            raise LosslabError(
                f"cannot resume {out}: {difference}; it is left as it is: use a new --out, or --force to replace it"
            )
        notes.append(f"{out} could not be resumed ({difference}); it was replaced (--force)")
        return None
    plan.chunk_size = int(stored.provenance["chunk_size"])  # the same chunks give the same bits
    plan.provenance["chunk_size"] = plan.chunk_size
    unknown = [key for key in NEW_KEYS if key not in stored.provenance]
    for key in unknown:  # not known for the chunks computed before, so not claimed for the file
        plan.provenance.pop(key, None)
    if unknown:
        notes.append(
            f"{out} was written before losslab recorded {', '.join(unknown)}: resumed without checking "
            "that the data is the same"
        )
    stored.provenance = dict(plan.provenance)
    return stored


def _check_replaced(plan: SurveyPlan, out: Path, options: SurveyOptions, notes: list[str]) -> None:
    """Without ``resume``: an ``out`` of this very survey is computed afresh; anything else only with ``force``."""
    if options.force:
        notes.append(f"{out} was replaced (--force)")
        return
    difference = first_difference(read_provenance(out), plan.provenance)
    if difference is not None:
        raise LosslabError(
            f"{out} holds another survey ({difference}); it is left as it is: --force replaces it, "
            "--resume continues only the same survey, or choose another --out"
        )
    notes.append(f"{out} held this same survey; it was computed afresh (--resume continues a survey instead)")


class ChunkRecorder:
    """Stores finished chunks in the surface; with a file (``start.target``), writes each one — the
    first puts the file at ``out`` — and at a normal end the run's provenance; shows progress
    (``options.progress``) and calls ``options.on_chunk(done, total)``."""

    def __init__(self, plan: SurveyPlan, start: SurveyStart, options: SurveyOptions):
        self.plan, self.surface, self.options = plan, start.surface, options
        self.target = start.target
        self.done = plan.n_chunks - len(start.pending)  # chunks finished before (a resumed survey's)
        self._stack = contextlib.ExitStack()
        self._show: Callable[[float], None] = lambda _: None

    def __enter__(self) -> ChunkRecorder:
        self._show = self._stack.enter_context(progress_bar(self.options.progress, self.plan.size))
        self._show(self._points_done())
        if self.options.progress and self.plan.evaluator.streamed and self.plan.evaluator.samples is None:
            self.plan.evaluator.samples = int(self.plan.provenance.get("data_size") or 0) or None
        return self

    def within(self, index: int) -> Callable[[float], None]:
        """What the evaluator calls with the fraction of chunk ``index`` done: the bar moves within it."""
        if not self.options.progress:
            return lambda _: None
        where = self.plan.chunk(index)
        return lambda fraction: self._show(self._points_done() + fraction * (where.stop - where.start))

    def _points_done(self) -> int:
        return int(self.surface.computed.sum())

    def record(self, index: int, loss: Tensor, accuracy: Tensor | None, stderr: Tensor | None = None) -> None:
        self.plan.store(self.surface, index, loss, accuracy, stderr)
        if self.target is not None:
            self.target.write(self.surface, self.plan.chunk(index))
        self.done += 1
        if self.options.progress:
            self._show(self._points_done())
        if self.options.on_chunk is not None:
            self.options.on_chunk(self.done, self.plan.n_chunks)

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is None:
            _note_overflow(self.surface)
        try:
            if self.target is not None:
                self.target.close(self.surface.provenance if kind is None else None)
        finally:
            self._stack.close()


def _note_overflow(surface: Surface) -> None:
    """A note where a computed loss is not finite: at these ranges θ or the activations overflow."""
    loss = surface.values["loss"][surface.computed]
    bad = int((~torch.isfinite(loss)).sum())
    if bad:
        surface.notes.append(
            f"the loss is not finite at {bad} of {loss.numel()} points (the network overflows there): "
            "choose smaller ranges, or float64"
        )


@contextlib.contextmanager
def progress_bar(show: bool, total: int) -> Iterator[Callable[[float], None]]:
    """A progress bar over ``total`` grid points; yields the function that sets how many are done."""
    if not show:
        yield lambda _: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("survey"), BarColumn(), MofNCompleteColumn(), TextColumn("points"), TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("survey", total=total)
        yield lambda done: bar.update(task, completed=done)


def _chunk_within(budget: int, evaluator: SliceEvaluator) -> int:
    """The most points a chunk can hold within ``budget`` bytes (at least one); point-by-point
    chunks at most :data:`POINT_BY_POINT_CHUNK`, batched ones split evenly among CPU threads."""
    memory = evaluator.memory()
    fits = max(1, (budget - memory.fixed) // memory.per_point)
    if evaluator.point_by_point:
        return min(fits, POINT_BY_POINT_CHUNK)
    return _split_evenly(fits, evaluator.objective.device)


def _split_evenly(chunk: int, device: torch.device) -> int:
    """On a CPU, ``chunk`` points rounded down to a multiple of torch's intra-op threads (if any are left).

    A chunk's batched matmuls split their batch of points among the threads: the digits MLP's 25
    points on 2 threads leave one thread 13 to the other's 12. Median of 8 alternating 51×51
    surveys: 0.965 s at 25 points, 0.950 s at 24, 0.941 s at 26.
    """
    threads = torch.get_num_threads() if device.type == "cpu" else 1
    return chunk - chunk % threads if chunk >= threads else chunk


def value_names(evaluator: ChunkEvaluator) -> tuple[str, ...]:
    """The surface's values: the loss, the accuracy of a classifier, the loss's standard error over
    streamed batches (:mod:`losslab.landscape.sampling`)."""
    return ("loss", *(("accuracy",) if evaluator.classifier else ()), *(("loss_stderr",) if evaluator.streamed else ()))


def _default_budget(evaluator: SliceEvaluator) -> int:
    """A quarter of a GPU's free memory; on a CPU the cache-sized :data:`CPU_BUDGET` where
    :data:`MACHINE_POINTS` points fit in it, else room for that many within a quarter of the free memory."""
    device = evaluator.objective.device
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free // 4)
    memory = evaluator.memory()
    if memory.fixed + MACHINE_POINTS * memory.per_point <= CPU_BUDGET:
        return CPU_BUDGET
    available = free_memory()
    machine = CPU_BUDGET if available is None else available // 4
    return max(CPU_BUDGET, min(machine, memory.fixed + MACHINE_POINTS * memory.per_point))


def _provenance(
    objective: NetworkObjective,
    directions: Directions,
    evaluator: SliceEvaluator,
    sizes: tuple[int, ...],
    bounds: tuple[tuple[float, float], ...],
    chunk_size: int,
) -> dict[str, Any]:
    return {
        **model_provenance(objective),
        **directions.provenance(),
        "method": evaluator.method,
        **({} if evaluator.autocast is None else {"autocast": evaluator.autocast}),
        **grid_provenance(evaluator, sizes, bounds, chunk_size),
    }


def grid_provenance(
    evaluator: ChunkEvaluator, sizes: tuple[int, ...], bounds: tuple[tuple[float, float], ...], chunk_size: int
) -> dict[str, Any]:
    """The part of a survey's provenance every kind of survey records: its values, grid, ranges and chunk
    size, and the losslab that made it."""
    return {
        "values": list(value_names(evaluator)),
        "grid": list(sizes),
        "ranges": [list(b) for b in bounds],
        "chunk_size": chunk_size,
        "losslab_version": version("losslab"),
    }
