r"""Least squares for models linear in their parameters: the design matrix and its solution.

A model :math:`f(\theta; x)` is linear in θ when every :math:`\partial f/\partial\theta_j`
is free of θ. Then :math:`f(\theta; x_i) = b_i + \sum_j A_{ij}\theta_j` with design matrix
:math:`A_{ij} = \partial f/\partial\theta_j(x_i)` and offset :math:`b_i = f(0; x_i)`, and
the minimizer of any sum of squared residuals is
:math:`\theta^* = \arg\min \lVert A\theta - (y - b)\rVert^2`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy
import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.objectives.torch_expr import compile_expr
from losslab.serialize import Readable


@dataclass
class ClosedForm(Readable):
    """The least-squares solution of a model linear in its parameters.

    Attributes:
        params: θ* in parameter order.
        loss: L(θ*).
        names: the parameter names.
        rank: rank of the design matrix; below ``len(names)`` the minimizers form a line
            or plane and ``params`` is the one of minimum norm.
        note: how it was solved.
    """

    params: Tensor
    loss: float
    names: tuple[str, ...]
    rank: int
    note: str = "least squares (torch.linalg.lstsq)"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able numbers: ``{"params": {name: value}, "loss", "rank", "note"}``."""
        values = self.params.tolist()
        params = {name: float(v) for name, v in zip(self.names, values, strict=True)}
        return {"params": params, "loss": float(self.loss), "rank": self.rank, "note": self.note}

    def __str__(self) -> str:
        width = max(len(n) for n in (*self.names, "loss"))
        values = self.params.tolist()
        rows = [f"{name:<{width}}  {v:.10g}" for name, v in zip(self.names, values, strict=True)]
        head = f"closed form: {self.note}, rank {self.rank}"
        return "\n".join([head, *rows, f"{'loss':<{width}}  {self.loss:.10g}"])


def linear_design(
    model: sympy.Expr, parameters: Sequence[sympy.Symbol], inputs: Mapping[str, Tensor], count: int
) -> tuple[Tensor, Tensor] | None:
    """Design matrix ``(N, n)`` and offset ``(N,)``, or None when the model is not linear in θ.

    >>> a, b, x = sympy.symbols("a b x", real=True)
    >>> A, b0 = linear_design(a*x + b + 1, [a, b], {"x": torch.tensor([1.0, 2.0])}, 2)
    >>> A.tolist(), b0.tolist()
    ([[1.0, 1.0], [2.0, 1.0]], [1.0, 1.0])
    """
    params = set(parameters)
    partials = [sympy.diff(model, p) for p in parameters]
    if any(d.free_symbols & params for d in partials):
        return None
    offset = model.xreplace(dict.fromkeys(parameters, sympy.Integer(0)))
    try:
        columns = [_on_data(e, inputs, count) for e in (*partials, offset)]
    except LosslabError:  # a partial torch cannot evaluate: leave the problem to descent
        return None
    return torch.stack(columns[:-1], dim=-1), columns[-1]


def _on_data(expr: sympy.Expr, inputs: Mapping[str, Tensor], count: int) -> Tensor:
    out = compile_expr(expr, tuple(inputs))(*inputs.values())
    return out.to(torch.float64).expand(count)


def solve(design: Tensor, rhs: Tensor) -> tuple[Tensor, int, str]:
    """θ* minimizing ‖Aθ − r‖², its rank and how it was found (float64, on the CPU).

    Full rank: ``torch.linalg.lstsq`` (driver ``gelsd``). Rank-deficient: the minimum-norm
    minimizer :math:`A^+ r` by ``torch.linalg.pinv``.

    >>> A = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
    >>> solve(A, torch.tensor([2.0, 4.0], dtype=torch.float64))
    (tensor([2.], dtype=torch.float64), 1, 'least squares (torch.linalg.lstsq)')
    """
    design, rhs = design.cpu().to(torch.float64), rhs.cpu().to(torch.float64)
    count = design.shape[-1]
    solved = torch.linalg.lstsq(design, rhs.unsqueeze(-1), driver="gelsd")
    rank = int(solved.rank)
    if rank == count:
        return solved.solution.squeeze(-1), rank, "least squares (torch.linalg.lstsq)"
    note = f"rank-deficient design (rank {rank} of {count}): minimum-norm solution (torch.linalg.pinv)"
    return torch.linalg.pinv(design) @ rhs, rank, note
