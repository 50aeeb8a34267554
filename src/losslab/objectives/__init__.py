"""Objectives: a scalar loss over named parameters, and every way of making one.

- :mod:`~losslab.objectives.objective` — :class:`Objective` (value, values over a stack of θ,
  gradient, Hessian-vector product) and formula objectives;
  :mod:`~losslab.objectives.domain` — boxes of parameter values;
- formulas: :mod:`~losslab.objectives.formula_parser` (whitelist parser → SymPy),
  :mod:`~losslab.objectives.sympy_functions`, :mod:`~losslab.objectives.torch_expr` (SymPy → torch);
- data: :mod:`~losslab.objectives.data` (a model on data), :mod:`~losslab.objectives.losses`,
  :mod:`~losslab.objectives.columns` (columns, CSV, synthetic data sets),
  :mod:`~losslab.objectives.linear_fit` (closed forms), :mod:`~losslab.objectives.model_variables`,
  :mod:`~losslab.objectives.data_models` (the explorer's named models and data sets);
- :mod:`~losslab.objectives.network` — any ``nn.Module`` on data;
- :mod:`~losslab.objectives.finite_differences` and :mod:`~losslab.objectives.numeric_gradient`
  — central differences, and an objective that descends on them;
- :mod:`~losslab.objectives.gallery` — named surfaces with known stationary points;
- :mod:`~losslab.objectives.from_text` — what a user types (a gallery name or a formula);
- :mod:`~losslab.objectives.grid` — an objective's values on a regular grid.

This layer imports nothing of losslab but ``errors`` and ``serialize``.
"""
