"""A connection's HDF5 file: the curve, the loss along it and along the line, and the state to resume from.

Layout (plain h5py)::

    /middle                  (bends, P) float64: the bends as trained so far
    /train_loss              (epochs done,) the mean mini-batch loss of each epoch
    /control_points          (bends + 2, P) float64: a, the bends, b, once training is over
    /t, /curve_loss, /line_loss, /curve_accuracy, /line_accuracy   once training is over
    /state/optimizer         the optimizer's state dict (torch.save bytes, read with weights_only=True)
    /state/generator         the generator's state (the t and mini-batches still to draw)
    attrs                    provenance (as for surfaces: one JSON string ``provenance_json`` and its
                             sha256) and ``epochs_done``, ``complete``

The file is written whole to a temporary file beside ``out`` after every epoch and renamed over it
(``os.replace``): a kill leaves the last finished epoch. An existing ``out`` is continued only with
``resume`` and only when it is the same training (end points, data, curve, bends, optimizer, batch size,
seed, points, dtype); anything else is refused unless ``force`` replaces it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from losslab.errors import LosslabError, first_line
from losslab.landscape.connection import Connection, TrainingState
from losslab.landscape.surface import writable

# what makes two trainings the same training
SAME = ("a_sha256", "b_sha256", "data_sha256", "curve", "bends", "optimizer", "batch_size", "seed", "points", "dtype")


def check_out(out: str | Path, *, resume: bool = False, force: bool = False) -> Path:
    """``out`` as a Path when a connection may be written there (cheap: run it before training anything).

    >>> check_out("/no/such/c.h5")
    Traceback (most recent call last):
    losslab.errors.LosslabError: cannot write a surface to '/no/such/c.h5': folder '/no/such' does not exist
    """
    target = writable(out)
    if target.exists() and not (resume or force):
        raise LosslabError(f"{target} exists; --resume continues the training in it, --force replaces it")
    return target


class ConnectionFile:
    """The file a connection is written to; ``stored`` is the state of a training being resumed."""

    def __init__(self, out: Path, provenance: dict[str, Any], stored: TrainingState | None, notes: list[str]):
        self.out, self.provenance, self.stored, self.notes = out, provenance, stored, notes

    @classmethod
    def open(cls, out: str | Path, provenance: dict[str, Any], resume: bool, force: bool) -> ConnectionFile:
        target = check_out(out, resume=resume, force=force)
        notes: list[str] = []
        if not target.exists():
            return cls(target, provenance, None, notes)
        try:
            stored_provenance, state = read_state(target)
            difference = _difference(stored_provenance, provenance)
        except LosslabError as exc:
            stored_provenance, state, difference = {}, None, str(exc)
        if difference is None and resume:
            return cls(target, provenance, state, notes)
        if not force:
            raise LosslabError(f"cannot resume {target}: {difference}; --force replaces it, or choose another --out")
        notes.append(f"{target} was replaced (--force)")
        return cls(target, provenance, None, notes)

    def checkpoint(self, state: TrainingState) -> None:
        """Write the state after an epoch."""
        self._write(state, None)

    def finish(self, state: TrainingState, result: Connection) -> None:
        """Write the finished training with its measurements."""
        self._write(state, result)

    def _write(self, state: TrainingState, result: Connection | None) -> None:
        handle, name = tempfile.mkstemp(dir=self.out.parent, prefix=f".{self.out.name}.", suffix=".tmp")
        os.close(handle)
        temp = Path(name)
        try:
            with h5py.File(temp, "w") as file:
                _fill(file, state, result, self.provenance)
            os.replace(temp, self.out)
        except OSError as exc:
            raise LosslabError(f"cannot write '{self.out}': {first_line(exc)}") from None
        finally:
            temp.unlink(missing_ok=True)


def _fill(file: h5py.File, state: TrainingState, result: Connection | None, provenance: dict[str, Any]) -> None:
    control = state.middle if result is None else result.control_points[1:-1]
    file.create_dataset("middle", data=control.detach().to("cpu", torch.float64).numpy())
    file.create_dataset("train_loss", data=np.asarray(state.train_loss, dtype=np.float64))
    file.create_dataset("state/optimizer", data=_bytes(state.optimizer_state))
    file.create_dataset("state/generator", data=state.generator.get_state().numpy())
    if result is not None:
        file.create_dataset("control_points", data=result.control_points.to("cpu", torch.float64).numpy())
        for key in ("t", "curve_loss", "line_loss", "curve_accuracy", "line_accuracy"):
            value = getattr(result, key)
            if value is not None:
                file.create_dataset(key, data=value.numpy())
    text = json.dumps(provenance)
    file.attrs["provenance_json"] = text
    file.attrs["provenance_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    file.attrs["epochs_done"] = len(state.train_loss)
    file.attrs["complete"] = result is not None


def _bytes(value: Any) -> np.ndarray:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return np.frombuffer(buffer.getvalue(), dtype=np.uint8)


def _difference(stored: dict[str, Any], planned: dict[str, Any]) -> str | None:
    if stored.get("kind") != "losslab connection":
        return "it is not a losslab connection file"
    for key in SAME:
        if stored.get(key) != planned.get(key):
            return f"its {key} is {stored.get(key)!r}, this training's {planned.get(key)!r}"
    return None


def read_state(path: str | Path) -> tuple[dict[str, Any], TrainingState]:
    """The provenance and the training state in a connection file; LosslabError naming it when it is not one."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as file:
            provenance = json.loads(file.attrs["provenance_json"])
            middle = torch.from_numpy(np.asarray(file["middle"][()]))
            train_loss = [float(v) for v in file["train_loss"][()]]
            optimizer = torch.load(io.BytesIO(file["state/optimizer"][()].tobytes()), weights_only=True)
            generator = torch.Generator()
            generator.set_state(torch.from_numpy(np.asarray(file["state/generator"][()])))
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise LosslabError(f"{path} is not a readable losslab connection file ({first_line(exc)})") from None
    dtype = getattr(torch, str(provenance.get("dtype")), torch.float64)
    return provenance, TrainingState(middle.to(dtype), generator, train_loss, optimizer)


def load_connection(path: str | Path) -> Connection:
    """A finished connection from its file (LosslabError naming it when it is not one, or not finished)."""
    path = Path(path)
    provenance, state = read_state(path)
    with h5py.File(path, "r") as file:
        if not file.attrs.get("complete", False):
            raise LosslabError(f"{path} holds an unfinished training ({len(state.train_loss)} epochs); resume it")
        arrays = {k: torch.from_numpy(np.asarray(file[k][()])) for k in file if k not in ("state", "middle")}
    dtype = getattr(torch, str(provenance.get("dtype")), torch.float64)
    return Connection(
        str(provenance["curve"]), arrays["control_points"].to(dtype), arrays["t"], arrays["curve_loss"],
        arrays["line_loss"], arrays.get("curve_accuracy"), arrays.get("line_accuracy"), state.train_loss, provenance,
    )  # fmt: skip
