"""Oracles for traced curves of stationary points: a generated line, whether a closed polyline goes once round a
centre, and each point's distance to a set of polylines (float64, closed forms only)."""

from __future__ import annotations

import math

import sympy
import torch


def random_line(generator: torch.Generator, most_offset: float) -> tuple[float, float, float]:
    """(cos a, sin a, d) of the line cos(a)·x + sin(a)·y = d, a uniform in [0, π), d in [−most_offset, most_offset]."""
    angle = float(torch.rand(1, generator=generator, dtype=torch.float64)) * math.pi
    offset = float(torch.rand(1, generator=generator, dtype=torch.float64)) * 2 * most_offset - most_offset
    return math.cos(angle), math.sin(angle), offset


def turns_once_round(loop: torch.Tensor, centre: tuple[float, float] = (0.0, 0.0)) -> bool:
    """Whether the polyline's angle about ``centre`` sums to ±2π: once round, not back and forth."""
    angle = torch.atan2(loop[:, 1] - centre[1], loop[:, 0] - centre[0]).diff()
    angle = (angle + math.pi) % (2 * math.pi) - math.pi
    return abs(abs(float(angle.sum())) - 2 * math.pi) < 1e-9


def on_the_face(point: torch.Tensor, half: float = 5.0, tolerance: float = 1e-12 * math.hypot(10, 10) * 1.01) -> bool:
    """Whether ``point`` is on a face of the box [−half, half]ⁿ, inside it or out, to ``tolerance`` (a traced curve
    ends where its set crosses the box's side: to 1e-12 of the diagonal of the analysis's box [−5, 5]²)."""
    return bool((point.abs() - half).abs().amin() <= tolerance)


def distance_to(curves: tuple[torch.Tensor, ...], points: torch.Tensor) -> torch.Tensor:
    """Each point's distance to the nearest segment of any of the polylines."""
    gaps = []
    for piece in curves:
        start, along = piece[:-1], piece[1:] - piece[:-1]
        s = ((points[:, None] - start) * along).sum(-1) / along.square().sum(-1).clamp(min=1e-300)
        nearest = start + s.clamp(0, 1)[..., None] * along
        gaps.append(torch.linalg.vector_norm(points[:, None] - nearest, dim=-1).amin(-1))
    return torch.stack(gaps).amin(0)


def line_extent(c: float, s: float, d: float, low: float = -5.0, high: float = 5.0) -> tuple[list[float], list[float]]:
    """The ranges of x and y over the line c·x + s·y = d (c² + s² = 1) inside the square [low, high]²: the line is
    d·(c, s) + t·(−s, c), inside for t in the intersection of each axis's interval."""
    start, way = (d * c, d * s), (-s, c)
    first, last = -math.inf, math.inf
    for p0, w in zip(start, way, strict=True):
        if w != 0:
            a, b = sorted(((low - p0) / w, (high - p0) / w))
            first, last = max(first, a), min(last, b)
    ends = [[p0 + t * w for t in (first, last)] for p0, w in zip(start, way, strict=True)]
    return [min(e) for e in ends], [max(e) for e in ends]


def line_of(equation: str) -> tuple[float, float, float]:
    """(c, s, d) with c² + s² = 1 and c ≥ 0 of a printed line ``a*x + b*y = r`` (the analysis's own words, read by
    SymPy: not user text)."""
    left, right = equation.split(" = ")
    x, y = sympy.symbols("x y")
    poly = sympy.Poly(sympy.sympify(left), x, y)
    a, b, r = float(poly.coeff_monomial(x)), float(poly.coeff_monomial(y)), float(sympy.sympify(right))
    size = math.hypot(a, b) * (1 if a > 0 or (a == 0 and b > 0) else -1)
    return a / size, b / size, r / size


def ranges_of(equations: tuple[str, ...]) -> tuple[list[float], list[float]]:
    """The numbers of ``a ≤ name ≤ b`` rows (as the analysis prints a set found numerically)."""
    pairs = [[float(v) for v in row.split(" ≤ ")[::2]] for row in equations]
    return [a for a, _ in pairs], [b for _, b in pairs]


def circle_extent(
    a: float, b: float, r: float, low: float = -5.0, high: float = 5.0
) -> tuple[list[float], list[float]]:
    """The ranges of x and y over the circle (x − a)² + (y − b)² = r² inside the square [low, high]²: over the
    points where a coordinate can be extreme on it — the circle's own leftmost, rightmost, lowest and highest points,
    and where it crosses the square's sides — those in the square."""
    candidates = [(a - r, b), (a + r, b), (a, b - r), (a, b + r)]
    for side in (low, high):
        for centre, other, flip in ((a, b, False), (b, a, True)):
            reach = r * r - (side - centre) ** 2
            if reach >= 0:
                for root in (other - math.sqrt(reach), other + math.sqrt(reach)):
                    candidates.append((root, side) if flip else (side, root))
    inside = [p for p in candidates if all(low <= v <= high for v in p)]
    return [min(p[i] for p in inside) for i in (0, 1)], [max(p[i] for p in inside) for i in (0, 1)]
