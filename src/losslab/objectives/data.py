r"""Data objectives: a model formula, a data set and a named loss, as one Objective.

A model is formula text in parameters and data variables, e.g. ``"w0 + w1*x"`` or
``"sigmoid(w0 + w1*x1 + w2*x2)"``, read by the whitelist parser. Its variables that name a
data column are data; the others are the parameters θ (in natural order, or as given). The
objective is

.. math::
    L(\theta) = \operatorname{loss}\big(f(\theta; x_1), \dots, f(\theta; x_N);\ y_1, \dots, y_N\big)

with the losses of :mod:`losslab.objectives.losses`. Evaluation broadcasts: parameter i is bound as
``thetas[..., i, None]`` against data columns of shape ``(N,)``, so one call of the compiled
model evaluates a whole grid of θ over the whole data set, and the loss reduces the last
axis. When the model is linear in θ and the loss is a sum of squares, :func:`closed_form`
solves the least-squares problem directly.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sympy
import torch
from torch import Tensor

from losslab.errors import LosslabError, check_int
from losslab.objectives.columns import as_columns, load_csv
from losslab.objectives.domain import Domain, PointLike
from losslab.objectives.formula_parser import parse_formula, symbol
from losslab.objectives.linear_fit import ClosedForm, linear_design, solve
from losslab.objectives.losses import (
    SQUARED_LOSSES,
    check_labels,
    check_loss,
    exact_number,
    reduce_loss,
    symbolic_loss,
)
from losslab.objectives.model_variables import split_variables
from losslab.objectives.objective import KnownPoint, Objective
from losslab.objectives.sympy_functions import sigmoid
from losslab.objectives.torch_expr import compile_expr

MAX_SYMBOLIC_SAMPLES = 200
_UNSET: Any = object()


class DataObjective(Objective):
    """A loss of a model over a data set, as a function of the model's parameters.

    Args:
        model: formula text in parameters and data columns, e.g. ``"w0 + w1*x"``.
        data: column name → 1-D numbers, including the target column.
        loss: ``mse`` (mean), ``sse`` (sum), ``half_sse`` (½·sum) or ``bce`` (labels 0/1).
        target: the column the model predicts.
        parameters: parameter names in order; by default the model's variables that are not
            data columns, in natural order (w2 before w10).
        title: a name to show.
        domain: a box to look at; by default ±max(2, |θ*_j|) around the least-squares
            minimum when :func:`closed_form` applies, else none.

    Raises:
        LosslabError: on bad data, an unknown loss, a model that uses a name that is not a
            data column by mistake (``X`` for ``x``), uses the target, or has no parameters.

    Attributes:
        model: the model formula as typed.
        model_expr: the model as a SymPy expression.
        loss: the loss name (``mse``, ``sse``, ``half_sse``, ``bce``).
        target: the name of the target column.
        inputs: the data columns the model uses, in natural order.
        expr: the exact loss in the parameters with the data substituted (data values as
            exact rationals), built on first use; None above ``MAX_SYMBOLIC_SAMPLES`` = 200
            samples, where the expression would be too large to be useful.
        known_points: the least-squares minimum when :func:`closed_form` applies.

    >>> L = DataObjective("w0 + w1*x", {"x": [1, 2], "y": [2, 2]}, loss="half_sse")
    >>> L.names, L.n_samples, float(L.value("w0=0,w1=0")), L.grad([0.0, 0.0]).tolist()
    (('w0', 'w1'), 2, 4.0, [-4.0, -6.0])
    """

    _symbolic: Any

    def __init__(
        self,
        model: str,
        data: Mapping[str, Any],
        *,
        loss: str = "mse",
        target: str = "y",
        parameters: Sequence[str] | None = None,
        title: str = "",
        domain: Domain | str | None = None,
    ) -> None:
        columns = as_columns(data)
        loss = check_loss(loss)
        if target not in columns:
            raise LosslabError(f"target column '{target}' is not in the data; data columns: {', '.join(columns)}")
        parsed = parse_formula(model)
        names, inputs = split_variables(model, parsed.names, tuple(columns), target, parameters)
        if loss == "bce":
            check_labels(columns[target], target)
        symbols = tuple(symbol(n) for n in names)
        super().__init__(names=names, title=title or f"{loss} of {model}", symbols=symbols)
        self.model, self.model_expr, self.loss, self.target = model, parsed.expr, loss, target
        self.inputs = inputs
        self._inputs = {name: columns[name] for name in inputs}
        self._target = columns[target]
        self._logits = loss == "bce" and isinstance(parsed.expr, sigmoid)
        evaluated = parsed.expr.args[0] if self._logits else parsed.expr
        self._compiled = compile_expr(evaluated, names + inputs)
        self._set_known_minimum(domain)

    # -- the Objective protocol ---------------------------------------------------------------
    def _evaluate(self, thetas: Tensor) -> Tensor:
        out = self._predict(thetas.unbind(-1), self._inputs)
        return reduce_loss(self.loss, out, self._target, logits=self._logits)

    @property
    def n_samples(self) -> int:
        """Number of data samples N."""
        return self._target.numel()

    def subset(self, indices: Tensor) -> DataObjective:
        """The same model and loss on the rows ``indices`` (a mini-batch).

        The sub-objective shares the compiled model; it has no known points (the minimum of
        a mini-batch's loss is not the full data's) and its ``expr`` is built on demand.
        """
        index = self._check_indices(indices)
        part = copy.copy(self)
        part._inputs = {name: column[index] for name, column in self._inputs.items()}
        part._target = self._target[index]
        part.expr = None
        part.known_points = ()
        return part

    def batches(self, batch_size: int, generator: torch.Generator) -> Iterator[Tensor]:
        """Index tensors of one epoch: a seeded random permutation of the rows, in batches.

        Every row appears exactly once; the last batch is smaller when ``batch_size`` does
        not divide N, and ``batch_size ≥ N`` gives one full batch.

        >>> L = least_squares([1, 2, 3, 4, 5], [2, 4, 6, 8, 10], model="m*x")
        >>> [len(b) for b in L.batches(2, torch.Generator().manual_seed(0))]
        [2, 2, 1]
        """
        check_int("batch size", batch_size, least=1)
        if not isinstance(generator, torch.Generator):
            raise LosslabError(f"generator must be a seeded torch.Generator, got {type(generator).__name__}")
        order = torch.randperm(self.n_samples, generator=generator)
        return iter(order.split(batch_size))

    # -- the symbolic form, built lazily ------------------------------------------------------
    @property  # type: ignore[override]
    def expr(self) -> sympy.Expr | None:
        if self._symbolic is _UNSET:
            self._symbolic = self._symbolic_loss()
        result: sympy.Expr | None = self._symbolic
        return result

    @expr.setter
    def expr(self, value: sympy.Expr | None) -> None:
        self._symbolic = _UNSET if value is None else value

    def _symbolic_loss(self) -> sympy.Expr | None:
        count = self.n_samples
        if count > MAX_SYMBOLIC_SAMPLES:
            return None
        input_symbols = [symbol(n) for n in self.inputs]
        columns = [column.tolist() for column in self._inputs.values()]
        rows = list(zip(*columns, strict=True)) if columns else [()] * count
        predictions = [
            self.model_expr.xreplace(dict(zip(input_symbols, map(exact_number, row), strict=True))) for row in rows
        ]
        targets = [exact_number(v) for v in self._target.tolist()]
        return symbolic_loss(self.loss, predictions, targets)

    # -- data and predictions -----------------------------------------------------------------
    @property
    def data(self) -> dict[str, Tensor]:
        """The columns in use: the model's inputs and the target."""
        return {**self._inputs, self.target: self._target}

    def predict(self, theta: PointLike, inputs: Mapping[str, Any] | None = None) -> Tensor:
        """Model outputs f(θ; x) on the objective's data or on other inputs (e.g. a plot grid).

        >>> L = least_squares([1, 2], [2, 2], model="w0 + w1*x")
        >>> L.predict("w0=2,w1=1", {"x": [0.0, 10.0]}).tolist()
        [2.0, 12.0]
        """
        columns = self._inputs if inputs is None else as_columns(inputs)
        missing = [name for name in self.inputs if name not in columns]
        if missing:
            raise LosslabError(f"inputs lack column(s) {', '.join(missing)}; the model uses {', '.join(self.inputs)}")
        theta = self._theta(theta)
        out = self._predict(theta.unbind(-1), {name: columns[name] for name in self.inputs})
        return torch.sigmoid(out) if self._logits else out

    def separates(self, theta: PointLike) -> bool:
        """Whether a logistic fit has no minimum, shown at ``theta``: the loss is ``bce`` of ``sigmoid(f)`` with the
        logit f linear and homogeneous in θ (f(c·θ) = c·f(θ)), and ``theta`` puts every sample on its side
        (f > 0 where the label is 1, f < 0 where it is 0). Then every term of L(c·θ) falls as c grows: L tends to 0
        and never reaches it.

        >>> L = DataObjective("sigmoid(w*x)", {"x": [-2.0, -1.0, 1.0, 2.0], "y": [0, 0, 1, 1]}, loss="bce")
        >>> L.separates("w=1"), L.separates("w=-1")
        (True, False)
        """
        if not self._logits:
            return False
        logit = self.model_expr.args[0]
        slopes = [sympy.diff(logit, p) for p in self.symbols]
        if any(slope.free_symbols & set(self.symbols) for slope in slopes):
            return False  # not linear in θ
        if sympy.simplify(logit - sum(slope * p for slope, p in zip(slopes, self.symbols, strict=True))) != 0:
            return False  # a term without θ: scaling θ does not scale the logit
        logits = self._predict(self._theta(theta).unbind(-1), self._inputs)
        return bool(((2 * self._target - 1) * logits > 0).all())

    def _predict(self, params: Sequence[Tensor], inputs: Mapping[str, Tensor]) -> Tensor:
        bound = [p.unsqueeze(-1) for p in params]
        out = self._compiled(*bound, *inputs.values())
        size = next(iter(inputs.values())).shape[-1] if inputs else self.n_samples
        return out.expand(*bound[0].shape[:-1], size)

    def _check_indices(self, indices: Tensor) -> Tensor:
        index = torch.as_tensor(indices)
        if index.dim() != 1 or index.numel() == 0 or index.dtype.is_floating_point or index.dtype == torch.bool:
            raise LosslabError(
                f"subset indices must be a non-empty 1-D integer tensor, got shape {tuple(index.shape)} {index.dtype}"
            )
        if int(index.min()) < 0 or int(index.max()) >= self.n_samples:
            raise LosslabError(
                f"subset indices run {int(index.min())}..{int(index.max())}; rows are 0..{self.n_samples - 1}"
            )
        return index.to(self._target.device)

    def _set_known_minimum(self, domain: Domain | str | None) -> None:
        solution = closed_form(self)
        if solution is not None:
            kind = "minimum" if solution.rank == self.dim else "degenerate"
            point = tuple(solution.params.tolist())
            self.known_points = (KnownPoint(point, kind, solution.loss, is_global=True),)
        if isinstance(domain, str):
            domain = Domain.parse(domain, self.names)
        elif domain is None and solution is not None:
            # A box around θ* wide enough to show the bowl: ±max(2, |θ*_j|) on each axis.
            half = solution.params.abs().clamp_min(2.0)
            low, high = (solution.params - half).tolist(), (solution.params + half).tolist()
            domain = Domain(tuple(self.names), tuple(zip(low, high, strict=True)))
        if domain is not None and domain.names != self.names:
            raise LosslabError(f"domain is over {domain.names}, the objective over {self.names}")
        self.domain = domain

    def __repr__(self) -> str:
        return (
            f"DataObjective(model={self.model!r}, loss={self.loss!r}, names={self.names}, "
            f"inputs={self.inputs}, target={self.target!r}, n_samples={self.n_samples})"
        )


