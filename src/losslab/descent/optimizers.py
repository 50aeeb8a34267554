r"""Named optimizers over ``torch.optim``, their defaults, and the Newton step torch lacks.

Every name maps to a real ``torch.optim.Optimizer`` with losslab's defaults (chosen for
small textbook losses, not for networks); each entry's docstring states its update rule
with :math:`g_k = \nabla L(\theta_k)` and learning rate :math:`\eta`. Text such as
``"adam:lr=0.05,betas=0.9;0.999"`` becomes an :class:`OptimizerSpec`; the accepted
hyper-parameters are read from the torch class signature, so a misspelt one is refused, and each
value is checked against its rule in :mod:`losslab.descent.hyperparameters` (kind and range) when
the spec is made, before anything runs. Learning-rate schedulers are in
:mod:`losslab.descent.schedules`.

>>> spec = parse_optimizer("adam:lr=0.05,betas=0.9;0.999")
>>> spec.name, spec.hyperparameters
('adam', {'lr': 0.05, 'betas': (0.9, 0.999)})
>>> sorted(OPTIMIZERS) == sorted(['gd', 'sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop',
...                               'adam', 'adamw', 'lbfgs', 'newton'])
True
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from losslab.descent.hyperparameters import RULES, Rule, check_hyperparameter, check_together
from losslab.errors import LosslabError, check_choice, first_line

Params = Iterable[Tensor]
HessianFn = Callable[[Tensor], Tensor]
# Switches that change how torch computes an update, not the update itself.
_IMPLEMENTATION_FLAGS = frozenset({"params", "foreach", "fused", "capturable", "differentiable"})


class Newton(Optimizer):
    r"""Damped Newton's method, :math:`\theta \leftarrow \theta - \eta\,(H + \mu I)^{-1} g`.

    torch.optim has no second-order step, so this one is written here. ``hessian`` maps θ
    to the n×n Hessian. μ starts at ``damping`` and is raised tenfold (from
    :math:`10^{-8}\max(1, \lVert H\rVert)`) until :math:`H + \mu I` has a Cholesky factor,
    which makes the step a descent direction; if no μ works (a non-finite Hessian), the
    least-squares solution is used and any non-finite result is kept for the caller to see.

    Args:
        params: exactly one 1-D tensor θ.
        lr: step length η (1.0 is the full Newton step).
        hessian: θ ↦ ∇²L(θ).
        damping: the smallest μ to try (0.0: undamped when H is positive definite).

    >>> theta = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    >>> opt = Newton([theta], hessian=lambda t: torch.tensor([[2.0]], dtype=torch.float64))
    >>> ((theta - 3) ** 2).sum().backward(); _ = opt.step(); round(float(theta.detach()), 12)
    3.0
    """

    def __init__(self, params: Params, lr: float = 1.0, *, hessian: HessianFn, damping: float = 0.0) -> None:
        lr = check_hyperparameter("newton", "lr", lr)
        damping = check_hyperparameter("newton", "damping", damping)
        super().__init__(params, {"lr": lr, "damping": damping})
        self.hessian = hessian
        found = [p for group in self.param_groups for p in group["params"]]
        if len(found) != 1 or found[0].dim() != 1:
            raise LosslabError(f"newton steps one 1-D parameter tensor; got {len(found)} tensors")

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        group = self.param_groups[0]
        theta = group["params"][0]
        if theta.grad is None:
            raise LosslabError("newton needs a gradient: call loss.backward() or pass a closure")
        direction = newton_direction(self.hessian(theta.detach()), theta.grad, group["damping"])
        theta.add_(direction, alpha=-group["lr"])
        return loss


def newton_direction(hess: Tensor, grad: Tensor, damping: float = 0.0) -> Tensor:
    r"""Solve :math:`(H + \mu I)\,d = g` for the smallest tried μ ≥ ``damping`` that makes H + μI positive definite."""
    if not (torch.isfinite(hess).all() and torch.isfinite(grad).all()):
        return torch.full_like(grad, math.nan)  # no Newton step where L has no Hessian: the run ends, said why
    eye = torch.eye(hess.shape[0], dtype=hess.dtype)
    mu, floor = damping, 1e-8 * max(1.0, float(torch.linalg.matrix_norm(hess)))
    if math.isfinite(floor):
        for _ in range(40):
            factor, info = torch.linalg.cholesky_ex(hess + mu * eye)
            if int(info) == 0:
                return torch.cholesky_solve(grad.unsqueeze(-1), factor).squeeze(-1)
            mu = max(10 * mu, floor)
    return torch.linalg.lstsq(hess, grad.unsqueeze(-1)).solution.squeeze(-1)


@dataclass(frozen=True)
class OptimizerEntry:
    """One registry entry: the torch class, losslab's defaults and the documented builder."""

    name: str
    cls: type[Optimizer]
    defaults: Mapping[str, Any]
    excluded: frozenset[str] = frozenset()
    needs_closure: bool = False
    mini_batch: bool = False
    build: Callable[..., Optimizer] | None = field(default=None, repr=False)

    @property
    def accepted(self) -> tuple[str, ...]:
        """Hyper-parameters accepted: the torch signature less implementation switches."""
        names = inspect.signature(self.cls).parameters
        return tuple(n for n in names if n not in _IMPLEMENTATION_FLAGS | self.excluded | {"hessian"})

    @property
    def rules(self) -> dict[str, Rule]:
        """What each accepted hyper-parameter takes (:data:`losslab.descent.hyperparameters.RULES`)."""
        return {n: RULES[n] for n in self.accepted if n in RULES}

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.build) or ""


