"""A slice of a loss: vary some parameters, hold the others at given values (``"w0,w1;w2=0.5"``).

A loss of three or more parameters has no curve or contour map of its own; a slice has. The slice
of a formula (or of any objective with an exact SymPy form) is the formula with the held
parameters substituted, so every tool — derivatives, stationary points, pictures — works on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from losslab.errors import LosslabError
from losslab.objectives.domain import Domain
from losslab.objectives.objective import FormulaObjective, Objective
from losslab.objectives.spelling import variable_name

MAX_VARIED = 2


def hold(objective: Objective, spec: str) -> FormulaObjective:
    """The slice ``spec`` of ``objective``: ``"w0,w1;w2=0.5"`` varies w0 and w1 with w2 held at 0.5.

    Every parameter must be either varied or held; the varied ones keep their domain.

    >>> from losslab.objectives.objective import formula
    >>> sliced = hold(formula("w0**2 + w1**2 + w2**2"), "w0,w1;w2=0.5")
    >>> sliced.names, float(sliced.value("w0=1,w1=0"))
    (('w0', 'w1'), 1.25)
    """
    varied_text, semicolon, held_text = spec.partition(";")
    varied = [variable_name(name.strip()) for name in varied_text.split(",") if name.strip()]
    if not varied or len(varied) > MAX_VARIED:
        raise LosslabError(f"slice {spec!r} must vary 1 or 2 parameters before ';', e.g. 'w0,w1;w2=0.5'")
    unknown = [name for name in varied if name not in objective.names]
    if unknown:
        raise LosslabError(
            f"slice {spec!r} varies {', '.join(unknown)}, not parameters of {', '.join(objective.names)}"
        )
    held = _held_values(spec, held_text, objective.names)
    missing = [name for name in objective.names if name not in varied and name not in held]
    if missing:
        raise LosslabError(
            f"slice {spec!r} neither varies nor holds {', '.join(missing)}; hold them, e.g. '{missing[0]}=0'"
        )
    return _substituted(objective, varied, held, spec)


def _held_values(spec: str, text: str, names: Sequence[str]) -> dict[str, float]:
    held: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, equals, value = (s.strip() for s in part.partition("="))
        name = variable_name(name)
        if not equals or name not in names:
            raise LosslabError(f"slice {spec!r}: '{part}' is not 'parameter=value' for one of {', '.join(names)}")
        try:
            held[name] = float(value)
        except ValueError:
            raise LosslabError(f"slice {spec!r}: {name} = {value!r} is not a number") from None
    return held


def _substituted(objective: Objective, varied: list[str], held: dict[str, float], spec: str) -> FormulaObjective:
    expr, symbols = getattr(objective, "expr", None), getattr(objective, "symbols", None)
    if expr is None or symbols is None:
        raise LosslabError(f"slice {spec!r}: this loss has no formula to slice; slice a formula or a data model")
    by_name = {s.name: s for s in symbols}
    sliced = expr.subs({by_name[name]: value for name, value in held.items()})
    box = objective.domain
    domain = Domain(tuple(varied), tuple(box[name] for name in varied)) if box is not None else None
    kept = ", ".join(f"{name} = {value:g}" for name, value in held.items())
    title = f"{objective.title or 'the loss'} with {kept}"
    return FormulaObjective(sliced, [by_name[name] for name in varied], title=title, domain=domain)
