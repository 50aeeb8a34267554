"""Fingerprints a survey file records so that a resumed survey is the same survey: the model's
parameters and the data its loss is averaged over (the directions carry their own,
:meth:`~losslab.landscape.directions.Directions.fingerprint`).

Each is one sha256, computed once per survey: of the bytes of the tensors, with their dtypes
and shapes. A streamed ``DataLoader`` is read once, and its fingerprint does not depend on the
order it yields its samples in (the mean loss does not either): it is the sha256 of the sorted
per-sample digests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn

from losslab.objectives import model_io
from losslab.objectives.network import NetworkObjective


def model_fingerprint(objective: NetworkObjective) -> str:
    """sha256 of the model's parameters θ* (float64 bytes, in ``named_parameters`` order), read a slice
    at a time: no flat copy of θ* is made (a 10⁹-parameter model would need 8 GB for it)."""
    digest = hashlib.sha256()
    for parameter in objective.model.parameters():
        flat = parameter.detach().reshape(-1)
        for start in range(0, flat.numel(), 2**20):
            piece = flat[start : start + 2**20].to(objective.dtype)  # θ* as the objective holds it
            digest.update(piece.to("cpu", torch.float64).numpy().tobytes())
    return digest.hexdigest()


def model_provenance(objective: NetworkObjective) -> dict[str, Any]:
    """What a survey file records of the model and data it was made from (resume checks the two digests)."""
    loss = objective.loss_fn
    subset = {"parameter_set": objective.parameter_set} if objective.fixed else {}  # the frozen ones left out
    return {
        **subset,
        "model_sha256": model_fingerprint(objective),
        "data_sha256": data_fingerprint(objective),
        "model": objective.title,
        "parameters": objective.dim,
        "batchnorm": objective.batchnorm,
        "batchnorm_layers": sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in objective.model.modules()),
        "data_size": objective.sample_count(),
        "loss": getattr(loss, "__name__", type(loss).__name__),
        "dtype": str(objective.dtype).removeprefix("torch."),
        "device": objective.device.type,
    }


def data_fingerprint(objective: NetworkObjective) -> str:
    """sha256 of the objective's data: the (inputs, targets) tensors, or a DataLoader's samples in any order.

    >>> x, y = torch.zeros(4, 2), torch.tensor([0, 1, 1, 0])
    >>> L = NetworkObjective(torch.nn.Linear(2, 2), (x, y))
    >>> data_fingerprint(L) == data_fingerprint(NetworkObjective(torch.nn.Linear(2, 2), (x, y)))
    True
    >>> data_fingerprint(L) == data_fingerprint(NetworkObjective(torch.nn.Linear(2, 2), (x + 1, y)))
    False
    """
    data = objective.data
    digest = hashlib.sha256()
    if isinstance(data, tuple):
        inputs, targets = data
        for tensor in [*model_io.leaves(inputs), *([] if targets is None else [targets])]:
            _feed(digest, tensor)
        return digest.hexdigest()
    for sample in sorted(_sample_digests(data)):
        digest.update(sample)
    return digest.hexdigest()


def _sample_digests(loader: Iterable[Any]) -> list[bytes]:
    digests = []
    for batch in loader:
        inputs, targets = model_io.split_batch(batch)
        inputs = model_io.apply(inputs, torch.as_tensor)
        for i in range(model_io.batch_size(inputs)):
            digest = hashlib.sha256()
            for tensor in model_io.leaves(model_io.take(inputs, i)):
                _feed(digest, tensor)
            if targets is not None:
                _feed(digest, targets[i])
            digests.append(digest.digest())
    return digests


def _feed(digest: Any, tensor: Tensor) -> None:
    """The tensor's dtype, shape and bytes (as stored: a float32 tensor hashes its float32 bytes)."""
    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    digest.update(f"{flat.dtype}{tuple(tensor.shape)}".encode())
    digest.update(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")
