"""CLI commands for network landscapes: ``losslab landscape`` and ``losslab plot-surface``.

A thin shell: it parses options, builds the model and data (a built-in demo, or
``--model pkg.module:factory`` with ``--weights`` and ``--data``), calls
:mod:`losslab.landscape`, and prints. Under ``torchrun`` the survey is split over the ranks
and rank 0 prints and writes the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, cast

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
from losslab.errors import LosslabError, check_choice, not_one_of
from losslab.networks.loading import load_checkpoint, parse_arguments

DIRECTIONS = ("filter", "layer", "random", "pca", "hessian", "hessian-extremes", "interpolate", "regenerated")
DTYPES = {"float32": torch.float32, "float64": torch.float64, "bfloat16": torch.bfloat16, "float16": torch.float16}
HALF = ("bfloat16", "float16")  # only with --directions regenerated (the LLM-scale survey)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``losslab`` app."""
    from losslab.cli.common import friendly

    app.command("landscape")(friendly(landscape))
    app.command("plot-surface")(friendly(plot_surface))


def landscape(
    demo: DemoOpt = None,
    steps: Annotated[int | None, typer.Option(help="Training steps of the demo (default: the demo's own).")] = None,
    model: ModelOpt = None,
    model_args: ModelArgsOpt = None,
    weights: WeightsOpt = None,
    data: DataOpt = None,
    data_args: DataArgsOpt = None,
    loss: LossOpt = None,
    parameters: ParametersOpt = "all",
    directions: Annotated[
        str,
        typer.Option(
            help="filter, layer, random, pca, hessian, hessian-extremes (largest and most negative eigenvectors), "
            "interpolate, regenerated (filter-normalized, never stored, θ formed layer by layer: LLM-scale "
            "memory), or a .pt file of your own (tensors (P,) / (k, P) or state-dict-shaped mappings)."
        ),
    ] = "filter",
    checkpoints: Annotated[
        str | None,
        typer.Option(help="Comma-separated state-dict files: the trajectory for pca, the end for interpolate."),
    ] = None,
    grid: Annotated[str, typer.Option(help="Points per axis: '51x51' (a plane) or '101' (a line).")] = "51x51",
    range_: Annotated[str, typer.Option("--range", help="Coordinate ranges: '-1:1,-1:1' or '-1:1' for all.")] = "-1:1",
    bias_bn: Annotated[str, typer.Option(help="Biases and norm-layer parameters: zero or include.")] = "zero",
    batchnorm: Annotated[str, typer.Option(help="BatchNorm statistics: frozen (θ*'s) or recompute.")] = "frozen",
    seed: Annotated[
        int, typer.Option(min=0, max=2**63 - 1, help="Seed of the random directions (and of the demo).")
    ] = 0,
    method: Annotated[str, typer.Option(help="auto, fused, vmap, loop (one point at a time) or compile.")] = "auto",
    dtype: Annotated[
        str, typer.Option(help="float32 or float64; bfloat16 or float16 with --directions regenerated.")
    ] = "float32",
    autocast: Annotated[
        str | None,
        typer.Option(
            help="bfloat16 or float16: evaluate under torch.autocast (convolutions and matrix products in it, "
            "θ and the losses in --dtype; recorded in --out). Faster where the hardware has it, less exact."
        ),
    ] = None,
    memory: Annotated[
        str | None,
        typer.Option(
            help="Memory one chunk of grid points may use, e.g. 512MiB or 2GiB (default: 48MiB on a "
            "CPU, a quarter of the free memory on a GPU)."
        ),
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(min=1, help="Grid points per chunk, instead of --memory (a resumed survey keeps its file's)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="The HDF5 file to write.")] = Path("surface.h5"),
    resume: Annotated[bool, typer.Option(help="Continue an interrupted survey in --out.")] = False,
    force: Annotated[
        bool, typer.Option(help="Replace an --out that is not a surface or holds another survey (else refused).")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    faithfulness: Annotated[
        bool,
        typer.Option(
            help="Also report how faithful the slice is: its own Hessian at the centre beside the full "
            "Hessian's extremes, the training path's distance, the sampling error (kept in --out)."
        ),
    ] = False,
    max_iter: Annotated[
        int | None, typer.Option(min=1, help="Most Hessian-vector products of the Lanczos run (--faithfulness).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Survey a network's loss (and accuracy) on a line or plane through its parameters; write HDF5."""
    from losslab.cli.common import emit, err
    from losslab.landscape import SurveyOptions, distributed, survey
    from losslab.landscape.limits import survey_grid
    from losslab.landscape.target import check_target
    from losslab.networks.build import network_objective

    check_choice("dtype", dtype, DTYPES)
    if dtype in HALF and directions != "regenerated":
        raise LosslabError(f"--dtype {dtype} is for --directions regenerated (the LLM-scale survey)")
    if not directions.endswith(".pt"):
        check_choice("directions", directions, DIRECTIONS)
    if autocast is not None and dtype != "float32":
        raise LosslabError(f"--autocast lowers a float32 model's precision; give --dtype float32, not {dtype}")
    if autocast is not None and directions == "regenerated":
        raise LosslabError("--autocast is for stored directions; with --directions regenerated load the model in "
                           "--dtype bfloat16 or float16")  # fmt: skip
    sizes, ranges = _grid(grid), _ranges(range_)
    _check_axes(directions, grid, sizes)
    if directions == "regenerated" and (faithfulness or len(sizes) == 3):
        raise LosslabError("--directions regenerated surveys a line or a plane, without --faithfulness (which needs "
                           "the directions stored)")  # fmt: skip
    budget = None if memory is None else memory_bytes(memory)
    options = SurveyOptions(
        method=method, memory_budget=budget, chunk_size=chunk_size, out=out, resume=resume, force=force,
        progress=progress, autocast=autocast,
    )  # fmt: skip
    # like the options, checked before the model is built or trained
    survey_grid(sizes, ranges, len(sizes), DTYPES[dtype])
    check_target(out, force=force)
    device = distributed.local_device() if distributed.launched() else None
    built = network_objective(
        demo_name=demo, model=model, weights=weights, data=data, loss=loss, dtype=DTYPES[dtype], seed=seed,
        steps=steps, device=device, batchnorm=batchnorm, model_args=parse_arguments(model_args),
        data_args=parse_arguments(data_args, "--data-args"), parameters=parameters,
    )  # fmt: skip
    objective = built.objective
    trajectory = [load_checkpoint(p) for p in checkpoints.split(",")] if checkpoints else list(built.checkpoints)
    if directions == "regenerated":  # the LLM-scale survey: never stored, θ formed layer by layer
        from losslab.landscape.regenerated import RegeneratedDirections
        from losslab.landscape.regenerated_survey import regenerated_survey

        slice_: Any = RegeneratedDirections(seed=seed, k=len(sizes), bias_bn=bias_bn)
        run: Any = distributed.distributed_survey if distributed.launched() else regenerated_survey
    else:
        slice_ = _directions(objective, directions, len(sizes), seed, bias_bn, trajectory, demo_line=model is None)
        run = distributed.distributed_survey if distributed.launched() else survey
    if len(sizes) != slice_.k:
        raise LosslabError(f"--grid {grid} has {len(sizes)} axes but {directions} gives {slice_.k} direction(s)")
    if len(sizes) == 3 and not distributed.launched():  # a volume (losslab.landscape.volume)
        from losslab.landscape.volume import volume_survey

        run = volume_survey
    try:
        surface = run(objective, slice_, sizes, ranges, options=options)
    except KeyboardInterrupt:
        if distributed.rank_zero():
            err.print(
                f"interrupted: the finished chunks are in {out} (as it was, if none had finished); "
                "rerun with --resume to continue"
            )
        raise typer.Exit(code=130) from None
    if surface is None:  # a rank other than 0: rank 0 reports
        return
    for line in surface.notes:
        err.print(f"note: {line}", highlight=False, markup=False)
    note = f"\n{_kept_training_path(slice_, trajectory, objective, surface, out)}" if directions == "pca" else ""
    if not faithfulness:
        emit(surface if as_json else f"{surface}{note}\nwritten to {out}", as_json)
        return
    report = _faithfulness(objective, slice_, surface, trajectory, out, max_iter)
    emit({"surface": surface, "faithfulness": report} if as_json else f"{surface}{note}\n{report}\nwritten to {out}",
         as_json)  # fmt: skip


def plot_surface(
    file: Annotated[Path, typer.Argument(help="A surface written by 'losslab landscape'.")],
    out: Annotated[Path, typer.Option(help="Picture to write: .png/.svg/.pdf (contour or 3-D) or .html.")] = Path(
        "surface.png"
    ),
    kind: Annotated[str, typer.Option(help="contour or 3d (for still images).")] = "contour",
) -> None:
    """Draw a saved surface: a contour map or 3-D surface (png/svg/pdf) or an interactive page (html)."""
    draw_saved_surface(file, out, kind)


SURFACE_SUFFIXES = (".h5", ".hdf5")


def draw_saved_surface(file: Path, out: Path, kind: str, levels: int = 20) -> None:
    """``file`` (written by ``losslab landscape``) drawn to ``out``: contour (with ``levels``) or 3-D
    still, or an html page."""
    from losslab import plot
    from losslab.cli.common import out as console
    from losslab.landscape import load_surface
    from losslab.landscape.projection import read_projection
    from losslab.plot.save import picture_target

    shape = picture_target(out)  # before the file is read
    if shape == "animation":
        still_or_page = "a still (.png, .svg, .pdf) or a page (.html)"
        raise LosslabError(f"cannot write '{out.name}': a saved surface is {still_or_page}")
    surface = cast("plot.SurfaceLike", load_surface(file))
    title = _title(getattr(surface, "provenance", {}))
    axes = len(surface.coordinates)
    if axes != 2:  # a line or a volume
        from losslab.plot import surveys

        if kind not in ("contour", "3d"):
            raise not_one_of("kind", kind, ("contour", "3d"))
        if shape == "interactive":
            page = (surveys.interactive_line if axes == 1 else surveys.interactive_volume)(surface, title=title)
        else:
            page = (surveys.line_survey if axes == 1 else surveys.volume_slices)(surface, title=title)
        plot.save(page, out)
        console.print(f"wrote {out}")
        return
    if shape == "interactive":
        picture: Any = plot.interactive_surface(surface, title=title)
    elif kind == "contour":
        picture = plot.contour(surface, title=title, stationary=False, levels=levels)
        path = read_projection(file)
        if path is not None and path.coordinates.shape[1] == 2:  # a PCA plane's training path
            plot.training_path(picture.axes[0], path.coordinates, path.relative_distance)
    elif kind == "3d":
        picture = plot.surface(surface, title=title)
    else:
        raise not_one_of("kind", kind, ("contour", "3d"))
    plot.save(picture, out)
    console.print(f"wrote {out}")


def _check_axes(directions: str, grid: str, sizes: tuple[int, ...]) -> None:
    """One line when ``--grid`` has another number of axes than ``--directions`` spans (checked before the
    model is built or the Hessian taken)."""
    from losslab.landscape.directions import SPANS

    if directions in SPANS and SPANS[directions][0] != len(sizes):
        want, what = SPANS[directions]
        example = "x".join([str(sizes[0])] * want)
        shape = {1: "a line", 2: "a plane", 3: "a volume"}[len(sizes)]
        raise LosslabError(
            f"--grid {grid} is {shape}, but --directions {directions} spans {what}: give --grid {example}"
        )


def _directions(
    objective: Any, kind: str, k: int, seed: int, bias_bn: str, trajectory: list[Any], *, demo_line: bool
) -> Any:
    from losslab.landscape import interpolation, make_directions

    if kind.endswith(".pt"):  # the user's own directions
        from losslab.landscape.given_directions import given_directions

        return given_directions(objective, kind)
    if k == 3:
        from losslab.landscape.volume import volume_directions

        check_choice("directions of a volume", kind, ("filter", "layer", "random"))
        normalization = "none" if kind == "random" else kind
        return volume_directions(objective, normalization=normalization, bias_bn=bias_bn, seed=seed)
    if kind == "interpolate" and demo_line and trajectory:
        return interpolation(objective, objective.center, start=trajectory[0])  # a demo: initialisation → θ*
    return make_directions(objective, kind, k=1 if kind == "interpolate" else k, seed=seed, bias_bn=bias_bn,
                           checkpoints=trajectory)  # fmt: skip


def _title(provenance: dict[str, Any]) -> str:
    seed = provenance.get("seed", -1)
    return (
        f"{provenance.get('model', 'network')}: {provenance.get('directions', '?')} directions "
        f"(normalization {provenance.get('normalization', '?')}{'' if seed == -1 else f', seed {seed}'})"
    )


def _faithfulness(
    objective: Any, slice_: Any, surface: Any, trajectory: list[Any], out: Path, max_iter: int | None
) -> Any:
    """The slice's faithfulness report (with the training path where there is one), kept in ``out``."""
    from losslab.landscape.directions import as_flat
    from losslab.landscape.faithfulness import faithfulness, save_faithfulness

    flats = [as_flat(objective, c, "checkpoint") for c in trajectory]
    lanczos = {} if max_iter is None else {"max_iter": max_iter}
    report = faithfulness(objective, slice_, surface=surface, checkpoints=flats or None, **lanczos)
    save_faithfulness(out, report)
    return report


def _kept_training_path(slice_: Any, trajectory: list[Any], objective: Any, surface: Any, out: Path) -> str:
    """The training path projected on a PCA plane, kept in ``out`` for ``plot-surface`` to draw; what to say of it."""
    from losslab.landscape import project
    from losslab.landscape.directions import as_flat
    from losslab.landscape.limits import range_text
    from losslab.landscape.projection import save_projection

    where = project([as_flat(objective, c, "checkpoint") for c in trajectory], slice_)
    save_projection(out, where)
    low, high = where.coordinates.min(0).values.tolist(), where.coordinates.max(0).values.tolist()
    spans = ", ".join(f"{n} ∈ [{lo + 0.0:.3g}, {hi + 0.0:.3g}]" for n, lo, hi in zip("ab", low, high, strict=False))
    framed = (
        "the surveyed range frames it"
        if where.framed_by(surface.coordinates)
        else f"to frame it, survey --range={range_text(where.framing(surface.coordinates))}"
    )
    slice_name = "line" if len(low) == 1 else "plane"
    return (
        f"the training path projects to {spans} (largest relative distance from the {slice_name} "
        f"{float(where.relative_distance.max()):.2g}); {framed}"
    )


def _grid(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        raise LosslabError(f"--grid {text!r} is not of the form 51x51 (a plane) or 101 (a line)") from None
    if len(sizes) not in (1, 2, 3) or min(sizes) < 1:
        raise LosslabError(f"--grid {text!r}: give 1, 2 or 3 positive sizes, e.g. 51x51 (21x21x21: a volume)")
    return sizes


def _ranges(text: str) -> tuple[tuple[float, float], ...] | tuple[float, float]:
    try:
        pairs = tuple(tuple(float(v) for v in part.split(":", 1)) for part in _split_ranges(text))
    except ValueError:
        raise LosslabError(f"--range {text!r} is not of the form -1:1,-1:1 (or -1:1 for every axis)") from None
    if any(len(p) != 2 for p in pairs) or len(pairs) not in (1, 2, 3):
        raise LosslabError(f"--range {text!r} is not of the form -1:1,-1:1 (or -1:1 for every axis)")
    return pairs[0] if len(pairs) == 1 else pairs  # type: ignore[return-value]


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def memory_bytes(text: str) -> int:
    """A size such as ``512MiB``, ``2 GiB`` or ``800MB`` in bytes.

    >>> memory_bytes("512MiB"), memory_bytes("1.5 GB"), memory_bytes("4096")
    (536870912, 1500000000, 4096)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS or float(match.group(1)) * _UNITS[unit] < 1:
        raise LosslabError(
            f"--memory {text!r} is not a size: give a number and a unit, e.g. 512MiB or 2GiB "
            "(B, KB, MB, GB, KiB, MiB, GiB)"
        )
    return int(float(match.group(1)) * _UNITS[unit])


def _split_ranges(text: str) -> list[str]:
    # "-1:1,-2:2": commas separate axes (a minus sign never follows a comma inside one range)
    return [part for part in text.split(",") if part]
