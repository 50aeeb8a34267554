"""The model's outputs on the first samples, with inputs it cannot take named before any survey starts.

A network objective runs its model once on the first two samples when it is made
(:meth:`~losslab.objectives.network.NetworkObjective`): a model that does not take the data's inputs is
refused there, in one line with the shapes. Token ids past an embedding table are the commonest such
input, and torch names neither the table nor the id ("index out of range in self"); nor does it say so
before the sample that holds one, maybe deep in a survey. So every ``nn.Embedding`` is watched on that
first call: a failing call names the table and the index it was given (a sequence longer than a
position table is this too), and where an embedding reads a tensor of the data held in memory, all of
that tensor is checked against the table's rows at once, and a streamed batch when it is read
(:func:`check_indices`).

>>> from torch import nn
>>> import torch
>>> class Bag(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.tokens, self.head = nn.Embedding(10, 4), nn.Linear(4, 2)
...     def forward(self, ids):
...         return self.head(self.tokens(ids).mean(1))
>>> ids = torch.randint(0, 10, (6, 5))
>>> ids[4, 2] = 12
>>> state = (dict(Bag().named_parameters()), {})
>>> first_outputs(Bag(), state, ids[:2], (ids, None), contextlib.nullcontext).shape
Traceback (most recent call last):
losslab.errors.LosslabError: the data's inputs hold index 12, but the model's embedding tokens has 10 rows (0–9)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from torch import Tensor, nn

from losslab.errors import LosslabError, first_line
from losslab.objectives import model_io

# what a model that does not take its inputs raises (a LosslabError among them passes as it is)
CAUGHT = (RuntimeError, ValueError, TypeError, IndexError, KeyError, AttributeError)


def first_outputs(
    model: nn.Module,
    state: tuple[dict[str, Tensor], dict[str, Tensor]],
    inputs: Any,
    data: Any,
    evaluating: Callable[[], contextlib.AbstractContextManager[None]],
) -> tuple[Any, list[TokenTable]]:
    """The model's outputs on ``inputs`` (the first samples) with ``state``, and which of the inputs index which
    embedding table (:func:`check_indices` checks a batch against them); ``data`` the whole data set — a
    ``(inputs, targets)`` pair held in memory is checked whole here.

    Raises:
        LosslabError: the model does not take the inputs, or the data holds an index past an embedding table.
    """
    model_io.check_keywords(model, inputs)
    with _watched(model) as seen:
        try:
            with evaluating():
                outputs = model_io.call(model, state, inputs)
        except CAUGHT as exc:
            if isinstance(exc, LosslabError):
                raise
            raise LosslabError(
                f"the model does not take the data's inputs ({model_io.describe(inputs)} per sample): "
                f"{first_line(exc)}{_overrun(seen)}"
            ) from None
    tables = _token_tables(seen, inputs)
    if isinstance(data, tuple):
        check_indices(tables, data[0])
    return outputs, tables


class TokenTable(NamedTuple):
    """An input of the data that an embedding reads (by its name in the inputs), and the table's size."""

    key: str
    embedding: str
    rows: int


def check_indices(tables: list[TokenTable], inputs: Any) -> None:
    """The inputs (held whole, or one streamed batch) against the embeddings they index.

    Raises:
        LosslabError: naming the input, the index and the table.
    """
    if not tables:
        return
    leaves = dict(_named_leaves(inputs))
    for key, embedding, rows in tables:
        bad = _past(leaves.get(key), rows)
        if bad is not None:
            raise LosslabError(
                f"the data's {key} hold index {bad}, but the model's embedding {embedding} has {rows} rows "
                f"(0–{rows - 1})"
            )


Seen = list[tuple[str, nn.Embedding, Tensor]]


@contextlib.contextmanager
def _watched(model: nn.Module) -> Iterator[Seen]:
    """``(name, embedding, the indices it was given)`` for every call of an ``nn.Embedding`` inside."""
    seen: Seen = []
    handles = [
        module.register_forward_pre_hook(lambda m, args, name=name: seen.append((name, m, args[0])))
        for name, module in model.named_modules()
        if isinstance(module, nn.Embedding)
    ]
    try:
        yield seen
    finally:
        for handle in handles:
            handle.remove()


def _overrun(seen: Seen) -> str:
    """What an embedding was given past its rows, for the error's end (empty when none was)."""
    for name, embedding, indices in seen:
        bad = _past(indices, embedding.num_embeddings)
        if bad is not None:
            rows = embedding.num_embeddings
            return f" (the embedding {name} has {rows} rows, 0–{rows - 1}, and was given {bad})"
    return ""


def _token_tables(seen: Seen, inputs: Any) -> list[TokenTable]:
    """Which leaves of ``inputs`` an embedding read as they are (the very tensor, or a view of all of it)."""
    tables = []
    for key, leaf in _named_leaves(inputs):
        if leaf.is_floating_point() or leaf.numel() == 0:
            continue
        for name, embedding, indices in seen:
            if isinstance(indices, Tensor) and _where(indices) == _where(leaf):  # the leaf itself, or all of it viewed
                tables.append(TokenTable(key, name, embedding.num_embeddings))
    return tables


def _where(tensor: Tensor) -> tuple[int, int]:
    return tensor.data_ptr(), tensor.numel()


def _past(indices: Any, rows: int) -> int | None:
    """An index outside ``0 … rows - 1`` (the largest, else the most negative), or None."""
    if not isinstance(indices, Tensor) or indices.numel() == 0 or indices.is_floating_point():
        return None
    high, low = int(indices.max()), int(indices.min())
    return high if high >= rows else (low if low < 0 else None)


def _named_leaves(inputs: Any, name: str = "inputs") -> list[tuple[str, Tensor]]:
    if isinstance(inputs, Tensor):
        return [(name, inputs)]
    if isinstance(inputs, Mapping):
        return [pair for key, value in inputs.items() for pair in _named_leaves(value, str(key))]
    if isinstance(inputs, tuple | list):
        return [pair for i, part in enumerate(inputs) for pair in _named_leaves(part, f"input {i}")]
    return []

