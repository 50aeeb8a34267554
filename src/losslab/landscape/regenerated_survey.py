r"""A survey at LLM scale: directions regenerated, never stored; θ formed layer by layer.

For a model of P parameters of ``s`` bytes each (4 in float32, 2 in bfloat16/float16) the survey
holds, beyond the model itself:

.. math::

    \text{peak} \approx \underbrace{P s}_{\text{the model}}
      + \underbrace{s \cdot \max_m P_m}_{\text{one workspace}}
      + \underbrace{4 (k + 2) B}_{\text{blocks}}
      + A + F

where ``P_m`` is the number of parameters a module owns itself (the largest is usually the token
embedding or the output head, V·d), ``B`` = :data:`~losslab.landscape.regenerated.BLOCK_ELEMENTS`
(k float32 draws, θ*'s rows and their sum: 16 MiB at k = 2), ``A`` one forward's activations over
a batch without autograd (for a language model the logits, tokens·V·4 bytes, dominate) and ``F``
the framework (torch, and transformers where used: about 0.3–0.6 GB). No flat θ*, no stored
direction, no second copy of the model: the grid points run one after another
(:class:`~losslab.landscape.layerwise.LayerwisePoint`), every direction block regenerated from
its seed when a module runs (:class:`~losslab.landscape.regenerated.RegeneratedDirections`).
Measured (benchmarks/bench_llm_memory.py): see the README's "LLM-scale memory".

Values are computed in the model's own dtype — load it in bfloat16 or float16 to evaluate there —
and recorded in float64 with that dtype in the provenance. With ``out=`` the surface is written once
it is complete (its file has no ``center``/``directions``: they are the seed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.landscape.fingerprints import model_provenance
from losslab.landscape.layerwise import LayerwisePoint
from losslab.landscape.limits import Ranges, survey_grid
from losslab.landscape.regenerated import RegeneratedDirections
from losslab.landscape.sampling import BatchMeans
from losslab.landscape.surface import Surface
from losslab.landscape.survey import progress_bar
from losslab.objectives import model_io
from losslab.objectives.network import NetworkObjective


def regenerated_survey(
    objective: NetworkObjective,
    directions: RegeneratedDirections,
    grid: int | Sequence[int] = 21,
    ranges: Ranges = (-1.0, 1.0),
    *,
    out: str | Path | None = None,
    progress: bool = False,
    on_point: Callable[[int, int], None] | None = None,
) -> Surface:
    """Loss (and accuracy) of ``objective`` on a grid of the regenerated slice, at LLM-scale memory.

    ``values[i, j] = L(θ* + a_i·d₁ + b_j·d₂)``, equal (to rounding) to :func:`~losslab.landscape.survey.survey`
    with ``directions.materialize(objective)``.

    Args:
        objective: the network objective; its dtype must be the model's (a cast would copy the model).
        directions: the seeded definition of the directions.
        grid: points per axis; ranges: ``(lo, hi)`` for all axes or one pair per axis.
        out: an HDF5 file to write the finished surface to.
        progress: show a progress bar (counted in grid points).
        on_point: called as ``on_point(done, total)`` after each grid point.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    >>> L = NetworkObjective(net, (torch.randn(8, 3), torch.tensor([0, 1] * 4)))
    >>> s = regenerated_survey(L, RegeneratedDirections(seed=0), grid=3)
    >>> s.shape, abs(s.center_value() - float(L.value(L.center))) < 1e-6, s.provenance["directions"]
    ((3, 3), True, 'regenerated')
    """
    if not isinstance(objective, NetworkObjective):
        raise LosslabError(f"survey needs a NetworkObjective (losslab.network), not a {type(objective).__name__}")
    if objective.batchnorm == "recompute":
        raise LosslabError("a regenerated survey keeps BatchNorm frozen; use survey() for --batchnorm recompute")
    held = {p.dtype for p in objective.model.parameters()}
    if held != {objective.dtype}:
        shown = ", ".join(sorted(str(d).removeprefix("torch.") for d in held))
        raise LosslabError(
            f"the model holds {shown} but the objective evaluates in {str(objective.dtype).removeprefix('torch.')}: "
            "convert the model itself (model.to(dtype)) — a cast here would copy it"
        )
    sizes, bounds, coordinates = survey_grid(grid, ranges, directions.k, objective.dtype)
    surface = _empty(objective, directions, sizes, bounds, coordinates)
    points = torch.cartesian_prod(*coordinates).reshape(-1, directions.k)
    with torch.no_grad(), objective.evaluating(), LayerwisePoint(objective.model, directions) as at:
        with progress_bar(progress, len(points)) as show:
            for index, point in enumerate(points.tolist()):
                at.point = tuple(point)
                _store(surface, index, *_evaluate(objective))
                show(index + 1)
                if on_point is not None:
                    on_point(index + 1, len(points))
    if out is not None:
        surface.save(out)
    return surface


def _evaluate(objective: NetworkObjective) -> tuple[float, float, float | None]:
    """(loss, accuracy, standard error over streamed batches or None) of the model as it runs now."""
    loss_sum, correct, count = 0.0, 0.0, 0
    errors = BatchMeans()
    for inputs, targets in objective.batches():
        n = model_io.batch_size(inputs)
        loss, hits = objective.loss_and_hits(None, inputs, targets)
        errors.add(loss.reshape(1), n)
        loss_sum, correct, count = loss_sum + float(loss) * n, correct + float(hits), count + n
    if count == 0:
        raise LosslabError("the DataLoader yielded no data")
    streamed = not isinstance(objective.data, tuple)
    return loss_sum / count, correct / count, float(errors.standard_error()[0]) if streamed else None


def _store(surface: Surface, index: int, loss: float, accuracy: float, error: float | None) -> None:
    surface.values["loss"].view(-1)[index] = loss
    if "accuracy" in surface.values:
        surface.values["accuracy"].view(-1)[index] = accuracy
    if error is not None:
        surface.values["loss_stderr"].view(-1)[index] = error
    surface.computed.view(-1)[index] = True


def _empty(
    objective: NetworkObjective,
    directions: RegeneratedDirections,
    sizes: tuple[int, ...],
    bounds: tuple[tuple[float, float], ...],
    coordinates: tuple[Tensor, ...],
) -> Surface:
    streamed = not isinstance(objective.data, tuple)
    keys = ("loss", *(("accuracy",) if objective.classifier else ()), *(("loss_stderr",) if streamed else ()))
    values = {key: torch.full(sizes, torch.nan, dtype=torch.float64) for key in keys}
    provenance: dict[str, Any] = {
        **model_provenance(objective),
        **directions.provenance(objective),
        "method": "layerwise",
        "values": list(keys),
        "grid": list(sizes),
        "ranges": [list(b) for b in bounds],
        "chunk_size": 1,
        "losslab_version": version("losslab"),
    }
    names = ("a", "b")[: len(sizes)]
    return Surface(names, coordinates, values, torch.zeros(sizes, dtype=torch.bool), provenance)
