"""Where a survey writes: never over a file that is not the same survey unless forced, and never so
that a kill loses what the file held.

A survey is written to a temporary file beside ``out`` (``.NAME.losslab-HOST-PID-XXXXXXXX.tmp``),
laid out in full and flushed, and renamed over ``out`` (``os.replace``, atomic) once its first
chunk is on disk — or at a normal end when there was nothing to compute. Killed before that,
``out`` is as it was (the next survey of the same ``out`` removes the orphaned temporary file);
killed after, ``out`` is the new survey with every finished chunk, resumable. After the rename a
chunk changes only the bytes of its values and then of its mask (:mod:`losslab.landscape.surface`);
a provenance that changes at the end (a distributed run's ``chunks_per_rank``) is written to a
copy that is renamed over ``out`` in turn.

An existing ``out`` (checked by :func:`check_target` before any work, and against the planned
survey by :func:`first_difference`):

- a file that is not a readable surface is left alone, unless ``force``;
- a file of another survey (model, data, directions, method, BatchNorm policy, data size, dtype,
  grid or ranges differ) is left alone, with or without ``resume``, unless ``force``;
- the same survey is continued with ``resume``, and computed afresh without it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

import h5py

from losslab.errors import LosslabError
from losslab.landscape.surface import Surface, create_file, read_provenance, writable, write_points, write_provenance

# what makes two surveys the same survey (their provenance must agree on each)
CHECKED = (
    "model_sha256", "data_sha256", "directions_sha256", "method", "batchnorm", "data_size", "dtype", "autocast", "grid",
    "ranges",
)  # fmt: skip
# keys that files written before they were recorded lack: such a file still resumes, with a note
NEW_KEYS = ("data_sha256",)
TEMP_SUFFIX = ".tmp"


def check_target(out: str | Path, *, force: bool = False) -> Path:
    """``out`` as a Path when a survey may be written there: its folder can be written, and an
    existing file is a readable survey (which one is checked once the survey is planned) or
    ``force`` is given; else one LosslabError line. Cheap: run it before building a model.

    >>> check_target("/no/such/s.h5")
    Traceback (most recent call last):
    losslab.errors.LosslabError: cannot write a surface to '/no/such/s.h5': folder '/no/such' does not exist
    """
    target = writable(out)
    if target.exists() and not force:
        try:
            read_provenance(target)
        except LosslabError as exc:
            raise LosslabError(f"{exc}; it is left as it is: --force replaces it, or choose another --out") from None
    return target


def first_difference(stored: dict[str, Any], planned: dict[str, Any], tolerate: tuple[str, ...] = ()) -> str | None:
    """How a stored survey's provenance differs from a planned one (the first of :data:`CHECKED`), or None.
    Keys in ``tolerate`` may be missing from ``stored``.

    >>> first_difference({"grid": [5, 5]}, {"grid": [7, 7]}, tolerate=CHECKED)
    "its grid is [5, 5], this survey's [7, 7]"
    """
    for key in CHECKED:
        if key in tolerate and key not in stored:
            continue
        if stored.get(key) != planned.get(key):
            return f"its {key} is {_shown(stored.get(key))}, this survey's {_shown(planned.get(key))}"
    return None


def _shown(value: Any) -> str:
    if isinstance(value, str) and len(value) == 64:  # a sha256
        return value[:12] + "…"
    return "missing" if value is None else str(value)


class SurveyTarget:
    """The temporary file a survey writes, renamed over ``out`` once its first chunk is on disk.

    Made with the surface to lay out (empty, or a resumed survey's values and mask); :meth:`write`
    writes a chunk; :meth:`close` ends it — at a normal end (``provenance`` given) the file is
    placed at ``out`` with that provenance, at an abnormal one (None) an unplaced file is removed.
    """

    def __init__(self, out: Path, surface: Surface) -> None:
        self.out = out
        self.placed = False
        self.provenance = dict(surface.provenance)
        remove_orphans(out)
        self.temp = _temporary_beside(out)
        try:
            self.file = h5py.File(self.temp, "w")
            try:
                create_file(self.file, surface)
                write_points(self.file, surface, slice(None))
            except BaseException:
                self.file.close()
                raise
        except BaseException as exc:
            self.temp.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise LosslabError(f"cannot write a surface to '{out}': {exc}") from None
            raise

    def write(self, surface: Surface, where: slice) -> None:
        """Write the chunk ``where`` (values, then mask) and, after the first, put the file at ``out``."""
        write_points(self.file, surface, where)
        if not self.placed:
            self._place()

    def close(self, provenance: dict[str, Any] | None) -> None:
        """Close the file: at a normal end (``provenance``) it is at ``out`` with this provenance;
        at an abnormal end (None) a file never placed is removed and ``out`` is as it was."""
        try:
            if provenance is not None and not self.placed:
                if provenance != self.provenance:
                    write_provenance(self.file, provenance)
                    self.provenance = dict(provenance)
                self.file.flush()
                self._place()
        finally:
            self.file.close()
            if not self.placed:
                self.temp.unlink(missing_ok=True)
        if provenance is not None and provenance != self.provenance:
            _replace_provenance(self.out, provenance)

    def _place(self) -> None:
        with contextlib.suppress(AttributeError, OSError, TypeError, ValueError):  # a driver without a file handle
            os.fsync(self.file.id.get_vfd_handle())
        os.replace(self.temp, self.out)
        self.placed = True


def remove_orphans(out: Path) -> None:
    """Remove the temporary files of surveys of ``out`` on this machine whose process is gone (killed)."""
    prefix = f".{out.name}.losslab-{socket.gethostname()}-"
    for path in out.parent.glob(f"{prefix}*{TEMP_SUFFIX}"):
        pid = path.name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _temporary_beside(out: Path) -> Path:
    """A new empty file in ``out``'s folder, readable like a file the user would create there."""
    prefix = f".{out.name}.losslab-{socket.gethostname()}-{os.getpid()}-"
    try:
        handle, name = tempfile.mkstemp(dir=out.parent, prefix=prefix, suffix=TEMP_SUFFIX)
    except OSError as exc:
        raise LosslabError(f"cannot write a surface to '{out}': {exc.strerror or exc}") from None
    os.close(handle)
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(name, 0o666 & ~mask)
    return Path(name)


def _replace_provenance(out: Path, provenance: dict[str, Any]) -> None:
    """Write a new provenance into a copy of ``out`` and rename the copy over it."""
    copy = _temporary_beside(out)
    try:
        shutil.copyfile(out, copy)
        with h5py.File(copy, "a") as file:
            write_provenance(file, provenance)
        os.replace(copy, out)
    finally:
        copy.unlink(missing_ok=True)
