"""The stop rules, each against a closed form: geometric growth is divergence as soon as it is seen, a
converged run stops when θ stops changing, a fall without bound is ``unbounded``, and ``within`` stops at
the distance the seed asks for. Lock-step runs end at the same steps for the same reasons."""

from __future__ import annotations

import math

import pytest
import torch

from losslab.descent.fit import fit
from losslab.descent.lockstep import lockstep
from losslab.descent.run import descend
from losslab.descent.stopping import (
    FROZEN,
    GROWTH_MIN_FACTOR,
    GROWTH_STEADY,
    NEGLIGIBLE,
    Start,
    StopRules,
    steady_growth,
    stop_rule,
)
from losslab.descent.trajectory import STATUSES, run_label
from losslab.errors import LosslabError
from losslab.objectives.gallery import gallery
from losslab.objectives.objective import formula

SEED = formula("w**2 - 4*w + 5")  # Hill-Descending: minimum w = 2, L = 1, λ = 2
BOWL = formula("(w - 3)**2")
CASE1 = formula("(1/5)*((2.1-m)**2+(3.9-2*m)**2+(6.1-3*m)**2+(8.0-4*m)**2+(9.9-5*m)**2)")  # λ = 22
SADDLE = formula("x**2 - y**2")
TOL = {"rtol": 1e-12, "atol": 1e-12, "equal_nan": True}


def first_steady_growth(losses: list[float]) -> int | None:
    """The oracle of the growth rule, written out: the first k whose last three rises are positive, each
    the same factor q ≥ GROWTH_MIN_FACTOR times the one before (within GROWTH_STEADY), with L_k > L_0."""
    for k in range(3, len(losses)):
        rises = [losses[j] - losses[j - 1] for j in (k - 2, k - 1, k)]
        if min(rises) <= 0 or losses[k] <= losses[0]:
            continue
        q1, q2 = rises[1] / rises[0], rises[2] / rises[1]
        if min(q1, q2) >= GROWTH_MIN_FACTOR and abs(q1 - q2) <= GROWTH_STEADY * min(q1, q2):
            return k
    return None


# -- 1. geometric growth is divergence as soon as it is seen --------------------------------------
# (objective, lr, start, (1 − lr·λ)², the closed form of L_k)
GROWING = {
    "(w-3)^2 lr 2": (BOWL, 2.0, "w=0", 9.0, lambda k: 9.0 * 9.0**k),
    "seed lr 1.5": (SEED, 1.5, "w=0", 4.0, lambda k: 1 + 4 * 4.0**k),
    "case study 1 lr 0.1": (CASE1, 0.1, "m=0", 1.44, None),
}


@pytest.mark.parametrize("case", GROWING)
@pytest.mark.parametrize("steps", [3, 4, 100])
def test_steady_growth_is_diverged_at_step_3_whatever_the_budget(case: str, steps: int) -> None:
    objective, lr, start, factor, closed = GROWING[case]
    run = descend(objective, start, lr=lr, steps=steps)
    assert run.diagnosis.status == "diverged" and run.diagnosis.step == run.steps == 3
    if closed is not None:
        assert run.losses.tolist() == pytest.approx([closed(k) for k in range(4)], rel=1e-14)
    rises = run.losses.diff()
    assert (rises[1:] / rises[:-1]).tolist() == pytest.approx([factor, factor], rel=1e-12)
    reason = run.diagnosis.reason
    assert f"×{factor:g} per step" in reason  # measured
    assert f"(1 − lr·λmax)² = (1 − {lr:g}·" in reason and f"= {factor:g} per step" in reason  # predicted
    assert "is above 2/λmax" in reason


def test_the_reason_names_the_rises_and_the_steps() -> None:
    reason = descend(BOWL, "w=0", lr=2.0, steps=3).diagnosis.reason
    assert reason.startswith(
        "diverged at step 3: L grows geometrically, ×9 per step (it rose by 72, 648, 5832 over steps 1–3)"
    )


