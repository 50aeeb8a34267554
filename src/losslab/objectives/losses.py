r"""The named losses a data objective can use, numerically (torch) and exactly (SymPy).

With predictions :math:`\hat y_i` and targets :math:`y_i`, :math:`i = 1..N`:

* ``mse``      :math:`\frac1N \sum_i (\hat y_i - y_i)^2` (Case Study 1, listings 3.1–3.4)
* ``sse``      :math:`\sum_i (\hat y_i - y_i)^2` (``MSELoss(reduction='sum')``, listing 3.5)
* ``half_sse`` :math:`\frac12 \sum_i (\hat y_i - y_i)^2` (Case Study 2)
* ``bce``      :math:`-\frac1N \sum_i \big[y_i \log \hat y_i + (1 - y_i)\log(1 - \hat y_i)\big]`,
  labels :math:`y_i \in \{0, 1\}`.

The numeric losses reduce over the last axis, so predictions of shape ``(..., N)`` (a stack
of parameter vectors against the whole data set) give losses of shape ``(...)``. Binary
cross-entropy is evaluated by torch's own functions: from logits
(``binary_cross_entropy_with_logits``, exact for any logit) when the model is
``sigmoid(z)``, otherwise from probabilities (``binary_cross_entropy``, whose logs are clamped
at −100 so a confident wrong answer costs 100, not infinity).
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy
import torch.nn.functional as F
from torch import Tensor

from losslab.errors import LosslabError, check_choice, not_one_of

LOSSES = ("mse", "sse", "half_sse", "bce")
SQUARED_LOSSES = ("mse", "sse", "half_sse")


def check_loss(name: str) -> str:
    """Return ``name`` if it is a known loss, else raise naming the accepted ones.

    >>> check_loss("mse")
    'mse'
    """
    return check_choice("loss", name, LOSSES)


def check_labels(target: Tensor, name: str) -> None:
    """Binary cross-entropy needs labels 0 or 1; raise naming the first other value."""
    bad = ~((target == 0) | (target == 1))
    if bad.any():
        row = int(bad.nonzero()[0, 0])
        raise LosslabError(
            f"loss 'bce' needs labels 0 or 1 in target column '{name}'; row {row} holds {float(target[row])!r}"
        )


def reduce_loss(name: str, predictions: Tensor, target: Tensor, *, logits: bool = False) -> Tensor:
    """The loss of predictions ``(..., N)`` against targets ``(N,)``, shape ``(...)``.

    Args:
        name: one of :data:`LOSSES`.
        predictions: model outputs; logits when ``logits`` is true (``bce`` only).
        target: the observed values.
        logits: whether ``predictions`` are the logits z of a ``sigmoid(z)`` model.

    >>> import torch
    >>> p = torch.tensor([[1.0, 2.0], [0.0, 0.0]], dtype=torch.float64)
    >>> reduce_loss("sse", p, torch.tensor([1.0, 0.0], dtype=torch.float64))
    tensor([4., 1.], dtype=torch.float64)
    """
    if name == "mse":
        return (predictions - target).square().mean(-1)
    elif name == "sse":
        return (predictions - target).square().sum(-1)
    elif name == "half_sse":
        return 0.5 * (predictions - target).square().sum(-1)
    elif name == "bce":
        return _bce(predictions, target, logits)
    else:
        raise not_one_of("loss", name, LOSSES)


def _bce(predictions: Tensor, target: Tensor, logits: bool) -> Tensor:
    labels = target.expand_as(predictions)
    if logits:
        return F.binary_cross_entropy_with_logits(predictions, labels, reduction="none").mean(-1)
    try:
        return F.binary_cross_entropy(predictions, labels, reduction="none").mean(-1)
    except RuntimeError as exc:
        if "between 0 and 1" not in str(exc):
            raise
        raise LosslabError(
            "loss 'bce' needs model predictions in [0, 1]; this model gave values outside it."
            " Wrap the model in sigmoid(...), e.g. 'sigmoid(w0 + w1*x)'"
        ) from None


def exact_number(value: float) -> sympy.Rational:
    """A data value as an exact SymPy number: integers as Integer, others from their repr.

    >>> exact_number(2.0), exact_number(2.1), exact_number(-0.25)
    (2, 21/10, -1/4)
    """
    if value.is_integer():
        return sympy.Integer(int(value))
    return sympy.Rational(repr(value))


def symbolic_loss(name: str, predictions: Sequence[sympy.Expr], targets: Sequence[sympy.Expr]) -> sympy.Expr:
    """The exact loss as a SymPy expression, from one prediction and one target per sample.

    >>> w = sympy.Symbol("w", real=True)
    >>> symbolic_loss("half_sse", [w, 2*w], [1, 2])
    (w - 1)**2/2 + (2*w - 2)**2/2
    """
    count = len(predictions)
    squares = sympy.Add(*[(p - t) ** 2 for p, t in zip(predictions, targets, strict=True)])
    if name == "mse":
        return squares / count
    elif name == "sse":
        return squares
    elif name == "half_sse":
        return squares / 2
    elif name == "bce":
        logs = [sympy.log(p) if t == 1 else sympy.log(1 - p) for p, t in zip(predictions, targets, strict=True)]
        return -sympy.Add(*logs) / count
    else:
        raise not_one_of("loss", name, LOSSES)
