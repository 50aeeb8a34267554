"""A slice of any loss through a point: vary one or two parameters, hold every other where the point has it.

:func:`losslab.objectives.held.hold` substitutes the held values into a formula; a loss without one (a
classifier on 240 points, a model on data, a network) is sliced here numerically:
``f(u) = L(θ with θ_i = u_i for the varied i)``, evaluated through the loss's own batched ``_evaluate`` (so a
grid of the slice is one call of L, and its derivatives come from torch.func like any objective's).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.objectives.domain import Domain
from losslab.objectives.grid import view_domain
from losslab.objectives.objective import Objective

MAX_VARIED = 2


class HeldSlice(Objective):
    """``f(u) = L(θ)`` with ``θ_i = u_i`` for the varied parameters and ``θ_j = at_j`` for the others.

    Args:
        objective: the loss L.
        varied: the one or two parameters that vary, by name.
        at: the point the slice passes through (one value per parameter of L; the varied ones are ignored).

    >>> from losslab.objectives.objective import formula
    >>> L = formula("w0**2 + 2*w1**2 + 3*w2**2")
    >>> f = HeldSlice(L, ["w2", "w0"], [0.0, 1.0, 0.0])
    >>> f.names, float(f.value([1.0, 2.0])), f.domain.bounds
    (('w2', 'w0'), 9.0, ((-5.0, 5.0), (-5.0, 5.0)))
    """

    def __init__(self, objective: Objective, varied: Sequence[str], at: Sequence[float] | Tensor) -> None:
        names = tuple(objective.names)
        if not 1 <= len(varied) <= MAX_VARIED or len(set(varied)) != len(varied):
            raise LosslabError(f"a slice varies 1 or {MAX_VARIED} different parameters; got {list(varied)}")
        unknown = [name for name in varied if name not in names]
        if unknown:
            parameters = ", ".join(names)
            raise LosslabError(f"the slice varies {', '.join(unknown)}: not parameters of the loss ({parameters})")
        point = objective.point(at)
        if not bool(torch.isfinite(point).all()):
            raise LosslabError(f"the slice's point {point.tolist()} must be finite")
        box = view_domain(objective)
        held = ", ".join(f"{n} = {float(v):.4g}" for n, v in zip(names, point.tolist(), strict=True) if n not in varied)
        super().__init__(
            names=tuple(varied),
            title=f"{objective.title or 'the loss'} with {held}",
            domain=Domain(tuple(varied), tuple(box[name] for name in varied)),
            dtype=objective.dtype,
        )
        self.base, self.at = objective, point
        self.index = torch.tensor([names.index(name) for name in varied])

    def full(self, thetas: Tensor) -> Tensor:
        """The loss's parameters ``(..., n)`` at slice coordinates ``(..., k)``."""
        point = self.at.expand(*thetas.shape[:-1], len(self.at))
        return point.index_copy(-1, self.index, thetas.to(point))

    def _evaluate(self, thetas: Tensor) -> Tensor:
        return self.base._evaluate(self.full(thetas))
