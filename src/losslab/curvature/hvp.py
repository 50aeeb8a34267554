r"""Hessian-vector products of any Objective, as a linear operator :math:`v \mapsto H(\theta)\,v`.

Every curvature tool (Lanczos, Hutchinson/Hutch++, stochastic Lanczos quadrature, blocks)
only ever multiplies by the Hessian, so they all take a :class:`HessianOperator`. Three ways
to compute :math:`Hv = \frac{d}{d\epsilon}\nabla L(\theta + \epsilon v)\big|_{\epsilon=0}`:

- ``"jvp"`` — forward-over-reverse, ``torch.func.jvp(torch.func.grad(L), (θ,), (v,))``:
  one forward and one backward pass per product, nothing kept between products. Works for
  every objective (formula, data, network, a plane slice, a DataLoader network).
- ``"graph"`` — the first-order graph :math:`g = \nabla L(\theta)` is built once with
  ``create_graph=True`` and every product is one more backward pass through it,
  ``torch.autograd.grad(g, θ, v, retain_graph=True)`` (what PyHessian does). The forward
  pass is paid once; the graph is held in memory while the operator lives. For a network whose
  data is streamed (a DataLoader) no graph of the whole data set is held: each product builds
  one batch's graph at a time (:class:`BatchGraphOperator`).
- many vectors at once: :meth:`HessianOperator.matmat` maps a stack ``(m, n)`` of vectors;
  the jvp operator does it in one vectorized call (``torch.func.vmap`` over the jvp: ≈ 7.5 ms
  a vector against ≈ 9.9 ms one by one on the digits MLP). The saved-graph operator loops:
  ``is_grads_batched`` (a vmap over its backward) measured ≈ 9 ms a vector there against
  ≈ 4.3 ms for plain products.

The rule of ``method="auto"`` (measured on the digits MLP, 26 122 parameters, 1 797 samples,
float32, on a shared 2-core CPU — see ``benchmarks/bench_curvature.py``): a network objective uses
``"graph"`` — holding its data in memory, ≈ 4.3 ms a product against ≈ 9.9 ms for ``"jvp"`` (the saved
graph skips the forward pass); streaming it in batches of 256, 18 ms a product against 36 ms, and
GPT-2-tiny on 64 sequences in batches of 16 52–62 ms against 112–133 ms (a stack of 8: even, 62–65 ms
against 63–65 and 265–291 against 228–239), and a model without forward-mode AD (an LSTM in float32)
works; everything else uses ``"jvp"`` (formula and data objectives are cheap to re-evaluate).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.func import grad, jvp

from losslab.errors import LosslabError, first_line, not_one_of
from losslab.objectives.domain import PointLike
from losslab.objectives.network import NetworkObjective
from losslab.objectives.objective import Objective

METHODS = ("auto", "jvp", "graph")


class HessianOperator:
    """The Hessian at one point as a linear operator; counts the products it has made.

    Subclasses implement :meth:`_matvec` (and may override :meth:`_matmat`).

    Attributes:
        dim: the number of parameters n.
        dtype, device: of the vectors it takes and returns.
        method: how products are computed (``"jvp"``, ``"graph"``, ``"block"``, ...).
        products: Hessian-vector products made so far (a stack of m vectors counts m).
    """

    method = "abstract"

    def __init__(self, dim: int, dtype: torch.dtype, device: torch.device) -> None:
        self.dim = dim
        self.dtype = dtype
        self.device = device
        self.products = 0

    def matvec(self, v: Tensor) -> Tensor:
        """H·v for one vector of shape ``(n,)``."""
        v = self._check(v, 1)
        self.products += 1
        return self._matvec(v).detach()

    def matmat(self, vectors: Tensor) -> Tensor:
        """H·vᵢ for a stack of vectors ``(m, n)`` → ``(m, n)``, in one batched call."""
        vectors = self._check(vectors, 2)
        self.products += vectors.shape[0]
        return self._matmat(vectors).detach()

    def _matvec(self, v: Tensor) -> Tensor:
        raise NotImplementedError

    def _matmat(self, vectors: Tensor) -> Tensor:
        return torch.stack([self._matvec(v) for v in vectors])

    def _check(self, v: Tensor, ndim: int) -> Tensor:
        if not isinstance(v, Tensor) or v.dim() != ndim or v.shape[-1] != self.dim:
            shape = "(n,)" if ndim == 1 else "(m, n)"
            got = tuple(v.shape) if isinstance(v, Tensor) else type(v).__name__
            raise LosslabError(f"vector of shape {got} does not fit: expected {shape} with n = {self.dim}")
        return v.to(self.device, self.dtype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, method={self.method!r}, products={self.products})"


class JvpOperator(HessianOperator):
    """Forward-over-reverse products ``jvp(grad(L), (θ,), (v,))``; stacks through the objective's
    :meth:`~losslab.objectives.objective.Objective.hvps` (``vmap`` over them; for a network streaming its data,
    per batch)."""

    method = "jvp"

    def __init__(self, objective: Objective, theta: Tensor) -> None:
        super().__init__(objective.dim, theta.dtype, theta.device)
        self._objective = objective
        self._gradient = grad(objective._evaluate)
        self._theta = theta.detach()

    def _matvec(self, v: Tensor) -> Tensor:
        with _jvp_refusals():
            return jvp(self._gradient, (self._theta,), (v,))[1]

    def _matmat(self, vectors: Tensor) -> Tensor:
        with _jvp_refusals():
            return self._objective.hvps(self._theta, vectors)  # a network's data streamed: each batch read once


@contextlib.contextmanager
def whole_gradient() -> Iterator[None]:
    """A gradient that reaches every parameter, or one line: ``torch.utils.checkpoint(use_reentrant=True)``
    (activation checkpointing) cuts the graph where its inputs need no gradient — as a model's inputs do —
    so the parameters inside it got none and the Hessian silently left them out (λmax 0.696 for 0.807)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="None of the inputs have requires_grad=True")
        try:
            yield
        except UserWarning:
            raise LosslabError(
                "the model checkpoints activations with torch.utils.checkpoint(use_reentrant=True), whose gradient "
                "skips the parameters inside it: checkpoint only in training (if self.training), or pass "
                "use_reentrant=False"
            ) from None


