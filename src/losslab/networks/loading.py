"""Where a user's network and data come from: ``pkg.module:factory``, a weights file, a data spec.

Shared by ``losslab landscape`` and ``losslab hessian``. Files are read with
``torch.load(weights_only=True)``, which refuses anything but tensors and plain containers, so a
checkpoint cannot run code. A model factory is called only when it is a class derived from
``torch.nn.Module`` or a Python function (or ``functools.partial``), and only when it takes no
argument: ``os:system`` or ``torch.nn:Linear`` is refused before anything is called, and what
the call raises or returns other than a module is one line.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from losslab.errors import LosslabError, first_line, not_one_of

DATA_SETS = ("digits", "moons")


def load_factory(spec: str) -> Any:
    """The factory named by ``"package.module:factory"``: a ``torch.nn.Module`` class or a Python
    function that takes no argument (checked, not called).

    >>> load_factory("os:system")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    losslab.errors.LosslabError: --model 'os:system' is a builtin_function_or_method, not a torch.nn.Module class ...
    >>> load_factory("torch.nn:Linear")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    losslab.errors.LosslabError: --model 'torch.nn:Linear' needs arguments (in_features, out_features); give a ...
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise LosslabError(f"--model {spec!r} must look like 'package.module:factory'")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # importing runs the module: it may raise anything
        raise LosslabError(f"--model {spec!r} cannot be loaded: cannot import it ({first_line(exc)})") from None
    if not hasattr(module, attribute):
        raise LosslabError(f"--model {spec!r} cannot be loaded: cannot import it (no {attribute!r} in {module_name})")
    factory = getattr(module, attribute)
    builds = isinstance(factory, type) and issubclass(factory, nn.Module)
    if not (builds or inspect.isfunction(factory) or isinstance(factory, functools.partial)):
        kind = f"the class {factory.__name__}" if isinstance(factory, type) else f"a {type(factory).__name__}"
        raise LosslabError(
            f"--model {spec!r} is {kind}, not a torch.nn.Module class or a Python function that builds one"
        )
    try:
        inspect.signature(factory).bind()
    except TypeError:
        required = [
            name for name, p in inspect.signature(factory).parameters.items()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]  # fmt: skip
        raise LosslabError(
            f"--model {spec!r} needs arguments ({', '.join(required)}); give a factory that builds the model with none"
        ) from None
    except ValueError:  # no signature to read
        raise LosslabError(f"--model {spec!r} has no signature to check; give a Python function or class") from None
    return factory


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
    factory = load_factory(spec)
    try:
        network = factory()
    except Exception as exc:  # the user's code: whatever it raises is reported in one line
        raise LosslabError(f"--model {spec!r} failed when called: {type(exc).__name__}: {first_line(exc)}") from None
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
