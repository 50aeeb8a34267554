"""The Objective: a scalar loss over named parameters, and what is known about it.

Every source — a formula, data and a model, a PyTorch network, a line or plane through a
network's parameter space, a gallery surface — becomes an :class:`Objective`. Tools
(derivatives, analysis, descent, landscapes, curvature, plots, CLI, web) take an Objective
and nothing else.

A subclass implements one method, :meth:`Objective._evaluate`, which maps a stack of
parameter vectors ``(..., n)`` to losses ``(...)``. Formula and data objectives do that by
broadcasting; objectives that can only evaluate one θ at a time inherit the vmapped
fallback of :meth:`Objective.values`. Derivatives come from ``torch.func``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sympy
import torch
from torch import Tensor
from torch.func import grad, grad_and_value, jacfwd, jvp, vmap

from losslab.errors import LosslabError, check_choice
from losslab.objectives.domain import Domain, PointLike, as_point

KINDS = ("minimum", "maximum", "saddle", "degenerate")


@dataclass(frozen=True)
class KnownPoint:
    """A stationary point known in advance (from the gallery or a closed form).

    Attributes:
        point: coordinates in parameter order.
        kind: one of ``minimum``, ``maximum``, ``saddle``, ``degenerate``.
        value: the loss there.
        is_global: whether it is the global minimum on the domain.
        differentiable: False at a kink (the tip of a cone), where the gradient does not
            exist and the kind comes from the neighbourhood, not from the Hessian.
    """

    point: tuple[float, ...]
    kind: str
    value: float
    is_global: bool = False
    differentiable: bool = True

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, KINDS)


@dataclass
class Objective:
    """A scalar function of a parameter vector θ, with its parameter names.

    Attributes:
        names: parameter names, in the order of θ's coordinates.
        title: a human-readable name.
        domain: a suggested box to look at (None when nothing sensible is known).
        expr: the exact SymPy form, when there is one.
        known_points: stationary points known in advance.
        dtype: the floating type θ is evaluated in (float64 by default).
    """

    names: Sequence[str]
    title: str = ""
    domain: Domain | None = None
    expr: sympy.Expr | None = None
    known_points: tuple[KnownPoint, ...] = ()
    dtype: torch.dtype = torch.float64
    symbols: tuple[sympy.Symbol, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.names, list | tuple):
            self.names = tuple(self.names)
        # else: a lazy Sequence (a network's millions of coordinate names), kept as it is
        if not len(self.names):
            raise LosslabError("an objective needs at least one parameter")
        if isinstance(self.names, tuple) and len(set(self.names)) != len(self.names):
            raise LosslabError(f"parameter names {self.names} repeat")
        if self.domain is not None and self.domain.names != self.names:
            raise LosslabError(f"domain is over {self.domain.names}, objective over {self.names}")

    # -- what subclasses provide ---------------------------------------------------------
    def _evaluate(self, thetas: Tensor) -> Tensor:
        """Losses for a stack of parameter vectors ``(..., n) -> (...)``."""
        raise NotImplementedError

    @property
    def n_samples(self) -> int | None:
        """Number of data samples for objectives built on data, else None."""
        return None

    def subset(self, indices: Tensor) -> Objective:
        """The same loss on a subset of the data (a mini-batch)."""
        raise LosslabError(f"objective '{self.title}' has no data to draw mini-batches from")

    # -- the public surface ----------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Number of parameters."""
        return len(self.names)

    def point(self, spec: PointLike) -> Tensor:
        """θ from text ``"w0=3,w1=4"``, a mapping, a sequence or a tensor."""
        return as_point(spec, self.names, self.dtype)

    def value(self, theta: PointLike) -> Tensor:
        """L(θ) as a 0-d tensor."""
        return self._evaluate(self._theta(theta))

    def values(self, thetas: Tensor, chunk_size: int | None = None) -> Tensor:
        """L at every θ of a stack ``(..., n)`` in one vectorized call.

        Subclasses whose :meth:`_evaluate` broadcasts get this for free; ``chunk_size``
        bounds memory by evaluating that many θ's at a time.
        """
        thetas = torch.as_tensor(thetas, dtype=self.dtype)
        if thetas.shape[-1] != self.dim:
            raise LosslabError(f"θ stack has last dimension {thetas.shape[-1]}; expected {self.dim}")
        flat = thetas.reshape(-1, self.dim)
        if chunk_size is None or flat.shape[0] <= chunk_size:
            out = self._evaluate(flat)
        else:
            out = torch.cat([self._evaluate(c) for c in flat.split(chunk_size)])
        return out.reshape(thetas.shape[:-1])

    def grad(self, theta: PointLike) -> Tensor:
        """∇L(θ) by automatic differentiation (``torch.func.grad``)."""
        return grad(self._evaluate)(self._theta(theta))

    def value_and_grad(self, theta: PointLike) -> tuple[Tensor, Tensor]:
        """(L(θ), ∇L(θ)) from one forward and one backward pass."""
        g, v = grad_and_value(self._evaluate)(self._theta(theta))
        return v, g

    def values_and_grads(self, thetas: Tensor) -> tuple[Tensor, Tensor]:
        """(L, ∇L) at every θ of a stack ``(m, n)``: one forward and one backward pass for all of them."""
        theta = torch.as_tensor(thetas, dtype=self.dtype).detach().clone().requires_grad_(True)
        with torch.enable_grad():
            loss = self.values(theta)
            if not loss.requires_grad:  # a constant: L does not depend on θ
                return loss, torch.zeros_like(theta.detach())
            (gradient,) = torch.autograd.grad(loss.sum(), theta, allow_unused=True)
        return loss.detach(), gradient if gradient is not None else torch.zeros_like(theta.detach())

    def grads(self, thetas: Tensor) -> Tensor:
        """∇L at every θ of a stack ``(m, n)`` (vmapped)."""
        return vmap(grad(self._evaluate))(torch.as_tensor(thetas, dtype=self.dtype))

    def hvp(self, theta: PointLike, v: Tensor) -> Tensor:
        """Hessian-vector product H(θ)·v as forward-over-reverse (``jvp`` of ``grad``)."""
        theta = self._theta(theta)
        return jvp(grad(self._evaluate), (theta,), (v.to(theta),))[1]

    def hvps(self, theta: PointLike, vectors: Tensor) -> Tensor:
        """H(θ)·vᵢ for a stack of vectors ``(m, n)``: the forward-over-reverse products, vmapped over them."""
        theta = self._theta(theta)
        gradient = grad(self._evaluate)
        return vmap(lambda v: jvp(gradient, (theta,), (v,))[1])(vectors.to(theta))

    def hessian(self, theta: PointLike) -> Tensor:
        """The full n×n Hessian; for small n.

        Reverse-over-reverse with the n backward passes vmapped
        (``torch.autograd.functional.hessian(vectorize=True)``): on a two-parameter formula it
        measured 0.55 ms against 7 ms for ``torch.func.hessian``, which matters to Newton steps
        and per-step diagnoses. :meth:`hessians` (many points at once) uses ``torch.func``.
        """
        matrix = torch.autograd.functional.hessian(self._evaluate, self._theta(theta), vectorize=True)
        return matrix.detach()

    def hessians(self, thetas: Tensor) -> Tensor:
        """Hessians at every θ of a stack ``(m, n)``: shape ``(m, n, n)``.

        Forward over ``grad``, not ``torch.func.hessian`` (forward over ``jacrev``): in torch 2.13 the
        latter is wrong through ``layer_norm`` with a weight (a LayerNorm model's Hessian off by 3.65 of
        entries near 10, and not symmetric; batch and instance norm on batch statistics alike: the norms'
        backward batching rule, pytorch/functorch#534), while ``jacfwd(grad(f))`` equals reverse-over-reverse.
        """
        return vmap(jacfwd(grad(self._evaluate)))(torch.as_tensor(thetas, dtype=self.dtype))

    def _theta(self, theta: PointLike) -> Tensor:
        if isinstance(theta, Tensor) and theta.shape == (self.dim,):
            return theta.to(self.dtype)
        return self.point(theta)

    def __call__(self, theta: PointLike) -> Tensor:
        return self.value(theta)


