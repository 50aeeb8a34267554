"""A training path drawn on a slice: coordinates by least squares, and each point's distance from it.

For a checkpoint θ_t and a slice ``c + D x`` (D the P × k matrix of directions), the drawn
point is the least-squares solution ``x_t = argmin_x ‖θ_t − c − D x‖`` and the distance
from the slice is the residual ``‖θ_t − c − D x_t‖``. A path far from the plane does not
follow the plane's contours — the distance says how far it is, relative to ``‖θ_t − c‖``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.landscape.directions import Directions
from losslab.landscape.surface import open_for_writing
from losslab.serialize import Readable


@dataclass
class Projection(Readable):
    """A path's coordinates on a slice and its distance from it.

    Attributes:
        coordinates: ``(n, k)`` least-squares coordinates of each checkpoint.
        distance: ``(n,)`` distance of each checkpoint from the slice.
        relative_distance: ``(n,)`` distance ÷ ‖θ_t − c‖ (0 on the slice, 1 when orthogonal to it).
    """

    coordinates: Tensor
    distance: Tensor
    relative_distance: Tensor
    FIELDS = ("coordinates", "distance", "relative_distance")

    def to_dict(self) -> dict[str, Any]:
        return {
            "coordinates": self.coordinates.tolist(),
            "distance": self.distance.tolist(),
            "relative_distance": self.relative_distance.tolist(),
        }

    def framed_by(self, coordinates: Sequence[Tensor]) -> bool:
        """Whether every projected point lies within a surface's axes (its ``coordinates``, one per direction)."""
        return all(
            float(axis[0]) <= float(column.min()) and float(column.max()) <= float(axis[-1])
            for axis, column in zip(coordinates, self.coordinates.T, strict=True)
        )

    def framing(self, coordinates: Sequence[Tensor], margin: float = 0.05) -> list[tuple[float, float]]:
        """Ranges, one per axis, that hold a surface's axes (its ``coordinates``) and every projected point with
        ``margin`` of the path's extent to spare on a side it passes beyond."""
        ranges = []
        for axis, column in zip(coordinates, self.coordinates.T, strict=True):
            lo, hi = float(column.min()), float(column.max())
            spare = margin * max(hi - lo, 1e-12)
            ranges.append((min(float(axis[0]), lo - spare), max(float(axis[-1]), hi + spare)))
        return ranges

    def __str__(self) -> str:
        n, k = self.coordinates.shape
        worst = float(self.relative_distance.max()) if n else 0.0
        lines = [
            f"{n} checkpoints projected on a {'plane' if k == 2 else 'line'}; largest relative distance {worst:.3g}"
        ]
        for t, (x, d) in enumerate(zip(self.coordinates.tolist(), self.distance.tolist(), strict=True)):
            lines.append(f"  {t:>4}  ({', '.join(f'{v:+.4f}' for v in x)})  distance {d:.4g}")
        return "\n".join(lines)


def project(checkpoints: Sequence[Tensor] | Tensor, directions: Directions) -> Projection:
    """Project flat checkpoints ``(n, P)`` onto the slice of ``directions`` (least squares, float64).

    >>> d = Directions(torch.eye(3)[:2].double(), torch.zeros(3, dtype=torch.float64), "plane")
    >>> p = project(torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 2.0]]), d)
    >>> p.coordinates.tolist(), p.distance.tolist()
    ([[1.0, 2.0], [0.0, 0.0]], [0.0, 2.0])
    """
    points = torch.stack(list(checkpoints)) if not isinstance(checkpoints, Tensor) else checkpoints
    if points.dim() != 2 or points.shape[1] != directions.center.numel():
        raise LosslabError(
            f"checkpoints have shape {tuple(points.shape)}; expected (n, {directions.center.numel()}) flat vectors"
        )
    basis = directions.vectors.to("cpu", torch.float64).T  # P × k
    offsets = (points.to("cpu", torch.float64) - directions.center.to("cpu", torch.float64)).T  # P × n
    coordinates = torch.linalg.lstsq(basis, offsets, driver="gelsd").solution  # k × n
    residual = offsets - basis @ coordinates
    distance = residual.norm(dim=0)
    length = offsets.norm(dim=0)
    relative = torch.where(length > 0, distance / length.clamp_min(torch.finfo(torch.float64).tiny), 0.0)
    return Projection(coordinates.T.contiguous(), distance, relative)


PATH_ATTRIBUTE = "training_path_json"  # where a surface file keeps the projection of its training path


def save_projection(path: str | Path, projection: Projection) -> None:
    """Keep a training path's projection in the surface file ``path`` (an attribute beside the provenance), so
    a picture of the file can draw it (``losslab plot-surface``)."""
    with open_for_writing(path, "a") as file:
        file.attrs[PATH_ATTRIBUTE] = json.dumps(projection.to_dict())


def read_projection(path: str | Path) -> Projection | None:
    """The training path's projection kept in a surface file, or None where it has none."""
    try:
        with h5py.File(path, "r") as file:
            text = file.attrs.get(PATH_ATTRIBUTE)
    except OSError as exc:
        raise LosslabError(f"cannot read {path}: {exc}") from None
    if text is None:
        return None
    data = json.loads(text)
    coordinates, distance, relative = (torch.tensor(data[key], dtype=torch.float64) for key in Projection.FIELDS)
    return Projection(coordinates.reshape(len(distance), -1), distance, relative)