@contextlib.contextmanager
def _jvp_refusals() -> Iterator[None]:
    """torch.func's refusals of a model as one line naming the way that works: activation checkpointing
    ("don't yet support saved tensor hooks", an autograd.Function without ``setup_context``), an operator
    without forward-mode AD (torch's fused weight norm, oneDNN's float32 LSTM)."""
    try:
        yield
    except (RuntimeError, NotImplementedError) as exc:
        raise LosslabError(
            f"forward-over-reverse products (method 'jvp') do not go through this model "
            f"({first_line(exc).split('. ')[0]}); "
            "method 'graph' (the default for networks) does"
        ) from None


class GraphOperator(HessianOperator):
    """Products by double backward through a saved first-order graph (PyHessian's way).

    Args:
        loss: a scalar loss built from ``parameters`` with autograd recording (its value
            is kept as :attr:`value`).
        parameters: the leaf tensors the Hessian is taken over; vectors are their
            concatenation (in this order, each flattened).
    """

    method = "graph"

    def __init__(self, loss: Tensor, parameters: Sequence[Tensor]) -> None:
        parameters = list(parameters)
        first = parameters[0]
        super().__init__(sum(p.numel() for p in parameters), first.dtype, first.device)
        self._parameters = parameters
        self._sizes = [p.numel() for p in parameters]
        self._gradient = torch.autograd.grad(loss, parameters, create_graph=True)
        self.value = float(loss.detach())

    def _pieces(self, v: Tensor) -> tuple[Tensor, ...]:
        return tuple(piece.view_as(p) for piece, p in zip(v.split(self._sizes, -1), self._parameters, strict=True))

    def _matvec(self, v: Tensor) -> Tensor:
        hv = torch.autograd.grad(self._gradient, self._parameters, self._pieces(v), retain_graph=True)
        return torch.cat([h.reshape(-1) for h in hv])


