"""The functional update bound by ``stepper`` is ``Optimizer.step()``, bit for bit, state included."""

from __future__ import annotations

import pytest
import torch

from losslab.descent.functional_steps import stepper
from losslab.descent.optimizers import build

CASES = [
    (torch.optim.SGD, {"lr": 0.1}),
    (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (torch.optim.SGD, {"lr": 0.1, "momentum": 0.5, "dampening": 0.3, "maximize": True}),
    (torch.optim.Adam, {"lr": 0.05}),
    (torch.optim.Adam, {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1, "betas": (0.8, 0.99)}),
    (torch.optim.AdamW, {"lr": 0.05, "weight_decay": 0.1}),
    (torch.optim.RMSprop, {"lr": 0.01}),
    (torch.optim.RMSprop, {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    (torch.optim.Adagrad, {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1}),
]


def _walk(cls: type, hyper: dict, fast: bool) -> tuple[torch.optim.Optimizer, list[torch.Tensor]]:
    """Twenty steps on L = Σ w⁴/4 − w (gradient w³ − 1) from two parameters of different shapes."""
    params = [torch.tensor([0.3, -1.2]), torch.tensor([[2.0, 0.5], [-0.7, 1.1]])]
    params = [p.to(torch.float64) for p in params]
    for p in params:
        p.grad = torch.zeros_like(p)
    opt = cls([{"params": [params[0]]}, {"params": [params[1]], "lr": hyper["lr"] / 2}], **hyper)
    update = opt.step
    for k in range(20):
        for p in params:
            p.grad.copy_(p**3 - 1)
        update()
        if fast and k == 0:
            update = stepper(opt)
            assert update != opt.step, f"{cls.__name__} fell back to step()"
    return opt, params


@pytest.mark.parametrize(("cls", "hyper"), CASES, ids=[f"{c.__name__}-{sorted(h)}" for c, h in CASES])
def test_stepper_is_step_bit_for_bit(cls: type, hyper: dict) -> None:
    slow, slow_params = _walk(cls, hyper, fast=False)
    fast, fast_params = _walk(cls, hyper, fast=True)
    for a, b in zip(slow_params, fast_params, strict=True):
        assert torch.equal(a, b)
    for a, b in zip(slow.state.values(), fast.state.values(), strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(torch.as_tensor(a[key]), torch.as_tensor(b[key])), key


def test_group_hyperparameters_are_read_at_each_call() -> None:
    w = torch.zeros(1, dtype=torch.float64)
    w.grad = torch.ones(1, dtype=torch.float64)
    opt = torch.optim.SGD([w], lr=0.1)
    opt.step()
    update = stepper(opt)
    opt.param_groups[0]["lr"] = 1.0  # a scheduler's change reaches the next update
    update()
    assert w.item() == pytest.approx(-1.1, abs=1e-15)


def test_what_it_does_not_know_keeps_its_own_step() -> None:
    w = torch.zeros(2, dtype=torch.float64)
    w.grad = torch.ones(2, dtype=torch.float64)
    newton = build("newton", [w], {"lr": 1.0, "hessian": lambda: torch.eye(2, dtype=torch.float64)})
    assert stepper(newton) == newton.step
    lbfgs = torch.optim.LBFGS([w])
    assert stepper(lbfgs) == lbfgs.step
    adam = torch.optim.Adam([w])
    assert stepper(adam) == adam.step  # no state before its first step
    no_grad = torch.zeros(2, dtype=torch.float64)
    sgd = torch.optim.SGD([no_grad], lr=0.1)
    assert stepper(sgd) == sgd.step  # nothing to read the gradient from


def test_a_group_without_an_expected_option_keeps_its_own_step() -> None:
    """An older torch's groups may lack an option the functional form is given (Adam's decoupled_weight_decay)."""
    w = torch.zeros(2, dtype=torch.float64)
    w.grad = torch.ones(2, dtype=torch.float64)
    adam = torch.optim.Adam([w])
    adam.step()
    del adam.param_groups[0]["decoupled_weight_decay"]
    assert stepper(adam) == adam.step
