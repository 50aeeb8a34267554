"""Pictures of losses and descents: matplotlib figures, animations and plotly pages.

Every function takes the objects the core returns (objectives, trajectories, sweeps,
surfaces) and returns a picture: a matplotlib ``Figure`` (works in scripts and Jupyter,
each on its own Agg canvas, no pyplot state), an :class:`Animation`, or a plotly
``Figure``. :func:`save` writes any of them by file extension.

>>> import losslab, losslab.plot
>>> bowl = losslab.gallery("case_study_2")
>>> run = losslab.descend(bowl, "w0=0,w1=0", lr=0.1, steps=30)
>>> fig = losslab.plot.contour(bowl, run, resolution=80)
>>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
('$w_{0}$', '$w_{1}$')
"""

from losslab.objectives.grid import Grid, evaluate_grid
from losslab.plot.animate import Animation, animate, frame_steps
from losslab.plot.boundary import decision_boundary
from losslab.plot.contours import contour, contour_levels, heatmap
from losslab.plot.curvature import density_figure, sharpness_figure
from losslab.plot.curves import curve
from losslab.plot.grid import SurfaceLike, default_domain
from losslab.plot.history import gradient_norm_history, loss_history, parameter_history
from losslab.plot.interactive import interactive_contour, interactive_surface, to_html
from losslab.plot.race import race
from losslab.plot.save import FORMATS, format_of, save
from losslab.plot.surface3d import surface
from losslab.plot.surveys import interactive_line, interactive_volume, line_survey, volume_slices
from losslab.plot.sweep import sweep
from losslab.plot.training_path import training_path

__all__ = [
    "FORMATS",
    "Animation",
    "Grid",
    "SurfaceLike",
    "animate",
    "contour",
    "contour_levels",
    "curve",
    "decision_boundary",
    "default_domain",
    "density_figure",
    "evaluate_grid",
    "format_of",
    "frame_steps",
    "gradient_norm_history",
    "heatmap",
    "interactive_contour",
    "interactive_line",
    "interactive_surface",
    "interactive_volume",
    "line_survey",
    "loss_history",
    "parameter_history",
    "race",
    "save",
    "sharpness_figure",
    "surface",
    "sweep",
    "to_html",
    "training_path",
    "volume_slices",
]