OPTIMIZERS: dict[str, OptimizerEntry] = {}


def _register(
    name: str,
    cls: type[Optimizer],
    excluded: Iterable[str] = (),
    needs_closure: bool = False,
    mini_batch: bool = False,
    **defaults: Any,
) -> Callable[[Callable[..., Optimizer]], Callable[..., Optimizer]]:
    def decorate(fn: Callable[..., Optimizer]) -> Callable[..., Optimizer]:
        OPTIMIZERS[name] = OptimizerEntry(name, cls, defaults, frozenset(excluded), needs_closure, mini_batch, fn)
        return fn

    return decorate


_PLAIN = ("momentum", "dampening", "nesterov")


@_register("gd", torch.optim.SGD, excluded=_PLAIN, lr=0.1)
def gd(params: Params, **hyperparameters: Any) -> Optimizer:
    r"""Gradient descent on the full loss: :math:`\theta_{k+1} = \theta_k - \eta\, g_k`.

    Defaults: ``lr=0.1``. Stable on a quadratic iff :math:`\eta < 2/\lambda_{\max}`.

    >>> gd([torch.zeros(1, requires_grad=True)]).defaults["lr"]
    0.1
    """
    return build("gd", params, hyperparameters)


@_register("sgd", torch.optim.SGD, excluded=_PLAIN, mini_batch=True, lr=0.01)
def sgd(params: Params, **hyperparameters: Any) -> Optimizer:
    r"""Stochastic gradient descent: :math:`\theta_{k+1} = \theta_k - \eta\, \nabla L_{B_k}(\theta_k)`.

    :math:`L_{B_k}` is the loss on the k-th mini-batch (see ``descend``'s ``batch_size``).
    Defaults: ``lr=0.01``.

    >>> sgd([torch.zeros(1, requires_grad=True)]).defaults["lr"]
    0.01
    """
    return build("sgd", params, hyperparameters)


@_register("momentum", torch.optim.SGD, excluded=("nesterov",), lr=0.01, momentum=0.9)
def momentum(params: Params, **hyperparameters: Any) -> Optimizer:
    r"""Heavy-ball momentum (torch form): :math:`b_k = \beta b_{k-1} + g_k,\ \theta_{k+1} = \theta_k - \eta\, b_k`.

    Defaults: ``lr=0.01``, ``momentum=0.9`` (β).

    >>> momentum([torch.zeros(1, requires_grad=True)]).defaults["momentum"]
    0.9
    """
    return build("momentum", params, hyperparameters)


@_register("nesterov", torch.optim.SGD, lr=0.01, momentum=0.9, nesterov=True)
def nesterov(params: Params, **hyperparameters: Any) -> Optimizer:
    r"""Nesterov momentum: :math:`b_k = \beta b_{k-1} + g_k,\ \theta_{k+1} = \theta_k - \eta\,(g_k + \beta b_k)`.

    Defaults: ``lr=0.01``, ``momentum=0.9``, ``nesterov=True``.

    >>> nesterov([torch.zeros(1, requires_grad=True)]).defaults["nesterov"]
    True
    """
    return build("nesterov", params, hyperparameters)


@_register("adagrad", torch.optim.Adagrad, lr=0.1)
def adagrad(params: Params, **hyperparameters: Any) -> Optimizer:
    r"""AdaGrad: :math:`s_k = s_{k-1} + g_k^2,\ \theta_{k+1} = \theta_k - \eta\, g_k / (\sqrt{s_k} + \epsilon)`.

    Defaults: ``lr=0.1``, ``eps=1e-10``. Duchi, Hazan & Singer (2011).

    >>> adagrad([torch.zeros(1, requires_grad=True)]).defaults["lr"]
    0.1
    """
    return build("adagrad", params, hyperparameters)


