"""The sampling error of a loss averaged over streamed batches: a standard error per grid point.

A survey over a ``DataLoader`` computes each point's loss as the weighted mean of its batch
means, ``M = Σ_b w_b m_b`` with ``w_b = n_b / N`` and n_b what the batch's loss averages over — its
samples, or its labels other than -100 (tokens, for padded text: ``NetworkObjective.loss_items``).
Treating the B batches as draws from the data distribution, the standard error of ``M`` is estimated by

.. math:: \\widehat{\\mathrm{SE}}^2 = \\frac{B}{B - 1} \\sum_b w_b^2 (m_b - M)^2,

which for equal batches is the familiar ``s² / B`` (s the standard deviation of the batch means).
It says how far another draw of the same amount of data would move the value: differences between
grid points smaller than it are noise. One batch gives no estimate (NaN).

>>> means = BatchMeans()
>>> for m, n in ((1.0, 10), (3.0, 10)):
...     means.add(torch.tensor([m]), n)
>>> means.standard_error().tolist()
[1.0]
"""

from __future__ import annotations

import torch
from torch import Tensor

from losslab.errors import LosslabError


class BatchMeans:
    """Collects the per-batch mean losses of m points; gives the standard error of their weighted mean
    (float64). The survey keeps its own sum for the value itself."""

    def __init__(self) -> None:
        self._batches: list[tuple[Tensor, int]] = []
        self.count = 0

    def add(self, loss: Tensor, n: int) -> None:
        """One batch of ``n`` samples: the mean loss at each point, ``(m,)``."""
        self._batches.append((loss.detach().to(torch.float64), n))
        self.count += n

    @classmethod
    def joined(cls, points: list[BatchMeans]) -> BatchMeans:
        """One BatchMeans over several points' (or chunks') means, each taken over the same batches."""
        joined = cls()
        for batch, (_, n) in enumerate(points[0]._batches if points else []):
            joined.add(torch.cat([p._batches[batch][0] for p in points]), n)
        return joined

    def standard_error(self) -> Tensor:
        """The standard error of the weighted mean at each point (NaN from a single batch)."""
        if self.count == 0:
            raise LosslabError("the DataLoader yielded no data")
        means = torch.stack([loss for loss, _ in self._batches])  # (B, m)
        weights = torch.tensor([n / self.count for _, n in self._batches], dtype=torch.float64, device=means.device)
        weights = weights.reshape(-1, *([1] * (means.dim() - 1)))
        mean = (weights * means).sum(dim=0)
        batches = len(self._batches)
        if batches < 2:
            return torch.full_like(mean, torch.nan)
        return (batches / (batches - 1) * (weights**2 * (means - mean) ** 2).sum(dim=0)).sqrt()
