r"""Curvature per layer or per parameter tensor: the diagonal blocks of the Hessian.

Split θ into groups :math:`\theta = (\theta_1, \dots, \theta_B)` (a network's layers, or each
named parameter tensor). The block :math:`H_{bb} = \partial^2 L / \partial\theta_b^2` is the
curvature of the loss along that group with the others held fixed; its top eigenvalue and
trace say which layer is sharp. A product with the block is a product with the full Hessian
restricted to the group: :math:`H_{bb} u = [H\,(0, \dots, u, \dots, 0)]_b`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.curvature.hvp import HessianOperator, hessian_operator
from losslab.curvature.lanczos import top_eigenvalues
from losslab.curvature.trace import TraceEstimate, trace
from losslab.errors import LosslabError, check_choice
from losslab.objectives.domain import PointLike
from losslab.objectives.network import NetworkObjective
from losslab.serialize import Readable, jsonable

GROUPINGS = ("layer", "parameter")


class BlockOperator(HessianOperator):
    """The diagonal block ``H[start:stop, start:stop]`` of another operator."""

    method = "block"

    def __init__(self, operator: HessianOperator, start: int, stop: int) -> None:
        super().__init__(stop - start, operator.dtype, operator.device)
        self.operator, self.start, self.stop = operator, start, stop

    def _matvec(self, v: Tensor) -> Tensor:
        return self._matmat(v[None])[0]

    def _matmat(self, vectors: Tensor) -> Tensor:
        full = torch.zeros(len(vectors), self.operator.dim, dtype=self.dtype, device=self.device)
        full[:, self.start : self.stop] = vectors
        return self.operator.matmat(full)[:, self.start : self.stop]


@dataclass
class BlockCurvature(Readable):
    """Top eigenvalue and trace of each diagonal block.

    Attributes:
        names: the groups (layer prefixes such as ``"0"``, or parameter names such as ``"0.weight"``).
        slices: ``(start, stop)`` of each group in the flat θ.
        top_eigenvalues: the largest eigenvalue of each block.
        residuals: its residual ‖Hv − λv‖.
        traces: the trace estimate of each block (None when not asked for).
        products: Hessian-vector products used in all.
    """

    names: list[str]
    slices: list[tuple[int, int]]
    top_eigenvalues: list[float]
    residuals: list[float]
    traces: list[TraceEstimate | None]
    products: int

    def to_dict(self) -> dict[str, object]:
        return {
            "blocks": [
                {
                    "name": name,
                    "size": stop - start,
                    "top_eigenvalue": lam,
                    "residual": res,
                    "trace": jsonable(t),
                }
                for name, (start, stop), lam, res, t in self._rows()
            ],
            "products": self.products,
        }

    def __str__(self) -> str:
        lines = [f"curvature per block ({self.products} Hessian-vector products)"]
        lines.append(f"  {'block':<16} {'size':>8}  {'λmax':>12}  {'trace':>22}")
        for name, (start, stop), lam, _, t in self._rows():
            trace_text = f"{t.estimate:.6g} ± {t.stderr:.2g}" if t is not None else "—"
            lines.append(f"  {name:<16} {stop - start:>8}  {lam:>12.6g}  {trace_text:>22}")
        return "\n".join(lines)

    def _rows(self) -> list[tuple[str, tuple[int, int], float, float, TraceEstimate | None]]:
        return list(zip(self.names, self.slices, self.top_eigenvalues, self.residuals, self.traces, strict=True))


def groups(objective: NetworkObjective, by: str = "layer") -> dict[str, tuple[int, int]]:
    """Group name → ``(start, stop)`` in the flat θ, by layer (the name before the last dot) or parameter.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    >>> groups(NetworkObjective(net, (torch.zeros(1, 2), torch.zeros(1, 1)), "mse"))
    {'0': (0, 9), '2': (9, 13)}
    """
    check_choice("by", by, GROUPINGS)
    result: dict[str, tuple[int, int]] = {}
    offset = 0
    for name, shape in objective.shapes.items():
        size = int(torch.Size(shape).numel())
        key = (name.rpartition(".")[0] or name) if by == "layer" else name
        start = result.get(key, (offset, offset))[0]
        result[key] = (start, offset + size)
        offset += size
    return result


def blocks(
    objective: NetworkObjective,
    *,
    by: str = "layer",
    at: PointLike | None = None,
    with_trace: bool = True,
    probes: int = 30,
    tol: float | None = None,
    generator: torch.Generator | None = None,
) -> BlockCurvature:
    """Top eigenvalue (Lanczos) and trace (Hutch++) of each diagonal Hessian block.

    Args:
        objective: a network objective.
        by: ``"layer"`` (weight and bias of a layer together) or ``"parameter"``.
        at: the point (default θ*).
        with_trace: also estimate each block's trace.
        probes: Hutch++ products per block.
        tol: Lanczos tolerance (default as in :func:`top_eigenvalues`).
        generator: draws start vectors and probes (default: seeded with 0).
    """
    if not isinstance(objective, NetworkObjective):
        raise LosslabError(f"blocks need a NetworkObjective (named parameters), got {type(objective).__name__}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    operator = hessian_operator(objective, at)
    names, slices, lams, residuals, traces = [], [], [], [], []
    for name, (start, stop) in groups(objective, by).items():
        block = BlockOperator(operator, start, stop)
        eig = top_eigenvalues(block, 1, tol=tol, generator=generator)
        names.append(name)
        slices.append((start, stop))
        lams.append(float(eig.eigenvalues[0]))
        residuals.append(float(eig.residuals[0]))
        traces.append(trace(block, probes=probes, generator=generator) if with_trace else None)
    return BlockCurvature(names, slices, lams, residuals, traces, operator.products)