@_register("rmsprop", torch.optim.RMSprop, lr=0.01)
def rmsprop(params: Params, **hyperparameters: Any) -> Optimizer:
    r"""RMSProp: :math:`v_k = \alpha v_{k-1} + (1-\alpha) g_k^2`,
    :math:`\theta_{k+1} = \theta_k - \eta\, g_k / (\sqrt{v_k} + \epsilon)`.

    Defaults: ``lr=0.01``, ``alpha=0.99``, ``eps=1e-8``. Tieleman & Hinton (2012).

    >>> rmsprop([torch.zeros(1, requires_grad=True)]).defaults["alpha"]
    0.99
    """
    return build("rmsprop", params, hyperparameters)


@_register("adam", torch.optim.Adam, lr=0.01)
def adam(params: Params, **hyperparameters: Any) -> Optimizer:
    r"""Adam: :math:`m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k,\ v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2`,
    :math:`\theta_{k+1} = \theta_k - \eta\, \hat m_k / (\sqrt{\hat v_k} + \epsilon)` with
    :math:`\hat m_k = m_k/(1-\beta_1^k)`, :math:`\hat v_k = v_k/(1-\beta_2^k)`.

    Defaults: ``lr=0.01``, ``betas=(0.9, 0.999)``, ``eps=1e-8``. Kingma & Ba (2015).

    >>> adam([torch.zeros(1, requires_grad=True)], lr=0.05).defaults["betas"]
    (0.9, 0.999)
    """
    return build("adam", params, hyperparameters)


@_register("adamw", torch.optim.AdamW, lr=0.01)
def adamw(params: Params, **hyperparameters: Any) -> Optimizer:
    r"""AdamW: Adam with decoupled weight decay,
    :math:`\theta_{k+1} = (1 - \eta\lambda)\theta_k - \eta\, \hat m_k / (\sqrt{\hat v_k} + \epsilon)`.

    Defaults: ``lr=0.01``, ``betas=(0.9, 0.999)``, ``weight_decay=0.01`` (λ). Loshchilov & Hutter (2019).

    >>> adamw([torch.zeros(1, requires_grad=True)]).defaults["weight_decay"]
    0.01
    """
    return build("adamw", params, hyperparameters)


@_register(
    "lbfgs",
    torch.optim.LBFGS,
    needs_closure=True,
    lr=1.0,
    line_search_fn="strong_wolfe",
    tolerance_grad=1e-12,
    tolerance_change=1e-15,
)
def lbfgs(params: Params, **hyperparameters: Any) -> Optimizer:
    r"""L-BFGS: :math:`\theta_{k+1} = \theta_k - \eta_k\, \tilde H_k g_k`, with :math:`\tilde H_k` the
    inverse-Hessian estimate from the last ``history_size`` pairs :math:`(s_i, y_i)`.

    One losslab step is one outer ``step(closure)`` (up to ``max_iter`` inner iterations).
    Defaults: ``lr=1.0``, ``max_iter=20``, ``line_search_fn="strong_wolfe"``, and tolerances
    ``tolerance_grad=1e-12``, ``tolerance_change=1e-15`` (torch's 1e-7/1e-9 stop short of
    float64 precision). Nocedal (1980).

    >>> lbfgs([torch.zeros(1, requires_grad=True)]).defaults["line_search_fn"]
    'strong_wolfe'
    """
    return build("lbfgs", params, hyperparameters)


@_register("newton", Newton, lr=1.0)
def newton(params: Params, **hyperparameters: Any) -> Optimizer:
    r"""Damped Newton: :math:`\theta_{k+1} = \theta_k - \eta\,(H_k + \mu I)^{-1} g_k` (see :class:`Newton`).

    Needs ``hessian=``, a callable θ ↦ ∇²L(θ) (``descend`` passes the objective's).
    Defaults: ``lr=1.0``, ``damping=0.0``.

    >>> newton([torch.zeros(1, requires_grad=True)], hessian=lambda t: torch.eye(1)).defaults["lr"]
    1.0
    """
    return build("newton", params, hyperparameters)


def entry(name: str) -> OptimizerEntry:
    """The registry entry for ``name``; LosslabError naming the accepted names otherwise."""
    return OPTIMIZERS[check_choice("optimizer", name, OPTIMIZERS)]


