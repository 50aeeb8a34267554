"""The same survey on many processes: ``torchrun --nproc_per_node=N`` over ``torch.distributed``.

Every rank builds the same objective; rank 0's center and directions are broadcast so all
ranks evaluate the very same slice (regenerated directions need nothing sent: each rank makes the
same bits from the seed). Rank 0 opens the file (fresh, or with ``resume`` the
interrupted one, checked as in a single process) and broadcasts the chunk size and the chunks
still to compute. These are dealt out in rounds — in each round rank r takes the round's r-th
chunk — and after every round rank 0 gathers the results, stores them and writes and flushes
them, so a killed job keeps every finished round and ``resume`` continues it, under torchrun
with any number of ranks or in one process. Each chunk is evaluated exactly as in a single
process, so the result equals the single-process survey. A round's results travel as one
float64 tensor per rank on its own device (``dist.gather``), not as pickled objects. Backends:
NCCL when the objective is on a GPU, else gloo.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from losslab.errors import LosslabError
from losslab.landscape.directions import Directions
from losslab.landscape.limits import Ranges
from losslab.landscape.regenerated import RegeneratedDirections
from losslab.landscape.regenerated_survey import plan_regenerated
from losslab.landscape.surface import Surface
from losslab.landscape.survey import (
    ChunkRecorder,
    SurveyOptions,
    SurveyPlan,
    SurveyStart,
    begin_survey,
    plan_survey,
    survey_options,
)
from losslab.objectives.network import NetworkObjective


def launched() -> bool:
    """Whether this process was started by ``torchrun`` (or another launcher) with more than one rank."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 or (dist.is_available() and dist.is_initialized())


def rank_zero() -> bool:
    """Whether this process is rank 0 (or the only one)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


def local_device() -> torch.device:
    """This rank's device: ``cuda:LOCAL_RANK`` when GPUs are visible, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    return torch.device("cpu")


def init_from_env(device: torch.device) -> bool:
    """Initialise the default process group from torchrun's environment; True if this call did it."""
    if dist.is_initialized():
        return False
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        raise LosslabError(
            "no torch.distributed environment (RANK, WORLD_SIZE); launch with torchrun --nproc_per_node=N"
        )
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend)
    return True


def distributed_survey(
    objective: NetworkObjective,
    directions: Directions | RegeneratedDirections,
    grid: int | Sequence[int] = 51,
    ranges: Ranges = (-1.0, 1.0),
    *,
    options: SurveyOptions | None = None,
    **keywords: Any,
) -> Surface | None:
    """:func:`~losslab.landscape.survey.survey` split over the ranks; the Surface on rank 0, None elsewhere.

    Call it on every rank (under ``torchrun``) with the same arguments. Rank 0 writes
    ``options.out`` round by round, shows the progress bar and calls ``options.on_chunk``;
    ``options.resume`` continues the survey in ``out`` (begun under torchrun or not). Without a
    ``chunk_size``, the budget's chunk is shrunk so every rank is busy in every round
    (:func:`balanced_chunk`). The provenance records ``world_size`` and ``chunks_per_rank`` (the
    chunks each rank computed in this run).

    Args:
        objective: the network objective, built alike on every rank.
        directions: the slice; rank 0's is broadcast to the others. Regenerated directions
            (:class:`~losslab.landscape.regenerated.RegeneratedDirections`) are not: every rank makes
            the same bits from the seed, forms θ layer by layer and evaluates its grid points
            (:func:`~losslab.landscape.regenerated_survey.plan_regenerated`).
        grid: points per axis, one number for all axes or one per axis.
        ranges: ``(lo, hi)`` for all axes, or one pair per axis.
        options: how the survey runs (see :class:`~losslab.landscape.survey.SurveyOptions`).
        **keywords: any of its fields, in place of (or overriding those of) ``options``.
    """
    options = survey_options(options, **keywords)
    own_group = init_from_env(objective.device)
    try:
        if isinstance(directions, RegeneratedDirections):  # the seed makes the same bits on every rank
            plan = plan_regenerated(objective, directions, grid, ranges, options=options)
        else:
            directions = _broadcast_directions(directions, objective.device)
            plan = plan_survey(objective, directions, grid, ranges, options=options)
        rank, world = dist.get_rank(), dist.get_world_size()
        if options.chunk_size is None:
            plan.chunk_size = balanced_chunk(plan.size, plan.chunk_size, world)
        plan.provenance.update(chunk_size=plan.chunk_size, world_size=world)  # what rank 0 lays out in a new file
        start, (plan.chunk_size, pending) = _begin_on_rank_zero(plan, options, rank, objective.device)
        surface = None if start is None else start.surface  # rank 0's; chunk size from the file when resuming
        recorder = None if start is None else ChunkRecorder(plan, start, options)
        counts = [0] * world
        with recorder or contextlib.nullcontext():
            for first in range(0, len(pending), world):
                turn = pending[first : first + world]
                row = _result_row(plan, turn[rank] if rank < len(turn) else None, objective.device)
                rows = [torch.empty_like(row) for _ in range(world)] if recorder is not None else None
                dist.gather(row, rows, dst=0)
                for source, gathered in enumerate(rows or []):
                    result = _unpack(plan, gathered)
                    if result is not None and recorder is not None:
                        recorder.record(*result)
                        counts[source] += 1
            if surface is not None:
                surface.provenance["chunks_per_rank"] = counts
        dist.barrier()
        return surface
    finally:
        if own_group:
            dist.destroy_process_group()


