"""``losslab plot …``: pictures of a loss and of descents on it, written to ``--out FILE``.

The extension of ``--out`` picks the format (png, svg, pdf: a still picture; gif, mp4: a
film; html: a rotatable 3-D page). Objectives are given as in ``analyze``/``descend``: a
gallery name or a formula, with ``--vars`` and ``--domain``. No maths here: the commands
parse, call :mod:`losslab.plot` and the descent, and print where the file went.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from losslab.cli.common import FORMULA_FIRST, DomainOpt, Vars, err, formula_objective, friendly, out
from losslab.errors import LosslabError, check_choice

plot_app = typer.Typer(
    help="Pictures: curve, contour, surface, race, sweep, boundary → --out FILE.", no_args_is_help=True
)

Formula = Annotated[str, typer.Argument(help="A formula such as '(w-3)**2', or a gallery name such as rosenbrock.")]
Out = Annotated[
    Path, typer.Option("--out", help="File to write; its extension picks the format (png svg pdf gif mp4 html).")
]
Start = Annotated[
    str | None, typer.Option("--start", "--from", help="Start point of the descent(s), e.g. 'x=-1.5,y=2'.")
]
Optimizers = Annotated[
    list[str] | None,
    typer.Option("--optimizer", help="Optimizer to run, repeatable: --optimizer gd:lr=0.001 --optimizer adam:lr=0.05."),
]
Steps = Annotated[int, typer.Option(help="Steps per descent.")]
View = Annotated[str, typer.Option(help="For films and 3-D: contour or surface.")]
Slice = Annotated[
    str | None,
    typer.Option("--slice", help="Vary these parameters, hold the rest: 'w0,w1;w2=0.5' (a loss of 3 or more)."),
]


def register(app: typer.Typer) -> None:
    """Add the ``plot`` sub-app to the ``losslab`` app."""
    app.add_typer(plot_app, name="plot")


def _objective(formula: str, variables: str | None, domain: str | None) -> Any:
    return formula_objective(formula, variables, domain)


def _sliced(objective: Any, spec: str | None) -> Any:
    """The slice ``--slice`` asks for (vary some parameters, hold the rest), or the objective itself."""
    if spec is None:
        return objective
    from losslab.objectives.held import hold

    return hold(objective, spec)


@plot_app.command(context_settings=FORMULA_FIRST)
@friendly
def levels(
    formula: Formula, out_file: Out,
    count: Annotated[int, typer.Option("--levels", help="Number of level surfaces.")] = 4,
    resolution: Annotated[int, typer.Option(help="Grid points per axis (6–64).")] = 32,
    variables: Vars = None, domain: DomainOpt = None,
) -> None:  # fmt: skip
    """Level surfaces L = c of a 3-parameter loss with ∇L arrows normal to them, as a rotatable page (.html)."""
    from losslab.plot.levels import level_surfaces

    objective = _objective(formula, variables, domain)
    if picture_target(out_file) != "interactive":
        raise LosslabError(f"level surfaces are a rotatable 3-D page: give --out with .html, not {out_file.name}")
    _write(level_surfaces(objective, levels=count, resolution=resolution), out_file)


def picture_target(out_file: Path) -> str:
    """The kind of picture ``--out`` asks for, once its folder is known to be writable (before any work)."""
    from losslab.plot.save import picture_target as checked

    return checked(out_file)


def _saved_surface(source: str, out_file: Path, kind: str, *formula_only: object, levels: int = 20) -> bool:
    """Draw ``source`` when it names a saved surface file (.h5/.hdf5); False when it is a formula."""
    from losslab.cli.landscape import SURFACE_SUFFIXES, draw_saved_surface

    path = Path(source)
    if path.suffix.lower() not in SURFACE_SUFFIXES:
        return False
    if not path.is_file():
        hint = f"write one with 'losslab landscape --out {source}'"
        raise LosslabError(f"surface file '{source}' does not exist ({hint})")
    if any(option not in (None, [], ()) for option in formula_only):
        raise LosslabError("--start, --optimizer, --field, --at and --slice apply to formulas, not to a saved surface")
    draw_saved_surface(path, out_file, kind, levels)
    return True


def _runs(objective: Any, start: str | None, optimizers: list[str] | None, steps: int) -> list[Any]:
    from losslab.descent.optimizers import parse_optimizer
    from losslab.descent.run import descend

    if start is None:
        if optimizers:
            raise LosslabError("--optimizer needs --start (where the descent begins), e.g. --start 'x=-1.5,y=2'")
        return []
    return [descend(objective, start, parse_optimizer(text), steps=steps) for text in (optimizers or ["gd"])]


def _write(picture: Any, target: Path) -> None:
    from losslab.plot import save

    out.print(f"wrote {save(picture, target)}", highlight=False, markup=False)


def _landscape(objective: Any, runs: list[Any], target: Path, still: Any, view: str) -> None:
    """Write a still picture, a film (gif/mp4) or a page (html) of the runs on the objective."""
    from losslab import plot

    kind = picture_target(target)
    if kind == "still":
        picture = still()
    elif kind == "animation":
        if not runs:
            raise LosslabError(f"a film ({target.name}) needs a descent to show: give --start (and --optimizer)")
        picture = plot.animate(objective, runs, view=view)
    elif kind == "interactive":
        picture = plot.interactive_surface(objective, runs)
    else:
        raise LosslabError(f"unknown picture kind {kind!r}")
    _write(picture, target)


@plot_app.command(context_settings=FORMULA_FIRST)
@friendly
def curve(
    formula: Formula, out_file: Out, start: Start = None, optimizer: Optimizers = None, steps: Steps = 50,
    at: Annotated[float | None, typer.Option(help="Draw the tangent and 2nd-order Taylor approximation here.")] = None,
    variables: Vars = None, domain: DomainOpt = None, slice_: Slice = None,
) -> None:  # fmt: skip
    """The curve L(w) of a one-parameter loss, with descent paths and Taylor approximations.

    A saved line survey (``losslab landscape --grid 101 --out x.h5``) in place of the formula is drawn as its curve.
    """
    from losslab import plot

    if _saved_surface(formula, out_file, "contour", start, optimizer, at, slice_):
        return
    objective = _sliced(_objective(formula, variables, domain), slice_)
    picture_target(out_file)
    runs = _runs(objective, start, optimizer, steps)
    still = lambda: plot.curve(objective, runs, at=at, orders=(1, 2))  # noqa: E731
    _landscape(objective, runs, out_file, still, "curve")


@plot_app.command(context_settings=FORMULA_FIRST)
@friendly
def contour(
    formula: Formula, out_file: Out, start: Start = None, optimizer: Optimizers = None, steps: Steps = 100,
    field: Annotated[str | None, typer.Option(help="Arrows: gradient (∇L) or descent (−∇L).")] = None,
    levels: Annotated[int, typer.Option(help="Number of contour levels.")] = 20,
    variables: Vars = None, domain: DomainOpt = None, slice_: Slice = None,
) -> None:  # fmt: skip
    """Filled contours with level labels, stationary points by kind, descent paths, gradient field.

    A saved network surface (``losslab landscape --out x.h5``) in place of the formula is drawn as its contour map.
    """
    from losslab import plot

    if _saved_surface(formula, out_file, "contour", start, optimizer, field, levels=levels):
        return
    objective = _sliced(_objective(formula, variables, domain), slice_)
    picture_target(out_file)
    runs = _runs(objective, start, optimizer, steps)
    still = lambda: plot.contour(objective, runs, field=field, levels=levels)  # noqa: E731
    _landscape(objective, runs, out_file, still, "contour")


@plot_app.command(context_settings=FORMULA_FIRST)
@friendly
def surface(
    formula: Formula, out_file: Out, start: Start = None, optimizer: Optimizers = None, steps: Steps = 100,
    variables: Vars = None, domain: DomainOpt = None,
) -> None:  # fmt: skip
    """The 3-D surface with paths on it (png/svg/pdf), a rotatable page (html) or a film (gif/mp4).

    A saved network surface (``losslab landscape --out x.h5``) in place of the formula is drawn as its 3-D surface.
    """
    from losslab import plot

    if _saved_surface(formula, out_file, "3d", start, optimizer):
        return
    objective = _objective(formula, variables, domain)
    picture_target(out_file)
    runs = _runs(objective, start, optimizer, steps)
    _landscape(objective, runs, out_file, lambda: plot.surface(objective, runs), "surface")


@plot_app.command(context_settings=FORMULA_FIRST)
@friendly
def race(
    formula: Formula,
    out_file: Out,
    start: Annotated[str, typer.Option("--start", "--from", help="Common start point.")],
    optimizer: Optimizers = None, steps: Steps = 200, view: View = "contour",
    variables: Vars = None, domain: DomainOpt = None,
) -> None:  # fmt: skip
    """Several optimizers from one start: map + loss-vs-step (still), a film (gif/mp4) or a page (html).

    An optimizer given without lr= races at the rate fitted to the loss from the start, as in the explorer (at most
    1/λmax for gd, halved while a run diverges); stderr says which.
    """
    from losslab import plot
    from losslab.descent.optimizers import parse_optimizer
    from losslab.descent.run import descend
    from losslab.descent.tried_rates import fitted_specs

    objective = _objective(formula, variables, domain)
    picture_target(out_file)
    theta = objective.point(start)
    specs = [parse_optimizer(text) for text in optimizer or ["gd", "momentum", "adam"]]
    specs, fitted = fitted_specs(objective, theta.tolist(), specs, steps, _analysis(objective, specs))
    if fitted is not None:
        err.print(fitted, highlight=False, markup=False)
    runs = [descend(objective, theta, spec, steps=steps) for spec in specs]
    shown = view if objective.dim == 2 else "curve"
    _landscape(objective, runs, out_file, lambda: plot.race(objective, runs), shown)


def _analysis(objective: Any, specs: list[Any]) -> Any:
    """The loss's analysis where a rate is to be fitted (its minima and kinks), None where none is or it has none."""
    from losslab.analysis.report import analyze

    if all("lr" in spec.hyperparameters for spec in specs):
        return None
    try:
        return analyze(objective)
    except LosslabError:
        return None


