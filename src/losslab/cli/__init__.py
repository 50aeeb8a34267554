"""The ``losslab`` command: a thin Typer shell over the library.

:mod:`~losslab.cli.app` owns the Typer app and registers the verbs of
:mod:`~losslab.cli.formulas` (analyze, descend, fit, gallery, tour), :mod:`~losslab.cli.plot`,
:mod:`~losslab.cli.landscape`, :mod:`~losslab.cli.hessian` and :mod:`~losslab.cli.serve`;
:mod:`~losslab.cli.common` holds what they share (options, printing, the error wrapper).
Verb modules never import :mod:`~losslab.cli.app`, so there is no import cycle.
"""
