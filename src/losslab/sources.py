"""One entry point from what a user types to an Objective: a gallery name or a formula.

The CLI and the web explorer both call :func:`objective_from_text`, so "the same objective
arguments" mean the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from losslab.domain import Domain
from losslab.errors import LosslabError
from losslab.gallery import gallery, gallery_names
from losslab.objective import Objective, formula


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


def _variables(variables: Sequence[str] | str | None) -> list[str] | None:
    if variables is None:
        return None
    if not isinstance(variables, str):
        return list(variables)
    names = [v.strip() for v in variables.split(",") if v.strip()]
    if not names:
        raise LosslabError(f"--vars {variables!r} names no variable; give e.g. 'w0,w1'")
    return names
