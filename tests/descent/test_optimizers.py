"""The optimizer registry: parsing, validation, documentation, and equality with torch.optim run by hand."""

from __future__ import annotations

import math

import pytest
import torch

from losslab.descent.optimizers import (
    OPTIMIZERS,
    Newton,
    OptimizerSpec,
    newton_direction,
    parse_optimizer,
    resolve,
)
from losslab.descent.run import descend
from losslab.descent.schedules import make_scheduler
from losslab.errors import LosslabError
from losslab.objectives.objective import formula

ROSENBROCK = formula("(1 - x)**2 + 100*(y - x**2)**2")
START = "x=-1.5,y=2"
TORCH_BACKED = [name for name, spec in OPTIMIZERS.items() if spec.cls is not Newton]


# -- parsing and validation ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "name", "values"),
    [
        ("gd:lr=0.001", "gd", {"lr": 0.001}),
        ("adam:lr=0.05,betas=0.9;0.999", "adam", {"lr": 0.05, "betas": (0.9, 0.999)}),
        ("nesterov", "nesterov", {}),
        ("lbfgs:max_iter=5,line_search_fn=none", "lbfgs", {"max_iter": 5, "line_search_fn": None}),
        ("adam:amsgrad=true", "adam", {"amsgrad": True}),
        (" RMSprop : momentum=0.9 ", "rmsprop", {"momentum": 0.9}),
    ],
    ids=lambda v: str(v) if isinstance(v, str) else None,
)
def test_parse_optimizer(text: str, name: str, values: dict) -> None:
    assert parse_optimizer(text) == OptimizerSpec(name, values)


def test_torch_value_errors_become_losslab_errors() -> None:
    # a class outside the registry checks its own arguments: torch's message, on one line
    with pytest.raises(LosslabError, match=r"^optimizer 'Adamax': Invalid beta parameter at index 0: 1\.5$"):
        descend(ROSENBROCK, START, torch.optim.Adamax, betas=(1.5, 0.9), steps=1)


def test_accepted_hyperparameters_come_from_the_torch_signature() -> None:
    assert OPTIMIZERS["adam"].accepted == (
        "lr",
        "betas",
        "eps",
        "weight_decay",
        "amsgrad",
        "maximize",
        "decoupled_weight_decay",
    )
    assert "momentum" in OPTIMIZERS["momentum"].accepted and "nesterov" not in OPTIMIZERS["momentum"].accepted
    assert OPTIMIZERS["newton"].accepted == ("lr", "damping")


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_entry_documents_its_update_rule_and_defaults(name: str) -> None:
    spec = OPTIMIZERS[name]
    assert ":math:" in spec.doc and r"\theta" in spec.doc
    assert f"lr={spec.defaults['lr']}" in spec.doc.replace("``", "")
    assert resolve(name, {})["lr"] == spec.defaults["lr"] > 0


# -- losslab's loop is torch.optim's loop ------------------------------------------------------
def hand_loop(cls: type[torch.optim.Optimizer], steps: int, **hyper: object) -> torch.Tensor:
    """The textbook torch loop, written independently of losslab.descent.run."""
    theta = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    opt = cls([theta], **hyper)
    path = [theta.detach().clone()]

    def closure() -> torch.Tensor:
        opt.zero_grad()
        x, y = theta[0], theta[1]
        loss = (1 - x) ** 2 + 100 * (y - x**2) ** 2
        loss.backward()
        return loss

    for _ in range(steps):
        if cls is torch.optim.LBFGS:
            opt.step(closure)
        else:
            closure()
            opt.step()
        path.append(theta.detach().clone())
    return torch.stack(path)


STEP_SIZES = {
    "gd": 1e-4,
    "sgd": 1e-4,
    "momentum": 1e-4,
    "nesterov": 1e-4,
    "adagrad": 0.1,
    "rmsprop": 0.01,
    "adam": 0.05,
    "adamw": 0.05,
    "lbfgs": 1.0,
}


