"""The same survey on many processes: ``torchrun --nproc_per_node=N`` over ``torch.distributed``.

Every rank builds the same objective; rank 0's center, directions and chunk size are
broadcast so all ranks evaluate the very same slice. The grid's chunks (the chunking of
:func:`losslab.landscape.survey.survey`) are dealt round-robin — rank r takes chunks
r, r + N, r + 2N, … — and the results are gathered to rank 0, which assembles the Surface
and writes the file. Each chunk is evaluated exactly as in a single process, so the result
equals the single-process survey. Backends: NCCL when the objective is on a GPU, else gloo.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.distributed as dist

from losslab.errors import LosslabError
from losslab.landscape.directions import Directions
from losslab.landscape.surface import Surface
from losslab.landscape.survey import Ranges, plan_survey
from losslab.network import NetworkObjective


def launched() -> bool:
    """Whether this process was started by ``torchrun`` (or another launcher) with more than one rank."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 or (dist.is_available() and dist.is_initialized())


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
    directions: Directions,
    grid: int | Sequence[int] = 51,
    ranges: Ranges = (-1.0, 1.0),
    *,
    method: str = "auto",
    memory_budget: int | None = None,
    chunk_size: int | None = None,
    out: str | Path | None = None,
) -> Surface | None:
    """:func:`~losslab.landscape.survey.survey` split over the ranks; the Surface on rank 0, None elsewhere.

    Call it on every rank (under ``torchrun``) with the same arguments. Rank 0 writes ``out``.
    """
    own_group = init_from_env(objective.device)
    try:
        directions = _broadcast_directions(directions, objective.device)
        plan = plan_survey(
            objective, directions, grid, ranges, method=method, memory_budget=memory_budget, chunk_size=chunk_size
        )
        rank, world = dist.get_rank(), dist.get_world_size()
        if chunk_size is None:  # at least one chunk per rank
            plan.chunk_size = max(1, min(plan.chunk_size, -(-plan.points.shape[0] // world)))
        plan.chunk_size = _broadcast_int(plan.chunk_size, objective.device)
        plan.provenance["chunk_size"] = plan.chunk_size
        mine = [(t, *plan.evaluate(t)) for t in range(rank, plan.n_chunks, world)]
        gathered: list[object] | None = [None] * world if rank == 0 else None
        dist.gather_object(mine, gathered, dst=0)
        surface = None
        if rank == 0:
            surface = plan.empty_surface()
            surface.provenance["world_size"] = world
            surface.provenance["chunks_per_rank"] = [len(results) for results in gathered or []]  # type: ignore[arg-type]
            for results in gathered or []:
                for index, loss, accuracy in results:  # type: ignore[attr-defined]
                    plan.store(surface, index, loss, accuracy)
            if out is not None:
                surface.save(out)
        dist.barrier()
        return surface
    finally:
        if own_group:
            dist.destroy_process_group()


def _broadcast_directions(directions: Directions, device: torch.device) -> Directions:
    center = directions.center.to(device).contiguous().clone()
    vectors = directions.vectors.to(device).contiguous().clone()
    dist.broadcast(center, src=0)
    dist.broadcast(vectors, src=0)
    return dataclasses.replace(directions, center=center, vectors=vectors)


def _broadcast_int(value: int, device: torch.device) -> int:
    box = torch.tensor([value], dtype=torch.int64, device=device)
    dist.broadcast(box, src=0)
    return int(box.item())
