"""Long runs keep a bounded record: flat in size, each kept row the unthinned run's bit for bit, the same diagnosis.

The budget is lowered (``MAX_ROWS``) so that thinning starts after a few hundred steps instead of
20 000; one test runs past the real budget.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from losslab.descent import record
from losslab.descent.diagnosis import WINDOW
from losslab.descent.fit import fit
from losslab.descent.record import MAX_ROWS, TAIL, Recorder, ordinal, row_budget
from losslab.descent.run import MAX_STEPS, descend
from losslab.descent.trajectory import Trajectory
from losslab.errors import LosslabError
from losslab.objectives.objective import formula

ROSENBROCK = formula("(1 - x)**2 + 100*(y - x**2)**2")
BOWL = formula("(w - 3)**2")
SMALL = 64  # the lowered row budget: steps 0–31 exact, then thinned


def size_of(run: Trajectory) -> int:
    """Bytes held by the run's tensors."""
    parts: list[Tensor] = [run.params, run.losses, run.grads, run.lrs]
    parts += [run.kept_steps] if run.kept_steps is not None else []
    return sum(t.numel() * t.element_size() for t in parts)


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record, "MAX_ROWS", SMALL)
    monkeypatch.setattr(record, "MIN_ROWS", 8)


def expected_kept(first: int, stride: int, last: int) -> list[int]:
    return sorted({*range(min(first, last + 1)), *range(first, last + 1, stride), last})


# -- the recorder on its own -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("count", [1, 2, 9, 10, 11, 12, 13, 17, 40, 100, 1000])
def test_kept_steps_are_the_first_then_every_stride_th_then_the_last(count: int) -> None:
    recorder = Recorder(1, torch.float64, steps=count - 1, rows=10)
    for k in range(count):
        recorder.add(torch.tensor([float(k)]), torch.tensor(float(k * k)), torch.tensor([-float(k)]))
        if k < count - 1:
            recorder.set_lr(1.0 / (k + 1))
    kept = recorder.kept_steps()
    steps = list(range(count)) if kept is None else kept.tolist()
    assert steps == expected_kept(5, recorder.stride, count - 1) and len(steps) <= 10
    params, losses, grads, lrs = recorder.record()
    assert params[:, 0].tolist() == [float(k) for k in steps] and losses.tolist() == [float(k * k) for k in steps]
    assert grads[:, 0].tolist() == [-float(k) for k in steps] and lrs.tolist() == [1.0 / (k + 1) for k in steps[:-1]]
    assert (recorder.note() is None) == (kept is None) == (count <= 10)


def test_a_run_that_stops_early_keeps_its_last_step() -> None:
    recorder = Recorder(1, torch.float64, steps=1000, rows=10)
    for k in range(37):  # stopped by a rule at step 36, far from the budget
        recorder.add(torch.tensor([float(k)]), torch.tensor(0.0), torch.zeros(1))
        recorder.set_lr(0.1) if k < 36 else None
    kept = recorder.kept_steps()
    assert kept is not None and kept.tolist() == expected_kept(5, recorder.stride, 36)
    assert recorder.note() == f"kept every {ordinal(recorder.stride)} of 36 steps after the first 5, and the last"


def test_the_budget_in_rows_and_bytes() -> None:
    assert row_budget(2) == MAX_ROWS == 20_000
    assert row_budget(10**5) == 167  # 256 MiB of θ and ∇L at 1.6 MB a row
    assert row_budget(10**7) == 64  # never fewer
    assert TAIL >= 2 * WINDOW + 1  # the diagnosis's two windows and the step before them
    assert [ordinal(n) for n in (2, 4, 64, 1024, 8192)] == ["2nd", "4th", "64th", "1024th", "8192nd"]


# -- long runs: flat, and each kept row is the unthinned run's ------------------------------------------------------
RUNS = {  # name: (objective, start, optimizer, keyword arguments)
    "gd-converging": (ROSENBROCK, "x=-1.5,y=2", "gd", {"lr": 1e-4}),
    "adam-scheduled": (ROSENBROCK, "x=-1.5,y=2", "adam", {"lr": 0.01, "scheduler": "step:step_size=50,gamma=0.9"}),
    "momentum": (ROSENBROCK, "x=-1.5,y=2", "momentum", {"lr": 1e-4}),
    "gd-oscillating": (BOWL, "w=0", "gd", {"lr": 1.0}),
    "gd-slowly-diverging": (BOWL, "w=2", "gd", {"lr": 1.001, "divergence_factor": math.inf}),
}