def closed_form(objective: Objective) -> ClosedForm | None:
    r"""Solve a least-squares objective directly, or None when that does not apply.

    It applies to a :class:`DataObjective` with loss ``mse``, ``sse`` or ``half_sse`` whose
    model is linear in θ (every :math:`\partial f/\partial\theta_j` free of θ). Then
    :math:`f(\theta; x_i) = b_i + \sum_j A_{ij}\theta_j` with design matrix
    :math:`A_{ij} = \partial f/\partial\theta_j(x_i)` and offset :math:`b_i = f(0; x_i)`,
    and :math:`\theta^* = \arg\min \lVert A\theta - (y - b)\rVert^2`, solved in float64 by
    ``torch.linalg.lstsq``. When A is rank-deficient the minimizers form an affine set and
    the minimum-norm one, :math:`A^+ (y - b)` (``torch.linalg.pinv``), is returned.

    >>> L = least_squares([1, 2], [2, 2], model="w0 + w1*x", loss="half_sse")
    >>> solution = closed_form(L)
    >>> [round(v, 12) + 0.0 for v in solution.params.tolist()], solution.rank
    ([2.0, 0.0], 2)
    """
    if not isinstance(objective, DataObjective) or objective.loss not in SQUARED_LOSSES:
        return None
    data = objective.data
    target = data.pop(objective.target)
    design = linear_design(objective.model_expr, objective.symbols, data, objective.n_samples)
    if design is None:
        return None
    matrix, offset = design
    params, rank, note = solve(matrix, target - offset)
    params = params.to(target.device)
    return ClosedForm(params, float(objective.value(params)), tuple(objective.names), rank, note)


