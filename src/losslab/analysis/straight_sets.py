"""The equation of a set of stationary points found numerically that is straight: a valley floor that is a line.

SymPy writes the sets it solves (``x = -y, y free``); a set the numeric search found and traced is otherwise
shown by the range of each coordinate over it, which for a line across the box (sin²(x + y)'s x + y = π) is the
whole box and says nothing of where the line is. Where the traced points lie on one line, its equation is shown
instead, with plain coefficients (integers where the slope is a simple fraction).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import torch
from torch import Tensor

from losslab.objectives.domain import Domain

#: points lie on the line when none is farther from it than this, relative to their spread (at least 1)
STRAIGHT = 1e-8
#: a coefficient is a fraction with a denominator up to this where it is one to 1e-9
DENOMINATOR = 12


def straight_equation(names: Sequence[str], members: Tensor, curve: tuple[Tensor, ...], box: Domain) -> str | None:
    """The equation of a set in the plane whose traced ``curve`` runs face to face across the box (not a stretch
    that ends inside it, where an equation would say more than was found) and is straight with its ``members``."""
    if not curve:
        return None
    ends = torch.cat([torch.stack([piece[0], piece[-1]]) for piece in curve])
    slack = 1e-6 * (box.upper - box.lower)
    if not bool(((ends <= box.lower + slack) | (ends >= box.upper - slack)).any(-1).all()):
        return None
    return line_equation(names, torch.cat([members, *curve]))


def line_equation(names: Sequence[str], points: Tensor) -> str | None:
    """``a·x + b·y = c`` when the ``points`` (k, 2) of a set lie on one line, else None (a curve, or too few).

    >>> t = torch.linspace(-5, 5, 11, dtype=torch.float64)
    >>> line_equation(["x", "y"], torch.stack([t, math.pi - t], -1))
    'x + y = 3.141592654'
    >>> line_equation(["w", "b"], torch.stack([t, 2 * t - 1], -1))
    '2*w - b = 1'
    >>> line_equation(["x", "y"], torch.stack([t, t**2], -1)) is None
    True
    """
    if points.shape[-1] != 2 or points.shape[0] < 4:
        return None
    centre = points.mean(0)
    offsets = points - centre
    spread = float(torch.linalg.vector_norm(offsets, dim=-1).max())
    if spread == 0.0:
        return None
    normal = torch.linalg.svd(offsets, full_matrices=False).Vh[-1]
    if float((offsets @ normal).abs().max()) > STRAIGHT * max(1.0, spread):
        return None
    normal = normal / normal[normal.abs().argmax()]
    coefficients = [_fraction(float(c)) for c in normal]
    if all(c is not None for c in coefficients):
        scale = math.lcm(*(c.denominator for c in coefficients if c is not None))
        terms: list[float] = [float(c * scale) for c in coefficients if c is not None]
    else:
        scale, terms = 1, [float(c) for c in normal]
    sign = -1.0 if next(c for c in terms if c) < 0 else 1.0  # the first term positive
    constant = sign * scale * float(normal @ centre)
    right = _fraction(constant)
    shown = str(right) if right is not None and right.denominator <= DENOMINATOR else f"{constant:.10g}"
    return f"{_left(names, [sign * c for c in terms])} = {shown}"


def _left(names: Sequence[str], coefficients: Sequence[float]) -> str:
    """``2*w - b``: the terms in the parameters' order, a coefficient 1 left out."""
    text = ""
    for name, c in zip(names, coefficients, strict=True):
        if c == 0:
            continue
        size = abs(c)
        term = name if size == 1 else f"{size:.10g}*{name}"
        text += (" - " if c < 0 else " + ") + term if text else ("-" if c < 0 else "") + term
    return text


def _fraction(value: float) -> Fraction | None:
    """``value`` as a fraction with a small denominator, where it is one to rounding; else None."""
    near = Fraction(value).limit_denominator(DENOMINATOR)
    return near if abs(float(near) - value) <= 1e-9 * max(1.0, abs(value)) else None


def whole_points(curve: tuple[Tensor, ...]) -> Tensor:
    """The points of a straight traced set where one coordinate is a whole number, for the set to be shown at a
    plain point: x + y = −2π at (−2, −4.283185307), not at the (−4.295438807, −1.9877465) a search stopped at.

    >>> line = torch.tensor([[-5.0, -1.283185307179586], [-1.283185307179586, -5.0]], dtype=torch.float64)
    >>> [[round(v, 9) for v in row] for row in whole_points((line,))[:2].tolist()]
    [[-5.0, -1.283185307], [-4.0, -2.283185307]]
    """
    rows = torch.cat(curve)
    first, last = rows[0], rows[(rows - rows[0]).norm(dim=-1).argmax()]
    found = []
    for axis in range(rows.shape[-1]):
        low, high = sorted((float(first[axis]), float(last[axis])))
        if high - low <= 1e-9 * max(1.0, abs(low)):
            continue
        for whole in range(math.ceil(low), math.floor(high) + 1):
            t = (whole - first[axis]) / (last[axis] - first[axis])
            point = first + t * (last - first)
            point[axis] = float(whole)
            found.append(point)
    return torch.stack(found) if found else rows[:0]
