"""descend(): the seeds' hand simulations, stop rules, diagnoses, mini-batches, and every optimizer on two surfaces."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pytest
import scipy.optimize
import torch
from torch import Tensor

from losslab.descent.optimizers import OPTIMIZERS
from losslab.descent.run import descend, lr_sweep, multistart
from losslab.errors import LosslabError
from losslab.objectives.objective import FormulaObjective, KnownPoint, Objective, formula

SEED = formula("w**2 - 4*w + 5")  # Hill-Descending: minimum at w = 2, L = 1
BOWL = formula("(w - 3)**2")
CASE1 = formula("(1/5)*((2.1-m)**2+(3.9-2*m)**2+(6.1-3*m)**2+(8.0-4*m)**2+(9.9-5*m)**2)")
MAYA = formula("0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)")
SPHERE = formula("x**2 + y**2")
ROSENBROCK = formula("(1 - x)**2 + 100*(y - x**2)**2")


def ws(trajectory, *steps: int) -> list[float]:
    return [float(trajectory.params[k, 0]) for k in steps]


# -- the seeds, in exact float64 ------------------------------------------------------------------
def test_hand_simulation_lr_0_3() -> None:
    trajectory = descend(SEED, "w=0", lr=0.3, steps=8)
    closed_form = [2 - 2 * 0.4**k for k in range(9)]  # w_k − 2 = (1 − 2·0.3)^k (w_0 − 2)
    assert ws(trajectory, 1, 2, 3, 4) == pytest.approx([1.2, 1.68, 1.872, 1.9488], abs=1e-12)
    assert trajectory.params[:, 0].tolist() == pytest.approx(closed_form, abs=1e-12)
    assert float(trajectory.final[0]) == pytest.approx(1.99868928, abs=1e-12)
    assert trajectory.grads[:, 0].tolist() == pytest.approx([2 * w - 4 for w in closed_form], abs=1e-12)
    table = str(trajectory)
    assert "1.68" in table and "1.1024" in table and "dL/dw" in table


def test_hand_simulation_lr_1_5_diverges_and_names_the_limit() -> None:
    trajectory = descend(SEED, "w=0", lr=1.5)
    assert ws(trajectory, 1, 2, 3) == [6.0, -6.0, 18.0]
    assert trajectory.diagnosis.status == "diverged"
    assert "2/λmax = 1.0" in trajectory.diagnosis.reason and "lr 1.5 is above" in trajectory.diagnosis.reason


def test_hand_simulation_lr_0_05_needs_51_steps() -> None:
    trajectory = descend(SEED, "w=0", lr=0.05, steps=100)
    assert trajectory.first_step_within("w=2", 0.01) == 51
    assert math.ceil(math.log(0.005) / math.log(0.9)) == 51  # |w_k − 2| = 2·0.9^k ≤ 0.01


def test_bowl_lr_0_1_matches_the_seed() -> None:
    assert ws(descend(BOWL, "w=0", lr=0.1, steps=2), 1, 2) == pytest.approx([0.6, 1.08], abs=1e-15)


def test_bowl_lr_1_oscillates_between_0_and_6() -> None:
    trajectory = descend(BOWL, "w=0", lr=1.0, steps=50)
    assert trajectory.params[:, 0].tolist() == [0.0, 6.0] * 25 + [0.0]
    assert trajectory.diagnosis.status == "oscillating"
    assert "2/λmax = 1.0" in trajectory.diagnosis.reason


def test_bowl_lr_2_diverges() -> None:
    trajectory = descend(BOWL, "w=0", lr=2.0)
    assert ws(trajectory, 1, 2, 3) == [12.0, -24.0, 84.0]
    assert trajectory.diagnosis.status == "diverged"


def test_case_study_1_slope() -> None:
    trajectory = descend(CASE1, "m=0", lr=0.01, steps=2000)
    m_star = (2.1 + 2 * 3.9 + 3 * 6.1 + 4 * 8.0 + 5 * 9.9) / 55  # Σxy / Σx²
    assert round(float(trajectory.final[0]), 6) == 1.994545
    assert float(trajectory.final[0]) == pytest.approx(m_star, abs=1e-12)
    assert trajectory.diagnosis.status == "converged"


def test_case_study_1_alpha_0_1_diverges_past_2_over_22() -> None:
    diagnosis = descend(CASE1, "m=0", lr=0.1).diagnosis
    assert diagnosis.status == "diverged"
    assert "2/λmax = 0.0909" in diagnosis.reason and "λmax = 22.0" in diagnosis.reason


def test_case_study_2_one_step() -> None:
    trajectory = descend(MAYA, "w0=0,w1=0", lr=0.1, steps=1)
    assert trajectory.grads[0].tolist() == [-4.0, -6.0]
    assert trajectory.final.tolist() == pytest.approx([0.4, 0.6], abs=1e-15)
    assert trajectory.grads[1].tolist() == pytest.approx([2 * 0.4 + 3 * 0.6 - 4, 3 * 0.4 + 5 * 0.6 - 6], abs=1e-14)


# -- every optimizer reaches the minimum of the sphere and of Rosenbrock --------------------------
# name: (hyper-parameters, step budget, tolerance on ‖θ_K − θ*‖). gd/sgd use lr 0.0019 < 2/λmax = 0.001997
# at Rosenbrock's minimum; adagrad's accumulator starts large so its early steps are not starved.
SPHERE_RUNS = {
    "gd": ({"lr": 0.1}, 200, 1e-12),
    "sgd": ({"lr": 0.1}, 200, 1e-12),
    "momentum": ({"lr": 0.05}, 300, 1e-6),
    "nesterov": ({"lr": 0.05}, 300, 1e-8),
    "adagrad": ({"lr": 0.5}, 300, 1e-8),
    "rmsprop": ({"lr": 0.03}, 300, 1e-8),
    "adam": ({"lr": 0.05}, 400, 1e-6),
    "adamw": ({"lr": 0.05, "weight_decay": 0.0}, 400, 1e-6),
    "lbfgs": ({}, 5, 1e-12),
    "newton": ({}, 2, 1e-12),
}
ROSENBROCK_RUNS = {
    "gd": ({"lr": 0.0019}, 3200, 5e-2),
    "sgd": ({"lr": 0.0019}, 3200, 5e-2),
    "momentum": ({"lr": 0.002}, 700, 1e-3),
    "nesterov": ({"lr": 0.001}, 1700, 1e-3),
    "adagrad": ({"lr": 3.0, "initial_accumulator_value": 1e6}, 3700, 1e-1),
    "rmsprop": ({"lr": 0.001, "momentum": 0.9}, 1200, 1e-2),
    "adam": ({"lr": 0.05}, 1500, 1e-3),
    "adamw": ({"lr": 0.05, "weight_decay": 0.0}, 1500, 1e-3),
    "lbfgs": ({}, 10, 1e-8),
    "newton": ({}, 10, 1e-10),
}


def test_the_tables_cover_every_optimizer() -> None:
    assert set(SPHERE_RUNS) == set(ROSENBROCK_RUNS) == set(OPTIMIZERS)


@pytest.mark.parametrize(
    ("surface", "runs", "minimum"),
    [
        pytest.param(SPHERE, SPHERE_RUNS, (0.0, 0.0), id="sphere"),
        pytest.param(ROSENBROCK, ROSENBROCK_RUNS, (1.0, 1.0), id="rosenbrock"),
    ],
)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_reaches_the_minimum(name: str, surface: Objective, runs: dict, minimum: tuple) -> None:
    hyper, budget, tol = runs[name]
    trajectory = descend(surface, "x=-1.5,y=2", name, steps=budget, **hyper)
    assert trajectory.first_step_within(minimum, tol) is not None, str(trajectory.diagnosis)
    assert trajectory.diagnosis.status in ("converged", "max_steps", "oscillating")


def test_newton_matches_scipy_on_rosenbrock_in_few_steps() -> None:
    trajectory = descend(ROSENBROCK, "x=-1.5,y=2", "newton", steps=10)
    reference = scipy.optimize.minimize(
        scipy.optimize.rosen,
        [-1.5, 2.0],
        jac=scipy.optimize.rosen_der,
        hess=scipy.optimize.rosen_hess,
        method="Newton-CG",
        tol=1e-12,
    )
    assert trajectory.first_step_within(reference.x.tolist(), 1e-6) <= 6
    torch.testing.assert_close(trajectory.final, torch.tensor(reference.x), rtol=0, atol=1e-8)
    assert trajectory.diagnosis.status == "converged"


def test_newton_thrown_by_a_singular_hessian_says_why_and_damping_bounds_it() -> None:
    """Newton on |x| + y² from (1, 1): away from the kink |x| has no curvature, so the undamped step in x is
    1/(1e-8·2) = 5e7 (μ starts at 1e-8·max(1, ‖H‖)); the diagnosis said only that L passed its bound. With
    damping 1 the step solves (H + I)·Δθ = −∇L: x = 1 − 1/1 = 0 and y = 1 − 2/3 at step 1 (closed form)."""
    kinked = formula("abs(x) + y**2")
    thrown = descend(kinked, "x=1,y=1", "newton", steps=10)
    assert thrown.diagnosis.status == "diverged"
    assert float(thrown.params[1, 0]) == pytest.approx(1 - 1 / (1e-8 * 2), rel=1e-12)
    assert ("the Hessian at step 0 is singular (eigenvalue 0 along (1, 0)), so the step from there was 5e+07 long; "
            "newton:damping=1 bounds it") in thrown.diagnosis.reason  # fmt: skip
    damped = descend(kinked, "x=1,y=1", "newton", damping=1.0, steps=10)
    assert damped.params[1].tolist() == pytest.approx([0.0, 1 - 2 / 3], abs=1e-15)
    assert "singular" not in damped.diagnosis.reason
    smooth = descend(formula("x**4"), "x=1", "newton", steps=60)  # singular only at its minimum: no such words
    assert smooth.diagnosis.status == "converged" and "singular" not in smooth.diagnosis.reason


def test_gd_hopping_across_a_kink_says_so() -> None:
    """gd on |x| at lr 0.3 from 1: 0.7, 0.4, 0.1, −0.2, 0.1, … for good (closed form: x − 0.3·sign(x)). The
    oscillation had no why (no curvature: 2/λmax says nothing); the slope along the step jumps from −1 to 1. A
    smooth loss oscillating at lr = 2/λmax keeps its own why and gets no kink words."""
    run = descend(formula("abs(x)"), "x=1", lr=0.3, steps=100)
    expected = [1.0, 0.7, 0.4, 0.1] + [-0.2, 0.1] * 48 + [-0.2]
    assert run.params[:, 0].tolist() == pytest.approx(expected, abs=1e-12)
    assert run.diagnosis.status == "oscillating"
    assert "a kink lies between them: along the step L's slope jumps from -1 to 1" in run.diagnosis.reason
    smooth = descend(formula("(w - 3)**2"), "w=0", lr=1.0, steps=60)
    assert smooth.diagnosis.status == "oscillating" and "kink" not in smooth.diagnosis.reason
    assert "equals 2/λmax" in smooth.diagnosis.reason


def test_gd_hopping_across_a_crease_while_drifting_along_it_says_so() -> None:
    """gd on |x² + y² − 1| from (2, 1) at lr 0.01 hops across the circle and drifts round it, never alternating
    exactly: the budget ran out with no why. Its last step crosses the crease, where L's slope along the step
    jumps between ±2r·|cos| (closed form: ∇L = ±2θ on either side, r ≈ 1); a smooth bowl still falling gets no
    such words, nor does |x| + y² where a kink explains nothing (gd there ends at the bottom of its slope)."""
    run = descend(formula("|x^2 + y^2 - 1|"), "x=2,y=1", lr=0.01, steps=300)
    a, b = run.params[-2], run.params[-1]
    assert run.diagnosis.status == "max_steps" and (a.square().sum() - 1) * (b.square().sum() - 1) < 0
    step = (b - a) / torch.linalg.vector_norm(b - a)
    # where the step meets the circle: |a + t(b − a)| = 1, and ∇L = ∓2θ there from inside / outside
    qa, qb, qc = float((b - a).square().sum()), float(2 * a @ (b - a)), float(a.square().sum() - 1)
    roots = [(-qb + sign * math.sqrt(qb * qb - 4 * qa * qc)) / (2 * qa) for sign in (1, -1)]
    meet = a + next(t for t in roots if 0 <= t <= 1) * (b - a)
    slopes = sorted([float(-2 * meet @ step), float(2 * meet @ step)])
    text = run.diagnosis.reason
    assert "its last step crosses a kink: along the step L's slope jumps from " in text
    left, right = (float(v) for v in text.split("jumps from ")[1].split(" (L is")[0].split(" to "))
    # read at the two of 65 points along the step on either side of the circle: within 1/64 of the step of it
    assert sorted([left, right]) == pytest.approx(slopes, abs=2 * float(torch.linalg.vector_norm(b - a)) / 64)
    bowl = descend(formula("x^2 + y^2"), "x=1,y=1", lr=0.01, steps=50)
    assert bowl.diagnosis.status == "max_steps" and "kink" not in bowl.diagnosis.reason


# -- stop rules and diagnoses ------------------------------------------------------------------------
def test_loss_threshold_stops_at_the_first_step_with_l_below() -> None:
    trajectory = descend(SEED, "w=0", lr=0.3, steps=100, loss_threshold=1.001)
    first = next(k for k in range(100) if 4 * 0.16**k <= 0.001)  # L_k − 1 = (w_k − 2)² = 4·0.16^k
    assert trajectory.steps == first == 5
    assert trajectory.diagnosis.status == "converged" and "loss_threshold" in trajectory.diagnosis.reason


def test_grad_tol_stops_when_the_gradient_is_small() -> None:
    trajectory = descend(SEED, "w=0", lr=0.3, steps=100, grad_tol=1e-3)
    norms = trajectory.grads.abs().flatten().tolist()
    assert norms[-1] <= 1e-3 < norms[-2]
    assert trajectory.diagnosis.status == "converged" and "grad_tol" in trajectory.diagnosis.reason


def test_non_finite_values_are_kept() -> None:
    trajectory = descend(formula("w**2"), "w=1", lr=3.0, steps=1000, divergence_factor=math.inf)
    assert math.isinf(float(trajectory.losses[-1])) and torch.isfinite(trajectory.losses[:-1]).all()
    assert trajectory.diagnosis.status == "diverged" and "inf" in trajectory.diagnosis.reason
    assert "2/λmax = 1.0" in trajectory.diagnosis.reason
    json.dumps(trajectory.to_dict())  # inf stays a float; the lead's serializer encodes it


def test_stalled_when_lbfgs_stops_moving_short_of_the_minimum() -> None:
    trajectory = descend(ROSENBROCK, "x=-1.5,y=2", "lbfgs", steps=45, tolerance_grad=1e-3, tolerance_change=1e-9)
    assert trajectory.diagnosis.status == "stalled"
    assert float(torch.linalg.vector_norm(trajectory.grads[-1])) > 1e-5


def test_max_steps_when_still_descending() -> None:
    diagnosis = descend(SEED, "w=0", lr=0.05, steps=10).diagnosis
    assert diagnosis.status == "max_steps" and "step budget" in diagnosis.reason and "2/λmax" not in diagnosis.reason


# -- the Trajectory ------------------------------------------------------------------------------------
def test_trajectory_shapes_and_last_gradient() -> None:
    trajectory = descend(MAYA, "w0=0,w1=0", lr=0.1, steps=7)
    assert trajectory.params.shape == (8, 2) and trajectory.losses.shape == (8,) and trajectory.grads.shape == (8, 2)
    assert trajectory.lrs.tolist() == [0.1] * 7 and trajectory.steps == 7
    torch.testing.assert_close(trajectory.grads[-1], MAYA.grad(trajectory.final), rtol=0, atol=1e-15)
    torch.testing.assert_close(trajectory.losses, MAYA.values(trajectory.params), rtol=0, atol=1e-15)


def test_to_dict_is_plain_json() -> None:
    data = descend(MAYA, "w0=0,w1=0", "adam", lr=0.05, steps=2).to_dict()
    assert {"names", "optimizer", "hyperparameters", "steps", "diagnosis"} <= set(data)
    assert data["steps"][0] == {
        "step": 0,
        "params": {"w0": 0.0, "w1": 0.0},
        "loss": 4.0,
        "gradient": {"w0": -4.0, "w1": -6.0},
        "lr": 0.05,
    }
    assert data["hyperparameters"]["betas"] == [0.9, 0.999] and data["steps"][-1]["lr"] is None
    assert set(data["diagnosis"]) >= {"status", "reason"}
    assert json.loads(json.dumps(data)) == data


# -- mini-batches on a data objective -------------------------------------------------------------------
@dataclass(eq=False)
class SlopeFit(Objective):
    """Mean squared error of y ≈ m·x on a few points (a stand-in for losslab.objectives.data)."""

    xs: Tensor = None  # type: ignore[assignment]
    ys: Tensor = None  # type: ignore[assignment]

    def _evaluate(self, thetas: Tensor) -> Tensor:
        return ((self.ys - thetas[..., :1] * self.xs) ** 2).mean(-1)

    @property
    def n_samples(self) -> int:
        return self.xs.shape[0]

    def subset(self, indices: Tensor) -> SlopeFit:
        return SlopeFit(names=self.names, xs=self.xs[indices], ys=self.ys[indices])


def slope_fit() -> SlopeFit:
    xs = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64)
    return SlopeFit(names=("m",), xs=xs, ys=torch.tensor([2.1, 3.9, 6.1, 8.0, 9.9], dtype=torch.float64))


def test_sgd_same_seed_same_path_different_seed_different() -> None:
    def run(seed: int):
        return descend(
            slope_fit(),
            "m=0",
            "sgd",
            lr=0.01,
            steps=20,
            batch_size=2,
            generator=torch.Generator().manual_seed(seed),
        )

    assert torch.equal(run(1).params, run(1).params)
    assert not torch.equal(run(1).params, run(2).params)
    assert run(1).hyperparameters["batch_size"] == 2


def test_sgd_steps_on_the_batches_of_reshuffled_epochs() -> None:
    data = slope_fit()
    trajectory = descend(
        data,
        "m=0",
        "sgd",
        lr=0.01,
        steps=6,
        batch_size=2,
        generator=torch.Generator().manual_seed(7),
    )
    oracle, m = torch.Generator().manual_seed(7), 0.0
    batches = [
        *torch.randperm(5, generator=oracle).split(2),
        *torch.randperm(5, generator=oracle).split(2),
    ]
    for k, idx in enumerate(batches[:6]):
        x, y = data.xs[idx], data.ys[idx]
        m -= 0.01 * float((-2 * x * (y - m * x)).mean())  # L_B'(m) in closed form
        assert float(trajectory.params[k + 1, 0]) == pytest.approx(m, abs=1e-14)
    torch.testing.assert_close(trajectory.losses, data.values(trajectory.params), rtol=0, atol=0)


def test_sgd_without_data_is_gd_and_says_so() -> None:
    sgd, gd = (
        descend(SEED, "w=0", "sgd", lr=0.3, steps=8),
        descend(SEED, "w=0", "gd", lr=0.3, steps=8),
    )
    assert torch.equal(sgd.params, gd.params)
    assert any("without data" in note for note in sgd.notes)


# -- multistart and lr sweeps ------------------------------------------------------------------------------
def test_multistart_tags_the_minimum_each_start_reaches() -> None:
    base = formula("(w**2 - 1)**2")
    minima = [
        KnownPoint((-1.0,), "minimum", 0.0, True),
        KnownPoint((1.0,), "minimum", 0.0, True),
        KnownPoint((0.0,), "maximum", 1.0),
    ]
    double_well = FormulaObjective(base.expr, base.symbols, known_points=minima)
    runs = multistart(double_well, ["w=-2", "w=-0.3", "w=0.4", "w=0"], lr=0.05, steps=200)
    assert [None if t.reached is None else t.reached.point for t in runs] == [
        (-1.0,),
        (-1.0,),
        (1.0,),
        None,
    ]


def test_lr_sweep_statuses_and_stability_limit() -> None:
    sweep = lr_sweep(BOWL, "w=0", [0.1, 0.5, 1.0, 1.5], steps=150)
    assert sweep.statuses == ("converged", "converged", "oscillating", "diverged")
    assert sweep.max_stable_lr == 1.0 and "2/λmax" in str(sweep)
    assert sweep.final_losses[1] == 0.0  # lr = 1/λ jumps to the minimum in one step


# -- bad input -------------------------------------------------------------------------------------------------
BAD = [
    ({"lr": 0.0}, "optimizer 'gd': lr must be a finite number > 0 (the learning rate), got 0.0"),
    ({"lr": -1.0}, "lr must be a finite number > 0 (the learning rate), got -1.0"),
    ({"steps": 0}, "steps must be a whole number ≥ 1, got 0"),
    ({"steps": -3}, "got -3"),
    ({"optimizer": "adamm"}, "optimizer 'adamm' is not one of gd, sgd"),
    ({"optimizer": "adam", "betaz": 0.9}, "no hyper-parameter 'betaz'; accepted: lr, betas"),
    ({"start": "w=0,v=1"}, "names 'v', which is not a parameter; parameters: w"),
    ({"batch_size": 2}, "needs an objective with data"),
    ({"scheduler": "warm:x=1"}, "scheduler 'warm' is not one of"),
    ({"grad_tol": -1.0}, "grad_tol must be a finite number ≥ 0"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m.split(";")[0][:40] for _, m in BAD])
def test_bad_input(change: dict, message: str) -> None:
    kwargs = {"start": "w=0", **change}
    with pytest.raises(LosslabError) as caught:
        descend(SEED, kwargs.pop("start"), **kwargs)
    assert message in str(caught.value)


@pytest.mark.parametrize("batch_size", [0, 6, 2.5])
def test_batch_size_out_of_range(batch_size: object) -> None:
    with pytest.raises(LosslabError, match="batch_size must be a whole number (≥ 1|from 1 to 5)"):
        descend(slope_fit(), "m=0", "sgd", batch_size=batch_size)