def check_lr(lr: Any, optimizer: str = "gd") -> float:
    """``lr`` as a float if it is a finite number > 0 (not a bool), else LosslabError naming ``optimizer``.

    >>> check_lr(0, "adam")
    Traceback (most recent call last):
    losslab.errors.LosslabError: optimizer 'adam': lr must be a finite number > 0 (the learning rate), got 0
    """
    result: float = check_hyperparameter(optimizer, "lr", lr)
    return result


def resolve(name: str, hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """losslab's defaults for ``name`` overridden by ``hyperparameters``, each checked against its rule.

    >>> resolve("lbfgs", {"history_size": 0})
    Traceback (most recent call last):
    losslab.errors.LosslabError: optimizer 'lbfgs': history_size must be a whole number in [1, 1000000], got 0
    """
    spec = entry(name)
    unknown = [k for k in hyperparameters if k not in spec.accepted]
    if unknown:
        raise LosslabError(
            f"optimizer {name!r} has no hyper-parameter {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join(spec.accepted)}"
        )
    merged = {**spec.defaults, **{k: check_hyperparameter(name, k, v) for k, v in hyperparameters.items()}}
    check_together(name, {**signature_defaults(spec.cls), **merged})
    return merged


def resolve_class(cls: type[Optimizer], hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """The hyper-parameters given with an optimizer class, checked by the rules when it is a registry class.

    A class of the registry (``torch.optim.LBFGS``) takes the same checks as its name; any other
    class is left to check its own arguments.
    """
    if cls not in {spec.cls for spec in OPTIMIZERS.values()}:
        return dict(hyperparameters)
    named = set(inspect.signature(cls).parameters)
    checked = {k: check_hyperparameter(cls.__name__, k, v) if k in named else v for k, v in hyperparameters.items()}
    check_together(cls.__name__, {**signature_defaults(cls), **checked})
    return checked


def signature_defaults(cls: type[Optimizer]) -> dict[str, Any]:
    """The defaults of a torch optimizer's constructor (``LBFGS``: ``max_iter=20``, ``max_eval=None``, …)."""
    parameters = inspect.signature(cls).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def build(name: str, params: Params, hyperparameters: Mapping[str, Any]) -> Optimizer:
    """Instantiate the registry optimizer ``name`` over ``params``; torch's own errors become LosslabError."""
    spec = entry(name)
    merged = resolve(name, {k: v for k, v in hyperparameters.items() if k != "hessian"})
    if "hessian" in hyperparameters:
        merged["hessian"] = hyperparameters["hessian"]
    try:
        return spec.cls(params, **merged)
    except (ValueError, TypeError) as error:
        raise LosslabError(f"optimizer {name!r}: {first_line(error)}") from None


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer chosen by name, with the hyper-parameters given (defaults not merged in)."""

    name: str
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        resolve(self.name, self.hyperparameters)

    def __str__(self) -> str:
        return ":".join([self.name, _spec_text(self.hyperparameters)]) if self.hyperparameters else self.name


def parse_optimizer(text: str) -> OptimizerSpec:
    """Read ``"name:key=value,..."``; a tuple is written with ``;`` (``betas=0.9;0.999``).

    >>> parse_optimizer("gd:lr=0.001")
    OptimizerSpec(name='gd', hyperparameters={'lr': 0.001})
    """
    name, values = parse_spec(text, what="optimizer")
    return OptimizerSpec(name, values)


def parse_spec(text: str, *, what: str) -> tuple[str, dict[str, Any]]:
    """Split ``"name:k=v,k=v"`` into the name and typed values (int, float, bool, None, str, tuple)."""
    name, colon, rest = text.strip().partition(":")
    if not colon and "=" in name:  # 'adam,lr=0.1': the colon forgotten
        raise LosslabError(f"{what} '{text}' is not of the form name:key=value,key=value")
    values: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise LosslabError(f"{what} '{text}' is not of the form name:key=value,key=value")
        if key.strip() in values:
            raise LosslabError(f"{what} '{text}' gives {key.strip()} twice; give each hyper-parameter once")
        items = [_value(v.strip()) for v in value.split(";")]
        values[key.strip()] = tuple(items) if ";" in value else items[0]
    return name.strip().lower(), values


_INT = re.compile(r"^[-+]?\d+$")


def _value(text: str) -> Any:
    if _INT.match(text):
        return int(text)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    try:
        return float(text)
    except ValueError:
        return text


def _spec_text(values: Mapping[str, Any]) -> str:
    def show(v: Any) -> str:
        return ";".join(map(str, v)) if isinstance(v, tuple) else str(v)

    return ",".join(f"{k}={show(v)}" for k, v in values.items())
