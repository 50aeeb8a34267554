"""Curvature of any objective: Hessian-vector products, extreme eigenvalues, trace, density, sharpness.

Everything here multiplies by the Hessian and nothing more, so it works at every scale —
a two-parameter formula (where it matches the exact SymPy Hessian) and a network with
millions of parameters alike.

>>> import losslab.curvature as curvature
>>> from losslab.objectives.objective import formula
>>> bowl = formula("x**2 + 10*y**2")
>>> curvature.top_eigenvalues(bowl, 1, at=[0.0, 0.0]).eigenvalues.tolist()
[20.0]
"""

from losslab.curvature.blocks import BlockCurvature, BlockOperator, blocks, groups
from losslab.curvature.density import SpectralDensity, density
from losslab.curvature.hvp import (
    GraphOperator,
    HessianOperator,
    JvpOperator,
    closure_operator,
    default_point,
    hessian_operator,
    hvp,
)
from losslab.curvature.lanczos import EigenResult, KrylovBasis, top_eigenvalues
from losslab.curvature.report import CurvatureReport, curvature_report
from losslab.curvature.sharpness import SharpnessSeries, SharpnessTracker, edge_of_stability_demo
from losslab.curvature.trace import TraceEstimate, rademacher, trace

__all__ = [
    "BlockCurvature",
    "BlockOperator",
    "CurvatureReport",
    "EigenResult",
    "GraphOperator",
    "HessianOperator",
    "JvpOperator",
    "KrylovBasis",
    "SharpnessSeries",
    "SharpnessTracker",
    "SpectralDensity",
    "TraceEstimate",
    "blocks",
    "closure_operator",
    "curvature_report",
    "default_point",
    "density",
    "edge_of_stability_demo",
    "groups",
    "hessian_operator",
    "hvp",
    "rademacher",
    "top_eigenvalues",
    "trace",
]
