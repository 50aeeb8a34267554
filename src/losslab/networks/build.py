"""The one builder of a network objective: a demo, or a user's model with its weights and data.

Every face that takes a network (``losslab landscape``, ``losslab hessian``, ``losslab plot
boundary``, the explorer's bowl-vs-mountains view) calls :func:`network_objective`, so the rules
are the same everywhere:

- ``demo`` or ``model``, not both; neither means the demo ``mlp``;
- a demo brings its own data, loss and trained weights (``trained=False``: its initialisation);
  ``data`` evaluates the demo's network on another data set of the same shape (``moons`` for
  ``moons-mlp``); ``loss="mse"`` on a demo's class labels compares the outputs with one-hot targets;
- ``model`` (``pkg.module:factory`` or ``path/to/file.py:factory``, called with ``model_args``) needs
  ``data``; ``weights`` goes with ``model`` only;
- ``model="transformers:gpt2-tiny"`` (or ``llama-tiny``) builds a HuggingFace causal LM from a small
  config, trained on its own token data (:mod:`losslab.networks.language`); ``data`` replaces that data;
- ``loss`` is a name (``cross_entropy``, ``mse``, ``bce_with_logits``, ``model``) or an import path
  (``pkg.module:function``, :func:`~losslab.networks.loading.load_loss`);
- the model is cast to ``dtype`` and put in eval mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from losslab.errors import LosslabError, check_choice
from losslab.networks.demos import DEMOS, demo
from losslab.networks.language import LANGUAGE_MODELS, language_demo
from losslab.networks.loading import NO_ARGUMENTS, Arguments, load_data, load_loss, load_model, load_weights
from losslab.objectives.model_io import MODEL_LOSS, NAMED_LOSSES
from losslab.objectives.network import NetworkObjective

DEFAULT_DEMO = "mlp"
TRANSFORMERS = "transformers:"  # --model transformers:NAME: a language demo


@dataclass
class BuiltNetwork:
    """A network objective and, for a trained demo, the flat parameter vectors its training passed
    through (a trajectory for PCA directions; empty for a user's model)."""

    objective: NetworkObjective
    checkpoints: list[Tensor] = field(default_factory=list)


def network_objective(
    *,
    demo_name: str | None = None,
    model: str | None = None,
    weights: str | Path | None = None,
    data: str | None = None,
    loss: str | None = None,
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
    steps: int | None = None,
    trained: bool = True,
    device: str | torch.device | None = None,
    batchnorm: str = "frozen",
    model_args: Arguments = NO_ARGUMENTS,
    data_args: Arguments = NO_ARGUMENTS,
    parameters: str = "all",
) -> BuiltNetwork:
    """The network objective of a demo (default ``mlp``) or of ``model`` on ``data`` (rules: the module docstring).

    Args:
        demo_name: ``mlp``, ``cnn`` or ``moons-mlp`` (trained on the spot with ``seed`` and ``steps``).
        model: ``"package.module:factory"`` or ``"path/to/file.py:factory"``, called with ``model_args``
            (positional, keyword), or ``"transformers:gpt2-tiny"`` / ``"transformers:llama-tiny"``.
        weights: a state dict for ``model`` (read with ``torch.load(weights_only=True)``).
        data: ``digits``, ``moons``, a ``.pt`` file or a factory called with ``data_args``
            (:func:`~losslab.networks.loading.load_data`).
        loss: a loss name or import path (default: the demo's own; for a model ``model`` when the
            inputs hold ``labels``, else ``cross_entropy``).
        seed, steps, trained: how the demo is initialised and trained.
        dtype, device, batchnorm, parameters: as for :class:`~losslab.objectives.network.NetworkObjective`.

    >>> built = network_objective(demo_name="moons-mlp", steps=5)
    >>> built.objective.title, built.objective.dim, len(built.checkpoints)
    ('moons-mlp on moons', 354, 2)
    >>> network_objective(model="losslab.networks.demos:cnn")
    Traceback (most recent call last):
    losslab.errors.LosslabError: --model needs --data: digits, moons, a .pt file or pkg.module:factory
    """
    if demo_name is not None and model is not None:
        raise LosslabError("give either --demo or --model, not both")
    loss_fn = _loss(loss)
    if model is None:
        if weights is not None:
            raise LosslabError("--weights goes with --model; the built-in --demo brings its own trained weights")
        name = check_choice("--demo", demo_name or DEFAULT_DEMO, DEMOS)
        built = demo(name, seed=seed, dtype=dtype, steps=steps, trained=trained)
        inputs, targets = load_data(data, dtype) if data is not None else (built.inputs, built.targets)
        if loss == "mse" and not targets.is_floating_point():
            targets = torch.nn.functional.one_hot(targets, int(targets.max()) + 1).to(inputs.dtype)
        title = f"{name} on {data or ('moons' if name == 'moons-mlp' else 'digits')}"
        objective = NetworkObjective(
            built.model, (inputs, targets), loss_fn or built.loss, device=device, batchnorm=batchnorm, title=title,
            parameters=parameters,
        )  # fmt: skip
        return BuiltNetwork(objective, list(built.checkpoints))
    if model.startswith(TRANSFORMERS):
        return _language(model, weights, data, loss_fn, dtype, seed, steps, trained, device, data_args, parameters)
    network = load_model(model, weights, model_args).to(dtype).eval()  # a malformed spec is named before missing data
    if data is None:
        raise LosslabError("--model needs --data: digits, moons, a .pt file or pkg.module:factory")
    objective = NetworkObjective(
        network, load_data(data, dtype, data_args), loss_fn, device=device, batchnorm=batchnorm,
        title=f"{model} on {data}", parameters=parameters,
    )  # fmt: skip
    return BuiltNetwork(objective)


def _loss(loss: str | None) -> Any:
    """``--loss`` as the objective takes it: a name, or the function an import path names."""
    if loss is None or loss in (*NAMED_LOSSES, MODEL_LOSS):
        return loss
    if ":" in loss:
        return load_loss(loss)
    raise LosslabError(
        f"--loss {loss!r} is not one of {', '.join((*NAMED_LOSSES, MODEL_LOSS))}, or an import path pkg.module:function"
    )


def _language(
    model: str, weights: str | Path | None, data: str | None, loss: Any, dtype: torch.dtype, seed: int,
    steps: int | None, trained: bool, device: str | torch.device | None, data_args: Arguments, parameters: str,
) -> BuiltNetwork:  # fmt: skip
    """A language demo (``transformers:NAME``) on its own token data or on ``data``."""
    name = model.removeprefix(TRANSFORMERS)
    check_choice("--model transformers:NAME", name, LANGUAGE_MODELS)
    network, tokens, checkpoints = language_demo(name, seed=seed, dtype=dtype, trained=trained, steps=steps)
    if weights is not None:
        load_weights(network, weights, model)
        checkpoints = []
    held = load_data(data, dtype, data_args) if data is not None else tokens
    title = f"{name} on {data or 'counting tokens'}"
    objective = NetworkObjective(network, held, loss, device=device, title=title, parameters=parameters)
    return BuiltNetwork(objective, checkpoints)