def test_growth_that_starts_late_is_found_where_the_oracle_finds_it() -> None:
    """x converges (factor −0.5) while y, from 1e-6, grows ×1.2: L first falls, then rises ×1.44 per step."""
    objective = formula("0.75*x**2 + 1.1*y**2")
    losses = [0.75 * (10 * 0.25**k) * 10 + 1.1 * 1e-12 * 1.44**k for k in range(200)]
    run = descend(objective, "x=10,y=1e-6", lr=1.0, steps=200)
    assert run.diagnosis.status == "diverged" and run.diagnosis.step == first_steady_growth(losses) == 88


SEQUENCES = {  # recent losses → the factor steady_growth reports (None: not steady geometric growth)
    "geometric": ([1.0, 3.0, 7.0, 15.0], 2.0),
    "geometric above an offset": ([101.0, 103.0, 107.0, 115.0], 2.0),
    "linear": ([0.0, 1.0, 2.0, 3.0], None),
    "quadratic k²": ([16.0, 25.0, 36.0, 49.0], None),
    "momentum climbing a wall, sin²": ([math.sin(0.05 * k) ** 2 for k in range(9, 13)], None),
    "decelerating": ([0.0, 8.0, 12.0, 14.0], None),
    "slow factor 1.02": ([1.0, 1.02, 1.0404, 1.061208], None),
    "a fall": ([4.0, 3.0, 2.0, 1.0], None),
    "rounding noise at L = 1": ([1.0, 1.0 + 2.2e-16, 1.0 + 6.6e-16, 1.0 + 1.5e-15], None),
    "too few values": ([1.0, 3.0, 7.0], None),
}


@pytest.mark.parametrize("case", SEQUENCES)
def test_steady_growth_on_sequences(case: str) -> None:
    values, factor = SEQUENCES[case]
    found = steady_growth(values)
    assert found == (None if factor is None else pytest.approx(factor, rel=1e-12))


def test_growth_below_the_start_is_not_divergence() -> None:
    """An adaptive method may grow geometrically for a few steps near a minimum and settle again."""
    theta, grad = torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    rules = StopRules()
    assert stop_rule(3, [1.0, 3.0, 7.0, 15.0], theta, theta - 1, grad, Start(100.0, 1.0), rules) is None
    stop = stop_rule(3, [1.0, 3.0, 7.0, 15.0], theta, theta - 1, grad, Start(1.0, 1.0), rules)
    assert stop is not None and stop.status == "diverged"
    rmsprop = descend(gallery("rosenbrock"), "x=-1.5,y=2", "rmsprop", lr=0.001, momentum=0.9, steps=1500)
    assert rmsprop.diagnosis.status != "diverged"  # its L jumps ×1.17 per step at step 1395, from 3e-9


def test_momentum_climbing_the_far_wall_is_not_divergence() -> None:
    run = descend(formula("x**2 + 100*y**2"), "x=1,y=1", "momentum", lr=0.001, steps=3000)
    assert run.diagnosis.status == "converged"


def test_without_a_divergence_limit_the_run_goes_on_and_the_whole_rise_is_counted() -> None:
    run = descend(BOWL, "w=0", lr=2.0, steps=10, divergence_factor=math.inf)
    assert run.steps == 10 and run.diagnosis.status == "diverged"
    assert "L grew at each of the last 10 steps (every step of the run), from 9 to 3.13811e+10" in run.diagnosis.reason


# -- 2. a converged run stops -------------------------------------------------------------------------
def frozen_at(run) -> list[bool]:
    """The convergence rule, step by step, written out from the recorded numbers."""
    g = torch.linalg.vector_norm(run.grads, dim=-1)
    moves = torch.linalg.vector_norm(run.params.diff(dim=0), dim=-1)
    scale = torch.linalg.vector_norm(run.params[1:], dim=-1).clamp(min=1.0)
    small = (g[1:] <= NEGLIGIBLE * max(1.0, float(g[0]))) & (moves <= FROZEN * scale)
    return [False, *small.tolist()]