def least_squares(
    x: Any,
    y: Any,
    model: str = "w0 + w1*x",
    loss: str = "mse",
    parameters: Sequence[str] | None = None,
) -> DataObjective:
    """A regression objective from inputs ``x`` and targets ``y``.

    Args:
        x: a 1-D array or list (the column ``x``), or a mapping of input columns.
        y: the targets, one per sample.
        model: the model formula in parameters and inputs.
        loss: ``mse`` (default), ``sse``, ``half_sse`` or ``bce``.
        parameters: parameter names in order; by default the model's non-data variables.

    >>> L = least_squares([1, 2, 3, 4, 5], [2.1, 3.9, 6.1, 8.0, 9.9], model="m*x")
    >>> round(closed_form(L).to_dict()["params"]["m"], 6)
    1.994545
    """
    if isinstance(x, Mapping):
        if "y" in x:
            raise LosslabError(f"input columns {', '.join(x)} include 'y', which is the target; rename that input")
        columns = dict(x)
    else:
        columns = {"x": x}
    return DataObjective(model, {**columns, "y": y}, loss=loss, target="y", parameters=parameters)


def data_objective(
    data: Mapping[str, Any] | str | os.PathLike[str],
    model: str,
    loss: str = "mse",
    target: str = "y",
    parameters: Sequence[str] | None = None,
) -> DataObjective:
    """An objective from columns or a CSV file, a model formula and a loss.

    >>> L = data_objective({"x1": [0, 1, 2, 3], "x2": [1, 0, 1, 0], "y": [0, 0, 1, 1]},
    ...                    "sigmoid(w0 + w1*x1 + w2*x2)", loss="bce")
    >>> L.names, round(float(L.value("w0=0,w1=0,w2=0")), 6)
    (('w0', 'w1', 'w2'), 0.693147)
    """
    if isinstance(data, (str, os.PathLike)):
        data = load_csv(data)
    return DataObjective(model, data, loss=loss, target=target, parameters=parameters)


__all__ = [
    "MAX_SYMBOLIC_SAMPLES",
    "ClosedForm",
    "DataObjective",
    "closed_form",
    "data_objective",
    "least_squares",
]
