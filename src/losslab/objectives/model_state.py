"""A network's parameters as one flat θ and back, and its modes: the pieces every network path shares.

:class:`FlatNames` names θ's coordinates without storing them; :func:`named_views` cuts a flat θ (or a
stack of them) into the model's parameter shapes; :func:`evaluation_mode` runs a model in eval mode and
puts every module's ``training`` flag back; :func:`cumulative_copy` is the copy whose BatchNorm layers
re-estimate statistics (the ``recompute`` policy).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

import torch
from torch import Tensor, nn

from losslab.errors import LosslabError, check_choice

DDP = nn.parallel.DistributedDataParallel
_WeightNormParametrization = importlib.import_module("torch.nn.utils.parametrizations")._WeightNorm
_WeightNormHook = importlib.import_module("torch.nn.utils.weight_norm").WeightNorm  # the older, hook-based API


class FlatNames(Sequence[str]):
    """Names of the flat θ coordinates (``"0.weight[3]"``), produced on demand, never stored.

    A network has 10^5–10^8 coordinates; a tuple of that many strings would cost more than
    the network.
    """

    def __init__(self, shapes: Sequence[tuple[str, int]]) -> None:
        self._shapes = list(shapes)
        self._offsets = torch.tensor([0] + [n for _, n in self._shapes]).cumsum(0).tolist()

    def __len__(self) -> int:
        return int(self._offsets[-1])

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        block = int(torch.searchsorted(torch.tensor(self._offsets[1:]), index, right=True))
        return f"{self._shapes[block][0]}[{index - self._offsets[block]}]"

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FlatNames) and other._shapes == self._shapes

    def __hash__(self) -> int:
        return hash(tuple(self._shapes))


def cumulative_copy(model: nn.Module) -> nn.Module:
    """A copy of the model in train mode whose BatchNorm layers keep cumulative averages."""
    stats_model = copy.deepcopy(model).train()
    norms = [m for m in stats_model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        raise LosslabError("batchnorm='recompute' needs a model with BatchNorm layers; this one has none")
    for module in norms:
        module.momentum = None
        module.reset_running_stats()
    return stats_model


@contextlib.contextmanager
def evaluation_mode(model: nn.Module) -> Iterator[None]:
    """``model`` as losslab evaluates it inside the context: in eval mode (every module's ``training``
    flag restored after), its weight norms in their composite form (:func:`composite_weight_norms`); where no
    gradient is taken, without torch's warning that a reentrant activation checkpoint passes none."""
    modules = list(model.modules())
    flags = [(module, module.training) for module in modules]
    with composite_weight_norms(modules), warnings.catch_warnings():
        if not torch.is_grad_enabled():  # values only: activation checkpointing's word on gradients is moot
            warnings.filterwarnings("ignore", message="None of the inputs have requires_grad=True")
        if not any(training for _, training in flags):
            yield
            return
        model.eval()
        try:
            yield
        finally:
            for module, training in flags:
                module.training = training


@contextlib.contextmanager
def composite_weight_norms(modules: list[nn.Module]) -> Iterator[None]:
    """Each weight norm of ``modules`` (a model's) computed as ``v · g / ‖v‖`` from differentiable primitives inside the
    context (restored after): ``weight_norm``'s parametrization and the older hook alike.

    torch computes ``w = g · v/‖v‖`` with a fused kernel whose second derivative is wrong: on a weight-normed
    Linear its Hessian is not even symmetric (entries apart by 1.98; 3.6 from the composite's, whose
    gradient agrees to 4e-16), so Hessian-vector products through it were wrong. Values equal to rounding.
    """
    patched: list[tuple[object, str]] = []
    for module in modules:
        if isinstance(module, _WeightNormParametrization) and "forward" not in vars(module):  # not already, outside
            module.forward = functools.partial(_composite, dim=module.dim)  # type: ignore[method-assign]
            patched.append((module, "forward"))
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, _WeightNormHook) and "compute_weight" not in vars(hook):
                hook.compute_weight = functools.partial(_hook_weight, hook)  # type: ignore[method-assign]
                patched.append((hook, "compute_weight"))
    try:
        yield
    finally:
        for owner, attribute in patched:
            delattr(owner, attribute)  # the class's method again