@pytest.mark.parametrize("name", list(RUNS))
def test_thinned_rows_equal_the_unthinned_run_bit_for_bit(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    objective, start, optimizer, kwargs = RUNS[name]
    whole = descend(objective, start, optimizer, steps=700, **kwargs)  # 701 rows < 20 000: kept whole
    assert whole.kept_steps is None and whole.params.shape[0] == whole.steps + 1
    monkeypatch.setattr(record, "MAX_ROWS", SMALL)
    monkeypatch.setattr(record, "MIN_ROWS", 8)
    thin = descend(objective, start, optimizer, steps=700, **kwargs)
    assert thin.kept_steps is not None and thin.params.shape[0] <= SMALL
    at = thin.kept_steps
    assert at[: SMALL // 2].tolist() == list(range(SMALL // 2)) and int(at[-1]) == thin.steps == whole.steps
    for mine, full in ((thin.params, whole.params), (thin.losses, whole.losses), (thin.grads, whole.grads)):
        assert torch.equal(mine, full[at])  # bit for bit, nan included in the same places
    assert torch.equal(thin.lrs, whole.lrs[at[:-1]])
    assert thin.diagnosis == whole.diagnosis  # the diagnosis saw every step either way
    assert thin.notes[-1].startswith("kept every ") and thin.notes[-1].endswith("after the first 32, and the last")


def test_the_record_stays_flat_however_long_the_run(small_budget: None) -> None:
    sizes = {}
    for steps in (100, 1_000, 4_000):
        run = descend(BOWL, "w=0", "gd", lr=1e-5, steps=steps)  # still moving at the end of every budget
        assert run.steps == steps and run.params.shape[0] <= SMALL
        sizes[steps] = size_of(run)
    # θ, ∇L, L, lr and the step number of at most SMALL rows, whatever the length: 1 000 and 4 000 steps the same
    assert max(sizes.values()) <= SMALL * (8 + 8 + 8 + 8 + 8) and sizes[1_000] == sizes[4_000]
    assert run.notes[-1] == "kept every 128th of 4 000 steps after the first 32, and the last"


def test_a_fit_on_data_keeps_a_flat_record(small_budget: None, generator: torch.Generator) -> None:
    x = torch.rand(5_000, generator=generator, dtype=torch.float64)
    data = {"x": x.tolist(), "y": (2 * x + 1).tolist()}
    runs = [fit(data, "w0 + w1*x", optimizer=name, lr=0.05, steps=600) for name in ("gd", "sgd")]
    for result in runs:
        run = result.descent
        assert run.kept_steps is not None and run.params.shape[0] <= SMALL and run.steps == 600
        assert result.to_dict()["descent"]["steps"] == 600 and run.table().count("\n") < SMALL + 10


def test_a_thinned_trajectory_reads_as_its_steps(small_budget: None) -> None:
    run = descend(BOWL, "w=0", "gd", lr=0.001, steps=500, grad_tol=0.0)
    rows = run.to_dict()["steps"]
    assert [r["step"] for r in rows] == run.kept_steps.tolist() and rows[-1]["lr"] is None
    assert run.first_step_within("w=3", 10.0) == 0 and run.first_step_within("w=3", 2.5) in run.kept_steps.tolist()
    table = run.table(max_rows=None)
    assert f"\n{run.steps:>4}" in table or f" {run.steps} " in table or str(run.steps) in table.splitlines()[-3]
    assert run.notes[-1] in table
    kept = run.kept_steps.tolist()
    assert [run.row(k) for k in kept] == list(range(len(kept)))  # a picture's frame at step k: its row
    assert run.row(kept[-2] + 1) == len(kept) - 2 and run.row(10**9) == len(kept) - 1


def test_past_the_real_budget() -> None:
    run = descend(BOWL, "w=0", "gd", lr=1e-6, steps=MAX_ROWS + 500, grad_tol=0.0)
    assert run.steps == MAX_ROWS + 500 and run.params.shape[0] <= MAX_ROWS
    assert run.kept_steps is not None and run.kept_steps[: MAX_ROWS // 2].tolist() == list(range(MAX_ROWS // 2))
    assert run.notes[-1] == "kept every 2nd of 20 500 steps after the first 10 000, and the last"


# -- the step count ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (1e8, "steps must be a whole number ≥ 1, got 100000000.0 (a float: write 100000000)"),
        (10**8 + 1, "steps must be at most 100000000, got 100000001"),
        (10**12, "steps must be at most 100000000, got 1000000000000"),
        (True, "steps must be a whole number ≥ 1, got True"),
        (2.5, "steps must be a whole number ≥ 1, got 2.5"),
        ("100", "steps must be a whole number ≥ 1, got '100'"),
    ],
    ids=repr,
)
def test_the_step_count_is_bounded(steps: object, message: str) -> None:
    assert MAX_STEPS == 10**8
    with pytest.raises(LosslabError) as caught:
        descend(BOWL, "w=0", steps=steps)  # type: ignore[arg-type]
    assert str(caught.value) == message
