"""Walking downhill: any ``torch.optim`` optimizer (and Newton) on an objective.

- :mod:`~losslab.descent.run` — :func:`descend` (full-batch or mini-batch, stop rules),
  learning-rate sweeps, multistart;
- :mod:`~losslab.descent.optimizers` — the registry of optimizers and their hyper-parameters;
  :mod:`~losslab.descent.hyperparameters` — what each hyper-parameter accepts, checked before a run;
  :mod:`~losslab.descent.schedules` — learning-rate schedules;
- :mod:`~losslab.descent.functional_steps` and :mod:`~losslab.descent.lockstep` — several
  optimizers stepped together, one evaluation per step; :mod:`~losslab.descent.race` — a race;
- :mod:`~losslab.descent.stopping` — the stop rules checked after every step (diverged, unbounded,
  converged, ``within`` a distance of the minimum);
- :mod:`~losslab.descent.trajectory` and :mod:`~losslab.descent.diagnosis` — the run and its verdict;
  :mod:`~losslab.descent.record` — the bounded record a long run keeps;
- :mod:`~losslab.descent.fit` — a model on data: the closed form beside a descent.

Imports :mod:`losslab.objectives` and :mod:`losslab.analysis`.
"""