# Formulas up to this many SymPy operations get their gradient from compiled symbolic derivatives.
SYMBOLIC_GRADIENT_OPS = 400


class FormulaObjective(Objective):
    """An objective given by a formula; evaluated by broadcasting compiled torch ops."""

    def __init__(
        self,
        expr: sympy.Expr,
        symbols: Sequence[sympy.Symbol],
        *,
        title: str = "",
        domain: Domain | None = None,
        known_points: Sequence[KnownPoint] = (),
        text: str | None = None,
    ) -> None:
        from losslab.objectives.torch_expr import compile_expr

        names = tuple(s.name for s in symbols)
        super().__init__(
            names=names,
            title=title or (text if text is not None else str(expr)),
            domain=domain,
            expr=expr,
            known_points=tuple(known_points),
            symbols=tuple(symbols),
        )
        self.text = text if text is not None else str(expr)
        self.understood: str | None = None  # the formula as the parser read it, when that differs from text
        self._compiled = compile_expr(expr, names)

    def _evaluate(self, thetas: Tensor) -> Tensor:
        out = self._compiled(*thetas.unbind(-1))
        return out.expand(thetas.shape[:-1]) if out.shape != thetas.shape[:-1] else out

    def values_and_grads(self, thetas: Tensor) -> tuple[Tensor, Tensor]:
        """(L, ∇L) at every θ of a stack ``(m, n)``, the gradient from the compiled partial derivatives.

        The derivatives are SymPy's (of the parsed expression), compiled once on first use; a
        formula whose derivatives are too large (over :data:`SYMBOLIC_GRADIENT_OPS` operations)
        or hold something the compiler refuses (a DiracDelta) falls back to autograd. L and its
        partials are evaluated together, each common subexpression once: for the five rows of a
        race on Rosenbrock, 34 µs per step against 90 µs through the autograd graph.

        >>> L = formula("(1 - x)**2 + 100*(y - x**2)**2")
        >>> loss, gradient = L.values_and_grads(torch.tensor([[0.0, 1.0], [1.0, 1.0]], dtype=torch.float64))
        >>> loss.tolist(), gradient.tolist()
        ([101.0, 0.0], [[-2.0, 200.0], [0.0, 0.0]])
        """
        joint = self._symbolic_value_and_partials
        if joint is None:
            return super().values_and_grads(thetas)
        thetas = torch.as_tensor(thetas, dtype=self.dtype).detach()
        shape = thetas.shape[:-1]
        loss, *partials = (part if part.shape == shape else part.expand(shape) for part in joint(*thetas.unbind(-1)))
        return loss, torch.stack(partials, dim=-1)

    @functools.cached_property
    def _symbolic_value_and_partials(self) -> Callable[..., tuple[Tensor, ...]] | None:
        assert self.expr is not None
        return compiled_value_and_partials(self.expr, self.symbols, tuple(self.names))