@plot_app.command(context_settings=FORMULA_FIRST)
@friendly
def sweep(
    formula: Formula, out_file: Out, start: Annotated[str, typer.Option("--start", "--from", help="Start point.")],
    lrs: Annotated[str, typer.Option(help="Learning rates, comma-separated, e.g. '0.01,0.1,0.5,1,2'.")],
    optimizer: Annotated[str, typer.Option(help="One optimizer, e.g. gd.")] = "gd", steps: Steps = 100,
    variables: Vars = None, domain: DomainOpt = None,
) -> None:  # fmt: skip
    """Final loss against learning rate, with 2/λmax as a dashed line."""
    from losslab import plot
    from losslab.descent.run import lr_sweep

    objective = _objective(formula, variables, domain)
    _still_only(out_file)
    result = lr_sweep(objective, start, _numbers(lrs), optimizer, steps=steps)
    _write(plot.sweep(result), out_file)


@plot_app.command(context_settings=FORMULA_FIRST)
@friendly
def boundary(
    out_file: Out,
    data: Annotated[Path | None, typer.Argument(help="CSV with two input columns and 0/1 labels.")] = None,
    model: Annotated[str, typer.Option(help="Classifier of two inputs.")] = "sigmoid(w0 + w1*x1 + w2*x2)",
    target: Annotated[str, typer.Option(help="The label column.")] = "y",
    demo: Annotated[str | None, typer.Option(help="Instead of a CSV: 'moons' trains the two-moons MLP.")] = None,
    optimizer: Annotated[str, typer.Option(help="Optimizer that fits the CSV model.")] = "adam:lr=0.1",
    steps: Annotated[int | None, typer.Option(help="Training steps (default: 500 for a CSV, the demo's own).")] = None,
) -> None:  # fmt: skip
    """A classifier's decision boundary over its 2-D data, points coloured by class."""
    from losslab import plot

    _still_only(out_file)
    if demo is not None and data is not None:
        raise LosslabError("give either a CSV file or --demo, not both")
    if demo is not None:
        _write(plot.decision_boundary(_demo_objective(demo, steps)), out_file)
    elif data is not None:
        from losslab.descent.run import descend
        from losslab.objectives.data import data_objective

        objective = data_objective(data, model, loss="bce", target=target)
        fitted = descend(objective, [0.0] * objective.dim, optimizer, steps=500 if steps is None else steps)
        _write(plot.decision_boundary(objective, fitted.final), out_file)
    else:
        raise LosslabError("give a CSV file (with --model) or --demo moons")


def _demo_objective(name: str, steps: int | None) -> Any:
    from losslab.networks.build import network_objective

    check_choice("--demo", name, ("moons",))
    return network_objective(demo_name="moons-mlp", steps=steps).objective


def _still_only(target: Path) -> None:
    if picture_target(target) != "still":
        raise LosslabError(f"this picture is a still one: save it as .png, .svg or .pdf, not {target.suffix}")


def _numbers(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise LosslabError(f"--lrs {text!r} is not a comma-separated list of numbers, e.g. '0.01,0.1,1'") from None
