"""Lock-step runs equal separate ``descend`` runs, step for step, and stop for the same reasons."""

from __future__ import annotations

import pytest
import torch

from losslab.descent.lockstep import CHECK_BLOCK, lockstep, shares_steps
from losslab.descent.optimizers import OPTIMIZERS
from losslab.descent.race import Runner, race
from losslab.descent.run import descend
from losslab.errors import LosslabError
from losslab.objectives.data_models import model_objective, synthetic_points
from losslab.objectives.gallery import gallery
from losslab.objectives.objective import formula

SHARED = [name for name in OPTIMIZERS if name != "lbfgs"]
TOL = {"rtol": 1e-12, "atol": 1e-12, "equal_nan": True}


def _line():
    return model_objective(*synthetic_points("case_study_1"), "line")


CASES = {
    "rosenbrock": (lambda: gallery("rosenbrock"), "x=-1.5,y=2", {"lr": 1e-3}),
    "himmelblau": (lambda: gallery("himmelblau"), "x=0.5,y=-0.5", {"lr": 0.01}),
    "line-fit": (_line, "w0=0,w1=0", {"lr": 0.01}),
    "diverging-bowl": (lambda: formula("(w - 3)**2"), "w=0", {"lr": 2.5}),
}


def _same(a, b) -> None:
    torch.testing.assert_close(a.params, b.params, **TOL)
    torch.testing.assert_close(a.losses, b.losses, **TOL)
    torch.testing.assert_close(a.grads, b.grads, **TOL)
    torch.testing.assert_close(a.lrs, b.lrs, rtol=0, atol=0)
    assert (a.optimizer, a.hyperparameters, a.names) == (b.optimizer, b.hyperparameters, b.names)
    assert a.diagnosis == b.diagnosis


@pytest.mark.parametrize("case", CASES)
def test_every_shared_optimizer_walks_as_descend_does(case: str) -> None:
    make, start, hyper = CASES[case]
    objective = make()
    names = [name for name in SHARED if shares_steps(objective, name)]
    assert len(names) >= 8
    together = lockstep(objective, start, [(name, hyper) for name in names], steps=60)
    for name, run in zip(names, together, strict=True):
        _same(run, descend(objective, start, name, steps=60, **hyper))


def test_stop_rules_end_each_row_at_its_own_step() -> None:
    objective = formula("(w - 3)**2")
    kw = {"steps": 200, "loss_threshold": 1e-6, "grad_tol": 1e-3}
    pairs = [("gd", {"lr": 0.1}), ("gd", {"lr": 0.3}), ("momentum", {"lr": 0.05}), ("gd", {"lr": 3.0})]
    together = lockstep(objective, "w=0", pairs, **kw)
    lengths = {len(run.params) for run in together}
    assert len(lengths) == len(pairs)  # four different stopping steps: the rows really end apart
    for (name, hyper), run in zip(pairs, together, strict=True):
        _same(run, descend(objective, "w=0", name, **kw, **hyper))
    assert together[3].diagnosis.status == "diverged"


@pytest.mark.parametrize("steps", [1, 5, CHECK_BLOCK - 1, CHECK_BLOCK, CHECK_BLOCK + 1, 3 * CHECK_BLOCK + 7])
def test_stops_found_in_blocks_are_the_stops_of_single_steps(steps: int) -> None:
    """The rules are checked per block of steps: each row still ends at its own first stopping step,
    wherever that falls in a block, while the other rows go on — whatever the row that stopped did next."""
    objective = formula("log(w) + (w - 3)**2", ["w"])
    kw = {"steps": steps, "loss_threshold": 0.0, "grad_tol": 1e-4}
    pairs = [
        ("gd", {"lr": 2.0}),  # jumps below 0 at step 2: log gives NaN
        ("gd", {"lr": 0.45}),  # ‖∇L‖ below the tolerance at step 6
        ("gd", {"lr": 0.2}),  # … at step 21
        ("momentum", {"lr": 0.1}),
        ("adam", {"lr": 0.1}),
        ("gd", {"lr": 1e-3}),  # runs out of budget
    ]
    together = lockstep(objective, "w=2", pairs, **kw)
    for (name, hyper), run in zip(pairs, together, strict=True):
        _same(run, descend(objective, "w=2", name, **kw, **hyper))
    if steps > 21:  # stops inside the first and second blocks, and at the budget's end
        assert {run.diagnosis.status for run in together} == {"diverged", "converged", "max_steps"}
        assert {run.diagnosis.step for run in together} == {2, 6, 21, steps}


def test_refuses_what_cannot_share_a_step() -> None:
    assert not shares_steps(formula("w**2"), "lbfgs")
    assert not shares_steps(_line(), "sgd")  # draws its own mini-batches
    assert not shares_steps(formula("w**2"), "adam", batch_size=4)
    with pytest.raises(LosslabError, match="'lbfgs'.*descend"):
        lockstep(formula("w**2"), "w=1", ["lbfgs"])


def test_should_stop_abandons_the_race() -> None:
    with pytest.raises(LosslabError, match="out of time"):
        lockstep(formula("w**2"), "w=1", ["gd"], steps=500, should_stop=lambda: True)


def test_race_mixes_lockstep_and_separate_runs_in_the_order_given() -> None:
    objective = _line()
    runners = [Runner("adam", {"lr": 0.05}), Runner("lbfgs"), Runner("sgd", {"lr": 0.01}, batch_size=2), Runner("gd")]
    result = race(objective, "w0=0,w1=0", runners, steps=40, seed=3)
    assert [run.optimizer for run in result.runs] == ["adam", "lbfgs", "sgd", "gd"]
    for runner, run in zip(runners, result.runs, strict=True):
        alone = descend(
            objective,
            "w0=0,w1=0",
            runner.optimizer,
            steps=40,
            batch_size=runner.batch_size,
            generator=torch.Generator().manual_seed(3),
            **runner.hyperparameters,
        )
        _same(run, alone)
