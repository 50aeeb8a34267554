"""The plane through a connection's two end points and its curve's middle, as an Objective like every plane.

Coordinates ``(a, b)`` put the first end point at ``(0, 0)`` and the second at ``(1, 0)``; the second
axis is the part of ``φ(½) − θ_a`` orthogonal to ``θ_b − θ_a``, scaled to the same length, so
distances read the same along both axes (Garipov et al. 2018, Fig. 1, draw their curves this way).
A one-bend Bézier curve or polygonal chain lies in this plane exactly; a curve of more bends is
projected onto it (:attr:`ConnectionPlane.off_plane` says how far it leaves it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.landscape.connection import Connection
from losslab.landscape.directions import Directions
from losslab.landscape.slices import PlaneObjective
from losslab.objectives.domain import Domain
from losslab.objectives.network import NetworkObjective


@dataclass
class ConnectionPlane:
    """A plane objective through a connection, and where the curve, the line and the bends lie on it.

    Attributes:
        objective: ``f(x, y) = L(θ_a + x·(θ_b − θ_a) + y·v)``.
        curve, line: ``(points, 2)`` coordinates of φ(t) and of the straight line.
        bends: ``(bends, 2)`` coordinates of the trained control points.
        off_plane: the largest distance of a curve point from the plane, relative to ``|θ_b − θ_a|``.
    """

    objective: PlaneObjective
    curve: Tensor
    line: Tensor
    bends: Tensor
    off_plane: float


def connection_plane(
    network: NetworkObjective, connection: Connection, *, margin: float = 0.25, method: str = "auto"
) -> ConnectionPlane:
    """The plane of ``connection`` on ``network``, framed around the curve with ``margin`` (of |θ_b − θ_a|).

    >>> import torch
    >>> from losslab.landscape.connect import connect
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2)).double()
    >>> L = NetworkObjective(net, (torch.randn(8, 2).double(), torch.tensor([0, 1] * 4)))
    >>> plane = connection_plane(L, connect(L, L.center, L.center + 0.5, epochs=5, points=5))
    >>> plane.line[[0, -1]].tolist(), plane.off_plane < 1e-12
    ([[0.0, 0.0], [1.0, 0.0]], True)
    """
    control = connection.control_points.to(network.center)
    a, b = control[0], control[-1]
    along = b - a
    middle = connection.points(torch.tensor([0.5], dtype=torch.float64)).to(network.center)[0] - a
    across = middle - (middle @ along) / (along @ along) * along
    if float(across.norm()) <= 1e-12 * float(along.norm()):  # the curve is still the line: any orthogonal will do
        across = _orthogonal(along)
    across = across / across.norm() * along.norm()
    basis = torch.stack([along, across])
    directions = Directions(basis, a.clone(), "plane")
    curve = _coordinates(connection.points(connection.t).to(network.center) - a, basis)
    line = torch.stack([connection.t.to(torch.float64), torch.zeros_like(connection.t, dtype=torch.float64)], -1)
    bends = _coordinates(control[1:-1] - a, basis)
    off = _off_plane(connection.points(connection.t).to(network.center) - a, basis, curve)
    domain = _frame(torch.cat([curve, line, bends]), margin)
    plane = PlaneObjective(network, directions, method=method, domain=domain)
    return ConnectionPlane(plane, curve, line, bends, off)


def _orthogonal(vector: Tensor) -> Tensor:
    generator = torch.Generator().manual_seed(0)
    other = torch.randn(vector.shape, generator=generator, dtype=torch.float64).to(vector)
    return other - (other @ vector) / (vector @ vector) * vector


def _coordinates(points: Tensor, basis: Tensor) -> Tensor:
    """Least-squares coordinates of ``points`` in the (orthogonal) ``basis``, float64."""
    points, basis = points.to(torch.float64), basis.to(torch.float64)
    return points @ basis.T / (basis * basis).sum(-1)


def _off_plane(points: Tensor, basis: Tensor, coordinates: Tensor) -> float:
    points, basis = points.to(torch.float64), basis.to(torch.float64)
    residual = points - coordinates @ basis
    return float(residual.norm(dim=-1).max() / basis[0].norm())


def _frame(points: Tensor, margin: float) -> Domain:
    if not margin >= 0:
        raise LosslabError(f"margin = {margin}; give a number ≥ 0")
    low, high = points.min(0).values - margin, points.max(0).values + margin
    return Domain.parse(f"a={float(low[0])}:{float(high[0])},b={float(low[1])}:{float(high[1])}", ("a", "b"))
