r"""What a run keeps of its steps: all of a short run; of a long one the first steps, every s-th after, and the last.

A run records θ_k, L(θ_k), ∇L(θ_k) and the lr of update k. Kept whole, a run of 10⁸ steps would hold
10⁸ rows (and, on data, the allocator fragments around them: ``losslab fit`` on 2 M rows grew by
~26 MB a step). :class:`Recorder` keeps a bounded record in buffers allocated once and written in
place:

* at most :data:`MAX_ROWS` = 20 000 rows, fewer when θ is wide — as many as fit in
  :data:`RECORD_BYTES` = 256 MiB of θ and ∇L in float64, but never fewer than :data:`MIN_ROWS` = 64;
* the first half of the rows are steps 0, 1, 2, … exactly (steps 0 to 9 999 at 20 000 rows);
* after them, every s-th step: s starts at 1 and doubles whenever the rows are full (every other
  kept row is dropped then), so the kept steps are always ``first + j·s``, whatever step the run
  stops at;
* the last step is always kept.

A run of up to 19 999 steps (20 000 rows with the start) is therefore kept whole. A thinned run's Trajectory
says so in a note (``kept every 128th of 1 000 000 steps after the first 10 000, and the last``)
and numbers its rows (``Trajectory.kept_steps``). Each kept row is the row an unthinned run has at
that step, bit for bit: thinning only chooses rows.

The stop rules still see every step (``descend`` checks them as each step is made), and the
diagnosis reads :class:`Seen`: the start, the last :data:`TAIL` steps exactly (a ring buffer), the
largest lr of any update and the rises of L at the end, counted over every step.

>>> import torch
>>> recorder = Recorder(1, torch.float64, steps=10, rows=6)  # 6 rows: steps 0–2, then 2 thinned, and the last
>>> for k in range(11):
...     recorder.add(torch.tensor([float(k)]), torch.tensor(float(k)), torch.zeros(1))
...     recorder.set_lr(0.1) if k < 10 else None
>>> recorder.kept_steps().tolist(), recorder.note()
([0, 1, 2, 3, 7, 10], 'kept every 4th of 10 steps after the first 3, and the last')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

MAX_ROWS = 20_000  # the most rows a record holds (the first half exact)
RECORD_BYTES = 256 * 2**20  # θ and ∇L of the kept rows, in bytes, for wide θ
MIN_ROWS = 64  # a wide θ still keeps this many rows
TAIL = 42  # the last steps the diagnosis reads, kept exactly: at least 2·WINDOW + 1 of losslab.descent.diagnosis


def row_budget(dim: int, itemsize: int = 8) -> int:
    """How many rows a record of a ``dim``-parameter run may hold.

    >>> row_budget(2), row_budget(10**6)
    (20000, 64)
    """
    return max(MIN_ROWS, min(MAX_ROWS, RECORD_BYTES // (2 * dim * itemsize)))


@dataclass(frozen=True)
class Seen:
    """What the diagnosis reads of a run, whatever its record kept.

    Attributes:
        start: θ_0.
        start_loss: L(θ_0).
        start_grad_norm: ‖∇L(θ_0)‖.
        params, losses, grads: the last steps, exactly and consecutively, the last step last.
        last: the number of the last step (K).
        lr_max: the largest lr any update used (None: no update was made).
        rises: how many of the last steps in a row raised L.
        risen_from: L before those rises.
    """

    start: Tensor
    start_loss: float
    start_grad_norm: float
    params: Tensor
    losses: Tensor
    grads: Tensor
    last: int
    lr_max: float | None
    rises: int
    risen_from: float

    @property
    def first(self) -> int:
        """The number of the step ``params[0]`` holds."""
        return self.last - self.params.shape[0] + 1

    @classmethod
    def of(cls, params: Tensor, losses: Tensor, grads: Tensor, lrs: Tensor) -> Seen:
        """A whole record (every step, ``(K+1, n)``) as the diagnosis reads it."""
        falls = torch.nonzero(~(losses.diff() > 0)).flatten()
        rises = losses.numel() - 1 if falls.numel() == 0 else losses.numel() - 2 - int(falls[-1])
        return cls(
            start=params[0],
            start_loss=float(losses[0]),
            start_grad_norm=float(torch.linalg.vector_norm(grads[0])),
            params=params,
            losses=losses,
            grads=grads,
            last=params.shape[0] - 1,
            lr_max=float(lrs.max()) if lrs.numel() else None,
            rises=rises,
            risen_from=float(losses[-rises - 1]),
        )


class Recorder:
    """A run's bounded record, filled one step at a time (see the module docstring).

    Args:
        dim: the number of parameters.
        dtype: θ's floating type.
        steps: the step budget (the record is exact, and no ring is kept, when it fits).
        rows: the most rows to hold (default :func:`row_budget`).

    Call :meth:`add` with each step's θ, L and ∇L, and :meth:`set_lr` with the lr of the update
    that leaves it; then :meth:`record`, :meth:`kept_steps`, :meth:`seen` and :meth:`note`.
    """

    def __init__(self, dim: int, dtype: torch.dtype, steps: int, rows: int | None = None) -> None:
        self.rows = row_budget(dim, torch.finfo(dtype).bits // 8) if rows is None else rows
        self.first = self.rows // 2
        self.slots = self.rows - 1  # the last row is the run's last step, set at the end
        self.stride = 1
        self.count = 0  # steps seen
        self.size = 0  # rows in use
        self.budget = steps
        self.exact = steps + 1 <= self.rows
        held = min(self.slots, steps + 1, 1024)
        self._params = torch.empty((held, dim), dtype=dtype)
        self._grads = torch.empty((held, dim), dtype=dtype)
        self._losses = torch.empty(held, dtype=dtype)
        self._lrs: list[float] = []  # of the kept rows (Python lists: a few µs a step less than tensor stores)
        self._steps: list[int] = []
        ring = 0 if self.exact else TAIL  # an exact record keeps every step: it needs no ring
        self._ring = (
            torch.empty((ring, dim), dtype=dtype),
            torch.empty(ring, dtype=dtype),
            torch.empty((ring, dim), dtype=dtype),
        )
        self._latest_kept = False
        self.start_loss, self.start_grad_norm = math.nan, math.nan
        self.lr_max: float | None = None
        self.rises, self.risen_from, self._previous_loss = 0, math.nan, math.nan

    # -- filling ---------------------------------------------------------------------------------
    def add(self, theta: Tensor, loss: Tensor, grad: Tensor) -> None:
        """Step ``count``'s θ, L and ∇L (copied: the caller may change its tensors afterwards)."""
        k = self.count
        self._latest_kept = self._keeps(k)
        if self._latest_kept:
            self._put(self.size, k, theta, loss, grad)
            self.size += 1
        if not self.exact:
            params, losses, grads = self._ring
            slot = k % TAIL
            params[slot].copy_(theta)
            losses[slot].copy_(loss)
            grads[slot].copy_(grad)
        value = float(loss)
        if k == 0:
            self.start_loss, self.start_grad_norm = value, float(torch.linalg.vector_norm(grad))
        self.rises = self.rises + 1 if value > self._previous_loss else 0
        if self.rises == 0:
            self.risen_from = value
        self._previous_loss = value
        self.count += 1

    def set_lr(self, lr: float) -> None:
        """The lr of the update that leaves the step last added."""
        self.lr_max = lr if self.lr_max is None else max(self.lr_max, lr)
        if self._latest_kept:
            self._lrs.append(lr)

    def _keeps(self, k: int) -> bool:
        if k < self.first:
            return True
        if (k - self.first) % self.stride:
            return False
        if self.size == self.slots:  # full
            if k == self.budget:  # the budget's last step: it has its own row
                return True
            self._halve()  # keep every other thinned row, at twice the stride
            return (k - self.first) % self.stride == 0
        return True

    def _halve(self) -> None:
        tail = torch.arange(self.first, self.size, 2)
        keep = torch.cat([torch.arange(self.first), tail])
        for buffer in (self._params, self._grads, self._losses):
            buffer[: keep.numel()] = buffer[keep]
        self._steps = [self._steps[i] for i in keep.tolist()]
        self._lrs = [self._lrs[i] for i in keep.tolist()]
        self.size = keep.numel()
        self.stride *= 2

    def _put(self, row: int, k: int, theta: Tensor, loss: Tensor, grad: Tensor) -> None:
        if row == self._losses.shape[0]:
            self._grow()
        self._params[row].copy_(theta)
        self._grads[row].copy_(grad)
        self._losses[row].copy_(loss)
        self._steps.append(k)

    def _grow(self) -> None:
        """Twice the rows, up to the budget: a handful of allocations over a whole run."""
        held = min(2 * self._losses.shape[0], self.slots + 1)
        for name in ("_params", "_grads", "_losses"):
            old = getattr(self, name)
            new = torch.zeros((held, *old.shape[1:]), dtype=old.dtype)
            new[: old.shape[0]] = old
            setattr(self, name, new)

    # -- reading ------------------------------------------------------------------------------
    def record(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(params, losses, grads, lrs) of the kept rows, the last step last; lrs has one entry fewer."""
        if not self._latest_kept:  # the last step: from the ring, into the row after the kept ones
            params, losses, grads = self._ring
            slot = (self.count - 1) % TAIL
            self._put(self.size, self.count - 1, params[slot], losses[slot], grads[slot])
            self.size += 1
            self._latest_kept = True
        end = self.size
        return (
            self._params[:end].clone(),
            self._losses[:end].clone(),
            self._grads[:end].clone(),
            torch.tensor(self._lrs[: end - 1], dtype=torch.float64),
        )

    @property
    def thinned(self) -> bool:
        """Whether some steps were not kept."""
        self.record()
        return self.size < self.count

    def kept_steps(self) -> Tensor | None:
        """The step number of each row :meth:`record` returns; None when every step was kept."""
        return torch.tensor(self._steps, dtype=torch.int64) if self.thinned else None

    def seen(self) -> Seen:
        """The start, the last steps exactly, and the running counts, for the diagnosis."""
        if not self.thinned:
            return Seen.of(*self.record())
        held = min(self.count, TAIL)
        order = torch.arange(self.count - held, self.count) % TAIL
        params, losses, grads = (part[order] for part in self._ring)
        return Seen(
            start=self._params[0].clone(),
            start_loss=self.start_loss,
            start_grad_norm=self.start_grad_norm,
            params=params,
            losses=losses,
            grads=grads,
            last=self.count - 1,
            lr_max=self.lr_max,
            rises=self.rises,
            risen_from=self.risen_from,
        )

    def note(self) -> str | None:
        """``kept every 128th of 1 000 000 steps after the first 10 000, and the last``; None when all were kept."""
        if not self.thinned:
            return None
        return (
            f"kept every {ordinal(self.stride)} of {_spaced(self.count - 1)} steps after the first "
            f"{_spaced(self.first)}, and the last"
        )


def ordinal(n: int) -> str:
    """``2nd``, ``4th``, ``32nd``, ``8192nd``.

    >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 22, 8192)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '22nd', '8192nd']
    """
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _spaced(n: int) -> str:
    """Digits in groups of three: ``1 000 000``."""
    return f"{n:,}".replace(",", " ")
