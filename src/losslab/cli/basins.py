"""CLI command ``losslab basins``: the basins, merge tree and persistence of a surface or a formula.

A thin shell over :func:`losslab.landscape.basins.basins`: a surface file written by ``losslab landscape``
(1, 2 or 3 axes), or a formula / gallery name of one or two parameters evaluated on a grid (its grid
minima and passes then tightened to the exact stationary points).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from losslab.cli.common import DomainOpt, Vars
from losslab.errors import LosslabError, check_int
from losslab.objectives.grid import Grid

SURFACE_SUFFIXES = (".h5", ".hdf5")


def register(app: typer.Typer) -> None:
    """Add ``basins`` to the ``losslab`` app."""
    from losslab.cli.common import FORMULA_FIRST, friendly

    app.command("basins", context_settings=FORMULA_FIRST)(friendly(basins_command))


def basins_command(
    source: Annotated[str, typer.Argument(help="A surface file (.h5) or a formula / gallery name.")],
    value: Annotated[str, typer.Option(
        help="Which values of a surface: loss, or accuracy (the basins of the error 1 − accuracy).")] = "loss",
    resolution: Annotated[int, typer.Option(help="Grid points per axis for a formula.")] = 201,
    variables: Vars = None,
    domain: DomainOpt = None,
    min_persistence: Annotated[float, typer.Option(help="Fold basins less persistent than this.")] = 0.0,
    plot: Annotated[Path | None, typer.Option(help="Picture to write (.png/.svg/.pdf): map and merge tree.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """The basins of a surface or formula, the levels at which they merge, their persistence."""
    from losslab.cli.common import emit, formula_objective
    from losslab.landscape.basins import basins

    check_int("--resolution", resolution, least=3, most=2001)
    if plot is not None:
        from losslab.plot.save import picture_target

        if picture_target(plot) != "still":
            raise LosslabError(f"--plot {plot.name}: basins are drawn as a still picture (.png, .svg, .pdf)")
    objective = None
    if Path(source).suffix.lower() in SURFACE_SUFFIXES:
        if variables is not None or domain is not None:
            raise LosslabError("--vars and --domain go with a formula; a surface file has its own axes")
        from losslab.landscape.surface import load_surface

        surface = load_surface(source)
        grid: Grid = surface
        title = str(surface.provenance.get("model", source))
    else:
        from losslab.objectives.grid import evaluate_grid

        objective = formula_objective(source, variables, domain)
        grid = evaluate_grid(objective, domain, resolution)
        title = objective.title
    report = basins(grid, value, min_persistence=min_persistence, objective=objective)
    if plot is not None:
        from losslab import plot as pictures
        from losslab.plot.basins import basins_figure

        pictures.save(basins_figure(grid, report, objective=objective, title=title), plot)
    emit(report if as_json else f"{report}" + (f"\nwrote {plot}" if plot is not None else ""), as_json)
