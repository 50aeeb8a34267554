"""The Surface: values of a loss on a grid of slice coordinates, and its HDF5 file.

File layout (plain h5py; xarray reads it through h5netcdf because the axes are HDF5
dimension scales)::

    /a, /b            coordinates (1-D, float64), dimension scales named "a", "b"
    /loss, /accuracy  values on the grid, float64, values[i, j] at (a_i, b_j); NaN where not computed
    /loss_stderr      for data streamed in batches, each loss's standard error over the batches
    /computed         uint8 mask, 1 where the value has been computed
    /center, /directions   θ at the origin and the (k, P) directions (for resuming and projecting)
    attrs             provenance: model_sha256, data_sha256, values, directions kind, normalization, BatchNorm
                      policy, seed, data size, dtype, method, losslab version (also as one JSON string,
                      ``provenance_json``, and its sha256, ``provenance_sha256``)

Every array is allocated and written when the file is laid out, so a finished chunk changes
only the bytes of its values and then of its mask (flushed in that order): an interrupted survey
(Ctrl-C or SIGKILL) keeps everything finished before the interruption, and a value is marked
computed only once it is on disk.

Reading checks what can be checked (:func:`load_surface`): the shapes and types of the datasets,
the mask, the provenance's checksum, the coordinates against the grid and ranges it records and
the center and directions against their sha256. A damaged file is refused in one line naming it;
values themselves carry no checksum (a flipped bit in a loss value cannot be seen). (Just over 400
lines: writing the file and the checks that reading it makes belong together.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch import Tensor

from losslab.errors import LosslabError, first_line, unwritable_folder

try:
    import fcntl
except ImportError:  # not POSIX: a file another process writes is not detected
    fcntl = None  # type: ignore[assignment]
from losslab.landscape.directions import tensor_sha256
from losslab.landscape.limits import MAX_POINTS, free_memory, grid_axis
from losslab.objectives.grid import Grid

AXIS_NAMES = ("a", "b", "c")  # "c": the third axis of a volume (losslab.landscape.volume)
VALUE_NAMES = ("loss", "accuracy", "loss_stderr")  # loss_stderr: over streamed batches (landscape.sampling)


@dataclass
class Surface(Grid):
    """Loss (and accuracy) on a 1-D or 2-D grid of slice coordinates: a :class:`~losslab.objectives.grid.Grid`
    with a mask of what is computed and how it was made.

    Attributes:
        axis_names: ``("a",)``, ``("a", "b")`` or, for a volume, ``("a", "b", "c")``.
        coordinates: one 1-D tensor per axis.
        values: ``"loss"``, for classifiers ``"accuracy"``, for streamed data ``"loss_stderr"``; shape =
            grid shape, NaN where not computed; ``values[k][i, j]`` is at ``(a_i, b_j)``.
        computed: boolean mask of the grid points evaluated so far.
        provenance: how the surface was made (see the module docstring).
        center, directions: the slice, ``θ(a, b) = center + a·d1 + b·d2``.
        notes: what the user should know about how this run went (a resumed file that predates
            data fingerprints, a file replaced with ``force``); not stored in the file.
    """

    computed: Tensor
    provenance: dict[str, Any] = field(default_factory=dict)
    center: Tensor | None = None
    directions: Tensor | None = None
    notes: list[str] = field(default_factory=list, compare=False)

    @property
    def complete(self) -> bool:
        return bool(self.computed.all())

    def minimum(self) -> tuple[float, tuple[float, ...]]:
        """The smallest computed loss (NaN where no loss is a number) and its coordinates."""
        usable = self.computed & ~torch.isnan(self.values["loss"])
        loss = torch.where(usable if bool(usable.any()) else self.computed, self.values["loss"], torch.inf)
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
            if "loss_stderr" in self.values:
                error = self.values["loss_stderr"][self.computed]
                lines.append(f"  sampling error of the loss (over batches) up to {float(error.max()):.3g}")
        p = self.provenance
        if p:
            seed = "" if p.get("seed", -1) == -1 else f", seed {p.get('seed')}"
            if p.get("explained_variance_ratio"):
                seed += ", explained variance " + ", ".join(f"{r:.1%}" for r in p["explained_variance_ratio"])
            if p.get("eigenvalues"):
                seed += ", eigenvalues " + ", ".join(f"{e:.4g}" for e in p["eigenvalues"])
            norms = "" if p.get("batchnorm_layers") == 0 else f" BatchNorm {p.get('batchnorm')},"  # none to speak of
            lines.append(
                f"  directions {p.get('directions')} (normalization {p.get('normalization')}{seed}),"
                f"{norms} {p.get('data_size')} samples,"
                f" model sha256 {str(p.get('model_sha256'))[:12]}"
            )
            if p.get("autocast"):
                lines.append(f"  evaluated under autocast {p['autocast']} (θ and the losses in {p.get('dtype')})")
        return "\n".join(lines)

    def save(self, path: str | Path) -> Path:
        """Write the whole surface to an HDF5 file (overwriting it)."""
        path = Path(path)
        with open_for_writing(path, "w") as file:
            create_file(file, self)
            write_points(file, self, slice(None))
        return path


def writable(path: str | Path) -> Path:
    """``path`` as a Path if a surface file can be written there (a symbolic link: the file it names),
    else a LosslabError saying why: it is a folder or not a regular file (``/dev/null``); its folder
    is missing, is a file, or cannot be written by this process (tried by creating and removing a
    file there: permissions, a read-only disk); or another process holds the file open for writing.

    >>> writable("/no/such/s.h5")
    Traceback (most recent call last):
    losslab.errors.LosslabError: cannot write a surface to '/no/such/s.h5': folder '/no/such' does not exist
    """
    target = Path(path)
    if target.is_dir():
        raise LosslabError(f"cannot write a surface to '{target}': it is a folder; give a file name such as surface.h5")
    if target.exists() and not target.is_file():
        raise LosslabError(f"cannot write a surface to '{target}': it is not a regular file (a device, a pipe…)")
    target = target.resolve() if target.is_symlink() else target  # the file it names is written, the link kept
    reason = unwritable_folder(target.parent)
    if reason is not None:
        raise LosslabError(f"cannot write a surface to '{target}': {reason}")
    if held_open(target):
        raise LosslabError(f"cannot write a surface to '{target}': another process has it open for writing")
    return target


def held_open(path: Path) -> bool:
    """Whether a process holds ``path`` open for writing: HDF5 takes an exclusive ``flock`` on a file it writes."""
    if fcntl is None:
        return False
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(handle)  # and with it the shared lock
    return False


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
    """The provenance as attributes (lists and dicts as JSON), as one JSON string, ``provenance_json``,
    and its sha256, ``provenance_sha256``; attributes of an earlier run that this provenance lacks are removed."""
    for key in set(file.attrs) - set(provenance):
        del file.attrs[key]
    for key, value in provenance.items():
        file.attrs[key] = json.dumps(value) if isinstance(value, list | dict) else value
    text = json.dumps(provenance)
    file.attrs["provenance_json"] = text
    file.attrs["provenance_sha256"] = _text_sha256(text)


def write_points(file: h5py.File, surface: Surface, where: slice) -> None:
    """Write the values of the flat grid indices ``where``, flush, then their mask, flush: a point is
    marked computed on disk only after its values are there."""
    for key, values in surface.values.items():
        _write_flat(file[key], values.reshape(-1)[where].to(torch.float64).numpy(), where, surface.shape)
    file.flush()
    _write_flat(file["computed"], surface.computed.reshape(-1)[where].numpy().astype(np.uint8), where, surface.shape)
    file.flush()


def _write_flat(dataset: h5py.Dataset, data: np.ndarray, where: slice, shape: tuple[int, ...]) -> None:
    if len(shape) == 1:
        dataset[where] = data
        return
    if where == slice(None):
        dataset[...] = data.reshape(shape)
        return
    # a run of flat indices spans whole rows (along the last axis) in the middle and partial rows at both ends;
    # a row's place on the other axes is its index unravelled (a plane: (i,), a volume: (i, j))
    start, stop = where.start, where.stop
    width = shape[-1]
    index = start
    while index < stop:
        row, col = divmod(index, width)
        end = min(stop, (row + 1) * width)
        place = tuple(int(k) for k in np.unravel_index(row, shape[:-1]))
        dataset[(*place, slice(col, col + end - index))] = data[index - start : end - start]
        index = end


def read_provenance(path: str | Path) -> dict[str, Any]:
    """The provenance of the surface file at ``path`` (its attributes only: cheap), checked against its
    sha256; a LosslabError naming the file when it is not a readable losslab surface."""
    path = Path(path)
    with _reading(path) as file:
        if "loss" not in file:
            raise LosslabError(f"{path} is not a losslab surface file (it has no 'loss' dataset)")
        return _provenance_of(file, path)


def load_surface(path: str | Path) -> Surface:
    """Read a surface written by :meth:`Surface.save` or by an (interrupted) survey.

    Raises:
        LosslabError: naming the file, when it is missing, not HDF5, not a surface, or damaged —
            a dataset missing or of the wrong type or shape, a mask other than 0/1, a provenance
            that fails its checksum, coordinates other than its grid and ranges, a center and
            directions other than their sha256 (see the module docstring).
    """
    path = Path(path)
    with _reading(path) as file:
        axes = tuple(name for name in AXIS_NAMES if name in file)
        if "loss" not in file or axes not in (("a",), ("a", "b"), ("a", "b", "c")):
            raise LosslabError(f"{path} has no 'loss' dataset with axes a/b; was it written by losslab?")
        coordinates = tuple(torch.from_numpy(_array(file, name, path, "f", ndim=1, width=8)) for name in axes)
        shape = tuple(len(c) for c in coordinates)
        values = {k: torch.from_numpy(_array(file, k, path, "f", shape, width=8)) for k in VALUE_NAMES if k in file}
        mask = _array(file, "computed", path, "ub", shape, width=1)
        if not np.isin(mask, (0, 1)).all():
            raise _damaged(path, "its 'computed' mask holds values other than 0 and 1")
        computed = torch.from_numpy(mask.astype(bool))
        for value in values.values():
            value[~computed] = torch.nan  # what is not computed is NaN, whatever the file holds there
        center, directions = _slice_of(file, path, len(axes))
        surface = Surface(axes, coordinates, values, computed, _provenance_of(file, path), center, directions)
        _check_against_provenance(surface, path)
    return surface


@contextlib.contextmanager
def _reading(path: Path) -> Any:
    """The HDF5 file at ``path`` open for reading; whatever h5py raises on a damaged file as one LosslabError."""
    if not path.exists():
        raise LosslabError(f"surface file {path} does not exist")
    if path.is_dir():
        raise LosslabError(f"surface file {path} is a folder; give an .h5 file written by 'losslab landscape'")
    try:
        file = h5py.File(path, "r")
    except OSError as exc:
        if held_open(path):
            raise LosslabError(f"{path} is being written by another process (a survey still running?)") from None
        raise LosslabError(f"{path} is not a readable HDF5 surface file ({first_line(exc)})") from None
    try:
        with file:
            yield file
    except LosslabError:
        raise
    except Exception as exc:  # a damaged file makes h5py raise OSError, KeyError, ValueError, TypeError, RuntimeError…
        raise _damaged(path, f"{type(exc).__name__}: {first_line(exc)}") from None


def _damaged(path: Path, reason: str) -> LosslabError:
    return LosslabError(f"{path} is damaged ({reason})")


def _array(file: h5py.File, name: str, path: Path, kinds: str, shape: tuple[int, ...] | None = None,
           ndim: int | None = None, width: int = 0) -> np.ndarray:  # fmt: skip
    """Dataset ``name`` as a native-order numpy array, once its type (a kind in ``kinds`` and, unless 0,
    ``width`` bytes), shape and size are as they must be."""
    item = file.get(name)
    if not isinstance(item, h5py.Dataset):
        raise _damaged(path, f"'{name}' is missing or not a dataset")
    if item.dtype.kind not in kinds or item.dtype.fields is not None or (width and item.dtype.itemsize != width):
        wanted = "a 0/1 mask of bytes" if "u" in kinds else "float64" if width else "floats"
        raise _damaged(path, f"'{name}' holds {item.dtype}, not {wanted}")
    if (shape is not None and item.shape != shape) or (ndim is not None and len(item.shape) != ndim):
        expected = shape if shape is not None else f"{ndim} axis"
        raise _damaged(path, f"'{name}' has shape {item.shape}, not {expected}")
    free = free_memory()
    if (ndim == 1 and item.size > MAX_POINTS) or (free is not None and item.size * item.dtype.itemsize > free // 2):
        raise _damaged(path, f"'{name}' claims {item.size} values, more than can be read")
    data = np.asarray(item[()])
    return data.astype(data.dtype.newbyteorder("="), copy=False) if "f" in kinds else data


def _provenance_of(file: h5py.File, path: Path) -> dict[str, Any]:
    text = file.attrs.get("provenance_json")
    if text is None:
        raise _damaged(path, "it has no provenance_json attribute")
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    stored_sha = file.attrs.get("provenance_sha256")  # files written before it was recorded have none
    if not isinstance(text, str) or (stored_sha is not None and stored_sha != _text_sha256(text)):
        raise _damaged(path, "its provenance does not match its sha256")
    provenance = json.loads(text)
    if not isinstance(provenance, dict):
        raise _damaged(path, "its provenance is not a JSON object")
    return provenance


def _slice_of(file: h5py.File, path: Path, k: int) -> tuple[Tensor | None, Tensor | None]:
    if "center" not in file and "directions" not in file:
        return None, None
    center = _array(file, "center", path, "f", ndim=1)
    directions = _array(file, "directions", path, "f", (k, len(center)))
    return torch.from_numpy(center), torch.from_numpy(directions)


def _check_against_provenance(surface: Surface, path: Path) -> None:
    """The values and coordinates are those the provenance records (its ``values``, ``grid`` and
    ``ranges``), the center and directions hash to its ``directions_sha256``, accuracies lie in [0, 1]."""
    p = surface.provenance
    if "values" in p and sorted(p["values"]) != sorted(surface.values):
        raise _damaged(path, f"it holds {', '.join(sorted(surface.values))}, but its provenance says {p['values']}")
    if "grid" in p and p["grid"] != list(surface.shape):
        raise _damaged(path, f"its arrays are {list(surface.shape)} but its provenance says grid {p['grid']}")
    if {"ranges", "dtype", "grid"} <= set(p):
        dtype = getattr(torch, str(p["dtype"]), None)
        ranges = p["ranges"]
        if not isinstance(dtype, torch.dtype) or not isinstance(ranges, list) or len(ranges) != len(surface.shape):
            raise _damaged(path, f"its provenance's dtype {p['dtype']!r} or ranges {ranges!r} cannot be read")
        for name, coords, n, pair in zip(surface.axis_names, surface.coordinates, surface.shape, ranges, strict=True):
            if not torch.equal(coords, grid_axis(float(pair[0]), float(pair[1]), n, dtype)):
                raise _damaged(path, f"its coordinates '{name}' are not the {n} points over {pair} it records")
    if "directions_sha256" in p and surface.center is not None and surface.directions is not None:
        if tensor_sha256(torch.cat([surface.center.reshape(1, -1), surface.directions])) != p["directions_sha256"]:
            raise _damaged(path, "its center and directions do not match their sha256")
    accuracy = surface.values.get("accuracy")
    if accuracy is not None and not bool(((accuracy >= 0) & (accuracy <= 1))[surface.computed].all()):
        raise _damaged(path, "it holds accuracies outside [0, 1]")


def _text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