class BatchGraphOperator(HessianOperator):
    """Reverse-over-reverse products a batch at a time, for a network whose data is streamed.

    Each product reads the data once: per batch, one forward and a backward that records its own graph, then
    a double backward through it for every vector of a stack; the batches' products are weighted as their
    losses are in ``L`` (by the items each averages over: samples, or unignored tokens). Only one batch's
    graph is held at a time. Models without forward-mode AD (an LSTM in float32 runs oneDNN's
    ``mkldnn_rnn_layer``, which has none) take this as they take ``"graph"``.
    """

    method = "graph"

    def __init__(self, objective: NetworkObjective, theta: Tensor) -> None:
        super().__init__(objective.dim, theta.dtype, theta.device)
        self._objective = objective
        self._theta = theta.detach()

    def _matvec(self, v: Tensor) -> Tensor:
        return self._matmat(v[None])[0]

    def _matmat(self, vectors: Tensor) -> Tensor:
        return self._objective._mean_over_data(lambda inputs, targets: self._products(inputs, targets, vectors))

    def _products(self, inputs: Any, targets: Tensor | None, vectors: Tensor) -> Tensor:
        """One batch's Hessian products: its graph built once, a double backward through it per vector."""
        leaf = self._theta.clone().requires_grad_(True)
        with torch.enable_grad(), whole_gradient():
            (gradient,) = torch.autograd.grad(self._objective._loss_on(leaf, inputs, targets), leaf, create_graph=True)
            return torch.stack([torch.autograd.grad(gradient, leaf, v, retain_graph=True)[0] for v in vectors])


class FixedRowsOperator(HessianOperator):
    """``P·H·P`` for the operator H and P the diagonal 0/1 ``keep``: the Hessian with the entries of θ that
    training never moves held fixed — a network's embedding padding rows. torch zeroes their gradient,
    so the products through that gradient are not symmetric (double backward gives ``Hᵀ``-side products
    ``H·P·v``, forward-over-reverse ``P·H·v``: 12.4 against 82.2 along the tiny Llama's embedding, whose
    padding id 0 is also its first token); ``P·H·P`` is symmetric, the curvature of what training moves."""

    def __init__(self, inner: HessianOperator, keep: Tensor) -> None:
        super().__init__(inner.dim, inner.dtype, inner.device)
        self.method = inner.method
        self.value = getattr(inner, "value", None)  # a GraphOperator's loss, for the sharpness tracker
        self._inner = inner
        self._keep = keep.to(inner.device, inner.dtype)

    def _matvec(self, v: Tensor) -> Tensor:
        return self._keep * self._inner._matvec(self._keep * v)

    def _matmat(self, vectors: Tensor) -> Tensor:
        return self._keep * self._inner._matmat(self._keep * vectors)


def default_point(objective: Objective) -> Tensor:
    """Where curvature is measured by default: a network's θ* (``center``), else the known
    global minimum; otherwise the caller must say (``at=``)."""
    center = getattr(objective, "center", None)
    if isinstance(center, Tensor):
        return center
    best = [k for k in objective.known_points if k.is_global and k.differentiable]
    if best:
        return objective.point(list(best[0].point))
    raise LosslabError(f"objective '{objective.title}' has no centre or known minimum; pass the point with at=")


