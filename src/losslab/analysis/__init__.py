"""Analysis of an objective: derivatives three ways, Taylor, stationary points, convexity, stability.

- :mod:`~losslab.analysis.derivatives` — symbolic, autodiff and central-difference gradients side by
  side, Clairaut, directional derivatives, Taylor;
- :mod:`~losslab.analysis.stationary` — stationary points and their kind, from
  :mod:`~losslab.analysis.exact_roots` (SymPy), :mod:`~losslab.analysis.newton` (numeric),
  :mod:`~losslab.analysis.continua` (a line or plane of them as one entry) and
  :mod:`~losslab.analysis.kinks` (minima and maxima where L is not differentiable), each entry a
  :class:`~losslab.analysis.kinds.StationaryPoint`;
- :mod:`~losslab.analysis.convexity` — proofs and counterexamples;
- :mod:`~losslab.analysis.stability` — 2/λmax and what gradient descent will do;
- :mod:`~losslab.analysis.point_curvature` — the Hessian at a point and its Taylor model;
- :mod:`~losslab.analysis.report` — :func:`analyze`, all of the above in one report.

Imports only :mod:`losslab.objectives` (and the shared root modules).
"""
