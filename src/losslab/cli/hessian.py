"""``losslab hessian``: curvature of a network — top eigenvalues, trace, spectral density.

A thin shell: it builds the network objective (a built-in demo, or ``--model`` with
``--weights`` and ``--data``), calls :func:`losslab.curvature.report.curvature_report` and
prints; ``--out`` saves the density figure from :func:`losslab.plot.curvature.density_figure`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import torch
import typer

from losslab.cli.common import (
    DataArgsOpt,
    DataOpt,
    DemoOpt,
    LossOpt,
    ModelArgsOpt,
    ModelOpt,
    ParametersOpt,
    WeightsOpt,
)
from losslab.errors import LosslabError

# defined here, not imported from losslab.cli.app, so the annotations resolve in this module
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of text.")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``losslab`` app."""
    from losslab.cli.common import emit, friendly, out

    @app.command()
    @friendly
    def hessian(
        demo: DemoOpt = None,
        model: ModelOpt = None,
        model_args: ModelArgsOpt = None,
        weights: WeightsOpt = None,
        data: DataOpt = None,
        data_args: DataArgsOpt = None,
        loss: LossOpt = None,
        parameters: ParametersOpt = "all",
        top: Annotated[int, typer.Option(min=1, help="How many eigenvalues.")] = 3,
        which: Annotated[str, typer.Option(help="largest, smallest (most negative) or both.")] = "largest",
        trace: Annotated[bool, typer.Option("--trace", help="Estimate the trace (Hutch++).")] = False,
        density: Annotated[bool, typer.Option("--density", help="Spectral density by Lanczos quadrature.")] = False,
        out_path: Annotated[
            Path | None, typer.Option("--out", help="Save the density plot here (PNG, SVG, PDF).")
        ] = None,
        tol: Annotated[
            float | None, typer.Option(help="Residual tolerance, relative (default by dtype and size: max(1e-6, "
                                       "1000·eps, 4·eps·√n)).")
        ] = None,
        max_iter: Annotated[
            int | None, typer.Option("--max-iter", min=1, help="Most Hessian-vector products (default 500).")
        ] = None,
        basis: Annotated[
            int | None,
            typer.Option(min=1, help="Krylov basis vectors held (memory 2·basis·n·itemsize; default 30, fewer "
                         "where that passes 1 GiB)."),
        ] = None,
        progress: Annotated[bool, typer.Option(help="Show the products made and the residual (stderr).")] = True,
        probes: Annotated[int, typer.Option(help="Hessian-vector products for the trace.")] = 60,
        runs: Annotated[int, typer.Option(help="Density: random start vectors.")] = 4,
        steps: Annotated[int, typer.Option(help="Density: Lanczos steps per run.")] = 60,
        float64: Annotated[bool, typer.Option("--float64", help="Compute in float64.")] = False,
        seed: Annotated[int, typer.Option(min=0, max=2**63 - 1, help="Seed for start vectors and probes.")] = 0,
        as_json: JsonFlag = False,
    ) -> None:
        """Top Hessian eigenvalues (Lanczos), trace (Hutch++) and spectral density (SLQ) of a network."""
        from losslab.curvature.lanczos import check_tolerance
        from losslab.curvature.report import curvature_report
        from losslab.networks.build import network_objective
        from losslab.networks.loading import parse_arguments

        if tol is not None:
            check_tolerance(tol)  # before the network is built (a demo trains first)
        if out_path is not None and not density:
            raise LosslabError("--out saves the density plot; add --density")
        if out_path is not None and not out_path.parent.exists():  # before any product is computed
            raise LosslabError(f"--out {str(out_path)!r} cannot be written: folder '{out_path.parent}' does not exist")
        dtype = torch.float64 if float64 else torch.float32
        objective = network_objective(
            demo_name=demo, model=model, weights=weights, data=data, loss=loss, dtype=dtype,
            model_args=parse_arguments(model_args), data_args=parse_arguments(data_args, "--data-args"),
            parameters=parameters,
        ).objective
        report = curvature_report(
            objective,
            max_iter=max_iter,
            basis=basis,
            progress=_progress_line() if progress and not as_json else None,
            top=top,
            which=which,
            with_trace=trace,
            with_density=density,
            tol=tol,
            probes=probes,
            runs=runs,
            steps=steps,
            generator=torch.Generator().manual_seed(seed),
        )
        if out_path is not None and report.density is not None:
            _save_density(report.density, out_path, report.title)
        emit(report, as_json)
        if out_path is not None and not as_json:
            out.print(f"density plot written to {out_path}", highlight=False, markup=False)


def _progress_line() -> Any:
    """A callback that rewrites one stderr line: products so far and the largest residual estimate."""
    from losslab.cli.common import err

    def show(products: int, residual: float) -> None:
        if err.is_terminal:
            err.print(f"Lanczos: {products} products, residual {residual:.2e}", end="\r", highlight=False)

    return show


def _save_density(spectrum: Any, path: Path, title: str) -> None:
    from losslab.plot.curvature import density_figure

    # a pyplot-free Figure: savefig renders with the Agg canvas, whatever the session's backend
    figure = density_figure(spectrum, title=f"Hessian eigenvalue density — {title}")
    try:
        figure.savefig(path, dpi=120)
    except (OSError, ValueError) as exc:
        raise LosslabError(f"--out {str(path)!r} cannot be written: {exc}") from None
