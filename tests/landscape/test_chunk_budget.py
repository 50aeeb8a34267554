"""The chunk budget sized from the machine where a cache-sized chunk would hold too few points, and a
progress bar that moves within a chunk of streamed data."""

from __future__ import annotations

import contextlib
import importlib
from types import SimpleNamespace

import pytest
import torch
from landscape_helpers import seeded, small_mlp
from torch.utils.data import DataLoader, TensorDataset

from losslab.landscape import random_directions, survey
from losslab.landscape.engine import ChunkMemory
from losslab.landscape.survey import CPU_BUDGET, MACHINE_POINTS, _default_budget, plan_survey
from losslab.objectives.network import NetworkObjective

MiB = 2**20
survey_module = importlib.import_module("losslab.landscape.survey")  # the module, not the function of that name


def _evaluator(per_point: int, fixed: int = 0) -> SimpleNamespace:
    objective = SimpleNamespace(device=torch.device("cpu"))
    return SimpleNamespace(objective=objective, memory=lambda: ChunkMemory(per_point, fixed))


@pytest.mark.parametrize(
    ("per_point", "free", "expected"),
    [
        (1 * MiB, 10_000, CPU_BUDGET),  # 48 points fit the cache-sized budget: kept
        (10 * MiB, 10_000, MACHINE_POINTS * 10 * MiB),  # 4 would: room for 16 from the machine
        (10 * MiB, 200, CPU_BUDGET + 2 * MiB),  # but never more than a quarter of what is free
        (100 * MiB, 100, CPU_BUDGET),  # and never less than the cache-sized budget
    ],
)
def test_the_cpu_budget_comes_from_the_machine_when_few_points_fit(per_point, free, expected, monkeypatch) -> None:
    monkeypatch.setattr(survey_module, "free_memory", lambda: free * MiB)  # free: MiB
    assert _default_budget(_evaluator(per_point)) == expected  # type: ignore[arg-type]


def test_a_loop_survey_holds_one_theta_and_takes_many_points_a_chunk(data64) -> None:
    x, y = data64
    objective = NetworkObjective(seeded(small_mlp).double(), (x, y))
    plan = plan_survey(objective, random_directions(objective), (9, 9), method="loop")
    assert plan.chunk_size == survey_module.POINT_BY_POINT_CHUNK


def test_a_one_chunk_streamed_survey_shows_progress_within_the_chunk(data64, monkeypatch) -> None:
    x, y = data64
    objective = NetworkObjective(seeded(small_mlp).double(), DataLoader(TensorDataset(x, y), batch_size=10))
    shown: list[float] = []

    @contextlib.contextmanager
    def watching(show: bool, total: int):  # type: ignore[no-untyped-def]
        assert show and total == 9
        yield shown.append

    monkeypatch.setattr(survey_module, "progress_bar", watching)
    survey(objective, random_directions(objective), 3, chunk_size=9, method="vmap", progress=True)
    assert shown[0] == 0 and shown[-1] == 9
    assert shown[1:4] == pytest.approx([3.0, 6.0, 9.0])  # after each of the 3 batches, before the chunk ends