def balanced_chunk(points: int, most: int, world: int) -> int:
    """A chunk size of at most ``most`` points that deals ``points`` to ``world`` ranks in equal
    rounds: as few rounds as the budget allows, every rank busy in each (the last chunk may be short).

    >>> balanced_chunk(1681, 751, 2)   # 4 chunks, 2 rounds of 2 — not 3 chunks, one rank idle half the time
    421
    >>> balanced_chunk(20, 10_000, 2), balanced_chunk(2601, 64, 8), balanced_chunk(3, 64, 8)
    (10, 55, 1)
    """
    rounds = -(-points // (world * most))
    return max(1, -(-points // (world * rounds)))


def _result_row(plan: SurveyPlan, index: int | None, device: torch.device) -> Tensor:
    """One rank's result in a round as one float64 row on its device, for ``dist.gather``:
    ``[chunk index (−1: none), losses…, accuracies…, standard errors…]``, each part NaN-padded to the
    chunk size."""
    m = plan.chunk_size
    row = torch.full((1 + 3 * m,), torch.nan, dtype=torch.float64, device=device)
    row[0] = -1 if index is None else index
    if index is not None:
        for part, values in enumerate(plan.evaluate(index)):
            if values is not None:
                row[1 + part * m : 1 + part * m + len(values)] = values
    return row


def _unpack(plan: SurveyPlan, row: Tensor) -> tuple[int, Tensor, Tensor | None, Tensor | None] | None:
    """(chunk index, losses, accuracies or None, standard errors or None) from a :func:`_result_row`,
    None for an idle rank."""
    row = row.cpu()
    index = int(row[0])
    if index < 0:
        return None
    where, m = plan.chunk(index), plan.chunk_size
    n = where.stop - where.start
    accuracy = row[1 + m : 1 + m + n] if plan.evaluator.classifier else None
    stderr = row[1 + 2 * m : 1 + 2 * m + n] if plan.evaluator.streamed else None
    return index, row[1 : 1 + n], accuracy, stderr


def _begin_on_rank_zero(
    plan: SurveyPlan, options: SurveyOptions, rank: int, device: torch.device
) -> tuple[SurveyStart | None, tuple[int, list[int]]]:
    """Rank 0 opens (or resumes) the survey; every rank gets its chunk size and pending chunks,
    or every rank raises rank 0's error (a mismatched file must not leave the others waiting)."""
    start = None
    message: list[Any] = [None, None, None]  # chunk size, pending chunks, rank 0's error
    if rank == 0:
        try:
            start = begin_survey(plan, options)
            message = [plan.chunk_size, start.pending, None]
        except LosslabError as error:
            message = [None, None, str(error)]
    dist.broadcast_object_list(message, src=0, device=device)
    if message[2] is not None:
        raise LosslabError(message[2])
    return start, (int(message[0]), list(message[1]))


def _broadcast_directions(directions: Directions, device: torch.device) -> Directions:
    center = directions.center.to(device).contiguous().clone()
    vectors = directions.vectors.to(device).contiguous().clone()
    dist.broadcast(center, src=0)
    dist.broadcast(vectors, src=0)
    return dataclasses.replace(directions, center=center, vectors=vectors)