@pytest.mark.parametrize(
    ("optimizer", "hyper", "tol"),  # tol: on |w_K − 3|; Adam's steps shrink with ∇L/√v, so it stops a little short
    [("gd", {"lr": 0.1}, 1e-12), ("momentum", {"lr": 0.1}, 1e-12), ("adam", {"lr": 0.1}, 1e-10),
     ("newton", {}, 1e-12), ("lbfgs", {}, 1e-12)],
)  # fmt: skip
def test_a_converged_run_stops_at_the_first_step_the_rule_holds(optimizer: str, hyper: dict, tol: float) -> None:
    run = descend(BOWL, "w=0", optimizer, steps=1000, **hyper)
    assert run.steps < 1000 and run.diagnosis.status == "converged" and run.diagnosis.step == run.steps
    assert frozen_at(run) == [False] * run.steps + [True]
    assert float(run.final[0]) == pytest.approx(3.0, abs=tol)
    assert "θ stopped changing" in run.diagnosis.reason


def test_stopping_does_not_change_the_numbers() -> None:
    short = descend(CASE1, "m=0", lr=0.01, steps=2000)
    m_star = (2.1 + 2 * 3.9 + 3 * 6.1 + 4 * 8.0 + 5 * 9.9) / 55
    assert short.steps < 200 and float(short.final[0]) == pytest.approx(m_star, abs=1e-12)
    closed = [m_star * (1 - 0.78**k) for k in range(short.steps + 1)]  # m_k − m* = (1 − 0.01·22)^k (0 − m*)
    assert short.params[:, 0].tolist() == pytest.approx(closed, abs=1e-12)


def test_at_the_budgets_end_the_looser_rule_still_says_converged() -> None:
    run = descend(SEED, "w=0", lr=0.05, steps=200)  # |w − 2| = 2·0.9^200 ≈ 1.4e-9: not frozen, but negligible
    assert run.steps == 200 and run.diagnosis.status == "converged"
    assert run.diagnosis.reason.startswith("converged: by step 200 the steps and the gradient were negligible")


def test_a_run_that_stops_on_a_saddle_says_it_is_not_a_minimum() -> None:
    run = descend(SADDLE, "x=1,y=0", lr=0.1, steps=500)
    assert run.diagnosis.status == "converged" and run.final.abs().max() < 1e-13
    assert "θ is a saddle, not a minimum: the Hessian there has the eigenvalue -2.0 < 0" in run.diagnosis.reason


# -- 3. unbounded below ----------------------------------------------------------------------------------
def test_a_fall_without_bound_is_unbounded() -> None:
    run = descend(SADDLE, "x=1,y=0.1", lr=0.1, steps=200)
    closed = [0.64**k - 0.01 * 1.44**k for k in range(run.steps + 1)]  # x_k = 0.8^k, y_k = 0.1·1.2^k
    assert run.losses.tolist() == pytest.approx(closed, rel=1e-12, abs=1e-15)
    first = next(k for k, v in enumerate(closed) if v < -1e6)
    assert run.diagnosis.status == "unbounded" and run.diagnosis.step == run.steps == first == 51
    ratio = closed[51] / closed[50]
    assert run.diagnosis.reason == (
        f"unbounded below at step 51: L fell from 0.99 to {closed[51]:.4g} and keeps falling (×{ratio:.4g} per step)"
    )
    assert "×1.44 per step" in run.diagnosis.reason
    assert run_label(run) == "gd (lr 0.1) — unbounded below at step 51"
    assert "unbounded" in STATUSES


def test_minus_infinity_is_unbounded_too() -> None:
    falling = formula("-exp(w)")  # w_{k+1} = w_k + e^{w_k}: 0, 1, 1 + e, …, until e^w overflows
    assert descend(falling, "w=0", lr=1.0, steps=50).diagnosis.status == "unbounded"
    run = descend(falling, "w=0", lr=1.0, steps=50, divergence_factor=math.inf)
    assert run.diagnosis.status == "unbounded" and run.diagnosis.reason.endswith("L fell from -1 to -inf")


def test_a_deep_minimum_is_not_unbounded() -> None:
    run = descend(formula("(w - 10)**2 - 1e7"), "w=0", lr=0.1, steps=1000)
    assert run.diagnosis.status == "converged"


