"""The data a network objective holds: what it accepts and how it is held and read.

In memory as ``(inputs, targets or None)`` — inputs a tensor, a tuple or a dict of tensors — on the
objective's device and dtype (:func:`hold`), or a ``DataLoader`` streamed as it is; the first samples
for the checks made at construction (:func:`first_samples`); the training inputs' batches for the
``recompute`` BatchNorm policy (:func:`stat_batches`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from losslab.errors import LosslabError
from losslab.objectives import model_io


def first_samples(data: Any, k: int, device: torch.device, dtype: torch.dtype) -> tuple[Any, Tensor | None]:
    """The first ``k`` (inputs, targets or None) of the data, on the device, floating values in ``dtype``."""
    if isinstance(data, tuple):
        inputs, targets = data
    else:
        batch = next(iter(data), None)
        if batch is None:
            raise LosslabError("the DataLoader yielded no data")
        inputs, targets = model_io.split_batch(batch)
    inputs = model_io.to(model_io.take(inputs, slice(0, k)), device, dtype)
    return inputs, (None if targets is None else model_io.to(targets[:k], device, dtype))


def inputs_of(data: Any) -> Any:
    return data[0] if isinstance(data, tuple) else data


def stat_batches(data: Any, batch_size: int) -> Iterator[Any]:
    if isinstance(data, DataLoader):
        for batch in data:
            yield model_io.split_batch(batch)[0]
        return
    n = model_io.batch_size(data)
    for start in range(0, n, batch_size):
        yield model_io.take(data, slice(start, start + batch_size))


def hold(data: Any, device: torch.device, dtype: torch.dtype) -> tuple[Any, Any] | DataLoader[Any]:
    # (inputs: a tensor, tuple or dict; targets: a tensor or None), typed loosely for the callers that hold tensors
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, Mapping | Tensor) or (isinstance(data, tuple | list) and len(data) == 2):
        inputs, targets = model_io.split_batch(data)
    else:
        raise LosslabError(
            f"data of type {type(data).__name__} is not (inputs, targets), a dict of tensors, a tensor of token ids "
            "or a torch DataLoader"
        )
    if not isinstance(inputs, tuple | Mapping):
        inputs = torch.as_tensor(inputs)
    n = model_io.batch_size(inputs)
    if targets is not None and len(targets) != n:
        raise LosslabError(f"inputs have {n} rows but targets {len(targets)}")
    if n == 0:
        raise LosslabError("data set is empty")
    return model_io.to(inputs, device, dtype), (None if targets is None else model_io.to(targets, device, dtype))
