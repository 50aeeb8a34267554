r"""How far a landscape slice can be trusted: the faithfulness report of a surveyed line or plane.

A picture of ``L(c + a·d₁ + b·d₂)`` shows the loss restricted to a plane. Böttcher & Wheeler
(*Visualizing high-dimensional loss landscapes with Hessian directions*, 2022) show what that
restriction does at the centre: the slice's curvature along a random unit direction ``u`` is
``uᵀHu ≈ tr(H)/P`` — the *mean* eigenvalue, not the extremes — so a random plane through a saddle
nearly always looks convex. The report puts the slice beside the full Hessian:

- the slice's own Hessian in its coordinates, :math:`H_s = D H Dᵀ` (k × k; D the directions as
  rows: the curvature the picture shows per unit of a and b), the curvature along each direction
  per unit length of θ, :math:`d_iᵀ H d_i / ‖d_i‖²`, and the eigenvalues of the Hessian restricted
  to the plane, :math:`Qᵀ H Q` (Q an orthonormal basis of the plane) — by Cauchy interlacing
  they lie in :math:`[λ_{min}, λ_{max}]`;
- the full Hessian's extreme eigenvalues (Lanczos, :func:`losslab.curvature.top_eigenvalues`);
- ``hides_negative_curvature``: the Hessian has a clearly negative eigenvalue (below
  ``-tolerance · max|λ|``) that the plane does not show (every slice eigenvalue above it);
- a training path's distance from the plane (:func:`losslab.landscape.projection.project`);
- for data streamed in batches, the sampling error of the surveyed values (the surface's
  ``loss_stderr``, :mod:`losslab.landscape.sampling`) beside the range of the loss;
- for an axis along which the slice curves down, whether the surveyed grid is fine enough to show
  it: the second difference ``L(c + h·dᵢ) + L(c − h·dᵢ) − 2L(c)`` at the grid's spacing h and, where
  that curves up, the largest of h/2, h/4, … at which it still curves down (a negative eigenvalue
  small beside the loss's higher-order terms bends the loss down only very near the centre: the
  picture of a Hessian-extremes plane over [-1, 1] then shows a bowl).

The cost is k + 1 Hessian-vector products for the slice (one graph), a Lanczos run for the
extremes (none when the directions are the Hessian's own extremes, which carry their eigenvalues),
and for each axis that curves down a few pairs of loss evaluations (one per halving of the spacing).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.landscape.directions import Directions
from losslab.landscape.limits import range_text
from losslab.landscape.projection import Projection, project
from losslab.landscape.surface import Surface, open_for_writing
from losslab.objectives.network import NetworkObjective
from losslab.serialize import Readable, jsonable

# a negative eigenvalue counts as negative curvature below −TOLERANCE · max|λ| (rounding of float32 products)
TOLERANCE = 1e-3
ATTRIBUTE = "faithfulness_json"  # where a surface file keeps its report



def _percent(share: float) -> str:
    """A share as a percentage, with two significant figures below 1 % (a random slice of a network may reach
    0.041 % of λmax, which ".1%" printed as 0.0 %)."""
    if share != share or share == 0 or abs(share) >= 0.01:
        return f"{share:.1%}"
    return f"{share * 100:.2g}%"

@dataclass
class Faithfulness(Readable):
    """How faithful a slice is at its centre (see the module docstring).

    Attributes:
        slice_hessian: ``(k, k)`` the slice's Hessian in its own coordinates, ``D H Dᵀ``.
        curvatures: ``(k,)`` the curvature along each direction per unit length of θ.
        slice_eigenvalues: ``(k,)`` eigenvalues of the Hessian restricted to the slice, descending.
        hessian_extremes: ``(λmax, λmin)`` of the full Hessian.
        lanczos_converged: whether Lanczos met its tolerance for both extremes.
        hides_negative_curvature: λmin is clearly negative and the slice shows none of it.
        shares: the slice's largest and smallest eigenvalue as fractions of λmax and λmin.
        path: the training path's projection on the slice, if one was given.
        sampling_error: the largest standard error of a surveyed loss and the loss's range, for
            data streamed in batches (else None).
        downturns: for each axis the slice curves down along (with a surface): ``axis``,
            ``curvature`` (per unit² of the coordinate), the grid's ``spacing``, ``grid_difference``
            (the second difference at that spacing), ``shown`` (it is negative) and ``within`` (the
            largest spacing h/2ᵏ whose second difference is, None where none rises above rounding) and
            ``suggested_ranges`` (the ranges that frame it, per axis, or None).
    """

    slice_hessian: Tensor
    curvatures: Tensor
    slice_eigenvalues: Tensor
    hessian_extremes: tuple[float, float]
    lanczos_converged: bool
    hides_negative_curvature: bool
    path: Projection | None = None
    sampling_error: dict[str, float] | None = None
    downturns: list[dict[str, Any]] = field(default_factory=list)

    @property
    def shows_negative_curvature(self) -> bool:
        """Whether the slice itself curves down somewhere at its centre."""
        scale = max(abs(v) for v in self.hessian_extremes) or 1.0
        return bool(self.slice_eigenvalues.min() < -TOLERANCE * scale)

    @property
    def shares(self) -> tuple[float, float]:
        """(slice's largest ÷ λmax, slice's smallest ÷ λmin): 1 where the slice reaches the extreme."""
        top, bottom = self.hessian_extremes
        high, low = float(self.slice_eigenvalues.max()), float(self.slice_eigenvalues.min())
        return (high / top if top else float("nan"), low / bottom if bottom else float("nan"))

    def _reach(self) -> str:
        """How much of the extremes the slice reaches: a share of λmax where both curve up, of λmin where both
        curve down (a negative share said nothing true: "-333.3% of λmin" of a slice curving up)."""
        top, bottom = self.hessian_extremes
        scale = max(abs(top), abs(bottom)) or 1.0
        floor = f"{TOLERANCE * scale:.3g} = −{TOLERANCE:g}·max|λ|"
        if float(self.slice_eigenvalues.max()) > 0:
            high = f"{_percent(self.shares[0])} of λmax"
        else:
            high = "none of λmax (it curves up nowhere)"
        if bottom >= -TOLERANCE * scale:
            return f"{high}; the Hessian curves down nowhere clearly (λmin {bottom:.4g}, above −{floor})"
        if float(self.slice_eigenvalues.min()) < 0:
            return f"{high} and {_percent(self.shares[1])} of λmin"
        return f"{high} and none of λmin (it curves down nowhere)"

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "slice_hessian": self.slice_hessian.tolist(),
                "curvatures": self.curvatures.tolist(),
                "slice_eigenvalues": self.slice_eigenvalues.tolist(),
                "hessian_extremes": list(self.hessian_extremes),
                "lanczos_converged": self.lanczos_converged,
                "hides_negative_curvature": self.hides_negative_curvature,
                "shows_negative_curvature": self.shows_negative_curvature,
                "shares": list(self.shares),
                "path": None if self.path is None else _path_summary(self.path),
                "sampling_error": self.sampling_error,
                "downturns": self.downturns,
            }
        )

    def __str__(self) -> str:
        top, bottom = self.hessian_extremes
        shown = ", ".join(f"{v:.4g}" for v in self.slice_eigenvalues.tolist())
        lines = [
            "faithfulness of the slice at its centre (Böttcher & Wheeler 2022):",
            f"  slice curvature along each direction {', '.join(f'{c:.4g}' for c in self.curvatures.tolist())}"
            f"; eigenvalues in the slice {shown}",
            f"  full Hessian λmax {top:.4g}, λmin {bottom:.4g}"
            + ("" if self.lanczos_converged else " (Lanczos not converged: raise --max-iter)"),
            f"  the slice reaches {self._reach()}",
        ]
        if self.hides_negative_curvature:
            low = float(self.slice_eigenvalues.min())
            share = _percent(self.shares[1])
            looks = "it looks convex" if low >= 0 else f"it curves down by at most {-low:.4g}, {share} as much"
            lines.append(
                f"  the slice HIDES negative curvature: {looks}, but the Hessian has λmin {bottom:.4g} "
                "(--directions hessian-extremes shows it)"
            )
        elif self.shows_negative_curvature:
            lines.append("  the slice shows negative curvature at its centre")
        lines.extend(_downturn_line(turn) for turn in self.downturns if not turn["shown"])
        if self.path is not None:
            summary = _path_summary(self.path)
            shape = {1: "line", 2: "plane"}.get(len(self.curvatures), "slice")
            lines.append(
                f"  the training path lies up to {summary['largest_distance']:.4g} from the {shape} "
                f"(relative {summary['largest_relative_distance']:.3g})"
            )
        if self.sampling_error is not None:
            e = self.sampling_error
            lines.append(
                f"  sampling error of the values (over batches) up to {e['largest']:.3g}, "
                f"median {e['median']:.3g}, against a loss range of {e['loss_range']:.3g}"
            )
        return "\n".join(lines)


def faithfulness(
    objective: NetworkObjective,
    directions: Directions,
    *,
    surface: Surface | None = None,
    checkpoints: Sequence[Tensor] | Tensor | None = None,
    **lanczos: Any,
) -> Faithfulness:
    """The faithfulness report of the slice ``directions`` (at its centre) of ``objective``.

    Args:
        objective: the network objective the slice was surveyed on.
        directions: the slice.
        surface: its survey, for the sampling error of streamed values (its ``loss_stderr``).
        checkpoints: a training path (flat θ's) to measure against the plane.
        **lanczos: options of :func:`losslab.curvature.top_eigenvalues` (``max_iter``, ``tol``).

    >>> from losslab.landscape.directions import Directions
    >>> class Saddle(torch.nn.Module):  # L(w) = w₁² − w₂² as a "model" and a loss on its output
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = torch.nn.Parameter(torch.zeros(1, 2, dtype=torch.float64))
    ...     def forward(self, x):
    ...         return self.w
    >>> L = NetworkObjective(Saddle(), (torch.zeros(1, 1), torch.zeros(1)), lambda w, _: w[0, 0]**2 - w[0, 1]**2)
    >>> plane = Directions(torch.eye(2, dtype=torch.float64), L.center.clone(), "given")
    >>> report = faithfulness(L, plane)
    >>> report.slice_eigenvalues.tolist(), [round(v, 9) for v in report.hessian_extremes]
    ([2.0, -2.0], [2.0, -2.0])
    >>> report.hides_negative_curvature, report.shows_negative_curvature
    (False, True)
    """
    from losslab import curvature

    if not isinstance(objective, NetworkObjective):
        raise LosslabError(f"faithfulness needs a NetworkObjective, not a {type(objective).__name__}")
    if directions.center.numel() != objective.dim:
        raise LosslabError(f"directions are over {directions.center.numel()} parameters, the model has {objective.dim}")
    center = directions.center.to(objective.device, objective.dtype)
    vectors = directions.vectors.to(objective.device, objective.dtype)
    operator = curvature.hessian_operator(objective, center)
    products = torch.stack([operator.matvec(v) for v in vectors]).to(torch.float64)
    rows = vectors.to(torch.float64)
    slice_hessian = _symmetric(rows @ products.T)
    curvatures = slice_hessian.diagonal() / (rows**2).sum(dim=1)
    slice_eigenvalues = _restricted_eigenvalues(rows, slice_hessian)
    extremes, converged = _extremes(objective, directions, center, lanczos)
    scale = max(abs(v) for v in extremes) or 1.0
    hides = extremes[1] < -TOLERANCE * scale and bool(slice_eigenvalues.min() >= -TOLERANCE * scale)
    path = None if checkpoints is None else project(checkpoints, directions)
    downturns = [] if surface is None else _downturns(objective, center, vectors, slice_hessian, surface, scale)
    return Faithfulness(
        slice_hessian, curvatures, slice_eigenvalues, extremes, converged, hides, path, _sampling(surface), downturns
    )


def save_faithfulness(path: str | Path, report: Faithfulness) -> None:
    """Keep ``report`` in the surface file ``path`` (an attribute beside the provenance; a resumed or
    recomputed survey drops it, since it describes the run it was made for)."""
    with open_for_writing(path, "a") as file:
        file.attrs[ATTRIBUTE] = json.dumps(report.to_dict())


def read_faithfulness(path: str | Path) -> dict[str, Any] | None:
    """The report kept in a surface file (as a dict), or None where it has none."""
    try:
        with h5py.File(path, "r") as file:
            text = file.attrs.get(ATTRIBUTE)
    except OSError as exc:
        raise LosslabError(f"cannot read {path}: {exc}") from None
    return None if text is None else dict(json.loads(text))


def _symmetric(matrix: Tensor) -> Tensor:
    return (matrix + matrix.T) / 2


def _restricted_eigenvalues(rows: Tensor, slice_hessian: Tensor) -> Tensor:
    """Eigenvalues of QᵀHQ for Q an orthonormal basis of the rows' span, from DHDᵀ alone:
    with Dᵀ = QR, QᵀHQ = R⁻ᵀ (DHDᵀ) R⁻¹ (descending)."""
    _, r = torch.linalg.qr(rows.T)
    if bool((r.diagonal().abs() <= 1e-12 * r.diagonal().abs().max()).any()):
        raise LosslabError("the directions are (nearly) parallel: they do not span a plane")
    left = torch.linalg.solve_triangular(r.T, slice_hessian, upper=False)
    restricted = torch.linalg.solve_triangular(r, left, upper=True, left=False)
    return torch.linalg.eigvalsh(_symmetric(restricted)).flip(0)


def _extremes(
    objective: NetworkObjective, directions: Directions, center: Tensor, lanczos: dict[str, Any]
) -> tuple[tuple[float, float], bool]:
    """(λmax, λmin) of the full Hessian at the centre, and whether they converged."""
    from losslab import curvature

    known = directions.eigenvalues
    if directions.kind == "hessian-extremes" and known is not None and len(known) == 2:
        return (float(known[0]), float(known[1])), True  # checked converged when the directions were made
    result = curvature.top_eigenvalues(objective, 1, which="both", at=center, **lanczos)
    values = result.eigenvalues.tolist()
    if len(values) < 2:
        raise LosslabError("the faithfulness report needs a model with at least 2 parameters")
    return (float(max(values)), float(min(values))), bool(result.converged)


def _downturns(
    objective: NetworkObjective, center: Tensor, vectors: Tensor, slice_hessian: Tensor, surface: Surface, scale: float
) -> list[dict[str, Any]]:
    """For each axis the slice curves down along: does the surveyed grid's spacing show it (see the module)?"""
    turns: list[dict[str, Any]] = []
    base: float | None = None
    for axis, curvature in enumerate(slice_hessian.diagonal().tolist()):
        coordinates = surface.coordinates[axis] if axis < len(surface.coordinates) else None
        if curvature >= -TOLERANCE * scale or coordinates is None or len(coordinates) < 2:
            continue
        spacing = float(coordinates[1] - coordinates[0])
        base = float(objective.value(center)) if base is None else base
        floor = 64 * torch.finfo(objective.dtype).eps * max(abs(base), 1.0)  # rounding of the loss's sums
        grid_difference = _second_difference(objective, center, vectors[axis], spacing, base)
        within = None
        h = spacing
        while grid_difference >= 0 and -curvature * (h / 2) ** 2 > floor:  # below the floor it cannot show
            h /= 2
            if _second_difference(objective, center, vectors[axis], h, base) < 0:
                within = h
                break
        turns.append(
            {"axis": axis, "curvature": curvature, "spacing": spacing, "grid_difference": grid_difference,
             "shown": grid_difference < 0, "within": within,
             "suggested_ranges": None if within is None else _framing(surface, slice_hessian, axis, within)}
        )  # fmt: skip
    return turns


def _framing(surface: Surface, slice_hessian: Tensor, axis: int, within: float) -> list[list[float]]:
    """Ranges that show a downturn within ±``within`` along ``axis``: each axis curving up spans as far as
    rises by what ``axis`` falls (±within·√(|cᵢ|/cⱼ)), so neither swamps the other's colours; the rest as surveyed."""
    ranges = []
    for j, coordinates in enumerate(surface.coordinates):
        c = float(slice_hessian[j, j])
        if j == axis:
            reach = within
        elif c > 0:
            reach = within * (abs(float(slice_hessian[axis, axis])) / c) ** 0.5
        else:
            ranges.append([float(coordinates[0]), float(coordinates[-1])])
            continue
        ranges.append([-reach, reach])
    return ranges


def _second_difference(objective: NetworkObjective, center: Tensor, vector: Tensor, h: float, base: float) -> float:
    """L(c + h·v) + L(c − h·v) − 2·L(c), with L(c) = ``base``."""
    sides = objective.values(torch.stack([center + h * vector, center - h * vector]))
    return float(sides.to(torch.float64).sum()) - 2 * base


def _downturn_line(turn: dict[str, Any]) -> str:
    """What a grid too coarse for a downturn hides, and the --range that shows it."""
    name = "abc"[turn["axis"]]  # the survey's axes: a line, a plane or a volume
    head = (
        f"  along {name} the slice curves down ({turn['curvature']:.4g} per unit²), but not at this grid's spacing "
        f"{turn['spacing']:.3g}: there the loss curves up"
    )
    if turn["within"] is None:
        return head + " (a smaller spacing shows nothing above the loss's rounding either)"
    ranges = range_text(turn["suggested_ranges"])
    return head + f".\n    It curves down within |{name}| ≲ {turn['within']:.3g}: to see it, survey --range={ranges}"



def _sampling(surface: Surface | None) -> dict[str, float] | None:
    if surface is None or "loss_stderr" not in surface.values:
        return None
    usable = surface.computed & torch.isfinite(surface.values["loss_stderr"])
    if not bool(usable.any()):
        return None
    error = surface.values["loss_stderr"][usable]
    loss = surface.values["loss"][usable]
    return {
        "largest": float(error.max()),
        "median": float(error.median()),
        "loss_range": float(loss.max() - loss.min()),
    }


def _path_summary(path: Projection) -> dict[str, Any]:
    empty = len(path.distance) == 0
    return {
        "checkpoints": len(path.distance),
        "largest_distance": 0.0 if empty else float(path.distance.max()),
        "largest_relative_distance": 0.0 if empty else float(path.relative_distance.max()),
    }
