"""Boxes in parameter space, and points named by parameter, read from text or Python."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.objectives.spelling import variable_name

PointLike = Tensor | Sequence[float] | Mapping[str, float] | str
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*:\s*({_NUMBER})\s*$")


@dataclass(frozen=True)
class Domain:
    """An axis-aligned box: one closed interval per parameter, in parameter order.

    >>> d = Domain.parse("w0=-5:5,w1=0:2", ("w0", "w1"))
    >>> d["w1"]
    (0.0, 2.0)
    """

    names: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if len(self.names) != len(self.bounds):
            raise LosslabError(f"domain names {self.names} and bounds {self.bounds} differ in length")
        for name, (lo, hi) in zip(self.names, self.bounds, strict=True):
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise LosslabError(f"domain of {name} is {lo}:{hi}; both ends must be finite")
            if not lo < hi:
                raise LosslabError(f"domain of {name} is {lo}:{hi}; the minimum must be below the maximum")

    @classmethod
    def box(cls, names: Sequence[str], lo: float, hi: float) -> Domain:
        """The same interval for every parameter."""
        return cls(tuple(names), tuple((float(lo), float(hi)) for _ in names))

    @classmethod
    def parse(cls, text: str, names: Sequence[str]) -> Domain:
        """Read ``"w0=-5:5,w1=-5:5"``; a bare ``"-5:5"`` applies to every parameter."""
        whole = _RANGE.match(text)
        if whole:
            return cls.box(names, float(whole[1]), float(whole[2]))
        given = _pairs(text, names, what="domain", example="w0=-5:5,w1=-5:5")
        bounds = []
        for name in names:
            if name not in given:
                raise LosslabError(
                    f"domain '{text}' gives no range for {name}; give one for each of {', '.join(names)}"
                )
            match = _RANGE.match(given[name])
            if not match:
                raise LosslabError(f"range '{given[name]}' for {name} is not of the form lo:hi (e.g. -5:5)")
            bounds.append((float(match[1]), float(match[2])))
        return cls(tuple(names), tuple(bounds))

    def __getitem__(self, name: str) -> tuple[float, float]:
        return self.bounds[self.names.index(name)]

    def __iter__(self) -> Iterator[tuple[str, tuple[float, float]]]:
        return iter(zip(self.names, self.bounds, strict=True))

    @property
    def lower(self) -> Tensor:
        return torch.tensor([lo for lo, _ in self.bounds], dtype=torch.float64)

    @property
    def upper(self) -> Tensor:
        return torch.tensor([hi for _, hi in self.bounds], dtype=torch.float64)

    def contains(self, theta: Tensor, slack: float = 1e-9) -> Tensor:
        """Whether each θ in a stack ``(..., n)`` lies in the box (boolean ``(...)``)."""
        width = self.upper - self.lower
        inside = (theta >= self.lower - slack * width) & (theta <= self.upper + slack * width)
        return inside.all(dim=-1)

    def grid(self, points_per_axis: int) -> Tensor:
        """All points of a regular grid, shape ``(points_per_axis**n, n)``."""
        if points_per_axis < 2:
            raise LosslabError(f"a grid needs at least 2 points per axis, got {points_per_axis}")
        axes = [even_axis(lo, hi, points_per_axis) for lo, hi in self.bounds]
        mesh = torch.meshgrid(*axes, indexing="ij")
        return torch.stack([m.reshape(-1) for m in mesh], dim=-1)

    def __str__(self) -> str:
        return ",".join(f"{n}={lo:g}:{hi:g}" for n, (lo, hi) in self)


def even_axis(lo: float, hi: float, n: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """``n`` evenly spaced points from ``lo`` to ``hi``, each ``lo + ((hi − lo)·i)/(n − 1)``: round fractions
    of the range land exactly (``torch.linspace(-5, 5, 201)`` puts -2.8e-16 where 0 is, and 0.9999999999999998
    for 1 — which a student would then read as a minimum's coordinates).

    >>> even_axis(-5, 5, 201)[[60, 100, 120]].tolist()
    [-2.0, 0.0, 1.0]
    """
    steps = torch.arange(n, dtype=torch.float64)
    return (lo + (hi - lo) * steps / (n - 1)).to(dtype)


def _pairs(text: str, names: Sequence[str], what: str, example: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in text.split(","):
        if "=" not in part:
            raise LosslabError(f"{what} '{text}' is not of the form {example}")
        name, _, value = part.partition("=")
        name = variable_name(name.strip())
        if name not in names:
            raise LosslabError(
                f"{what} '{text}' names {name!r}, which is not a parameter; parameters: {', '.join(names)}"
            )
        if name in pairs:
            raise LosslabError(f"{what} '{text}' gives {name} twice")
        pairs[name] = value.strip()
    return pairs


def as_point(spec: PointLike, names: Sequence[str], dtype: torch.dtype = torch.float64) -> Tensor:
    """Turn a point given as text, mapping, sequence or tensor into a θ tensor.

    Text is ``"w0=3,w1=4"`` (or ``"3,4"`` in parameter order).

    >>> as_point("w1=4,w0=3", ("w0", "w1"))
    tensor([3., 4.], dtype=torch.float64)
    """
    if isinstance(spec, str):
        if "=" in spec:
            given = _pairs(spec, names, what="point", example="w0=3,w1=4")
            missing = [n for n in names if n not in given]
            if missing:
                raise LosslabError(f"point '{spec}' gives no value for {', '.join(missing)}")
            values = [_number(given[n], n, spec) for n in names]
        else:
            values = [_number(v, "coordinate", spec) for v in spec.split(",")]
        return as_point(values, names, dtype)
    if isinstance(spec, Mapping):
        unknown = [k for k in spec if k not in names]
        missing = [n for n in names if n not in spec]
        if unknown or missing:
            raise LosslabError(
                f"point {dict(spec)} must name exactly the parameters {', '.join(names)}"
                + (f"; unknown: {', '.join(map(str, unknown))}" if unknown else "")
                + (f"; missing: {', '.join(missing)}" if missing else "")
            )
        return as_point([float(spec[n]) for n in names], names, dtype)
    theta = torch.as_tensor(spec, dtype=dtype).reshape(-1) if not isinstance(spec, Tensor) else spec.to(dtype)
    if theta.shape != (len(names),):
        raise LosslabError(
            f"point {theta.tolist()} has {theta.numel()} coordinates; {len(names)} parameters: {', '.join(names)}"
        )
    if not torch.isfinite(theta).all():
        raise LosslabError(f"point {theta.tolist()} has a non-finite coordinate")
    return theta


def _number(text: str, name: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise LosslabError(f"value {text!r} for {name} in '{spec}' is not a number") from None
    if not math.isfinite(value):
        raise LosslabError(f"value {text!r} for {name} in '{spec}' is not finite")
    return value
