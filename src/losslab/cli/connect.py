"""CLI command ``losslab connect``: a curve of low loss between two minima, and the straight line beside it.

A thin shell over :func:`losslab.landscape.connect.connect`: two networks (``--demo`` trains two from
different seeds; ``--model`` with two ``--weights``), or a two-minimum formula (``FORMULA --from --to``,
which adds the minimum-energy path of :mod:`losslab.analysis.energy_path`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import torch
import typer

from losslab.cli.common import DataArgsOpt, DataOpt, DemoOpt, LossOpt, ModelArgsOpt, ModelOpt, ParametersOpt
from losslab.errors import LosslabError, check_choice

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def register(app: typer.Typer) -> None:
    """Add ``connect`` to the ``losslab`` app."""
    from losslab.cli.common import FORMULA_FIRST, friendly

    app.command("connect", context_settings=FORMULA_FIRST)(friendly(connect_command))


def connect_command(
    formula: Annotated[str | None, typer.Argument(help="A formula or gallery name (with --from and --to).")] = None,
    start: Annotated[str | None, typer.Option("--from", help="The first minimum of a formula: 'x=3,y=2'.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="The second minimum of a formula.")] = None,
    demo: DemoOpt = None,
    seeds: Annotated[str, typer.Option(help="The two seeds --demo trains its networks from.")] = "0,1",
    steps: Annotated[int | None, typer.Option(help="Training steps of each demo network (default: its own).")] = None,
    model: ModelOpt = None,
    model_args: ModelArgsOpt = None,
    weights: Annotated[list[Path] | None, typer.Option(help="Two state dicts for --model: give it twice.")] = None,
    data: DataOpt = None,
    data_args: DataArgsOpt = None,
    loss: LossOpt = None,
    parameters: ParametersOpt = "all",
    curve: Annotated[str, typer.Option(help="bezier or polychain.")] = "bezier",
    bends: Annotated[int, typer.Option(help="Trainable control points, 1 to 3.")] = 1,
    optimizer: Annotated[str, typer.Option(help="A torch.optim optimizer: 'adam:lr=0.01', 'momentum:lr=0.05'.")] = (
        "adam:lr=0.01"
    ),
    epochs: Annotated[int, typer.Option(help="Passes over the data (a formula: steps).")] = 50,
    batch_size: Annotated[int | None, typer.Option(help="Samples per step (default: all).")] = None,
    seed: Annotated[int, typer.Option(min=0, max=2**63 - 1, help="Seed of the t and mini-batches drawn.")] = 0,
    points: Annotated[int, typer.Option(help="How many t the loss is measured at.")] = 61,
    dtype: Annotated[str, typer.Option(help="float32 or float64.")] = "float32",
    out: Annotated[Path | None, typer.Option(help="HDF5 file written after every epoch.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the training in --out.")] = False,
    force: Annotated[bool, typer.Option(help="Replace an --out that holds something else.")] = False,
    plot: Annotated[Path | None, typer.Option(help="Picture to write (.png/.svg/.pdf): the loss along t, the map.")] = (
        None
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Train a curve between two minima (Garipov et al. 2018) and compare its barrier with the straight line's."""
    from losslab.cli.common import emit, err, formula_objective
    from losslab.descent.optimizers import parse_optimizer
    from losslab.landscape.connect import Training
    from losslab.landscape.connect_file import check_out

    check_choice("dtype", dtype, DTYPES)
    training = Training(curve, bends, parse_optimizer(optimizer), epochs, batch_size, seed, points)  # checks all
    if out is not None:
        check_out(out, resume=resume, force=force)
    picture = _picture(plot)
    if formula is not None:
        objective = formula_objective(formula)
        result, extra = _formula(objective, start, end, training, out, resume, force)
    else:
        if start is not None or end is not None:
            raise LosslabError("--from and --to go with a FORMULA; two networks come from --demo or --model --weights")
        from losslab.networks.loading import parse_arguments

        arguments = {"model_args": parse_arguments(model_args), "data_args": parse_arguments(data_args, "--data-args"),
                     "parameters": parameters}  # fmt: skip
        objective, a, b = _networks(demo, seeds, steps, model, weights, data, loss, DTYPES[dtype], arguments)
        result = _run(objective, a, b, training, out, resume, force)
        extra = {}
    for line in result.notes:
        err.print(f"note: {line}", highlight=False, markup=False)
    if picture is not None:
        _draw(result, objective, extra.get("path"), picture)
    if as_json:
        emit({**result.to_dict(), **{k: v for k, v in extra.items() if k != "path"}}, True)
        return
    text = str(result)
    if "path" in extra:
        text += f"\n{extra['path']}"
    if out is not None:
        text += f"\nwritten to {out}"
    if picture is not None:
        text += f"\nwrote {picture}"
    emit(text, False)


