"""The verbs on formulas and small data: ``analyze``, ``descend``, ``fit``, ``gallery`` and ``tour``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import torch
import typer

from losslab.cli.common import DomainOpt, Json, Vars, emit, err, formula_objective, friendly, out
from losslab.errors import LosslabError, check_int


def whole_steps(text: Any) -> int:
    """``--steps`` as a whole number from 1 to 10⁸; ``1e8`` is refused with how to write it.

    Parsed here, not by Click's int, so the refusal names the rule (the library's own
    :func:`losslab.descent.run.check_count` for a whole number) on one line.
    """
    from losslab.descent.run import MAX_STEPS, check_count

    raw = str(text).strip()
    try:
        count = int(raw)
    except ValueError:
        number = _float(raw)
        fits = number is not None and number.is_integer() and 1 <= number <= MAX_STEPS
        hint = f"; write {int(number)}" if fits and number is not None else ""
        raise typer.BadParameter(f"steps must be a whole number from 1 to {MAX_STEPS}, got {raw!r}{hint}") from None
    try:
        return check_count(count)
    except LosslabError as error:
        raise typer.BadParameter(str(error)) from None


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


Steps = Annotated[int, typer.Option(parser=whole_steps, help="Maximum number of steps, 1 to 100000000.")]


@friendly
def analyze(
    formula: Annotated[str, typer.Argument(help="A formula such as '(w-3)**2', or a gallery name.")],
    variables: Vars = None,
    domain: DomainOpt = None,
    at: Annotated[str | None, typer.Option(help="Point for derivatives, e.g. 'w0=3,w1=4'.")] = None,
    displacement: Annotated[
        str | None, typer.Option(help="Taylor check over δ from --at, e.g. 'w0=0.0003,w1=0.0004'.")
    ] = None,
    direction: Annotated[str | None, typer.Option(help="Directional derivative at --at along this vector.")] = None,
    as_json: Json = False,
) -> None:
    """Derivatives three ways, stationary points and their kind, convexity, Taylor, 2/λmax."""
    from losslab.analysis.report import analyze as run_analysis

    objective = formula_objective(formula, variables, domain)
    report = run_analysis(objective, domain=objective.domain, at=at, displacement=displacement, direction=direction)
    emit(report, as_json)


@friendly
def descend(
    formula: Annotated[str, typer.Argument(help="A formula or a gallery name.")],
    start: Annotated[str, typer.Option("--start", "--from", help="Start point, e.g. 'w=0' or 'w0=0,w1=0'.")],
    lr: Annotated[float | None, typer.Option(help="Learning rate (default: the optimizer's).")] = None,
    steps: Steps = 100,
    optimizer: Annotated[
        str,
        typer.Option(
            help="gd, sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, lbfgs, newton;"
            " hyper-parameters as 'adam:lr=0.05'."
        ),
    ] = "gd",
    loss_threshold: Annotated[float | None, typer.Option(help="Stop once L ≤ this.")] = None,
    grad_tol: Annotated[float | None, typer.Option(help="Stop once |∇L| ≤ this.")] = None,
    within: Annotated[
        float | None,
        typer.Option(
            help="Stop once θ is this close to the minimum (the gallery's known global minimum, else the nearest"
            " one 'analyze' finds); the diagnosis says after how many steps."
        ),
    ] = None,
    variables: Vars = None,
    as_json: Json = False,
) -> None:
    """Run an optimizer from a start point and print the step table and diagnosis.

    Stops early once the run converged, diverged or is unbounded below, or --loss-threshold/--grad-tol/--within is met.
    """
    from losslab.descent.optimizers import parse_optimizer
    from losslab.descent.run import descend as run_descent

    objective = formula_objective(formula, variables)
    spec = parse_optimizer(optimizer)
    hyper = dict(spec.hyperparameters)
    if lr is not None:
        hyper["lr"] = lr
    trajectory = run_descent(
        objective,
        objective.point(start),
        spec.name,
        steps=steps,
        loss_threshold=loss_threshold,
        grad_tol=grad_tol,
        within=within,
        **hyper,
    )
    emit(trajectory, as_json)


@friendly
def fit(
    data: Annotated[Path, typer.Argument(help="CSV file with a header row, e.g. x,y.")],
    model: Annotated[str, typer.Option(help="Model in parameters and data columns, e.g. 'm*x' or 'w0 + w1*x'.")],
    loss: Annotated[str, typer.Option(help="mse, sse, half_sse or bce.")] = "mse",
    target: Annotated[str, typer.Option(help="The column the model predicts.")] = "y",
    optimizer: Annotated[str, typer.Option(help="Optimizer for the descent, as in 'descend'.")] = "gd",
    lr: Annotated[float | None, typer.Option(help="Learning rate.")] = None,
    steps: Steps = 2000,
    start: Annotated[str | None, typer.Option(help="Start point (default: all zeros).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Mini-batch size for sgd.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for mini-batch sampling.")] = 0,
    as_json: Json = False,
) -> None:
    """Fit a model to data: the closed form when the model is linear, and a descent."""
    from losslab.descent.fit import fit as run_fit

    check_int("seed", seed, least=0, most=2**63 - 1)  # torch.Generator.manual_seed overflows beyond
    result = run_fit(
        data,
        model,
        loss=loss,
        target=target,
        optimizer=optimizer,
        lr=lr,
        steps=steps,
        start=start,
        batch_size=batch_size,
        generator=torch.Generator().manual_seed(seed),
    )
    emit(result, as_json)


@friendly
def gallery_command(
    name: Annotated[str | None, typer.Argument(help="Show one surface; omit to list all.")] = None,
    as_json: Json = False,
) -> None:
    """List the gallery of named surfaces, or show one with its known points."""
    from losslab.objectives.gallery import ENTRIES, gallery_entry

    if name is None:
        if as_json:
            emit([entry.to_dict() for entry in ENTRIES], True)
        else:
            out.print(_gallery_table(ENTRIES))
    else:
        emit(gallery_entry(name), as_json)


@friendly
def tour(
    as_json: Json = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Also write every seed example's figure here.")] = None,
) -> None:
    """Walk through the seeds' worked examples, each result beside the seed's value."""
    from losslab.course.tour import run_tour

    if out_dir is not None:
        from losslab.course.figures import check_figures_folder

        check_figures_folder(out_dir)  # before the tour runs
    report = run_tour()
    emit(report, as_json)
    if out_dir is not None:
        from losslab.course.figures import write_tour_figures

        for written in write_tour_figures(out_dir):
            err.print(f"wrote {written}", highlight=False, markup=False)
    if not report.passed:
        raise typer.Exit(code=1)


def _gallery_table(entries: Any) -> Any:
    from rich.table import Table

    table = Table(title="losslab gallery — `losslab gallery NAME` shows one", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("parameters", no_wrap=True)
    table.add_column("points", justify="right")
    table.add_column("global minimum")
    table.add_column("title")
    for entry in entries:
        best = [p for p in entry.points if p.is_global]
        where = "; ".join(f"({', '.join(f'{c:.4g}' for c in p.point)}) L={p.value:.4g}" for p in best[:2])
        where += f" +{len(best) - 2} more" if len(best) > 2 else ""
        table.add_row(entry.name, ", ".join(entry.variables), str(len(entry.points)), where, entry.title)
    return table
