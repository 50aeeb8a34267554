"""The result of :func:`~losslab.landscape.connect.connect`: a trained curve and the loss along it and
along the straight line, and the state a training resumes from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from losslab.landscape.curves import curve_points
from losslab.serialize import Readable


@dataclass
class Connection(Readable):
    """A trained curve between two points and the loss along it and along the straight line.

    Attributes:
        curve: ``bezier`` or ``polychain``.
        control_points: ``(bends + 2, P)``: a, the bends, b.
        t: where the loss was measured (``points`` from 0 to 1).
        curve_loss, line_loss: L(φ(t)) and L((1 − t)·a + t·b).
        curve_accuracy, line_accuracy: the same for the accuracy of a classifier (else None).
        train_loss: the mean mini-batch loss of each epoch.
        provenance: how it was made (see :mod:`~losslab.landscape.connect_file`).
    """

    curve: str
    control_points: Tensor
    t: Tensor
    curve_loss: Tensor
    line_loss: Tensor
    curve_accuracy: Tensor | None = None
    line_accuracy: Tensor | None = None
    train_loss: list[float] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list, compare=False)

    @property
    def bends(self) -> int:
        return int(self.control_points.shape[0]) - 2

    @property
    def line_barrier(self) -> float:
        """``max_t L(line) − max(L(a), L(b))``."""
        return barrier(self.line_loss)

    @property
    def curve_barrier(self) -> float:
        """``max_t L(φ(t)) − max(L(a), L(b))``."""
        return barrier(self.curve_loss)

    def points(self, t: Tensor) -> Tensor:
        """φ(t) for each t, ``(len(t), P)``."""
        c = self.control_points
        return curve_points(self.curve, c[0], c[1:-1], c[-1], torch.as_tensor(t, dtype=c.dtype))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "curve": self.curve,
            "bends": self.bends,
            "line_barrier": self.line_barrier,
            "curve_barrier": self.curve_barrier,
            "t": self.t.tolist(),
            "curve_loss": self.curve_loss.tolist(),
            "line_loss": self.line_loss.tolist(),
            "train_loss": list(self.train_loss),
            "provenance": self.provenance,
        }
        if self.curve_accuracy is not None and self.line_accuracy is not None:
            out |= {"curve_accuracy": self.curve_accuracy.tolist(), "line_accuracy": self.line_accuracy.tolist()}
        return out

    def __str__(self) -> str:
        ends = f"L(a) = {float(self.line_loss[0]):.4g}, L(b) = {float(self.line_loss[-1]):.4g}"
        lines = [
            f"{self.curve} curve with {self.bends} bend{'s' if self.bends > 1 else ''} between two minima "
            f"({self.control_points.shape[1]} parameters, {len(self.train_loss)} epochs): {ends}",
            f"  straight line: max loss {float(self.line_loss.max()):.4g}, barrier {self.line_barrier:.4g}",
            f"  trained curve: max loss {float(self.curve_loss.max()):.4g}, barrier {self.curve_barrier:.4g}",
        ]
        if self.curve_accuracy is not None and self.line_accuracy is not None:
            lines.append(
                f"  accuracy: line min {float(self.line_accuracy.min()):.3f}, "
                f"curve min {float(self.curve_accuracy.min()):.3f}"
            )
        return "\n".join(lines)


def barrier(loss: Tensor) -> float:
    """``max(loss) − max(loss[0], loss[-1])``: how far the path climbs above its higher end.

    >>> barrier(torch.tensor([0.1, 0.9, 0.3], dtype=torch.float64))
    0.6000000000000001
    """
    return float(loss.max() - torch.maximum(loss[0], loss[-1]))


@dataclass
class TrainingState:
    """Everything a resumed training needs: the bends, the optimizer's state, the generator, the losses."""

    middle: Tensor
    generator: torch.Generator
    train_loss: list[float]
    optimizer_state: dict[str, Any] | None = None