def _picture(plot: Path | None) -> Path | None:
    if plot is None:
        return None
    from losslab.plot.save import picture_target

    if picture_target(plot) != "still":
        raise LosslabError(f"--plot {plot.name}: a connection is drawn as a still picture (.png, .svg, .pdf)")
    return plot


def _run(objective: Any, a: Any, b: Any, training: Any, out: Path | None, resume: bool, force: bool) -> Any:
    from losslab.landscape.connect import connect

    try:
        return connect(
            objective, a, b, curve=training.curve, bends=training.bends, optimizer=training.optimizer,
            epochs=training.epochs, batch_size=training.batch_size, seed=training.seed, points=training.points,
            out=out, resume=resume, force=force,
        )  # fmt: skip
    except KeyboardInterrupt:
        where = f"; the finished epochs are in {out}: rerun with --resume" if out is not None else ""
        typer.echo(f"interrupted{where}", err=True)
        raise typer.Exit(code=130) from None


def _formula(objective: Any, start: str | None, end: str | None, training: Any, out: Path | None, resume: bool,
             force: bool) -> tuple[Any, dict[str, Any]]:  # fmt: skip
    from losslab.analysis.energy_path import minimum_energy_path

    if (start is None) != (end is None):
        raise LosslabError("give both --from and --to, or neither (then the two lowest minima found are connected)")
    if start is None or end is None:
        from losslab.analysis.stationary import lowest_minima
        from losslab.cli.common import err

        a, b = lowest_minima(objective)
        first, second = (",".join(f"{n}={v:.6g}" for n, v in zip(objective.names, p.tolist(), strict=True))
                         for p in (a, b))  # fmt: skip
        err.print(f"connecting the two lowest minima found: --from '{first}' --to '{second}'",
                  highlight=False, markup=False)  # fmt: skip
    else:
        a, b = objective.point(start), objective.point(end)
    result = _run(objective, a, b, training, out, resume, force)
    path = minimum_energy_path(objective, a, b)
    return result, {"path": path, "minimum_energy_path": path.to_dict()}


def _networks(demo: str | None, seeds: str, steps: int | None, model: str | None, weights: list[Path] | None,
              data: str | None, loss: str | None, dtype: torch.dtype, arguments: dict[str, Any]
              ) -> tuple[Any, Any, Any]:  # fmt: skip
    from losslab.landscape.directions import as_flat
    from losslab.networks.build import TRANSFORMERS, network_objective
    from losslab.networks.loading import load_checkpoint

    if model is not None and model.startswith(TRANSFORMERS) and not weights:  # a language demo: two seeds, trained
        pair = _seeds(seeds)
        first, second = (network_objective(model=model, data=data, loss=loss, dtype=dtype, seed=s, steps=steps,
                                           **arguments) for s in pair)  # fmt: skip
        return first.objective, first.objective.center, second.objective.center
    if model is not None:
        if demo is not None:
            raise LosslabError("give either --demo or --model, not both")
        if not weights or len(weights) != 2:
            raise LosslabError(f"--model needs two --weights (the two minima), got {len(weights or [])}")
        built = network_objective(model=model, weights=weights[0], data=data, loss=loss, dtype=dtype, **arguments)
        objective = built.objective
        return objective, objective.center, as_flat(objective, load_checkpoint(weights[1]), f"--weights {weights[1]}")
    if weights:
        raise LosslabError("--weights goes with --model; --demo trains its own two networks")
    pair = _seeds(seeds)
    first, second = (network_objective(demo_name=demo, data=data, loss=loss, dtype=dtype, seed=s, steps=steps,
                                       data_args=arguments["data_args"], parameters=arguments["parameters"])
                     for s in pair)  # fmt: skip
    return first.objective, first.objective.center, second.objective.center


def _seeds(text: str) -> tuple[int, int]:
    try:
        pair = tuple(int(part) for part in text.split(","))
    except ValueError:
        pair = ()
    if len(pair) != 2 or pair[0] == pair[1] or min(pair) < 0:
        raise LosslabError(f"--seeds {text!r}: give two different whole numbers ≥ 0, e.g. 0,1")
    return pair  # type: ignore[return-value]


def _draw(result: Any, objective: Any, path: Any, picture: Path) -> None:
    from losslab import plot
    from losslab.landscape.connect_plane import connection_plane
    from losslab.objectives.network import NetworkObjective
    from losslab.plot.connect import connection_figure

    if isinstance(objective, NetworkObjective):
        figure = connection_figure(result, plane=connection_plane(objective, result), title=objective.title)
    elif objective.dim == 2:
        figure = connection_figure(result, objective=objective, path=path, title=objective.title)
    else:
        figure = connection_figure(result, title=objective.title)
    plot.save(figure, picture)