@pytest.mark.parametrize("name", TORCH_BACKED)
def test_trajectory_equals_torch_optim_by_hand(name: str) -> None:
    steps = 3 if name == "lbfgs" else 40  # L-BFGS stops moving at step 4: the run ends there, converged
    trajectory = descend(ROSENBROCK, START, name, lr=STEP_SIZES[name], steps=steps, divergence_factor=1e300)
    expected = hand_loop(OPTIMIZERS[name].cls, trajectory.steps, **trajectory.hyperparameters)
    assert trajectory.steps == steps
    # The same float64 operations in the same order: equal to the last bit (1e-14 allowed for safety).
    torch.testing.assert_close(trajectory.params, expected, rtol=0, atol=1e-14)


def test_an_optimizer_class_can_be_passed_instead_of_a_name() -> None:
    by_class = descend(ROSENBROCK, START, torch.optim.Adam, lr=0.05, steps=30)
    torch.testing.assert_close(by_class.params, hand_loop(torch.optim.Adam, 30, lr=0.05), rtol=0, atol=1e-14)
    assert by_class.optimizer == "Adam" and by_class.hyperparameters == {"lr": 0.05}


# -- Newton --------------------------------------------------------------------------------------
def test_newton_direction_is_the_linear_solve_when_h_is_positive_definite() -> None:
    hess = torch.tensor([[1902.0, 600.0], [600.0, 200.0]], dtype=torch.float64)
    grad = torch.tensor([-155.0, -50.0], dtype=torch.float64)
    torch.testing.assert_close(newton_direction(hess, grad), torch.linalg.solve(hess, grad), rtol=1e-12, atol=0)


def test_newton_direction_is_damped_to_descend_when_h_is_indefinite() -> None:
    hess = torch.tensor([[1.0, 0.0], [0.0, -3.0]], dtype=torch.float64)
    grad = torch.tensor([1.0, 1.0], dtype=torch.float64)
    direction = newton_direction(hess, grad)
    assert float(direction @ grad) > 0  # −d is downhill
    mu = 1 / float(direction[0]) - 1  # d0 = g0/(1+μ) recovers μ
    assert mu > 3 and torch.allclose(direction, grad / (torch.diagonal(hess) + mu), rtol=1e-12)


def test_newton_step_on_a_quadratic_lands_on_the_minimum() -> None:
    bowl = formula("0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)")
    trajectory = descend(bowl, "w0=0,w1=0", "newton", steps=1)
    torch.testing.assert_close(trajectory.final, torch.tensor([2.0, 0.0], dtype=torch.float64), rtol=0, atol=1e-12)


def test_newton_refuses_more_than_one_tensor() -> None:
    with pytest.raises(LosslabError, match="one 1-D parameter tensor"):
        Newton([torch.zeros(2), torch.zeros(2)], hessian=lambda t: torch.eye(2))


# -- schedulers -------------------------------------------------------------------------------------
def test_step_scheduler_by_name_halves_the_lr() -> None:
    trajectory = descend(ROSENBROCK, START, "gd", lr=1e-4, steps=25, scheduler="step:step_size=10,gamma=0.5")
    expected = [1e-4 * 0.5 ** (k // 10) for k in range(25)]
    torch.testing.assert_close(trajectory.lrs, torch.tensor(expected, dtype=torch.float64), rtol=1e-15, atol=0)


def test_scheduler_class_and_callable_match_the_name() -> None:
    cosine = descend(ROSENBROCK, START, "adam", steps=20, scheduler="cosine:T_max=20")
    by_class = descend(
        ROSENBROCK,
        START,
        "adam",
        steps=20,
        scheduler=lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20),
    )
    assert torch.equal(cosine.params, by_class.params)
    assert math.isclose(float(cosine.lrs[10]), 0.01 * 0.5 * (1 + math.cos(math.pi * 10 / 20)), rel_tol=1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "linear:x=1",
            "scheduler 'linear' is not one of step, multistep, exponential, cosine",
        ),
        ("step:gamma=0.5", "needs step_size; accepted: step_size, gamma"),
        ("exponential:gamma=0.9,foo=1", "accepted: gamma"),
    ],
)
def test_invalid_scheduler(text: str, message: str) -> None:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(LosslabError) as caught:
        make_scheduler(text, opt)
    assert message in str(caught.value)
