"""θ* + a·d₁ + b·d₂ formed one module at a time, into a reused buffer, while the model runs.

Every module that owns parameters gets a forward pre-hook and a forward hook. Before the module
runs, its own parameters are formed as ``θ*_p + a·d₁_p + b·d₂_p`` — the directions regenerated
block by block (:class:`~losslab.landscape.regenerated.RegeneratedDirections`) — into a workspace
and put in the module's place of them; after it has run, θ*'s tensors are put back, untouched (the
model's own parameters are never written), and the workspace goes back to a pool for the next
module. So a grid point costs one workspace of the largest module's own parameters (one per
nesting level of modules that own parameters and hold others that do), never a second copy of the
model. The formed parameters carry no gradient (values only: a survey). A module that runs twice
(a tied ``lm_head``) forms its parameters each time. On leaving the context — also after an error
inside the model — every module has θ*'s tensors back.

Written by hand: ``torch.func.functional_call`` takes every parameter at once, which is the full
copy this avoids; no library forms parameters lazily per module.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeGuard

import torch
from torch import Tensor, nn

from losslab.landscape.regenerated import RegeneratedDirections
from losslab.objectives.model_state import parameter_names


class LayerwisePoint:
    """A context in which ``model`` runs at ``θ* + Σ_k point[k]·d_k`` (set :attr:`point` between forwards).

    >>> net = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
    >>> x = torch.ones(4, 3)
    >>> before = net(x)
    >>> with LayerwisePoint(net, RegeneratedDirections(seed=1)) as at:
    ...     at.point = (0.0, 0.0)
    ...     same = net(x)
    ...     at.point = (0.5, -0.5)
    ...     moved = net(x)
    >>> torch.equal(same, before), bool((moved != before).any()), torch.equal(net(x), before)
    (True, True, True)
    """

    def __init__(
        self, model: nn.Module, directions: RegeneratedDirections, moved: Collection[str] | None = None
    ) -> None:
        self.model, self.directions = model, directions
        self.point: tuple[float, ...] = (0.0,) * directions.k
        self.names = parameter_names(model)
        self._moved = moved  # the names of the parameters the slice moves (None: all); the others stay as they are
        self._owners = [m for m in model.modules() if any(self._moves(p) for p in m._parameters.values())]
        self._pool: dict[torch.dtype, list[Tensor]] = {}
        self._active: list[tuple[nn.Module, dict[str, Any], list[Tensor]]] = []
        self._hooks: list[Any] = []
        self.workspace_elements = max((self._own_size(m) for m in self._owners), default=0)

    def __enter__(self) -> LayerwisePoint:
        for module in self._owners:
            self._hooks.append(module.register_forward_pre_hook(self._form))
            self._hooks.append(module.register_forward_hook(self._restore))
        return self

    def __exit__(self, *_: object) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()
        while self._active:  # an error inside the model left modules with formed parameters
            self._put_back()

    def _form(self, module: nn.Module, _args: Any) -> None:
        originals = dict(module._parameters)
        moved = [(n, p) for n, p in originals.items() if self._moves(p)]
        buffer = self._take(moved[0][1], sum(p.numel() for _, p in moved)) if moved else None
        offset = 0
        for name, parameter in moved:
            formed = buffer[offset : offset + parameter.numel()].view(parameter.shape)  # type: ignore[index]
            offset += parameter.numel()
            self._fill(formed, self.names[id(parameter)], parameter)
            module._parameters[name] = formed  # type: ignore[assignment]
        self._active.append((module, originals, [] if buffer is None else [buffer]))

    def _restore(self, module: nn.Module, _args: Any, _output: Any) -> None:
        if self._active and self._active[-1][0] is module:
            self._put_back()

    def _put_back(self) -> None:
        module, originals, taken = self._active.pop()
        module._parameters.update(originals)
        for buffer in taken:
            self._pool.setdefault(buffer.dtype, []).append(buffer)

    def _moves(self, parameter: Tensor | None) -> TypeGuard[Tensor]:
        """Whether the slice moves this parameter: not a skipped one (a 1-D parameter with ``bias_bn="zero"``),
        nor one outside ``moved``."""
        if parameter is None or self.directions.skips(parameter):
            return False
        return self._moved is None or self.names[id(parameter)] in self._moved

    def _own_size(self, module: nn.Module) -> int:
        """Elements of a module's own parameters that are moved (those a survey forms)."""
        return sum(p.numel() for p in module._parameters.values() if self._moves(p))

    def _take(self, like: Tensor, elements: int) -> Tensor:
        """A workspace of at least ``elements``, from the pool (buffers of the largest module's size)."""
        pool = self._pool.setdefault(like.dtype, [])
        fitting = [i for i, b in enumerate(pool) if b.numel() >= elements]
        if fitting:
            return pool.pop(fitting[0])
        return torch.empty(max(self.workspace_elements, elements), dtype=like.dtype, device=like.device)

    def _fill(self, formed: Tensor, name: str, parameter: Tensor) -> None:
        """``formed = θ*_p + Σ a_k d_k`` block by block, in float32 for half types (else the parameter's dtype)."""
        compute = torch.float32 if parameter.dtype in (torch.float16, torch.bfloat16) else parameter.dtype
        rows = _as_rows(parameter.detach())
        out = _as_rows(formed)
        for where, block in self.directions.blocks(name, parameter.detach()):
            total = rows[where].to(compute)
            for coordinate, direction in zip(self.point, block, strict=True):
                total = total + coordinate * direction.to(parameter.device, compute)
            out[where] = total.to(parameter.dtype)




def _as_rows(tensor: Tensor) -> Tensor:
    return tensor.reshape(1, -1) if tensor.dim() <= 1 else tensor.reshape(tensor.shape[0], -1)
