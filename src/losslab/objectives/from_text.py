"""One entry point from what a user types to an Objective: a gallery name or a formula.

The CLI and the web explorer both call :func:`objective_from_text`, so "the same objective
arguments" mean the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from losslab.errors import LosslabError
from losslab.objectives.domain import Domain
from losslab.objectives.gallery import gallery, gallery_names
from losslab.objectives.objective import Objective, formula
from losslab.serialize import Readable


def objective_from_text(
    text: str,
    variables: Sequence[str] | str | None = None,
    domain: str | Domain | None = None,
) -> Objective:
    """A gallery surface when ``text`` is exactly a gallery name, otherwise a formula.

    Args:
        text: ``"rosenbrock"`` or ``"(w - 3)**2"``.
        variables: parameter names in order, as a list or ``"w0,w1"``.
        domain: ``"w0=-5:5,w1=-5:5"`` (or ``"-5:5"`` for every parameter).

    >>> objective_from_text("w**2 - 4*w + 5", domain="-1:5").domain.bounds
    ((-1.0, 5.0),)
    """
    names = _variables(variables)
    text = text.strip()
    if text in gallery_names():
        objective = gallery(text)
        if names is not None and tuple(names) != objective.names:
            raise LosslabError(
                f"gallery surface {text!r} has parameters {', '.join(objective.names)}; "
                f"--vars {','.join(names)} does not match"
            )
    else:
        objective = formula(text, names)
    if domain is not None:
        objective.domain = domain if isinstance(domain, Domain) else Domain.parse(domain, objective.names)
    return objective


def as_objective(loss: Objective | str) -> Objective:
    """``loss`` itself, or the objective its text names (a gallery name or a formula, through the whitelist
    parser), so that ``losslab.analyze("x^2 + y^2")`` works as ``losslab.analyze(losslab.formula("x^2 + y^2"))``.

    >>> as_objective("(x - 1)^2").names, as_objective("rosenbrock").names
    (('x',), ('x', 'y'))
    >>> try:
    ...     as_objective(3)
    ... except LosslabError as error:
    ...     print(str(error)[:54])
    the loss 3 is not a formula, gallery name or objective
    """
    if isinstance(loss, Objective):
        return loss
    if isinstance(loss, str):
        return objective_from_text(loss)
    raise LosslabError(
        f"the loss {loss!r} is not a formula, gallery name or objective (it is of type {type(loss).__name__}); give "
        "text such as 'x^2 + y^2' or an objective (losslab.formula, losslab.gallery, losslab.network, …)"
    )


def _variables(variables: Sequence[str] | str | None) -> list[str] | None:
    if variables is None:
        return None
    if not isinstance(variables, str):
        return list(variables)
    names = [v.strip() for v in variables.split(",") if v.strip()]
    if not names:
        raise LosslabError(f"--vars {variables!r} names no variable; give e.g. 'w0,w1'")
    return names


@dataclass(frozen=True)
class FormulaCheck(Readable):
    """The verdict on typed formula text: its variables, or the parser's message and column."""

    text: str
    ok: bool
    names: tuple[str, ...] = ()
    message: str = ""
    column: int | None = None

    def __str__(self) -> str:
        return f"ok: variables {', '.join(self.names)}" if self.ok else f"error: {self.message}"


def check_formula(text: str, variables: Sequence[str] | None = None) -> FormulaCheck:
    """Parse ``text`` through the whitelist parser; on failure keep the message and its column.

    >>> check_formula("w0 +* 2").column, check_formula("(w - 3)**2").names
    (5, ('w',))
    """
    try:
        objective = formula(text, variables)
    except LosslabError as error:
        return FormulaCheck(text, False, message=str(error), column=error.column)
    return FormulaCheck(text, True, names=tuple(objective.names))