def _composite(g: Tensor, v: Tensor, *, dim: int) -> Tensor:
    """``g · v/‖v‖`` (the norm over every axis but ``dim``), as torch's ``_weight_norm`` without its fused kernel."""
    return v * (g / torch.norm_except_dim(v, 2, dim))


def _hook_weight(hook: Any, module: nn.Module) -> Tensor:
    g, v = getattr(module, hook.name + "_g"), getattr(module, hook.name + "_v")
    return _composite(g, v, dim=hook.dim)


def padding_rows(model: nn.Module, shapes: dict[str, torch.Size]) -> list[tuple[int, int]]:
    """Where θ (the parameters ``shapes`` names, flat in that order) holds an embedding's padding row:
    ``[(start, stop), …]``. torch zeroes that row's gradient (``padding_idx``: it "is not updated during
    training, i.e. it remains as a fixed pad"), so the row is a constant of training, as a frozen parameter is.

    >>> net = nn.Sequential(nn.Embedding(4, 3, padding_idx=1), nn.Linear(3, 2))
    >>> padding_rows(net, {n: p.shape for n, p in net.named_parameters()})
    [(3, 6)]
    """
    names = {id(p): n for n, p in model.named_parameters()}  # a tied weight under the name θ holds it by
    offsets, start = {}, 0
    for name, shape in shapes.items():
        offsets[name] = start
        start += shape.numel()
    rows = []
    for module in model.modules():
        if isinstance(module, nn.Embedding | nn.EmbeddingBag) and module.padding_idx is not None:
            held = names.get(id(module.weight))
            if held in offsets:
                row = module.padding_idx % module.num_embeddings
                begin = offsets[held] + row * module.embedding_dim
                rows.append((begin, begin + module.embedding_dim))
    return sorted(set(rows))


def trained_mask(
    model: nn.Module, shapes: dict[str, torch.Size], dtype: torch.dtype, device: torch.device | str = "cpu"
) -> torch.Tensor | None:
    """1 where θ's entry is one training moves, 0 on its embeddings' padding rows (:func:`padding_rows`);
    None where every entry trains.

    >>> net = nn.Sequential(nn.Embedding(3, 2, padding_idx=0), nn.Linear(2, 1))
    >>> trained_mask(net, {n: p.shape for n, p in net.named_parameters()}, torch.float64).tolist()
    [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    rows = padding_rows(model, shapes)
    if not rows:
        return None
    keep = torch.ones(sum(shape.numel() for shape in shapes.values()), dtype=dtype, device=device)
    for start, stop in rows:
        keep[start:stop] = 0
    return keep


def unwrapped(model: nn.Module) -> nn.Module:
    """The module losslab evaluates: inside ``DataParallel``/``DistributedDataParallel`` and ``torch.compile``'s
    wrapper, the module they hold (the same parameters, named without ``module.``/``_orig_mod.``: torch's
    functional API refuses the first — "The stateless API can't be used with nn.DataParallel module"). A
    TorchScript module cannot be evaluated at other parameters: refused in one line.

    >>> unwrapped(nn.DataParallel(nn.Linear(2, 1)))
    Linear(in_features=2, out_features=1, bias=True)
    """
    while True:
        inner = getattr(model, "module", None) if isinstance(model, nn.DataParallel | DDP) else None
        if inner is None and type(model).__name__ == "OptimizedModule":  # torch.compile's wrapper
            inner = getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            break
        model = inner
    if isinstance(model, torch.jit.ScriptModule):
        raise LosslabError(
            "the model is a TorchScript module (torch.jit.script or trace), which cannot be evaluated at other "
            "parameters: give the nn.Module it was made from"
        )
    return model


def aligned_state(checkpoint: Any, model: nn.Module, what: str) -> dict[str, Tensor]:
    """The state dict of ``model`` that ``checkpoint`` holds, under the model's names: a state dict as saved; one
    saved from a wrapper or a training module (``module.`` of DataParallel/DDP, ``_orig_mod.`` of torch.compile,
    ``model.`` of a LightningModule: a leading name every key shares is dropped); or one level down in a training
    checkpoint (``{"model_state_dict": …, "optimizer_state_dict": …, "epoch": …}``, Lightning's ``state_dict``).
    The candidate sharing the most names with the model's state dict wins; none sharing any is one line.

    >>> net = nn.Linear(2, 1)
    >>> saved = {"epoch": 3, "model_state_dict": {"module." + k: v for k, v in net.state_dict().items()}}
    >>> sorted(aligned_state(saved, net, "checkpoint"))
    ['bias', 'weight']
    """
    names = set(model.state_dict())
    best: dict[str, Tensor] | None = None
    shared = 0
    for candidate in _state_dicts(checkpoint):
        for variant in _unprefixed(candidate):
            if len(names & set(variant)) > shared:
                best, shared = variant, len(names & set(variant))
    if best is None:
        held = sorted(checkpoint)[:4] if isinstance(checkpoint, Mapping) else type(checkpoint).__name__
        raise LosslabError(
            f"{what} holds no state dict of this model: none of its names are the model's "
            f"(it holds {held}; the model has {sorted(names)[:4]})"
        )
    return best


def _state_dicts(checkpoint: Any) -> Iterator[dict[str, Tensor]]:
    """The checkpoint's tensors by name, and those of each mapping one level down in it."""
    if not isinstance(checkpoint, Mapping):
        return
    yield {k: v for k, v in checkpoint.items() if isinstance(k, str) and isinstance(v, Tensor)}
    for value in checkpoint.values():
        if isinstance(value, Mapping):
            yield {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, Tensor)}