def hessian_operator(objective: Objective, at: PointLike | None = None, *, method: str = "auto") -> HessianOperator:
    """The Hessian of ``objective`` at ``at`` (default :func:`default_point`) as an operator.

    Args:
        objective: any Objective.
        at: the point θ (a tensor of shape ``(n,)`` or anything ``objective.point`` reads).
        method: ``"auto"`` (the rule in the module docstring), ``"jvp"`` or ``"graph"``.

    >>> from losslab.objectives.objective import formula
    >>> op = hessian_operator(formula("x**2 + 3*x*y + 5*y**2"), [1.0, 2.0])
    >>> op.matvec(torch.tensor([1.0, 0.0], dtype=torch.float64)).tolist(), op.products
    ([2.0, 3.0], 1)
    """
    theta = (default_point(objective) if at is None else objective._theta(at)).detach()
    _check_precision(theta.dtype, "network(model, data, dtype=torch.float32)")
    if method == "auto":
        method = "graph" if isinstance(objective, NetworkObjective) else "jvp"
    operator: HessianOperator
    if method == "jvp":
        operator = JvpOperator(objective, theta)
    elif method == "graph":
        if isinstance(objective, NetworkObjective) and not isinstance(objective.data, tuple):
            operator = BatchGraphOperator(objective, theta)
        else:
            leaf = theta.clone().requires_grad_(True)
            with torch.enable_grad(), whole_gradient():
                operator = GraphOperator(objective._evaluate(leaf), [leaf])
    else:
        raise not_one_of("Hessian-vector method", method, METHODS)
    keep = objective.trained_entries if isinstance(objective, NetworkObjective) else None
    return operator if keep is None else FixedRowsOperator(operator, keep)


def closure_operator(loss_fn: Callable[[], Tensor], parameters: Sequence[Tensor]) -> GraphOperator:
    """The Hessian of ``loss_fn()`` over ``parameters`` (e.g. ``model.parameters()``), now.

    The loss is evaluated once with autograd recording; products reuse its graph.

    >>> w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    >>> closure_operator(lambda: (w**3).sum(), [w]).matvec(torch.ones(2, dtype=torch.float64)).tolist()
    [6.0, 12.0]
    """
    parameters = [p for p in parameters if p.requires_grad]
    if not parameters:
        raise LosslabError("no parameters that require grad were given to take the Hessian over")
    _check_precision(parameters[0].dtype, "SharpnessTracker.for_model(model, data, dtype=torch.float32)")
    with torch.enable_grad(), whole_gradient():
        return GraphOperator(loss_fn(), parameters)


HALF = {torch.bfloat16: 8, torch.float16: 11}  # bits of significand


def _check_precision(dtype: torch.dtype, remedy: str) -> None:
    """Hessian-vector products in a half type are rounding noise: a bfloat16 GPT-2 gave a "top eigenvalue" of
    −0.00027 where its float32 evaluation gives 7.42, a float16 one a Lanczos that failed in ``eigh``."""
    if dtype in HALF:
        name = str(dtype).removeprefix("torch.")
        raise LosslabError(
            f"Hessian-vector products in {name} are rounding noise ({HALF[dtype]}-bit significand): "
            f"evaluate the {name} weights in float32 — {remedy}"
        )


def as_operator(
    target: Objective | HessianOperator, at: PointLike | None = None, method: str = "auto"
) -> HessianOperator:
    """An operator as it is, or the Hessian operator of an objective."""
    if isinstance(target, HessianOperator):
        if at is not None:
            raise LosslabError("at= is for objectives; a HessianOperator is already at its point")
        return target
    if isinstance(target, Objective):
        return hessian_operator(target, at, method=method)
    raise LosslabError(f"expected an Objective or a HessianOperator, got {type(target).__name__}")


def hvp(objective: Objective, v: Tensor, at: PointLike | None = None, *, method: str = "auto") -> Tensor:
    """H(θ)·v for one vector ``(n,)`` or a stack ``(m, n)`` (batched in one call).

    >>> from losslab.objectives.objective import formula
    >>> hvp(formula("x**2*y"), torch.eye(2, dtype=torch.float64), [1.0, 3.0]).tolist()
    [[6.0, 2.0], [2.0, 0.0]]
    """
    operator = hessian_operator(objective, at, method=method)
    return operator.matvec(v) if v.dim() == 1 else operator.matmat(v)