# -- 4. fit's words -----------------------------------------------------------------------------------------
def test_fit_says_one_step_and_the_status_once() -> None:
    data = {"x": [1, 2, 3, 4, 5], "y": [2.1, 3.9, 6.1, 8.0, 9.9]}
    one = str(fit(data, "m*x", steps=1)).splitlines()
    assert one[-3].startswith("descent (gd, 1 step): m = ")
    assert one[-2].startswith("learning rate 0.04: suggested (lr at most 1/λmax (λmax = 22)")
    done = fit(data, "m*x", lr=0.01)
    lines = str(done).splitlines()
    assert lines[-1] == f"diagnosis: {done.descent.diagnosis.reason}"
    assert lines[-1].startswith("diagnosis: converged at step ") and lines[-1].count("converged") == 1


def test_fit_without_a_learning_rate_takes_the_suggested_one_not_the_optimizers_default() -> None:
    """gd's default 0.1 is above 2/λmax = 0.0909 on Case Study 1's points: 'losslab fit d.csv --model "m x"'
    diverged in 3 steps. Without lr the fit takes the explorer's suggestion, at most 1/λmax, and converges;
    a rate given (in lr= or the optimizer's spec) is kept."""
    data = {"x": [1, 2, 3, 4, 5], "y": [2.1, 3.9, 6.1, 8.0, 9.9]}
    lam = 2 * sum(x * x for x in data["x"]) / 5  # the mse's Hessian: 2·mean(x²) = 22
    chosen = fit(data, "m*x")
    rate = chosen.descent.to_dict()["hyperparameters"]["lr"]
    assert rate <= 1 / lam and chosen.descent.diagnosis.status == "converged"
    assert chosen.lr_reason is not None and chosen.to_dict()["descent"]["lr_reason"] == chosen.lr_reason
    assert fit(data, "m*x", optimizer="gd:lr=0.1").descent.diagnosis.status == "diverged"
    assert fit(data, "m*x", lr=0.1).lr_reason is None
    momentum = fit(data, "m*x", optimizer="momentum")
    assert momentum.descent.to_dict()["hyperparameters"]["lr"] == pytest.approx(rate * (1 - 0.9))


def test_a_run_that_ends_falling_but_above_its_start_says_so() -> None:
    data = {"x": [1, 2, 3, 4, 5], "y": [2.1, 3.9, 6.2, 7.8, 10.1]}
    run = fit(data, "exp(k*x)", lr=0.005).descent  # the rate suggested at k = 0: it overshoots into k < 0
    assert float(run.losses[-1]) > float(run.losses[0])
    assert "(above where it started)" in run.diagnosis.reason and "every step" not in run.diagnosis.reason


# -- 5. within: how many steps to get within 0.01 of the minimum -------------------------------------------
def test_within_answers_extension_b_with_the_seeds_51() -> None:
    expected = math.ceil(math.log(0.01 / 2) / math.log(0.9))  # |w_k − 2| = 2·0.9^k ≤ 0.01
    for objective in (gallery("hand_simulation"), SEED):  # the known minimum, and the analysed one
        run = descend(objective, "w=0", lr=0.05, steps=200, within=0.01)
        assert run.diagnosis.status == "converged" and run.diagnosis.step == run.steps == expected == 51
        assert run.diagnosis.reason.startswith(
            f"within 0.01 of the minimum w = 2 after 51 steps: |w − 2| = {2 * 0.9**51:.3g}"
        )
    assert descend(SEED, "w=0", lr=0.05, steps=200).first_step_within("w=2", 0.01) == 51


def test_within_measures_to_the_nearest_of_several_minima() -> None:
    himmelblau = gallery("himmelblau")
    run = descend(himmelblau, "x=0,y=0", "adam", lr=0.1, steps=1000, within=1e-3)
    minima = torch.tensor([p.point for p in himmelblau.known_points if p.is_global], dtype=torch.float64)
    distances = torch.linalg.vector_norm(run.params[:, None, :] - minima, dim=-1).amin(-1)
    assert float(distances[-1]) <= 1e-3 < float(distances[:-1].min())
    assert "within 0.001 of the minimum (x, y) = (3, 2) after" in run.diagnosis.reason


def test_a_run_that_does_not_get_within_says_how_far_it_ended() -> None:
    run = descend(SEED, "w=0", lr=0.05, steps=30, within=0.01)
    assert run.diagnosis.status == "max_steps"
    assert run.diagnosis.reason.endswith(
        f"; not within 0.01 of the minimum w = 2 after 30 steps: |w − 2| = {2 * 0.9**30:.3g}"
    )


