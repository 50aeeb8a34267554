"""Directions the user brings, and directions handed back in the user's form.

A direction can be a flat tensor over the model's unique parameters (in ``named_parameters``
order), a mapping shaped like the model's state dict (parameter name → tensor; buffers are ignored; a tied
parameter under either name, or both with equal values), a stack ``(k, P)``, or a ``.pt`` file holding any of
these (read with ``torch.load(weights_only=True)``). :func:`as_state_dicts` gives the
directions of any survey back as such mappings, so they round-trip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from losslab.errors import LosslabError, check_choice
from losslab.landscape.directions import BIAS_BN, NORMALIZATIONS, Directions, normalize_direction
from losslab.objectives.model_state import parameter_names
from losslab.objectives.network import NetworkObjective


def flat_direction(
    objective: NetworkObjective, direction: Tensor | Mapping[str, Tensor], what: str = "direction"
) -> Tensor:
    """One direction as a flat tensor over the objective's parameters (a flat tensor or a state-dict mapping)."""
    if isinstance(direction, Mapping):
        direction = _by_first_names(objective, direction, what)
        missing = [name for name in objective.shapes if name not in direction]
        if missing:
            raise LosslabError(f"{what} has no entry for parameter {missing[0]!r} (of {len(missing)} missing)")
        pieces = []
        for name, shape in objective.shapes.items():
            piece = torch.as_tensor(direction[name])
            if piece.shape != shape:
                raise LosslabError(f"{what}[{name!r}] has shape {tuple(piece.shape)}; the parameter has {tuple(shape)}")
            pieces.append(piece.reshape(-1))
        direction = torch.cat(pieces)
    direction = torch.as_tensor(direction)
    if direction.shape != (objective.dim,):
        raise LosslabError(
            f"{what} has shape {tuple(direction.shape)}; expected ({objective.dim},) or a state-dict mapping"
        )
    if not bool(torch.isfinite(direction).all()):
        raise LosslabError(f"{what} holds non-finite values")
    return direction.to(objective.center)


def _by_first_names(objective: NetworkObjective, direction: Mapping[str, Tensor], what: str) -> dict[str, Tensor]:
    """The mapping with each tied parameter under the name θ holds it by (GPT-2's ``lm_head.weight`` is the same
    tensor as ``transformer.wte.weight``, named so first). A state dict has both names: the second may be there,
    or alone, but not with values that differ from the first's."""
    first_names = parameter_names(objective.model)
    entries = dict(direction)
    for name, parameter in objective.model.named_parameters(remove_duplicate=False):
        first = first_names[id(parameter)]
        if name == first or name not in entries:
            continue
        if first not in entries:
            entries[first] = entries[name]
        elif not torch.equal(torch.as_tensor(entries[name]), torch.as_tensor(entries[first])):
            raise LosslabError(
                f"{what}[{name!r}] differs from {what}[{first!r}], but the model ties the two (one parameter): "
                "give them equal, or one of them"
            )
    return entries


def given_directions(
    objective: NetworkObjective,
    directions: Any,
    *,
    normalization: str = "none",
    bias_bn: str = "include",
) -> Directions:
    """The user's 1 or 2 directions through θ* (see the module docstring for the forms accepted).

    Args:
        objective: the network objective; its θ* is the center.
        directions: a tensor ``(P,)`` or ``(k, P)``, a state-dict mapping, a sequence of either, or a path
            to a ``.pt`` file holding one of these.
        normalization: ``none`` (as given, the default), ``filter`` or ``layer`` (as for random directions).
        bias_bn: with a normalization, ``include`` (default) or ``zero`` the 1-D parameters.

    >>> from torch import nn
    >>> L = NetworkObjective(nn.Linear(2, 1).double(), (torch.ones(3, 2).double(), torch.ones(3, 1).double()), "mse")
    >>> d = given_directions(L, {"weight": torch.ones(1, 2), "bias": torch.zeros(1)})
    >>> d.k, d.vectors.tolist(), as_state_dicts(L, d)[0]["weight"].tolist()
    (1, [[1.0, 1.0, 0.0]], [[1.0, 1.0]])
    """
    check_choice("normalization", normalization, NORMALIZATIONS)
    check_choice("bias_bn", bias_bn, BIAS_BN)
    if isinstance(directions, str | Path):
        directions = _load(Path(directions))
    if isinstance(directions, Tensor) and directions.dim() == 2:
        directions = list(directions)
    if isinstance(directions, Tensor | Mapping):
        directions = [directions]
    if not isinstance(directions, Sequence) or len(directions) not in (1, 2):
        raise LosslabError("give 1 direction (a line) or 2 (a plane): tensors (P,) or (k, P), or state-dict mappings")
    flats = [flat_direction(objective, d, f"direction {i + 1}") for i, d in enumerate(directions)]
    if normalization != "none":
        flats = [normalize_direction(objective, d, normalization, bias_bn) for d in flats]
    return Directions(torch.stack(flats), objective.center.clone(), "given", normalization, bias_bn)


def as_state_dicts(objective: NetworkObjective, directions: Directions) -> list[dict[str, Tensor]]:
    """Each direction as a mapping parameter name → tensor shaped like the parameter (what
    :func:`given_directions` takes back)."""
    return [{name: view.clone() for name, view in objective.unflatten(v).items()} for v in directions.vectors]


def filter_normalized(
    objective: NetworkObjective, direction: Tensor | Mapping[str, Tensor], *, bias_bn: str = "zero"
) -> Any:
    """Li et al.'s filter normalization of a raw direction, in the form it came (flat tensor or mapping):
    each filter rescaled to the norm of θ*'s filter; 1-D parameters zeroed (``bias_bn="zero"``) or
    rescaled as one filter each (``"include"``)."""
    flat = normalize_direction(objective, flat_direction(objective, direction), "filter", bias_bn)
    if isinstance(direction, Mapping):
        return {name: view.clone() for name, view in objective.unflatten(flat).items()}
    return flat


def _load(path: Path) -> Any:
    if not path.is_file():
        raise LosslabError(f"directions file {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a file that is not a safe checkpoint
        raise LosslabError(f"{path} is not a weights-only torch file of directions ({type(exc).__name__})") from None
