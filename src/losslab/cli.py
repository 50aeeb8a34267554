"""The ``losslab`` command: a thin shell that parses, calls the library, and prints.

No maths here. Every verb takes ``--json`` and then prints one JSON document. Bad input
(a :class:`~losslab.errors.LosslabError`) is printed as one line on stderr with exit code 2
and no traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import torch
import typer
from rich.console import Console

from losslab.errors import LosslabError
from losslab.serialize import dumps

app = typer.Typer(
    help="losslab — see, differentiate, analyse and descend a loss.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])

Vars = Annotated[str | None, typer.Option("--vars", help="Parameter names in order, e.g. 'w0,w1'.")]
DomainOpt = Annotated[str | None, typer.Option(help="Box to search, e.g. 'w0=-5:5,w1=-5:5' or '-5:5'.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]


def friendly(command: F) -> F:
    """Turn LosslabError into one line on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except LosslabError as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def emit(result: Any, as_json: bool) -> None:
    """Print a result as JSON or as its readable text."""
    if as_json:
        sys.stdout.write(dumps(result) + "\n")
    elif hasattr(result, "__rich__"):
        out.print(result)
    else:
        out.print(str(result), highlight=False, markup=False)


@app.command()
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
    from losslab.analysis import analyze as run_analysis
    from losslab.sources import objective_from_text

    objective = objective_from_text(formula, variables, domain)
    report = run_analysis(objective, domain=objective.domain, at=at, displacement=displacement, direction=direction)
    emit(report, as_json)


@app.command()
@friendly
def descend(
    formula: Annotated[str, typer.Argument(help="A formula or a gallery name.")],
    start: Annotated[str, typer.Option(help="Start point, e.g. 'w=0' or 'w0=0,w1=0'.")],
    lr: Annotated[float | None, typer.Option(help="Learning rate (default: the optimizer's).")] = None,
    steps: Annotated[int, typer.Option(help="Maximum number of steps.")] = 100,
    optimizer: Annotated[
        str,
        typer.Option(
            help="gd, sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, lbfgs, newton;"
            " hyper-parameters as 'adam:lr=0.05'."
        ),
    ] = "gd",
    loss_threshold: Annotated[float | None, typer.Option(help="Stop once L ≤ this.")] = None,
    grad_tol: Annotated[float | None, typer.Option(help="Stop once |∇L| ≤ this.")] = None,
    variables: Vars = None,
    as_json: Json = False,
) -> None:
    """Run an optimizer from a start point and print the step table and diagnosis."""
    from losslab.descent import descend as run_descent
    from losslab.optimizers import parse_optimizer
    from losslab.sources import objective_from_text

    objective = objective_from_text(formula, variables)
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
        **hyper,
    )
    emit(trajectory, as_json)


@app.command()
@friendly
def fit(
    data: Annotated[Path, typer.Argument(help="CSV file with a header row, e.g. x,y.")],
    model: Annotated[str, typer.Option(help="Model in parameters and data columns, e.g. 'm*x' or 'w0 + w1*x'.")],
    loss: Annotated[str, typer.Option(help="mse, sse, half_sse or bce.")] = "mse",
    target: Annotated[str, typer.Option(help="The column the model predicts.")] = "y",
    optimizer: Annotated[str, typer.Option(help="Optimizer for the descent, as in 'descend'.")] = "gd",
    lr: Annotated[float | None, typer.Option(help="Learning rate.")] = None,
    steps: Annotated[int, typer.Option(help="Descent steps.")] = 2000,
    start: Annotated[str | None, typer.Option(help="Start point (default: all zeros).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Mini-batch size for sgd.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for mini-batch sampling.")] = 0,
    as_json: Json = False,
) -> None:
    """Fit a model to data: the closed form when the model is linear, and a descent."""
    from losslab.fitting import fit as run_fit

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


@app.command("gallery")
@friendly
def gallery_command(
    name: Annotated[str | None, typer.Argument(help="Show one surface; omit to list all.")] = None,
    as_json: Json = False,
) -> None:
    """List the gallery of named surfaces, or show one with its known points."""
    from losslab.gallery import ENTRIES, gallery_entry

    if name is None:
        if as_json:
            emit([entry.to_dict() for entry in ENTRIES], True)
        else:
            out.print(_gallery_table(ENTRIES))
    else:
        emit(gallery_entry(name), as_json)


@app.command()
@friendly
def tour(
    as_json: Json = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Also write every seed example's figure here.")] = None,
) -> None:
    """Walk through the seeds' worked examples, each result beside the seed's value."""
    from losslab.tour import run_tour

    report = run_tour()
    emit(report, as_json)
    if out_dir is not None:
        from losslab.tour_figures import write_tour_figures

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


def _register_feature_commands() -> None:
    from losslab import cli_hessian, cli_landscape, cli_plot, cli_web

    for module in (cli_plot, cli_landscape, cli_hessian, cli_web):
        module.register(app)


_register_feature_commands()


def main() -> None:
    """Console-script entry point."""
    app()
