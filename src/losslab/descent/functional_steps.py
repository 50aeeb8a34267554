"""``torch.optim`` updates without ``Optimizer.step``'s per-call wrapping, for optimizers stepped thousands of times.

``Optimizer.step()`` runs its hooks, opens a profiler range, switches grad mode, and rebuilds
the argument lists of its update from ``state`` on every call. On the two-element parameters of
a race that is about half of every step (Adam: 32 µs a call, of which the update is 17 µs). The
update itself is public API — ``torch.optim.sgd.sgd``, ``adam.adam``, ``rmsprop.rmsprop``,
``adagrad.adagrad``, the functions ``step()`` ends in. :func:`stepper` binds one of them to an
optimizer's parameter groups and state, once one ordinary ``step()`` has created that state;
each call then makes the same update on the same tensors with the group's current
hyper-parameters (the state is updated in place, so the optimizer instance stays its owner and
``state_dict()`` stays right).

Any other optimizer — Newton, L-BFGS, or a class whose functional form this torch spells
differently — keeps its own ``step``.

>>> import torch
>>> w = torch.zeros(2, dtype=torch.float64)
>>> w.grad = torch.ones(2, dtype=torch.float64)
>>> opt = torch.optim.Adam([w], lr=0.1)
>>> opt.step()
>>> step = stepper(opt)
>>> step()
>>> [round(v, 6) for v in w.tolist()], int(opt.state[w]["step"])
([-0.2, -0.2], 2)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch.optim import adagrad, adam, rmsprop, sgd

Update = Callable[[], None]
Lists = tuple[list[Any], ...]


def stepper(opt: torch.optim.Optimizer) -> Update:
    """What ``opt.step()`` does, from now on, without the wrapping; ``opt.step`` itself where not known.

    Call it after ``opt.step()`` has run once (that creates the state) and with every
    parameter's ``.grad`` set to the tensor the gradients will be written into; parameters that
    require grad must be stepped under ``torch.no_grad()``, as ``step()`` would.
    """
    known = _FORMS.get(type(opt))
    if known is None or opt.defaults.get("differentiable") or hasattr(opt, "grad_scale"):
        return opt.step  # type: ignore[return-value]
    update, state_lists, options = known
    calls = []
    for group in opt.param_groups:
        params = list(group["params"])
        if any(p.grad is None or p.is_complex() for p in params):
            return opt.step  # type: ignore[return-value]
        ran = all(opt.state.get(p) for p in params) or (update is sgd.sgd and not group["momentum"])
        if not ran:  # no state yet (plain SGD keeps none): the first update must be step()'s
            return opt.step  # type: ignore[return-value]
        lists = (params, [p.grad for p in params], *state_lists(opt, params))
        try:  # a torch whose functional form or groups take other arguments steps the ordinary way
            inspect.signature(update).bind(*lists, **options(group))
        except (TypeError, KeyError):
            return opt.step  # type: ignore[return-value]
        calls.append((lists, group, _on_cpu(lists)))

    def step() -> None:
        for lists, group, on_cpu in calls:
            kwargs = options(group)
            if on_cpu and kwargs["foreach"] is None and kwargs.get("fused") is None:
                kwargs["foreach"] = False  # torch's default on CPU, decided here once instead of in every call
            update(*lists, **kwargs)

    return step


def _on_cpu(lists: Lists) -> bool:
    return all(t.device.type == "cpu" for part in lists for t in part if t is not None)


def _states(*keys: str) -> Callable[[torch.optim.Optimizer, list[Tensor]], Lists]:
    """The per-parameter state lists of an update, in its argument order (an absent key: empty list)."""

    def lists(opt: torch.optim.Optimizer, params: list[Tensor]) -> Lists:
        states = [opt.state.get(p, {}) for p in params]  # .get: state is a defaultdict
        return tuple([state[key] for state in states if key in state] for key in keys)

    return lists


def _sgd_buffers(opt: torch.optim.Optimizer, params: list[Tensor]) -> Lists:
    return ([opt.state.get(p, {}).get("momentum_buffer") for p in params],)


def _adam_options(group: dict[str, Any]) -> dict[str, Any]:
    keys = ("amsgrad", "lr", "weight_decay", "eps", "maximize", "foreach", "capturable", "fused")
    beta1, beta2 = group["betas"]
    return {
        **{k: group[k] for k in (*keys, "decoupled_weight_decay")},
        **{"beta1": beta1, "beta2": beta2, "differentiable": False, "has_complex": False},
    }


def _sgd_options(group: dict[str, Any]) -> dict[str, Any]:
    keys = ("weight_decay", "momentum", "lr", "dampening", "nesterov", "maximize", "foreach", "fused")
    return {**{k: group[k] for k in keys}, "has_sparse_grad": False}


def _rmsprop_options(group: dict[str, Any]) -> dict[str, Any]:
    keys = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "foreach", "maximize", "capturable")
    return {**{k: group[k] for k in keys}, "differentiable": False, "has_complex": False}


def _adagrad_options(group: dict[str, Any]) -> dict[str, Any]:
    keys = ("lr", "weight_decay", "lr_decay", "eps", "foreach", "maximize", "fused")
    return {**{k: group[k] for k in keys}, "has_sparse_grad": False, "differentiable": False, "has_complex": False}


_ADAM = (adam.adam, _states("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"), _adam_options)
_RMSPROP = (rmsprop.rmsprop, _states("square_avg", "grad_avg", "momentum_buffer", "step"), _rmsprop_options)
# class -> (functional update, its state lists, its keyword arguments from the group)
_FORMS: dict[type, tuple[Callable[..., None], Callable[..., Lists], Callable[[dict[str, Any]], dict[str, Any]]]] = {
    torch.optim.SGD: (sgd.sgd, _sgd_buffers, _sgd_options),
    torch.optim.Adam: _ADAM,
    torch.optim.AdamW: _ADAM,
    torch.optim.RMSprop: _RMSPROP,
    torch.optim.Adagrad: (adagrad.adagrad, _states("sum", "step"), _adagrad_options),
}