@pytest.mark.parametrize("within", [0.0, -1.0, math.nan, math.inf])
def test_within_must_be_a_positive_distance(within: float) -> None:
    with pytest.raises(LosslabError, match=f"within must be a finite distance > 0 to the minimum, got {within}"):
        descend(SEED, "w=0", within=within)


def test_within_needs_a_minimum() -> None:
    with pytest.raises(LosslabError, match="has no known minimum, and losslab.analysis finds none"):
        descend(SADDLE, "x=1,y=0", within=0.1)


# -- lock-step runs stop where descend stops --------------------------------------------------------------
LOCKSTEP = {
    "bowl": (
        BOWL,
        "w=0",
        [
            ("gd", {"lr": 0.1}),
            ("adam", {"lr": 0.1}),
            ("momentum", {"lr": 0.1}),
            ("gd", {"lr": 2.0}),
            ("gd", {"lr": 1.0}),
            ("newton", {}),
        ],
        {},
    ),  # fmt: skip
    "saddle": (SADDLE, "x=1,y=0.1", [("gd", {"lr": 0.1}), ("momentum", {"lr": 0.1}), ("adam", {"lr": 0.1})], {}),
    "late growth": (formula("0.75*x**2 + 1.1*y**2"), "x=10,y=1e-6", [("gd", {"lr": 1.0}), ("gd", {"lr": 0.5})], {}),
    "within": (SEED, "w=0", [("gd", {"lr": 0.05}), ("gd", {"lr": 0.3}), ("gd", {"lr": 0.001})], {"within": 0.01}),
}


@pytest.mark.parametrize("case", LOCKSTEP)
def test_lockstep_stops_where_descend_stops(case: str) -> None:
    objective, start, pairs, rules = LOCKSTEP[case]
    together = lockstep(objective, start, pairs, steps=1500, **rules)
    for (name, hyper), run in zip(pairs, together, strict=True):
        alone = descend(objective, start, name, steps=1500, **rules, **hyper)
        torch.testing.assert_close(run.params, alone.params, **TOL)
        torch.testing.assert_close(run.losses, alone.losses, **TOL)
        assert run.diagnosis == alone.diagnosis
    statuses = {run.diagnosis.status for run in together}
    assert (
        statuses
        == {
            "bowl": {"converged", "diverged", "oscillating"},
            "saddle": {"unbounded", "max_steps"},
            "late growth": {"diverged", "converged"},
            "within": {"converged", "max_steps"},
        }[case]
    )


def test_a_suggested_rate_that_raises_the_loss_of_a_nonlinear_model_is_halved_until_it_does_not() -> None:
    """gd at the rate suggested at the start (at most 1/λmax there) sent a·exp(k·x) from L 4.85 to 538 at step 3
    and onto a plateau at k = -214 ("converged", L 16.5). Oracle: scipy's least squares on the same points."""
    from scipy.optimize import least_squares

    data = {"x": [0, 0.5, 1, 1.5, 2], "y": [1.0, 1.7, 2.6, 4.6, 7.2]}
    result = fit(data, "a*exp(k*x)")
    x, y = torch.tensor(data["x"], dtype=torch.float64), torch.tensor(data["y"], dtype=torch.float64)
    best = least_squares(lambda p: (p[0] * torch.exp(p[1] * x) - y).numpy(), [1.0, 0.0], xtol=1e-14, ftol=1e-14).x
    assert result.descent.final.tolist() == pytest.approx(list(best), rel=1e-6)
    assert result.lr_reason is not None and "halved 3 times: at lr 0.09 the loss rose at step 3 (4.848 → 538.3)" in (
        result.lr_reason
    )
    losses = result.descent.losses
    assert bool((losses[1:] <= losses[:-1] + 1e-12).all())  # never up
    assert "halved" not in str(fit({"x": [1, 2, 3], "y": [2.0, 4.1, 5.9]}, "m*x").lr_reason)  # linear: as suggested
    assert fit(data, "a*exp(k*x)", lr=0.09).lr_reason is None  # a rate the user gives is run as given
