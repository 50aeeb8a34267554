"""``losslab hessian``: curvature of a network — top eigenvalues, trace, spectral density.

A thin shell: it builds the network objective (a built-in demo, or ``--model`` with
``--weights`` and ``--data``), calls :func:`losslab.curvature.report.curvature_report` and
prints; ``--out`` saves the density figure from :func:`losslab.curvature.figures.density_figure`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import torch
import typer

from losslab.errors import LosslabError
from losslab.model_source import load_data, load_model

# defined here, not imported from losslab.cli, so the annotations resolve in this module
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of text.")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``losslab`` app."""
    from losslab.cli import emit, friendly, out

    @app.command()
    @friendly
    def hessian(
        demo: Annotated[
            str | None, typer.Option(help="Built-in network: mlp, cnn or moons-mlp (default mlp, trained).")
        ] = None,
        model: Annotated[
            str | None, typer.Option(help="Your network as 'package.module:factory' (factory() → nn.Module).")
        ] = None,
        weights: Annotated[Path | None, typer.Option(help="A state_dict saved with torch.save, for --model.")] = None,
        data: Annotated[
            str | None, typer.Option(help="digits, moons, or a .pt file holding (inputs, targets), for --model.")
        ] = None,
        loss: Annotated[
            str, typer.Option(help="cross_entropy, mse or bce_with_logits (for --model).")
        ] = "cross_entropy",
        top: Annotated[int, typer.Option(help="How many eigenvalues.")] = 3,
        which: Annotated[str, typer.Option(help="largest, smallest (most negative) or both.")] = "largest",
        trace: Annotated[bool, typer.Option("--trace", help="Estimate the trace (Hutch++).")] = False,
        density: Annotated[bool, typer.Option("--density", help="Spectral density by Lanczos quadrature.")] = False,
        out_path: Annotated[
            Path | None, typer.Option("--out", help="Save the density plot here (PNG, SVG, PDF).")
        ] = None,
        tol: Annotated[float | None, typer.Option(help="Residual tolerance, relative (default by dtype).")] = None,
        probes: Annotated[int, typer.Option(help="Hessian-vector products for the trace.")] = 60,
        runs: Annotated[int, typer.Option(help="Density: random start vectors.")] = 4,
        steps: Annotated[int, typer.Option(help="Density: Lanczos steps per run.")] = 60,
        float64: Annotated[bool, typer.Option("--float64", help="Compute in float64.")] = False,
        seed: Annotated[int, typer.Option(help="Seed for start vectors and probes.")] = 0,
        as_json: JsonFlag = False,
    ) -> None:
        """Top Hessian eigenvalues (Lanczos), trace (Hutch++) and spectral density (SLQ) of a network."""
        from losslab.curvature.report import curvature_report

        if out_path is not None and not density:
            raise LosslabError("--out saves the density plot; add --density")
        if out_path is not None and not out_path.parent.exists():  # before any product is computed
            raise LosslabError(f"--out {str(out_path)!r} cannot be written: folder '{out_path.parent}' does not exist")
        dtype = torch.float64 if float64 else torch.float32
        objective = _objective(demo, model, weights, data, loss, dtype)
        report = curvature_report(
            objective,
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


def _objective(
    demo_name: str | None, model: str | None, weights: Path | None, data: str | None, loss: str, dtype: torch.dtype
) -> Any:
    from losslab.demos import DEMOS, demo
    from losslab.network import NetworkObjective

    if model is None:
        if weights is not None or data is not None:
            raise LosslabError("--weights and --data go with --model; the built-in --demo brings its own")
        name = demo_name or "mlp"
        if name not in DEMOS:
            raise LosslabError(f"--demo {name!r} is not one of {', '.join(DEMOS)}")
        built = demo(name, dtype=dtype)
        title = f"demo {name} on {'moons' if name == 'moons-mlp' else 'digits'}"
        return NetworkObjective(built.model, (built.inputs, built.targets), built.loss, title=title)
    if demo_name is not None:
        raise LosslabError("give either --demo or --model, not both")
    if data is None:
        raise LosslabError("--model needs --data: digits, moons, or a .pt file holding (inputs, targets)")
    network = load_model(model, weights).to(dtype)
    return NetworkObjective(network, load_data(data, dtype), loss, title=f"{model} on {data}")


def _save_density(spectrum: Any, path: Path, title: str) -> None:
    from losslab.curvature.figures import density_figure

    # a pyplot-free Figure: savefig renders with the Agg canvas, whatever the session's backend
    figure = density_figure(spectrum, title=f"Hessian eigenvalue density — {title}")
    try:
        figure.savefig(path, dpi=120)
    except (OSError, ValueError) as exc:
        raise LosslabError(f"--out {str(path)!r} cannot be written: {exc}") from None
