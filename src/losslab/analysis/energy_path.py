r"""The minimum-energy path between two minima: a nudged elastic band with a climbing image.

A chain of images :math:`\theta_0 = a, \theta_1, …, \theta_{N-1} = b` relaxes under the force

.. math:: F_i = -\nabla L(\theta_i)_\perp + k\,(|\theta_{i+1} - \theta_i| - |\theta_i - \theta_{i-1}|)\,\tau_i,

the true force across the path plus springs along it, with the upper-neighbour tangent
:math:`\tau_i` of Henkelman & Jónsson (*J. Chem. Phys.* 113, 9978, 2000), which keeps the band from
kinking. Once the band has settled, the highest image climbs: its force is
:math:`-\nabla L + 2 (\nabla L \cdot \tau)\tau` (uphill along the path, downhill across it; Henkelman,
Uberuaga & Jónsson, *J. Chem. Phys.* 113, 9901, 2000), so it converges to the saddle itself. Used
for networks too by Draxler et al., *Essentially No Barriers in Neural Network Energy Landscape*
(ICML 2018). The images move by steepest descent on the force (a step below 2/λmax), and the
climbing image is finally polished by Newton on ∇L = 0. Written here: the NEB of ASE and of
chemistry codes act on atoms, not on an Objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.analysis.newton import newton
from losslab.errors import LosslabError, check_int
from losslab.objectives.domain import PointLike
from losslab.objectives.from_text import as_objective
from losslab.objectives.objective import Objective
from losslab.serialize import Readable


@dataclass
class EnergyPath(Readable):
    """A minimum-energy path: its images, the loss at each, and the saddle the highest one reached.

    Attributes:
        images: ``(N, n)`` from a to b.
        values: L at each image.
        saddle: the climbing image (the highest point of the path), refined by Newton on ∇L = 0.
        saddle_value: L there.
        barrier: ``saddle_value − max(L(a), L(b))``.
        force: the largest force left on any image (how converged the band is).
        iterations: steps taken.
    """

    images: Tensor
    values: Tensor
    saddle: Tensor
    saddle_value: float
    barrier: float
    force: float
    iterations: int

    def to_dict(self) -> dict[str, object]:
        return {
            "images": self.images.tolist(), "values": self.values.tolist(), "saddle": self.saddle.tolist(),
            "saddle_value": self.saddle_value, "barrier": self.barrier, "force": self.force,
            "iterations": self.iterations,
        }  # fmt: skip

    def __str__(self) -> str:
        where = ", ".join(f"{v:.6g}" for v in self.saddle.tolist())
        return (
            f"minimum-energy path of {len(self.images)} images: saddle ({where}) with L = {self.saddle_value:.10g}, "
            f"barrier {self.barrier:.6g} (largest force left {self.force:.2g} after {self.iterations} steps)"
        )


def minimum_energy_path(
    objective: Objective | str,
    a: PointLike,
    b: PointLike,
    *,
    images: int = 21,
    spring: float | None = None,
    step: float | None = None,
    iterations: int = 5000,
    tolerance: float = 1e-5,
) -> EnergyPath:
    """Relax a nudged elastic band from ``a`` to ``b`` (both held fixed) with a climbing image.

    Args:
        objective: any objective with a gradient (a formula of a few parameters is the intended use).
        a, b: the two minima.
        images: points on the band, ends included (≥ 3).
        spring: the spring constant k (default a quarter of the largest curvature on the straight band).
        step: the steepest-descent step (default 1 / (λmax + 2k), λmax the largest curvature on the
            straight band: stable where the curvature stays below it).
        iterations: the most steps.
        tolerance: stop when no image feels a force larger than this.

    >>> from losslab.objectives.gallery import gallery
    >>> path = minimum_energy_path(gallery("himmelblau"), [3.0, 2.0], [3.584428340330492, -1.848126526964404])
    >>> [round(v, 6) for v in path.saddle.tolist()], round(path.saddle_value, 6)
    ([3.385154, 0.073852], 13.311926)
    """
    objective = as_objective(objective)
    check_int("images", images, least=3)
    check_int("iterations", iterations, least=1)
    if not ((spring is None or spring > 0) and (step is None or step > 0) and tolerance > 0):
        raise LosslabError(f"spring {spring}, step {step}, tolerance {tolerance}: each must be a number > 0")
    start, end = objective.point(a), objective.point(b)
    if torch.equal(start, end):
        raise LosslabError("a and b are the same point; give two different minima")
    fractions = torch.linspace(0, 1, images, dtype=start.dtype)[:, None]
    band = start + fractions * (end - start)
    # steepest descent is stable below 2/λmax; the curvature along the first band sets the scale
    hessians = objective.hessians(band)
    if not bool(torch.isfinite(hessians).all()):
        raise LosslabError("the Hessian of L is not finite somewhere on the line from a to b; pick other minima")
    curvature = float(torch.linalg.eigvalsh(hessians).abs().max()) or 1.0  # flat along the band: a unit scale
    spring = curvature / 4 if spring is None else spring
    step = 1.0 / (curvature + 2 * spring) if step is None else step
    force = torch.zeros_like(band)
    count = 0
    for count in range(1, iterations + 1):  # noqa: B007  # the count is reported
        climbing = count > iterations // 20
        force = _forces(objective, band, spring, climbing=climbing)
        band[1:-1] = band[1:-1] + step * force[1:-1]
        if climbing and float(force[1:-1].norm(dim=-1).max()) < tolerance:
            break
    values = objective.values(band)
    top = int(values[1:-1].argmax()) + 1
    saddle = newton(objective, band[top : top + 1], 20)[0]
    saddle_value = float(objective.value(saddle))
    return EnergyPath(
        band, values, saddle, saddle_value, saddle_value - float(torch.maximum(values[0], values[-1])),
        float(force[1:-1].norm(dim=-1).max()), count,
    )  # fmt: skip


def _forces(objective: Objective, band: Tensor, spring: float, *, climbing: bool) -> Tensor:
    """The NEB force on every image (zero on the two ends)."""
    gradient, values = objective.values_and_grads(band)[::-1]
    tangent = _tangents(band, values)
    gaps = (band[1:] - band[:-1]).norm(dim=-1)
    springs = spring * (gaps[1:] - gaps[:-1])[:, None] * tangent
    true = -gradient[1:-1]
    perpendicular = true - (true * tangent).sum(-1, keepdim=True) * tangent
    force = torch.zeros_like(band)
    force[1:-1] = perpendicular + springs
    if climbing:
        top = int(values[1:-1].argmax())
        along = (gradient[top + 1] * tangent[top]).sum()
        force[top + 1] = -gradient[top + 1] + 2 * along * tangent[top]
    return force


def _tangents(band: Tensor, values: Tensor) -> Tensor:
    """Henkelman & Jónsson's tangent at each inner image: toward the higher neighbour, blended at extrema."""
    forward, backward = band[2:] - band[1:-1], band[1:-1] - band[:-2]
    up, down = values[2:] - values[1:-1], values[1:-1] - values[:-2]
    rising = (up > 0) & (down > 0)
    falling = (up < 0) & (down < 0)
    big = torch.maximum(up.abs(), down.abs())[:, None]
    small = torch.minimum(up.abs(), down.abs())[:, None]
    blend = torch.where((values[2:] > values[:-2])[:, None], forward * big + backward * small,
                        forward * small + backward * big)  # fmt: skip
    tangent = torch.where(rising[:, None], forward, torch.where(falling[:, None], backward, blend))
    return tangent / tangent.norm(dim=-1, keepdim=True).clamp_min(1e-300)
