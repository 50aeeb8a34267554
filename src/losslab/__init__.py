"""losslab — a loss-landscape and gradient-descent laboratory.

Everything is an :class:`Objective`: a scalar loss over named parameters. Build one from a
formula, from data and a model, or from the gallery; then differentiate it three ways,
analyse it (stationary points, convexity, 2/λmax) and run any ``torch.optim`` optimizer on it.

>>> import losslab
>>> bowl = losslab.gallery("case_study_2")
>>> [str(g) for g in losslab.symbolic_gradient(bowl)]
['2*w0 + 3*w1 - 4', '3*w0 + 5*w1 - 6']
>>> [round(v, 12) for v in losslab.descend(bowl, "w0=0,w1=0", lr=0.1, steps=1).params[1].tolist()]
[0.4, 0.6]
"""

from losslab.analysis import Analysis, analyze
from losslab.convexity import ConvexityReport, chord_check, convexity
from losslab.data import DataObjective, closed_form, data_objective, least_squares
from losslab.datasets import load_csv, synthetic_linear, synthetic_quadratic, two_blobs
from losslab.derivatives import (
    GradientReport,
    TaylorReport,
    clairaut,
    directional_derivative,
    gradient_report,
    symbolic_gradient,
    symbolic_hessian,
    taylor,
)
from losslab.descent import descend, lr_sweep, multistart
from losslab.differences import central_difference_gradient
from losslab.domain import Domain
from losslab.errors import LosslabError
from losslab.fitting import FitResult, fit
from losslab.gallery import GalleryEntry, gallery, gallery_entry, gallery_names
from losslab.linear_fit import ClosedForm
from losslab.lockstep import lockstep
from losslab.numeric_gradient import NumericGradientObjective
from losslab.objective import FormulaObjective, KnownPoint, Objective, formula
from losslab.optimizers import OPTIMIZERS, Newton, OptimizerSpec, parse_optimizer
from losslab.sources import objective_from_text
from losslab.stability import LrPrediction, condition_number, max_stable_lr, predict_gd
from losslab.stationary import StationaryPoint, classify, stationary_points
from losslab.trajectory import Diagnosis, LrSweep, Trajectory

__version__ = "0.1.0"

__all__ = [
    "OPTIMIZERS",
    "Analysis",
    "ClosedForm",
    "ConvexityReport",
    "DataObjective",
    "Diagnosis",
    "Domain",
    "FitResult",
    "FormulaObjective",
    "GalleryEntry",
    "GradientReport",
    "KnownPoint",
    "LosslabError",
    "LrPrediction",
    "LrSweep",
    "Newton",
    "NumericGradientObjective",
    "Objective",
    "OptimizerSpec",
    "StationaryPoint",
    "TaylorReport",
    "Trajectory",
    "analyze",
    "central_difference_gradient",
    "chord_check",
    "clairaut",
    "classify",
    "closed_form",
    "condition_number",
    "convexity",
    "data_objective",
    "descend",
    "directional_derivative",
    "fit",
    "formula",
    "gallery",
    "gallery_entry",
    "gallery_names",
    "gradient_report",
    "least_squares",
    "load_csv",
    "lr_sweep",
    "max_stable_lr",
    "lockstep",
    "multistart",
    "objective_from_text",
    "parse_optimizer",
    "predict_gd",
    "stationary_points",
    "symbolic_gradient",
    "symbolic_hessian",
    "synthetic_linear",
    "synthetic_quadratic",
    "taylor",
    "two_blobs",
]
