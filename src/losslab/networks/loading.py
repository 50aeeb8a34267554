"""Where a user's network, loss and data come from: ``pkg.module:factory`` or ``path/to/file.py:factory``,
factory arguments, a weights file, a data spec.

Shared by ``losslab landscape`` and ``losslab hessian``. Files are read with
``torch.load(weights_only=True)``, which refuses anything but tensors and plain containers, so a
checkpoint cannot run code. A factory is called only when it is a class derived from
``torch.nn.Module`` or a Python function (or ``functools.partial``), and only when the arguments
given (``--model-args "width=16, blocks=(1, 1)"``, Python literals) bind to its signature:
``os:system`` or ``torch.nn:Linear`` without arguments is refused before anything is called, and
what the call raises or returns other than what was asked for is one line. A file path imports
that file (it runs, as ``import`` would run a module: point it only at your own code). A factory runs with
torch's global generator seeded (:data:`FACTORY_SEED`), so a randomly initialised model or random data is the
same every run.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from losslab.errors import LosslabError, first_line, not_one_of
from losslab.objectives.model_state import aligned_state, unwrapped

DATA_SETS = ("digits", "moons")
Arguments = tuple[tuple[Any, ...], dict[str, Any]]
NO_ARGUMENTS: Arguments = ((), {})
FACTORY_SEED = 0  # torch's global generator during a factory's call (see ``called``)


def parse_arguments(text: str | None, what: str = "--model-args") -> Arguments:
    """Python-literal call arguments: ``"16, blocks=(1, 1), name='a'"`` → ``((16,), {"blocks": (1, 1), "name": "a"})``.

    >>> parse_arguments("16, blocks=(1, 1), name='a'")
    ((16,), {'blocks': (1, 1), 'name': 'a'})
    >>> parse_arguments("width=os.system")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    losslab.errors.LosslabError: --model-args 'width=os.system': values must be Python literals (numbers, ...
    """
    if not text:
        return NO_ARGUMENTS
    try:
        call = ast.parse(f"f({text})", mode="eval").body
    except SyntaxError:
        raise LosslabError(f"{what} {text!r} is not of the form 'width=16, blocks=(1, 1)'") from None
    if not isinstance(call, ast.Call) or any(k.arg is None for k in call.keywords):
        raise LosslabError(f"{what} {text!r} is not of the form 'width=16, blocks=(1, 1)'")
    try:
        args = tuple(ast.literal_eval(a) for a in call.args)
        kwargs = {str(k.arg): ast.literal_eval(k.value) for k in call.keywords}
    except (ValueError, TypeError, SyntaxError):
        raise LosslabError(
            f"{what} {text!r}: values must be Python literals (numbers, strings, tuples, lists, dicts, True/False/None)"
        ) from None
    return args, kwargs


def _import(spec: str, module_name: str, what: str) -> Any:
    """The module ``package.module``, or the file ``path/to/file.py`` imported under a name of its own."""
    if not module_name.endswith(".py"):
        return importlib.import_module(module_name)
    path = Path(module_name)
    if not path.is_file():
        raise LosslabError(f"{what} {spec!r} cannot be loaded: file {module_name} does not exist")
    name = "losslab_user_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise LosslabError(f"{what} {spec!r} cannot be loaded: {module_name} is not a Python file")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        loader_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_factory(spec: str, arguments: Arguments = NO_ARGUMENTS, what: str = "--model") -> Any:
    """The factory named by ``"package.module:factory"`` or ``"path/to/file.py:factory"``: a
    ``torch.nn.Module`` class or a Python function that takes ``arguments`` (checked, not called).

    >>> load_factory("os:system")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    losslab.errors.LosslabError: --model 'os:system' is a builtin_function_or_method, not a torch.nn.Module class ...
    >>> load_factory("torch.nn:Linear")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    losslab.errors.LosslabError: --model 'torch.nn:Linear' needs arguments (in_features, out_features); give them ...
    """
    factory = load_attribute(spec, what)
    builds = isinstance(factory, type) and issubclass(factory, nn.Module)
    if not (builds or inspect.isfunction(factory) or isinstance(factory, functools.partial)):
        kind = f"the class {factory.__name__}" if isinstance(factory, type) else f"a {type(factory).__name__}"
        built = "a DataLoader or the data" if what == "--data" else "one"
        raise LosslabError(
            f"{what} {spec!r} is {kind}, not a torch.nn.Module class or a Python function that builds {built}"
        )
    _check_binds(spec, factory, arguments, what)
    return factory


def load_attribute(spec: str, what: str) -> Any:
    """What ``"package.module:name"`` or ``"path/to/file.py:name"`` names (imported, not called)."""
    module_name, _, attribute = spec.rpartition(":")
    if not module_name or not attribute:
        raise LosslabError(f"{what} {spec!r} must look like 'package.module:factory' or 'path/to/file.py:factory'")
    try:
        module = _import(spec, module_name, what)
    except LosslabError:
        raise
    except Exception as exc:  # importing runs the module: it may raise anything
        raise LosslabError(f"{what} {spec!r} cannot be loaded: cannot import it ({first_line(exc)})") from None
    if not hasattr(module, attribute):
        raise LosslabError(f"{what} {spec!r} cannot be loaded: cannot import it (no {attribute!r} in {module_name})")
    return getattr(module, attribute)


def _check_binds(spec: str, factory: Any, arguments: Arguments, what: str) -> None:
    try:
        signature = inspect.signature(factory)
    except ValueError:  # no signature to read
        raise LosslabError(f"{what} {spec!r} has no signature to check; give a Python function or class") from None
    try:
        signature.bind(*arguments[0], **arguments[1])
    except TypeError as exc:
        if arguments != NO_ARGUMENTS:
            raise LosslabError(f"{what} {spec!r} does not take these arguments: {first_line(exc)}") from None
        required = [
            name for name, p in signature.parameters.items()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]  # fmt: skip
        raise LosslabError(
            f"{what} {spec!r} needs arguments ({', '.join(required)}); give them with {what}-args "
            "(e.g. 'width=16') or give a factory that needs none"
        ) from None


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


def called(factory: Any, arguments: Arguments, spec: str, what: str) -> Any:
    """``factory(*args, **kwargs)`` with torch's global generator seeded with :data:`FACTORY_SEED` for the call
    (and put back after): a factory that initialises weights or draws data at random builds the same every run,
    so a survey repeats and its model fingerprint holds. Whatever the user's code raises is one line."""
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(FACTORY_SEED)
            return factory(*arguments[0], **arguments[1])
    except Exception as exc:  # the user's code
        raise LosslabError(f"{what} {spec!r} failed when called: {type(exc).__name__}: {first_line(exc)}") from None


def load_model(spec: str, weights: str | Path | None = None, arguments: Arguments = NO_ARGUMENTS) -> nn.Module:
    """Call the factory (with ``arguments``) and load ``weights`` into the module it returns."""
    network = called(load_factory(spec, arguments), arguments, spec, "--model")
    if not isinstance(network, nn.Module):
        raise LosslabError(f"--model {spec!r} returned {type(network).__name__}, not a torch.nn.Module")
    if weights is not None:
        load_weights(network, weights, spec)
    return network


def load_weights(network: nn.Module, weights: str | Path, spec: str) -> None:
    """Load the state dict in ``weights`` into ``network`` (built from ``spec``), or say in one line why not."""
    state = aligned_state(load_checkpoint(weights), unwrapped(network), f"--weights {str(weights)!r}")
    try:
        unwrapped(network).load_state_dict(state)
    except (RuntimeError, KeyError, TypeError, AttributeError) as exc:
        raise LosslabError(f"--weights {str(weights)!r} cannot be loaded into {spec}: {first_line(exc)}") from None


def load_loss(spec: str) -> Any:
    """A loss by import path: a function ``(outputs, targets) -> loss`` (``torch.nn.functional:huber_loss``, a
    function in your file) or a ``torch.nn.Module`` loss class built with no arguments (``torch.nn:L1Loss``).

    >>> load_loss("torch.nn:L1Loss")
    L1Loss()
    """
    loss = load_attribute(spec, "--loss")
    if isinstance(loss, type) and issubclass(loss, nn.Module):
        _check_binds(spec, loss, NO_ARGUMENTS, "--loss")
        return loss()
    if inspect.isfunction(loss) or isinstance(loss, functools.partial | nn.Module) or inspect.isbuiltin(loss):
        return loss
    raise LosslabError(f"--loss {spec!r} is a {type(loss).__name__}, not a function (outputs, targets) -> loss")


def load_data(spec: str, dtype: torch.dtype = torch.float32, arguments: Arguments = NO_ARGUMENTS) -> Any:
    """``digits``, ``moons``, a ``.pt`` file, or ``pkg.module:factory`` / ``file.py:factory`` called with
    ``arguments``.

    A file holds ``(inputs, targets)``, ``{"inputs": ..., "targets": ...}``, a dict of model inputs (a
    HuggingFace batch: ``input_ids``, ``attention_mask``, ``labels``, …) or a tensor of token ids; a
    factory returns any of these or a ``torch.utils.data.DataLoader`` (streamed, never held whole).

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
        return _data_of(load_checkpoint(spec), spec, dtype)
    elif ":" in spec:
        made = called(load_factory(spec, arguments, "--data"), arguments, spec, "--data")
        if isinstance(made, DataLoader):
            return made
        return _data_of(made, spec, dtype, f"returned a {type(made).__name__}, not a DataLoader,")
    else:
        raise LosslabError(f"{not_one_of('--data', spec, DATA_SETS)}, a .pt file or pkg.module:factory")


def _data_of(loaded: Any, spec: str, dtype: torch.dtype, verb: str = "must hold") -> Any:
    """What a data file or factory holds, as network data: a pair, a dict of model inputs, or token ids."""
    if isinstance(loaded, Mapping) and {"inputs", "targets"} == set(loaded):
        loaded = (loaded["inputs"], loaded["targets"])
    if isinstance(loaded, Mapping) and loaded and all(isinstance(v, Tensor) for v in loaded.values()):
        return {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in loaded.items()}
    if isinstance(loaded, Tensor) and not loaded.is_floating_point():
        return loaded
    if not (isinstance(loaded, tuple | list) and len(loaded) == 2 and isinstance(loaded[0], Tensor)):
        raise LosslabError(
            f"--data {spec!r} {verb} (inputs, targets), {{'inputs': ..., 'targets': ...}}, a dict of tensors "
            "(input_ids, attention_mask, labels, pixel_values, …) or a tensor of token ids"
        )
    inputs, targets = loaded
    return (inputs.to(dtype) if inputs.is_floating_point() else inputs), targets
