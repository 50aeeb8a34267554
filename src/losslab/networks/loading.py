"""Where a user's network and data come from: ``pkg.module:factory``, a weights file, a data spec.

Shared by ``losslab landscape`` and ``losslab hessian``. Files are read with
``torch.load(weights_only=True)``, which refuses anything but tensors and plain containers, so a
checkpoint cannot run code.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from losslab.errors import LosslabError, first_line, not_one_of

DATA_SETS = ("digits", "moons")


def load_factory(spec: str) -> Any:
    """The callable named by ``"package.module:factory"``."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise LosslabError(f"--model {spec!r} must look like 'package.module:factory'")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise LosslabError(f"--model {spec!r} cannot be loaded: cannot import it ({exc})") from None


def load_checkpoint(path: str | Path) -> Any:
    """A weights-only torch file (state dict, tensors, or a tuple/dict of them)."""
    path = Path(path)
    if not path.exists():
        raise LosslabError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a file that is not a safe checkpoint
        reason = first_line(exc)[:160].rstrip(" .,")
        raise LosslabError(f"{path} is not a weights-only torch checkpoint ({type(exc).__name__}: {reason})") from None


def load_model(spec: str, weights: str | Path | None = None) -> nn.Module:
    """Call the factory (no arguments) and load ``weights`` into the module it returns."""
    network = load_factory(spec)()
    if not isinstance(network, nn.Module):
        raise LosslabError(f"--model {spec!r} returned {type(network).__name__}, not a torch.nn.Module")
    if weights is not None:
        state = load_checkpoint(weights)
        try:
            network.load_state_dict(state)
        except (RuntimeError, KeyError, TypeError, AttributeError) as exc:
            raise LosslabError(f"--weights {str(weights)!r} cannot be loaded into {spec}: {first_line(exc)}") from None
    return network


def load_data(spec: str, dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor]:
    """``digits``, ``moons``, or a ``.pt`` file holding ``(inputs, targets)`` or ``{"inputs", "targets"}``.

    >>> x, y = load_data("moons")
    >>> tuple(x.shape), y.dtype
    ((512, 2), torch.int64)
    """
    from losslab.networks import demos

    if spec == "digits":
        return demos.digits(dtype)
    elif spec == "moons":
        return demos.moons(dtype=dtype)
    elif spec.endswith(".pt"):
        loaded = load_checkpoint(spec)
        if isinstance(loaded, dict) and {"inputs", "targets"} <= set(loaded):
            loaded = (loaded["inputs"], loaded["targets"])
        if not (isinstance(loaded, tuple | list) and len(loaded) == 2):
            raise LosslabError(f"--data {spec!r} must hold (inputs, targets) or {{'inputs': ..., 'targets': ...}}")
        inputs, targets = loaded
        return (inputs.to(dtype) if inputs.is_floating_point() else inputs), targets
    else:
        raise LosslabError(f"{not_one_of('--data', spec, DATA_SETS)} or a .pt file")
