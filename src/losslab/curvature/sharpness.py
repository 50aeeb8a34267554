r"""Sharpness during training: λmax every N steps of a user's own loop, and the edge of stability.

Near a minimum, gradient descent with learning rate η is stable only while
:math:`\lambda_{\max} < 2/\eta` (the seed's learning-rate lesson, :mod:`losslab.analysis.stability`).
Cohen et al. (2021, "Gradient descent on neural networks typically occurs at the edge of
stability") observed that full-batch GD on a network does not stay below that line: the
sharpness :math:`\lambda_{\max}` rises during training ("progressive sharpening") until it
reaches :math:`2/\eta`, and then hovers there while the loss keeps falling, non-monotonically.

:class:`SharpnessTracker` measures λmax with Lanczos (:func:`top_eigenvalues`), starting each
measurement from the previous eigenvector, so a measurement usually costs a handful of
products; with ``eigenvalue_tol`` each measurement after the first stops once λmax has settled
(:mod:`losslab.curvature.warm_lanczos`): about 2–3 products a step, for tracking every step.
:func:`edge_of_stability_demo` reproduces the effect on the digits MLP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from losslab.curvature.hvp import FixedRowsOperator, HessianOperator, closure_operator, hessian_operator
from losslab.curvature.lanczos import top_eigenvalues
from losslab.curvature.warm_lanczos import settled_lambda_max
from losslab.errors import LosslabError, check_choice, check_int
from losslab.networks.build import network_objective
from losslab.objectives.model_state import trained_mask
from losslab.objectives.network import LossFn, NetworkObjective
from losslab.objectives.objective import Objective
from losslab.serialize import Readable


@dataclass
class SharpnessSeries(Readable):
    """λmax recorded during training.

    Attributes:
        steps: the training steps at which λmax was measured.
        lambda_max: the top Hessian eigenvalue there.
        residuals: its residual ‖Hv − λv‖.
        losses: the loss there.
        lrs: the learning rate there (None when not given); 2/lr is the stability edge.
        products: Hessian-vector products spent in all.
    """

    steps: list[int] = field(default_factory=list)
    lambda_max: list[float] = field(default_factory=list)
    residuals: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    lrs: list[float | None] = field(default_factory=list)
    products: int = 0

    @property
    def thresholds(self) -> list[float | None]:
        """2/lr at each measurement."""
        return [2 / lr if lr else None for lr in self.lrs]

    def to_dict(self) -> dict[str, object]:
        return {
            "steps": self.steps,
            "lambda_max": self.lambda_max,
            "residuals": self.residuals,
            "losses": self.losses,
            "lrs": self.lrs,
            "thresholds": self.thresholds,
            "products": self.products,
        }

    def __str__(self) -> str:
        lines = [f"sharpness during training ({len(self.steps)} measurements, {self.products} products)"]
        lines.append(f"  {'step':>6}  {'λmax':>10}  {'2/lr':>8}  {'loss':>10}")
        for step, lam, edge, loss in zip(self.steps, self.lambda_max, self.thresholds, self.losses, strict=True):
            edge_text = f"{edge:8.4g}" if edge is not None else f"{'—':>8}"
            lines.append(f"  {step:>6}  {lam:>10.5g}  {edge_text}  {loss:>10.5g}")
        return "\n".join(lines)


class SharpnessTracker:
    """Record λmax every ``every`` steps of your own training loop.

    Args:
        objective_or_loss_fn: a :class:`~losslab.objectives.network.NetworkObjective` (θ is read from
            its model's current parameters at each measurement), or a closure
            ``() -> loss`` of the current parameters, with ``model`` or ``parameters`` given.
        every: measure at steps 0, every, 2·every, ...
        parameters: for a closure, the tensors to take the Hessian over (default: ``model``'s that require grad).
        model: for a closure, the model its parameters belong to: then its embeddings' padding rows are held
            fixed, as training holds them (their gradient is zeroed, so without this the products are not
            symmetric), and it is in eval mode while λmax is measured, as a NetworkObjective's model is.
        tol: Lanczos tolerance on the residual (relative).
        generator: draws the first start vector (default: seeded with 0).
        eigenvalue_tol: if given, every measurement after the first starts from the last eigenvector
            and stops when one more product changes λmax by at most this much, relative
            (:func:`~losslab.curvature.warm_lanczos.settled_lambda_max`); ``tol`` then applies to the
            first only.

    Call :meth:`step` once per training step (before the optimizer's update, so step 0 is
    the initialisation). Build one from a plain model and data with :meth:`for_model`.

    >>> net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    >>> x, y = torch.randn(16, 2, dtype=torch.float64), torch.randn(16, 1, dtype=torch.float64)
    >>> tracker = SharpnessTracker.for_model(net, (x, y), "mse", every=2)
    >>> optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> for step in range(4):
    ...     _ = tracker.step(step, lr=0.1)
    ...     optimizer.zero_grad(); nn.functional.mse_loss(net(x), y).backward(); optimizer.step()
    >>> tracker.series.steps
    [0, 2]
    """

    def __init__(
        self,
        objective_or_loss_fn: NetworkObjective | Callable[[], Tensor],
        every: int = 10,
        *,
        parameters: Iterable[Tensor] | None = None,
        tol: float = 1e-3,
        generator: torch.Generator | None = None,
        eigenvalue_tol: float | None = None,
        model: nn.Module | None = None,
    ) -> None:
        check_int("every (steps between measurements)", every, least=1)
        self.model: nn.Module | None = None
        self._keep: Tensor | None = None
        if isinstance(objective_or_loss_fn, NetworkObjective):
            self.objective: NetworkObjective | None = objective_or_loss_fn
            chosen = objective_or_loss_fn.shapes  # θ's parameters (parameters="trainable": only those that train)
            self.model = objective_or_loss_fn.model
            self.parameters: list[Tensor] = [p for name, p in self.model.named_parameters() if name in chosen]
        elif callable(objective_or_loss_fn) and not isinstance(objective_or_loss_fn, Objective):
            if parameters is not None:
                given = list(parameters)
            elif model is not None:
                given = list(model.parameters())
            else:
                raise LosslabError("a loss closure needs model=model (or parameters=...) to take the Hessian over")
            self.objective, self.model = None, model
            self.parameters = [p for p in given if p.requires_grad]
            if model is not None:
                self._keep = _closure_mask(model, self.parameters)
        else:
            raise LosslabError(
                f"expected a NetworkObjective or a loss closure, got {type(objective_or_loss_fn).__name__}"
            )
        self.loss_fn = objective_or_loss_fn
        self.every, self.tol, self.eigenvalue_tol = every, tol, eigenvalue_tol
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.series = SharpnessSeries()
        self._count = 0
        self._last: Tensor | None = None

    @classmethod
    def for_model(
        cls,
        model: nn.Module,
        data: tuple[Tensor, Tensor],
        loss: str | LossFn = "cross_entropy",
        every: int = 10,
        *,
        parameters: str = "all",
        dtype: torch.dtype | None = None,
        **options: Any,
    ) -> SharpnessTracker:
        """A tracker for a plain model and in-memory data (builds a NetworkObjective on them; ``parameters``
        ``"trainable"``: the Hessian over the parameters that require grad only; ``dtype``: evaluate in it —
        ``torch.float32`` for a model trained in bfloat16)."""
        objective = NetworkObjective(model, data, loss, parameters=parameters, dtype=dtype)  # eval mode, put back
        return cls(objective, every, **options)

    def step(self, step: int | None = None, *, lr: float | None = None) -> float | None:
        """Measure λmax if this step is due (step % every == 0); return it, else None.

        Args:
            step: the training step (default: count calls from 0).
            lr: the learning rate now, to compare λmax with 2/lr.
        """
        step = self._count if step is None else step
        self._count = step + 1
        if step % self.every:
            return None
        return self.measure(step, lr=lr)

    __call__ = step

    def measure(self, step: int, *, lr: float | None = None) -> float:
        """Measure λmax now and record it at ``step``."""
        operator, loss = self._operator()
        if self.eigenvalue_tol is not None and self._last is not None:
            settled = settled_lambda_max(
                operator, self._last, eigenvalue_tol=self.eigenvalue_tol, generator=self.generator
            )
            value, vector, residual, products = settled.value, settled.vector, settled.residual, settled.products
        else:
            result = top_eigenvalues(operator, 1, tol=self.tol, generator=self.generator, start=self._last)
            value, vector = float(result.eigenvalues[0]), result.eigenvectors[0]
            residual, products = float(result.residuals[0]), result.products
        self._last = vector
        series = self.series
        series.steps.append(step)
        series.lambda_max.append(value)
        series.residuals.append(residual)
        series.losses.append(loss)
        series.lrs.append(lr)
        series.products += products
        return value

    def _operator(self) -> tuple[HessianOperator, float]:
        modules = [self.model] if self.model is not None else []
        modes = [m.training for m in modules]
        for m in modules:
            m.eval()  # curvature of the loss as evaluated, without dropout or batch-statistics updates
        try:
            if self.objective is not None:
                theta = torch.cat([p.detach().reshape(-1) for p in self.parameters])
                operator = hessian_operator(self.objective, theta, method="graph")
                if getattr(operator, "value", None) is None:  # "graph" on data in memory: a GraphOperator, or one
                    raise TypeError(f"expected a GraphOperator, got {operator!r}")  # holding embeddings' pad rows
                return operator, float(operator.value)  # type: ignore[attr-defined]
            graph = closure_operator(self.loss_fn, self.parameters)  # type: ignore[arg-type]
            if self._keep is not None:
                return FixedRowsOperator(graph, self._keep), graph.value
            return graph, graph.value
        finally:
            for m, mode in zip(modules, modes, strict=True):
                m.train(mode)


def _closure_mask(model: nn.Module, parameters: list[Tensor]) -> Tensor | None:
    """The padding-row mask (:func:`~losslab.objectives.model_state.trained_mask`) of a closure's
    ``parameters``, which must be ``model``'s."""
    names = {id(p): n for n, p in model.named_parameters()}
    missing = [i for i, p in enumerate(parameters) if id(p) not in names]
    if missing:
        raise LosslabError(f"parameters[{missing[0]}] is not a parameter of the model given as model=")
    if not parameters:
        raise LosslabError("the model has no parameters that require grad to take the Hessian over")
    shapes = {names[id(p)]: p.shape for p in parameters}
    return trained_mask(model, shapes, parameters[0].dtype, parameters[0].device)


def edge_of_stability_demo(
    lr: float = 1.0, steps: int = 150, *, every: int = 10, loss: str = "mse", seed: int = 0
) -> SharpnessSeries:
    """Full-batch GD on the digits MLP (64-128-128-10) from its initialisation, tracking λmax.

    With the MSE loss on one-hot targets and lr = 1 the sharpness rises from ≈ 0.7 to the
    edge 2/lr = 2 within ≈ 80 steps and then hovers around it (measured 1.9–2.4 over steps
    60–300) while the loss keeps falling. ``loss="cross_entropy"`` shows the same rise to 2/lr
    (e.g. lr = 0.2: λmax ≈ 9.8 ≈ 2/lr from step 80), then a slow decline as the loss → 0.

    Args:
        lr: the learning rate (the edge is 2/lr).
        steps: GD steps (the default run takes some seconds on a CPU).
        every: steps between λmax measurements.
        loss: ``"mse"`` (one-hot targets) or ``"cross_entropy"``.
        seed: the initialisation's seed.
    """
    if not lr > 0:
        raise LosslabError(f"lr = {lr}: need lr > 0")
    check_int("steps", steps, least=0)
    check_choice("loss", loss, ("mse", "cross_entropy"))
    objective = network_objective(demo_name="mlp", trained=False, seed=seed, loss=loss).objective
    model, (inputs, targets) = objective.model, objective.data
    tracker = SharpnessTracker(objective, every)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for step in range(steps + 1):
        tracker.step(step, lr=lr)
        if step < steps:
            optimizer.zero_grad()
            objective.loss_fn(model(inputs), targets).backward()  # type: ignore[arg-type]  # the demo's tensors
            optimizer.step()
    return tracker.series
