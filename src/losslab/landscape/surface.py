"""The Surface: values of a loss on a grid of slice coordinates, and its HDF5 file.

File layout (plain h5py; xarray reads it through h5netcdf because the axes are HDF5
dimension scales)::

    /a, /b            coordinates (1-D, float64), dimension scales named "a", "b"
    /loss, /accuracy  values on the grid, float64, values[i, j] at (a_i, b_j); NaN where not computed
    /computed         uint8 mask, 1 where the value has been computed
    /center, /directions   θ at the origin and the (k, P) directions (for resuming and projecting)
    attrs             provenance: model_sha256, directions kind, normalization, BatchNorm policy,
                      seed, data size, dtype, method, losslab version (also as one JSON string)

Chunks are written as they complete and the file is flushed after each one, so an
interrupted survey (Ctrl-C or SIGKILL) keeps everything finished before the interruption.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.objectives.grid import Grid

AXIS_NAMES = ("a", "b")


@dataclass
class Surface(Grid):
    """Loss (and accuracy) on a 1-D or 2-D grid of slice coordinates: a :class:`~losslab.objectives.grid.Grid`
    with a mask of what is computed and how it was made.

    Attributes:
        axis_names: ``("a",)`` or ``("a", "b")``.
        coordinates: one 1-D tensor per axis.
        values: ``"loss"`` and, for classifiers, ``"accuracy"``; shape = grid shape, NaN where
            not computed; ``values[k][i, j]`` is at ``(a_i, b_j)``.
        computed: boolean mask of the grid points evaluated so far.
        provenance: how the surface was made (see the module docstring).
        center, directions: the slice, ``θ(a, b) = center + a·d1 + b·d2``.
    """

    computed: Tensor
    provenance: dict[str, Any] = field(default_factory=dict)
    center: Tensor | None = None
    directions: Tensor | None = None

    @property
    def complete(self) -> bool:
        return bool(self.computed.all())

    def minimum(self) -> tuple[float, tuple[float, ...]]:
        """The smallest computed loss and its coordinates."""
        loss = torch.where(self.computed, self.values["loss"], torch.inf)
        flat = int(torch.argmin(loss))
        index = np.unravel_index(flat, self.shape)
        return float(loss.reshape(-1)[flat]), tuple(float(c[i]) for c, i in zip(self.coordinates, index, strict=True))

    def center_value(self) -> float | None:
        """The loss at coordinates 0, when 0 is a grid point."""
        index = []
        for c in self.coordinates:
            hits = (c == 0).nonzero()
            if len(hits) == 0:
                return None
            index.append(int(hits[0]))
        return float(self.values["loss"][tuple(index)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "axis_names": list(self.axis_names),
            "coordinates": [c.tolist() for c in self.coordinates],
            "values": {k: v.tolist() for k, v in self.values.items()},
            "computed": self.computed.tolist(),
            "provenance": self.provenance,
        }

    def __str__(self) -> str:
        grid = "×".join(str(n) for n in self.shape)
        ranges = ", ".join(
            f"{n} ∈ [{float(c[0]):.4g}, {float(c[-1]):.4g}]"
            for n, c in zip(self.axis_names, self.coordinates, strict=True)
        )
        done = int(self.computed.sum())
        lines = [f"Surface {grid} over {ranges}: {done} of {self.computed.numel()} points computed"]
        if done:
            best, where = self.minimum()
            lines.append(f"  min loss {best:.6g} at ({', '.join(f'{w:.4g}' for w in where)})")
            center = self.center_value()
            if center is not None:
                lines.append(f"  loss at the center {center:.6g}")
            if "accuracy" in self.values:
                acc = self.values["accuracy"][self.computed]
                lines.append(f"  accuracy {float(acc.min()):.3f} … {float(acc.max()):.3f}")
        p = self.provenance
        if p:
            seed = "" if p.get("seed", -1) == -1 else f", seed {p.get('seed')}"
            if p.get("explained_variance_ratio"):
                seed += ", explained variance " + ", ".join(f"{r:.1%}" for r in p["explained_variance_ratio"])
            if p.get("eigenvalues"):
                seed += ", eigenvalues " + ", ".join(f"{e:.4g}" for e in p["eigenvalues"])
            lines.append(
                f"  directions {p.get('directions')} (normalization {p.get('normalization')}{seed}),"
                f" BatchNorm {p.get('batchnorm')}, {p.get('data_size')} samples,"
                f" model sha256 {str(p.get('model_sha256'))[:12]}"
            )
        return "\n".join(lines)

    def save(self, path: str | Path) -> Path:
        """Write the whole surface to an HDF5 file (overwriting it)."""
        path = Path(path)
        with open_for_writing(path, "w") as file:
            create_file(file, self)
            write_points(file, self, slice(None))
        return path


def writable(path: str | Path) -> Path:
    """``path`` as a Path if a surface file can be written there, else a LosslabError saying why.

    >>> writable("/no/such/s.h5")
    Traceback (most recent call last):
    losslab.errors.LosslabError: cannot write a surface to '/no/such/s.h5': folder '/no/such' does not exist
    """
    target = Path(path)
    if target.is_dir():
        raise LosslabError(f"cannot write a surface to '{target}': it is a folder; give a file name such as surface.h5")
    if not target.parent.exists():
        raise LosslabError(f"cannot write a surface to '{target}': folder '{target.parent}' does not exist")
    return target


def open_for_writing(path: str | Path, mode: str) -> h5py.File:
    """The HDF5 file at ``path`` opened with ``mode`` ("w" or "a"); what the system refuses
    (permissions, a full disk, a file another process holds) as a LosslabError."""
    target = writable(path)
    try:
        return h5py.File(target, mode)
    except OSError as exc:
        raise LosslabError(f"cannot write a surface to '{target}': {exc}") from None


def create_file(file: h5py.File, surface: Surface) -> None:
    """Lay out an empty surface in an open HDF5 file: axes as dimension scales, values, mask, provenance."""
    scales = []
    for name, coords in zip(surface.axis_names, surface.coordinates, strict=True):
        scale = file.create_dataset(name, data=coords.to(torch.float64).numpy())
        scale.make_scale(name)
        scales.append(scale)
    for key in (*surface.values, "computed"):
        dtype = np.uint8 if key == "computed" else np.float64
        fill = 0 if key == "computed" else np.nan
        data = file.create_dataset(key, shape=surface.shape, dtype=dtype, fillvalue=fill)
        for axis, scale in enumerate(scales):
            data.dims[axis].attach_scale(scale)
    if surface.center is not None and surface.directions is not None:
        file.create_dataset("center", data=surface.center.detach().cpu().numpy())
        file.create_dataset("directions", data=surface.directions.detach().cpu().numpy())
    write_provenance(file, surface.provenance)


def write_provenance(file: h5py.File, provenance: dict[str, Any]) -> None:
    """The provenance as attributes (lists and dicts as JSON) and as one JSON string, ``provenance_json``;
    attributes of an earlier run that this provenance lacks are removed."""
    for key in set(file.attrs) - set(provenance):
        del file.attrs[key]
    for key, value in provenance.items():
        file.attrs[key] = json.dumps(value) if isinstance(value, list | dict) else value
    file.attrs["provenance_json"] = json.dumps(provenance)


def write_points(file: h5py.File, surface: Surface, where: slice) -> None:
    """Write the values and mask of the flat grid indices ``where`` and flush the file."""
    for key, values in surface.values.items():
        _write_flat(file[key], values.reshape(-1)[where].to(torch.float64).numpy(), where, surface.shape)
    _write_flat(file["computed"], surface.computed.reshape(-1)[where].numpy().astype(np.uint8), where, surface.shape)
    file.flush()


def _write_flat(dataset: h5py.Dataset, data: np.ndarray, where: slice, shape: tuple[int, ...]) -> None:
    if len(shape) == 1:
        dataset[where] = data
        return
    if where == slice(None):
        dataset[...] = data.reshape(shape)
        return
    # a run of flat indices spans whole rows in the middle and partial rows at both ends
    start, stop = where.start, where.stop
    width = shape[1]
    index = start
    while index < stop:
        row, col = divmod(index, width)
        end = min(stop, (row + 1) * width)
        dataset[row, col : col + end - index] = data[index - start : end - start]
        index = end


def load_surface(path: str | Path) -> Surface:
    """Read a surface written by :meth:`Surface.save` or by an (interrupted) survey."""
    path = Path(path)
    if not path.exists():
        raise LosslabError(f"surface file {path} does not exist")
    try:
        file = h5py.File(path, "r")
    except OSError as exc:
        raise LosslabError(f"{path} is not a readable HDF5 surface file ({exc})") from None
    with file:
        axes = tuple(name for name in AXIS_NAMES if name in file)
        if "loss" not in file or not axes:
            raise LosslabError(f"{path} has no 'loss' dataset with axes a/b; was it written by losslab?")
        coordinates = tuple(torch.from_numpy(file[name][()]) for name in axes)
        values = {key: torch.from_numpy(file[key][()]) for key in ("loss", "accuracy") if key in file}
        computed = torch.from_numpy(file["computed"][()].astype(bool))
        provenance = json.loads(file.attrs.get("provenance_json", "{}"))
        center = torch.from_numpy(file["center"][()]) if "center" in file else None
        directions = torch.from_numpy(file["directions"][()]) if "directions" in file else None
    return Surface(axes, coordinates, values, computed, provenance, center, directions)
