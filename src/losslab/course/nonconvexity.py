r"""How non-convex a 2-D slice of a loss is, measured on its grid: the figures shown beside the bowl and the mountains.

Two figures of a grid of values :math:`f(a_i, b_j)`:

- the fraction of interior grid points where the slice's Hessian, by central differences,
  :math:`f_{aa} = (f_{i+1,j} - 2f_{i,j} + f_{i-1,j})/h_a^2`, :math:`f_{bb}` alike and
  :math:`f_{ab} = (f_{i+1,j+1} - f_{i+1,j-1} - f_{i-1,j+1} + f_{i-1,j-1})/(4h_ah_b)`, has a negative
  eigenvalue :math:`\tfrac12\big(f_{aa} + f_{bb} - \sqrt{(f_{aa} - f_{bb})^2 + 4f_{ab}^2}\big) < 0` (0 % for a
  convex bowl: its Hessian is positive everywhere);
- the number of grid-local minima: interior points lower than all eight neighbours (1 for a bowl whose
  bottom is inside the box).

Written here with tensor arithmetic on the grid (no library computes these two figures of a sampled
surface); a tolerance relative to the largest curvature keeps round-off on flat or straight stretches
from counting as negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from losslab.errors import LosslabError
from losslab.objectives.grid import Grid
from losslab.serialize import Readable

RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class NonConvexity(Readable):
    """The non-convexity figures of a 2-D grid of loss values.

    Attributes:
        negative_fraction: interior points with a negative eigenvalue of the slice's Hessian, as a fraction.
        local_minima: interior points strictly lower than their eight neighbours.
        points: the interior points counted.
    """

    negative_fraction: float
    local_minima: int
    points: int

    def __str__(self) -> str:
        minima = f"{self.local_minima} local minim{'um' if self.local_minima == 1 else 'a'}"
        return f"{100 * self.negative_fraction:.0f} % of the grid curves downward somewhere; {minima}"


def slice_hessian_eigenvalues(grid: Grid, name: str = "loss") -> torch.Tensor:
    """The smaller eigenvalue of the central-difference Hessian at each interior point, shape ``(n−2, m−2)``.

    >>> from losslab.objectives.grid import evaluate_grid
    >>> from losslab.objectives.objective import formula
    >>> grid = evaluate_grid(formula("x**2 - y**2"), "-1:1", resolution=5)
    >>> slice_hessian_eigenvalues(grid).unique().tolist()
    [-2.0]
    """
    if len(grid.coordinates) != 2:
        raise LosslabError(f"the non-convexity figures need a 2-D grid; this one has {len(grid.coordinates)} axes")
    f = grid.values[name].to(torch.float64)
    if min(f.shape) < 3:
        raise LosslabError(f"the grid is {f.shape[0]}×{f.shape[1]}; at least 3×3 points are needed")
    ha = float(grid.coordinates[0][1] - grid.coordinates[0][0])
    hb = float(grid.coordinates[1][1] - grid.coordinates[1][0])
    centre = f[1:-1, 1:-1]
    faa = (f[2:, 1:-1] - 2 * centre + f[:-2, 1:-1]) / ha**2
    fbb = (f[1:-1, 2:] - 2 * centre + f[1:-1, :-2]) / hb**2
    fab = (f[2:, 2:] - f[2:, :-2] - f[:-2, 2:] + f[:-2, :-2]) / (4 * ha * hb)
    return 0.5 * (faa + fbb - torch.sqrt((faa - fbb) ** 2 + 4 * fab**2))


def nonconvexity(grid: Grid, name: str = "loss") -> NonConvexity:
    """The fraction of the grid with negative curvature, and the number of grid-local minima.

    >>> from losslab.objectives.grid import evaluate_grid
    >>> from losslab.objectives.objective import formula
    >>> print(nonconvexity(evaluate_grid(formula("x**2 + 3*y**2"), "-1:1", resolution=21)))
    0 % of the grid curves downward somewhere; 1 local minimum
    """
    smallest = slice_hessian_eigenvalues(grid, name)
    finite = torch.isfinite(smallest)
    scale = float(smallest[finite].abs().max()) if bool(finite.any()) else 0.0
    negative = finite & (smallest < -RELATIVE_TOLERANCE * max(scale, 1e-300))
    f = grid.values[name].to(torch.float64)
    centre = f[1:-1, 1:-1]
    lower = torch.isfinite(centre)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                neighbour = f[1 + di : f.shape[0] - 1 + di, 1 + dj : f.shape[1] - 1 + dj]
                lower &= centre < neighbour
    return NonConvexity(float(negative.sum()) / max(int(finite.sum()), 1), int(lower.sum()), int(finite.sum()))