@functools.lru_cache(maxsize=256)
def compiled_value_and_partials(
    expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...], names: tuple[str, ...]
) -> Callable[..., tuple[Tensor, ...]] | None:
    """(expr, ∂expr/∂s for each symbol) as one compiled torch function of ``names``, common parts
    evaluated once (:func:`losslab.objectives.torch_expr.compile_exprs`); None past the size bound or when the
    compiler refuses a derivative. Cached: the web server rebuilds objectives per request.

    The plain ``sympy.diff``, not :func:`losslab.analysis.derivatives.symbolic_gradient`: that one expands
    polynomials for display (``400*x**3 - 400*x*y + 2*x - 2`` for Rosenbrock), which near the
    minimum cancels large terms (1.6× the rounding error of ``-400*x*(y - x**2) + 2*x - 2`` at
    (1 + 1e-7, 1 + 3e-7)) and strays from the operations autograd would do."""
    from losslab.objectives.torch_expr import compile_exprs

    if sympy.count_ops(expr) > SYMBOLIC_GRADIENT_OPS:
        return None
    try:
        return compile_exprs([expr, *(sympy.diff(expr, s) for s in symbols)], names)
    except LosslabError:
        return None


def formula(
    text: str,
    variables: Sequence[str] | None = None,
    *,
    domain: Domain | str | None = None,
    title: str = "",
) -> FormulaObjective:
    """An objective from formula text, through the whitelist parser.

    Args:
        text: e.g. ``"(w - 3)**2"`` or ``"0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)"``.
        variables: parameter names in order; by default found in the formula (w0, w1, …, w10).
        domain: a box to look at, e.g. ``"w0=-5:5,w1=-5:5"``.
        title: a name to show instead of the formula.

    >>> L = formula("2*w0**2 + 3*w1**2")
    >>> L.names, float(L.value("w0=3,w1=4")), L.grad([3.0, 4.0]).tolist()
    (('w0', 'w1'), 66.0, [12.0, 24.0])
    """
    from losslab.objectives.formula_parser import parse_formula

    parsed = parse_formula(text, variables)
    if not parsed.symbols:
        raise LosslabError(f"formula '{text}' has no variables; write the loss in its parameters, e.g. '(w - 3)**2'")
    if isinstance(domain, str):
        domain = Domain.parse(domain, parsed.names)
    objective = FormulaObjective(parsed.expr, parsed.symbols, title=title, domain=domain, text=text)
    objective.understood = parsed.understood if parsed.rewritten else None  # say what was read, when it differs
    return objective
