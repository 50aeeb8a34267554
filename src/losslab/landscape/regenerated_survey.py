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
and recorded in float64 with that dtype in the provenance. The survey runs as a stored-direction one
does — written chunk by chunk, resumable, split over ranks under ``torchrun`` — with
:class:`RegeneratedEvaluator` evaluating its chunks (its file has no ``center``/``directions``: they
are the seed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
from losslab.landscape.survey import SurveyOptions, SurveyPlan, grid_provenance, run_plan, survey_options
from losslab.objectives import model_io
from losslab.objectives.network import NO_ITEMS, NetworkObjective


class RegeneratedEvaluator:
    """Loss (and accuracy) at a chunk of slice coordinates, the points one after another, each θ formed
    layer by layer with directions regenerated from their seed (:class:`LayerwisePoint`).

    The chunk evaluator of :func:`plan_regenerated`: the survey machinery around it — chunks written
    as they finish, ``resume``, the progress bar, ranks under ``torchrun`` — is the stored-direction
    survey's (:mod:`losslab.landscape.survey`, :mod:`losslab.landscape.distributed`).
    """

    def __init__(self, objective: NetworkObjective, directions: RegeneratedDirections) -> None:
        if not isinstance(objective, NetworkObjective):
            raise LosslabError(f"survey needs a NetworkObjective (losslab.network), not a {type(objective).__name__}")
        if objective.batchnorm == "recompute":
            raise LosslabError("a regenerated survey keeps BatchNorm frozen; use survey() for --batchnorm recompute")
        held = {p.dtype for p in objective.model.parameters()}
        if held != {objective.dtype}:
            shown = ", ".join(sorted(str(d).removeprefix("torch.") for d in held))
            raise LosslabError(
                f"the model holds {shown} but the objective evaluates in {str(objective.dtype).removeprefix('torch.')}:"
                " convert the model itself (model.to(dtype)) — a cast here would copy it"
            )
        self.objective, self.directions = objective, directions
        self.classifier = objective.classifier
        self.streamed = not isinstance(objective.data, tuple)
        self.samples: int | None = None
        self.on_progress: Callable[[float], None] | None = None
        moved = objective.shapes if objective.fixed else None  # parameters="trainable": the frozen ones stay
        self._at = LayerwisePoint(objective.model, directions, moved)  # its workspaces are reused from chunk to chunk

    def measure(self, coords: Tensor) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """(loss, accuracy or None, the loss's standard error over streamed batches or None) at each row."""
        rows = []
        with torch.no_grad(), self.objective.evaluating(), self._at as at:
            for index, point in enumerate(coords.tolist()):
                at.point = tuple(point)
                rows.append(_evaluate(self.objective))
                if self.on_progress is not None:
                    self.on_progress((index + 1) / len(coords))
        losses, accuracies, errors = zip(*rows, strict=True)
        loss = torch.tensor(losses, dtype=torch.float64)
        accuracy = torch.tensor(accuracies, dtype=torch.float64) if self.classifier else None
        return loss, accuracy, torch.tensor(errors, dtype=torch.float64) if self.streamed else None


def plan_regenerated(
    objective: NetworkObjective,
    directions: RegeneratedDirections,
    grid: int | Sequence[int] = 21,
    ranges: Ranges = (-1.0, 1.0),
    *,
    options: SurveyOptions | None = None,
    **keywords: Any,
) -> SurveyPlan:
    """The plan of a regenerated survey (see :func:`regenerated_survey`): one grid point a chunk unless
    ``chunk_size`` says otherwise — a point of a large model is long, and a chunk is what an interruption
    loses. Of the options it reads ``chunk_size``; ``method`` must be ``auto`` and ``autocast`` unset."""
    options = survey_options(options, **keywords)
    if options.method != "auto" or options.autocast is not None:
        raise LosslabError(
            "a regenerated survey evaluates point by point in the model's own dtype: no method or autocast to choose"
        )
    evaluator = RegeneratedEvaluator(objective, directions)
    sizes, bounds, coordinates = survey_grid(grid, ranges, directions.k, objective.dtype)
    chunk_size = options.chunk_size or 1
    provenance: dict[str, Any] = {
        **model_provenance(objective),
        **directions.provenance(objective),
        "method": "layerwise",
        **grid_provenance(evaluator, sizes, bounds, chunk_size),
    }
    return SurveyPlan(evaluator, coordinates, chunk_size, provenance, None)


def regenerated_survey(
    objective: NetworkObjective,
    directions: RegeneratedDirections,
    grid: int | Sequence[int] = 21,
    ranges: Ranges = (-1.0, 1.0),
    *,
    options: SurveyOptions | None = None,
    **keywords: Any,
) -> Surface:
    """Loss (and accuracy) of ``objective`` on a grid of the regenerated slice, at LLM-scale memory.

    ``values[i, j] = L(θ* + a_i·d₁ + b_j·d₂)``, equal (to rounding) to :func:`~losslab.landscape.survey.survey`
    with ``directions.materialize(objective)``. It runs as that survey does — ``out=`` written chunk by
    chunk (one grid point each by default) and ``resume=True`` continuing it, ``progress``, ``on_chunk``
    (:class:`~losslab.landscape.survey.SurveyOptions`); on many processes through
    :func:`~losslab.landscape.distributed.distributed_survey`. The file holds no centre or directions:
    the seed is the record.

    Args:
        objective: the network objective; its dtype must be the model's (a cast would copy the model).
        directions: the seeded definition of the directions.
        grid: points per axis; ranges: ``(lo, hi)`` for all axes or one pair per axis.
        options: how the survey runs; **keywords: any of its fields.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    >>> L = NetworkObjective(net, (torch.randn(8, 3), torch.tensor([0, 1] * 4)))
    >>> s = regenerated_survey(L, RegeneratedDirections(seed=0), grid=3)
    >>> s.shape, abs(s.center_value() - float(L.value(L.center))) < 1e-6, s.provenance["directions"]
    ((3, 3), True, 'regenerated')
    """
    options = survey_options(options, **keywords)
    return run_plan(plan_regenerated(objective, directions, grid, ranges, options=options), options)


def _evaluate(objective: NetworkObjective) -> tuple[float, float, float | None]:
    """(loss, accuracy, standard error over streamed batches or None) of the model as it runs now."""
    loss_sum, correct, count, items = 0.0, 0.0, 0, 0
    errors = BatchMeans()
    for inputs, targets in objective.batches():
        n, weight = model_io.batch_size(inputs), objective.loss_items(inputs, targets)
        loss, hits = objective.loss_and_hits(None, inputs, targets)
        if weight:  # a batch whose every label is ignored adds no loss
            errors.add(loss.reshape(1), weight)
            loss_sum, items = loss_sum + float(loss) * weight, items + weight
        correct, count = correct + float(hits), count + n
    if items == 0:
        raise LosslabError(NO_ITEMS)
    streamed = not isinstance(objective.data, tuple)
    return loss_sum / items, correct / count, float(errors.standard_error()[0]) if streamed else None
