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

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
from importlib import metadata as _metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The public names and their homes: imported on first use (:func:`__getattr__`), so importing losslab — and
# the console script's entry point, losslab.cli.entry — starts nothing heavy, and a Ctrl-C during torch's
# import is caught there. This block is the one list of homes (read by _homes); type checkers read it too.
if TYPE_CHECKING:
    from losslab.analysis.convexity import ConvexityReport, chord_check, convexity
    from losslab.analysis.derivatives import (
        GradientReport,
        TaylorReport,
        clairaut,
        directional_derivative,
        gradient_report,
        symbolic_gradient,
        symbolic_hessian,
        taylor,
    )
    from losslab.analysis.energy_path import EnergyPath, minimum_energy_path
    from losslab.analysis.report import Analysis, analyze
    from losslab.analysis.stability import LrPrediction, condition_number, max_stable_lr, predict_gd
    from losslab.analysis.stationary import StationaryPoint, classify, stationary_points
    from losslab.course.notebook import lesson, lessons
    from losslab.descent.fit import FitResult, fit
    from losslab.descent.lockstep import lockstep
    from losslab.descent.optimizers import OPTIMIZERS, Newton, OptimizerSpec, parse_optimizer
    from losslab.descent.run import descend, lr_sweep, multistart
    from losslab.descent.trajectory import Diagnosis, LrSweep, Trajectory
    from losslab.errors import LosslabError
    from losslab.landscape.basins import Basin, BasinReport, basins
    from losslab.landscape.connect import connect
    from losslab.landscape.connection import Connection
    from losslab.objectives.columns import load_csv, synthetic_linear, synthetic_quadratic, two_blobs
    from losslab.objectives.data import DataObjective, closed_form, data_objective, least_squares
    from losslab.objectives.domain import Domain
    from losslab.objectives.finite_differences import central_difference_gradient
    from losslab.objectives.from_text import objective_from_text
    from losslab.objectives.gallery import GalleryEntry, gallery, gallery_entry, gallery_names
    from losslab.objectives.grid import Grid, evaluate_grid
    from losslab.objectives.linear_fit import ClosedForm
    from losslab.objectives.network import NetworkObjective, network
    from losslab.objectives.numeric_gradient import NumericGradientObjective
    from losslab.objectives.objective import FormulaObjective, KnownPoint, Objective, formula

__version__ = _metadata.version("losslab")  # pyproject.toml is the one place the version is written

__all__ = [
    "OPTIMIZERS",
    "Analysis",
    "Basin",
    "BasinReport",
    "ClosedForm",
    "Connection",
    "ConvexityReport",
    "DataObjective",
    "Diagnosis",
    "Domain",
    "EnergyPath",
    "FitResult",
    "FormulaObjective",
    "GalleryEntry",
    "GradientReport",
    "Grid",
    "KnownPoint",
    "LosslabError",
    "LrPrediction",
    "LrSweep",
    "NetworkObjective",
    "Newton",
    "NumericGradientObjective",
    "Objective",
    "OptimizerSpec",
    "StationaryPoint",
    "TaylorReport",
    "Trajectory",
    "analyze",
    "basins",
    "central_difference_gradient",
    "chord_check",
    "clairaut",
    "classify",
    "closed_form",
    "condition_number",
    "connect",
    "convexity",
    "data_objective",
    "descend",
    "directional_derivative",
    "evaluate_grid",
    "fit",
    "formula",
    "gallery",
    "gallery_entry",
    "gallery_names",
    "gradient_report",
    "least_squares",
    "lesson",
    "lessons",
    "load_csv",
    "lr_sweep",
    "max_stable_lr",
    "minimum_energy_path",
    "lockstep",
    "multistart",
    "network",
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


@functools.cache
def _homes() -> dict[str, str]:
    """Public name → the module it lives in, read from the ``if TYPE_CHECKING:`` imports of this file."""
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    return {
        alias.name: str(node.module) for node in block.body if isinstance(node, ast.ImportFrom) for alias in node.names
    }


def __getattr__(name: str) -> Any:
    """A public name, imported from its home on first use (then kept here); a subpackage, imported."""
    home = _homes().get(name)
    if home is not None:
        value = getattr(importlib.import_module(home), name)
    elif importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_homes()})
