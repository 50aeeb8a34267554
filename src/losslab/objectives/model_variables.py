"""Which of a model's variables are parameters and which are data, with typo checks.

A model such as ``"w0 + w1*x"`` mixes parameters (w0, w1) and data variables (x). The data
decides: a variable naming a data column is data, the rest are parameters — unless the
parameters are listed explicitly, in which case every other variable must be a column.
"""

from __future__ import annotations

from collections.abc import Sequence

from losslab.errors import LosslabError
from losslab.objectives.formula_parser import CONSTANTS, FUNCTIONS


def split_variables(
    model: str,
    found: Sequence[str],
    columns: Sequence[str],
    target: str,
    parameters: Sequence[str] | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split the model's variables into (parameters, data inputs), with the checks.

    Args:
        model: the model text (for messages).
        found: the model's variables in natural order.
        columns: the data column names.
        target: the target column, which the model must not use.
        parameters: explicit parameter names, or None for "every variable that is not a
            data column" — then a name that differs from a column only in case, or a model
            that uses no column at all, is taken for a typo and refused.

    >>> split_variables("m*x + b", ["b", "m", "x"], ["x", "y"], "y", None)
    (('b', 'm'), ('x',))
    """
    listed = ", ".join(columns)
    if target in found:
        raise LosslabError(
            f"model '{model}' uses the target column '{target}'; the model predicts it from the inputs ({listed})"
        )
    inputs = tuple(n for n in found if n in columns)
    if parameters is None:
        names = tuple(n for n in found if n not in columns)
        lowered = {c.lower(): c for c in columns}
        for name in names:
            if name.lower() in lowered:
                raise LosslabError(
                    f"model '{model}' uses '{name}', which is not a data column"
                    " (names are case-sensitive);"
                    f" data columns: {listed} — did you mean '{lowered[name.lower()]}'?"
                )
        if names and not inputs:
            raise LosslabError(
                f"model '{model}' uses none of the data columns ({listed});"
                " write it in them, e.g. 'w0 + w1*x',"
                " or list the parameters explicitly"
            )
    else:
        names = _explicit_parameters(model, found, columns, parameters)
    if not names:
        raise LosslabError(
            f"model '{model}' has no parameters: every variable is a data column ({listed}); add some, e.g. 'w0 + w1*x'"
        )
    return names, inputs


def _explicit_parameters(
    model: str, found: Sequence[str], columns: Sequence[str], parameters: Sequence[str]
) -> tuple[str, ...]:
    names = (parameters,) if isinstance(parameters, str) else tuple(parameters)
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or name in FUNCTIONS or name in CONSTANTS:
            raise LosslabError(
                f"parameter name {name!r} is not accepted; use a letter followed by letters, digits or '_'"
            )
        if name in columns:
            raise LosslabError(f"parameter '{name}' is also a data column; data columns: {', '.join(columns)}")
    if len(set(names)) != len(names):
        raise LosslabError(f"parameters {list(names)} repeat a name")
    unknown = [n for n in found if n not in columns and n not in names]
    if unknown:
        raise LosslabError(
            f"model '{model}' uses {', '.join(unknown)}, which is neither"
            f" a parameter ({', '.join(names)})"
            f" nor a data column ({', '.join(columns)})"
        )
    unused = [n for n in names if n not in found]
    if unused:
        raise LosslabError(f"parameter(s) {', '.join(unused)} do not appear in model '{model}'")
    return names
