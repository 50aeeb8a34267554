"""Network objectives: any ``nn.Module`` and data set as an Objective over its flat parameters.

θ is the concatenation of the model's parameters (in ``named_parameters`` order). The model
itself is never mutated: every evaluation goes through ``torch.func.functional_call`` with θ
unflattened into views, and buffers (BatchNorm running statistics) taken as they are — the
``frozen`` policy: the statistics of θ*, in eval mode. The ``recompute`` policy instead
re-estimates the statistics at every θ from training batches (see
:meth:`NetworkObjective.recomputed_buffers`), on a copy of the buffers. Many θ's are evaluated in one
``vmap`` over ``functional_call``; the data set is held on its device once. For data that
does not fit, a ``DataLoader`` is streamed once per chunk of θ's, not once per θ.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, overload

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap
from torch.utils.data import DataLoader

from losslab.errors import LosslabError, check_choice, first_line, not_one_of
from losslab.objectives.objective import Objective

LossFn = Callable[[Tensor, Tensor], Tensor]
LOSSES: dict[str, LossFn] = {
    "cross_entropy": nn.functional.cross_entropy,
    "mse": nn.functional.mse_loss,
    "bce_with_logits": nn.functional.binary_cross_entropy_with_logits,
}
BATCHNORM_POLICIES = ("frozen", "recompute")


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


class NetworkObjective(Objective):
    """L(θ) = mean loss of ``model`` with parameters θ over ``data``.

    Args:
        model: any ``nn.Module``; its parameters at construction are θ* (:attr:`center`).
        data: ``(inputs, targets)`` tensors, or a ``DataLoader`` yielding such pairs.
        loss: ``"cross_entropy"``, ``"mse"``, ``"bce_with_logits"`` or a callable
            ``(outputs, targets) -> mean loss``.
        dtype: the floating type for θ and the data (default: the model's).
        device: where to evaluate (default: the model's).
        batchnorm: ``"frozen"`` — the running statistics of θ* in eval mode (the default) —
            or ``"recompute"``: at every θ, re-estimate each BatchNorm layer's statistics
            from training batches, then evaluate in eval mode with them.
        batchnorm_data: the training inputs for ``recompute`` (a tensor, or a DataLoader
            yielding ``(inputs, targets)`` or inputs); default: this objective's inputs.
        batchnorm_batch_size: batch size when ``batchnorm_data`` is a tensor (default 128).

    >>> net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    >>> x, y = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 1, dtype=torch.float64)
    >>> L = NetworkObjective(net, (x, y), "mse")
    >>> L.dim, bool(torch.isclose(L.value(L.center), nn.functional.mse_loss(net(x), y)))
    (13, True)
    """

    def __init__(
        self,
        model: nn.Module,
        data: tuple[Tensor, Tensor] | DataLoader[Any],
        loss: str | LossFn = "cross_entropy",
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        batchnorm: str = "frozen",
        batchnorm_data: Tensor | DataLoader[Any] | None = None,
        batchnorm_batch_size: int = 128,
        title: str = "",
    ) -> None:
        if not isinstance(model, nn.Module):
            raise LosslabError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        check_choice("batchnorm policy", batchnorm, BATCHNORM_POLICIES)
        params = dict(model.named_parameters())
        if not params:
            raise LosslabError("the model has no parameters")
        first = next(iter(params.values()))
        self.device = torch.device(device) if device is not None else first.device
        shapes = [(name, p.numel()) for name, p in params.items()]
        super().__init__(
            names=FlatNames(shapes),
            title=title or type(model).__name__,
            dtype=dtype or first.dtype,
        )
        self.model = model.eval()
        self.shapes = {name: p.shape for name, p in params.items()}
        self.buffers = {k: b.to(self.device) for k, b in model.named_buffers()}
        self.center = torch.cat([p.detach().reshape(-1) for p in params.values()]).to(self.device, self.dtype)
        self.loss_fn = _loss(loss)
        self.batchnorm = batchnorm
        self.data = _hold(data, self.device, self.dtype)
        self._stats_model: nn.Module | None = None
        if batchnorm == "recompute":
            self._stats_model = _cumulative_copy(model)
            self._stats_data = batchnorm_data if batchnorm_data is not None else _inputs_of(self.data)
            if batchnorm_batch_size < 1:
                raise LosslabError(f"batchnorm_batch_size = {batchnorm_batch_size}; need ≥ 1")
            self._stats_batch_size = batchnorm_batch_size
        self._check_fit()

    def _check_fit(self) -> None:
        """Run the model and the loss on the first two samples: a model that does not take these
        inputs, or a loss that does not take its outputs with these targets (a class index where
        ``mse`` needs a row like the output's: torch would broadcast and warn), is refused here,
        with the shapes, not deep inside a survey or a Hessian product."""
        inputs, targets = _first_samples(self.data, 2, self.device, self.dtype)
        with torch.no_grad():
            try:
                outputs = self.outputs(self.center, inputs)
            except (RuntimeError, ValueError, TypeError, IndexError) as exc:
                raise LosslabError(
                    f"the model does not take the data's inputs ({_per_sample(inputs)} per sample): {first_line(exc)}"
                ) from None
            try:
                with warnings.catch_warnings():
                    warnings.filterwarnings("error", message="Using a target size")
                    self.loss_fn(outputs, targets)
            except (RuntimeError, ValueError, TypeError, IndexError, UserWarning) as exc:
                raise LosslabError(
                    f"the loss does not take the model's outputs ({_per_sample(outputs)} per sample) with the "
                    f"data's targets ({_per_sample(targets)} per sample): {first_line(exc)}"
                ) from None
        held = self.data[1] if isinstance(self.data, tuple) else None
        if self.loss_fn is nn.functional.cross_entropy and held is not None and not held.is_floating_point():
            classes = outputs.shape[-1]
            wrong = held[((held < 0) | (held >= classes)) & (held != -100)]  # -100: cross_entropy's ignored index
            if len(wrong):
                raise LosslabError(
                    f"the targets hold class {int(wrong[0])}, but the model has {classes} outputs "
                    f"(classes 0 to {classes - 1})"
                )

    # -- flat θ <-> the model's parameters ------------------------------------------------
    def unflatten(self, theta: Tensor) -> dict[str, Tensor]:
        """θ as views shaped like the model's parameters."""
        return named_views(theta, self.shapes)

    def outputs(self, theta: Tensor, inputs: Tensor, buffers: dict[str, Tensor] | None = None) -> Tensor:
        """The model's outputs with parameters θ (one θ), in eval mode with ``buffers`` (default θ*'s)."""
        held = self.buffers if buffers is None else buffers
        return functional_call(self.model, (self.unflatten(theta), held), (inputs,))

    def _loss_on(self, theta: Tensor, inputs: Tensor, targets: Tensor) -> Tensor:
        return self.loss_fn(self.outputs(theta, inputs), targets)

    def recomputed_buffers(self, theta: Tensor) -> dict[str, Tensor]:
        """BatchNorm statistics re-estimated at θ (the ``recompute`` policy), on a copy of the buffers.

        A copy of the model with every BatchNorm's ``momentum=None`` (torch's cumulative
        average: after batch t, ``running = running + (batch_stat − running) / t``) runs in
        train mode over the training batches, with θ's parameters detached — the statistics
        are constants for derivatives. The user's model and θ*'s buffers are untouched.
        """
        if self._stats_model is None:
            return dict(self.buffers)
        buffers = {k: b.clone() for k, b in self.buffers.items()}
        for name, module in self._stats_model.named_modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                buffers[f"{name}.num_batches_tracked"].zero_()  # the first batch's weight is 1/1
        with torch.no_grad():
            params = {k: v.detach() for k, v in self.unflatten(theta).items()}
            for batch in _stat_batches(self._stats_data, self._stats_batch_size):
                batch = batch.to(self.device, self.dtype if batch.is_floating_point() else batch.dtype)
                functional_call(self._stats_model, (params, buffers), (batch,))
        return buffers

    # -- the Objective contract -------------------------------------------------------------
    def _evaluate(self, thetas: Tensor) -> Tensor:
        if self._stats_model is not None:
            if thetas.dim() > 1:
                return torch.stack([self._evaluate(theta) for theta in thetas])
            buffers = self.recomputed_buffers(thetas)
            return self._mean_over_data(lambda x, y: self.loss_fn(self.outputs(thetas, x, buffers), y))
        if thetas.dim() == 1:
            return self._mean_over_data(lambda x, y: self._loss_on(thetas, x, y))
        batched = vmap(self._loss_on, in_dims=(0, None, None))
        return self._mean_over_data(lambda x, y: batched(thetas, x, y))

    def _mean_over_data(self, per_batch: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
        if isinstance(self.data, tuple):
            return per_batch(*self.data)
        total: Tensor | int = 0
        count = 0
        for inputs, targets in self.data:
            inputs = inputs.to(self.device, self.dtype if inputs.is_floating_point() else inputs.dtype)
            targets = targets.to(self.device, self.dtype if targets.is_floating_point() else targets.dtype)
            total = total + per_batch(inputs, targets) * len(inputs)
            count += len(inputs)
        if count == 0:
            raise LosslabError("the DataLoader yielded no data")
        return total / count  # type: ignore[return-value]

    def _theta(self, theta: Any) -> Tensor:
        if isinstance(theta, Tensor) and theta.shape == (self.dim,):
            return theta.to(self.device, self.dtype)
        raise LosslabError(f"θ for this network must be a tensor of shape ({self.dim},)")

    def values(self, thetas: Tensor, chunk_size: int | None = None) -> Tensor:
        """L at every θ of a stack ``(..., P)``, vmapped in chunks (default 64 θ's at a time)."""
        return super().values(thetas.to(self.device), chunk_size or 64)

    @property
    def n_samples(self) -> int | None:
        return len(self.data[0]) if isinstance(self.data, tuple) else None

    def subset(self, indices: Tensor) -> NetworkObjective:
        if not isinstance(self.data, tuple):
            raise LosslabError("mini-batches of a DataLoader objective come from the DataLoader itself")
        inputs, targets = self.data
        clone = object.__new__(NetworkObjective)
        clone.__dict__.update(self.__dict__)
        clone.data = (inputs[indices], targets[indices])
        return clone

    def accuracy(self, theta: Tensor) -> Tensor:
        """Fraction of correct argmax predictions (classification with integer targets)."""
        if not isinstance(self.data, tuple):
            raise LosslabError("accuracy needs in-memory data")
        inputs, targets = self.data
        theta = self._theta(theta)
        predicted = self.outputs(theta, inputs, self.recomputed_buffers(theta)).argmax(dim=-1)
        return (predicted == targets).to(self.dtype).mean()


def _cumulative_copy(model: nn.Module) -> nn.Module:
    """A copy of the model in train mode whose BatchNorm layers keep cumulative averages."""
    stats_model = copy.deepcopy(model).train()
    norms = [m for m in stats_model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        raise LosslabError("batchnorm='recompute' needs a model with BatchNorm layers; this one has none")
    for module in norms:
        module.momentum = None
        module.reset_running_stats()
    return stats_model


def _first_samples(
    data: tuple[Tensor, Tensor] | DataLoader[Any], k: int, device: torch.device, dtype: torch.dtype
) -> tuple[Tensor, Tensor]:
    """The first ``k`` (inputs, targets) of the data, on the device, floating values in ``dtype``."""
    if isinstance(data, tuple):
        return data[0][:k], data[1][:k]
    batch = next(iter(data), None)
    if batch is None:
        raise LosslabError("the DataLoader yielded no data")
    inputs, targets = batch[0][:k], batch[1][:k]
    inputs = inputs.to(device, dtype if inputs.is_floating_point() else inputs.dtype)
    return inputs, targets.to(device, dtype if targets.is_floating_point() else targets.dtype)


def _per_sample(t: Tensor) -> str:
    """``t``'s shape and type per sample: ``"shape (64,), float32"`` or ``"one int64"``."""
    kind = str(t.dtype).removeprefix("torch.")
    return f"shape {tuple(t.shape[1:])}, {kind}" if t.dim() > 1 else f"one {kind}"


def _inputs_of(data: tuple[Tensor, Tensor] | DataLoader[Any]) -> Tensor | DataLoader[Any]:
    return data[0] if isinstance(data, tuple) else data


def _stat_batches(data: Tensor | DataLoader[Any], batch_size: int) -> Iterator[Tensor]:
    if isinstance(data, Tensor):
        yield from data.split(batch_size)
        return
    for batch in data:
        yield batch[0] if isinstance(batch, tuple | list) else batch


def _loss(loss: str | LossFn) -> LossFn:
    if callable(loss):
        return loss
    if loss in LOSSES:
        return LOSSES[loss]
    raise LosslabError(f"{not_one_of('loss', loss, LOSSES)} (or pass a callable)")


def _hold(
    data: tuple[Tensor, Tensor] | DataLoader[Any] | Mapping[str, Tensor], device: torch.device, dtype: torch.dtype
) -> tuple[Tensor, Tensor] | DataLoader[Any]:
    if isinstance(data, DataLoader):
        return data
    if not (isinstance(data, tuple | list) and len(data) == 2):
        raise LosslabError("data must be (inputs, targets) tensors or a torch DataLoader")
    inputs, targets = (torch.as_tensor(t) for t in data)
    if len(inputs) != len(targets):
        raise LosslabError(f"inputs have {len(inputs)} rows but targets {len(targets)}")
    if len(inputs) == 0:
        raise LosslabError("data set is empty")
    inputs = inputs.to(device, dtype if inputs.is_floating_point() else inputs.dtype)
    targets = targets.to(device, dtype if targets.is_floating_point() else targets.dtype)
    return inputs, targets


def network(
    model: nn.Module,
    data: tuple[Tensor, Tensor] | DataLoader[Any],
    loss: str | LossFn = "cross_entropy",
    **options: Any,
) -> NetworkObjective:
    """An Objective over ``model``'s parameters on ``data`` (see :class:`NetworkObjective`)."""
    return NetworkObjective(model, data, loss, **options)


def named_views(flat: Tensor, shapes: Mapping[str, torch.Size]) -> dict[str, Tensor]:
    """``flat`` cut along its last axis, in order, into views of the named ``shapes``.

    A stack ``(m, P)`` of m points' parameters gives views ``(m, *shape)``.
    """
    pieces = flat.split([s.numel() for s in shapes.values()], dim=-1)
    lead = flat.shape[:-1]
    return {name: piece.view(*lead, *shape) for (name, shape), piece in zip(shapes.items(), pieces, strict=True)}