def _unprefixed(state: dict[str, Tensor]) -> Iterator[dict[str, Tensor]]:
    """``state``, then it without the leading name all its keys share, as long as they share one."""
    yield state
    while state and all("." in k for k in state) and len({k.split(".", 1)[0] for k in state}) == 1:
        state = {k.split(".", 1)[1]: v for k, v in state.items()}
        yield state


PARAMETER_SETS = ("all", "trainable")


def chosen_parameters(model: nn.Module, which: str = "all") -> dict[str, nn.Parameter]:
    """The parameters θ covers, by name: ``all`` of them, or the ``trainable`` ones (``requires_grad``: a
    fine-tuned model's adapters or head, with its frozen backbone held at its values — the parameters
    PyHessian takes, and a :class:`~losslab.curvature.sharpness.SharpnessTracker` on a training loop).

    >>> net = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    >>> _ = net[0].requires_grad_(False)
    >>> list(chosen_parameters(net)), list(chosen_parameters(net, "trainable"))
    (['0.weight', '0.bias', '1.weight', '1.bias'], ['1.weight', '1.bias'])
    """
    check_choice("parameters", which, PARAMETER_SETS)
    params = dict(model.named_parameters())
    if not params:
        raise LosslabError("the model has no parameters")
    if which == "trainable":
        params = {name: p for name, p in params.items() if p.requires_grad}
        if not params:
            raise LosslabError(
                "parameters 'trainable', but no parameter of the model requires grad (all are frozen): use 'all'"
            )
    return params


def parameter_names(model: nn.Module) -> dict[int, str]:
    """Each parameter tensor's name in θ, by ``id``: a tied parameter (GPT-2's ``lm_head.weight``) has the name
    ``named_parameters`` lists it under first (``transformer.wte.weight``)."""
    return {id(p): name for name, p in model.named_parameters()}


def named_views(flat: Tensor, shapes: Mapping[str, torch.Size]) -> dict[str, Tensor]:
    """``flat`` cut along its last axis, in order, into views of the named ``shapes``.

    A stack ``(m, P)`` of m points' parameters gives views ``(m, *shape)``.
    """
    pieces = flat.split([s.numel() for s in shapes.values()], dim=-1)
    lead = flat.shape[:-1]
    return {name: piece.view(*lead, *shape) for (name, shape), piece in zip(shapes.items(), pieces, strict=True)}
