r"""Mode connectivity: a curve of low loss between two minima, trained as Garipov et al. train it.

:func:`connect` trains the bends of a Bézier curve or polygonal chain (:mod:`~losslab.landscape.curves`)
between :math:`a` and :math:`b` to minimize

.. math:: \ell(\theta_1, …) = \mathbb{E}_{t \sim U(0, 1)}\, L(\phi(t)),

one :math:`t` per step drawn from a seeded generator and one mini-batch per step (Garipov et al.,
*Loss Surfaces, Mode Connectivity, and Fast Ensembling of DNNs*, NeurIPS 2018, §3.1), with any
``torch.optim`` optimizer of :mod:`losslab.descent.optimizers`. For a network with BatchNorm the
training steps use each batch's statistics (train mode, on a copy of the model), and the loss along
the curve is measured with statistics recomputed at every point (the ``recompute`` policy of
:class:`~losslab.objectives.network.NetworkObjective`), as the paper does.

It then measures the loss (and, for classifiers, the accuracy) at ``points`` evenly spaced t along
the curve and along the straight line, and the barrier of each,
:math:`\max_t L(t) - \max(L(a), L(b))`. With ``out=`` the state is written to HDF5 after every epoch
(:mod:`~losslab.landscape.connect_file`): an interrupted training resumed with ``resume=True`` ends
with the very bits an uninterrupted one would.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from losslab.descent.optimizers import OptimizerSpec, build, parse_optimizer
from losslab.errors import LosslabError, check_int
from losslab.landscape.connect_file import ConnectionFile
from losslab.landscape.connection import Connection, TrainingState
from losslab.landscape.curves import check_curve, curve_points, initial_bends, point_at
from losslab.landscape.directions import as_flat, tensor_sha256
from losslab.landscape.fingerprints import data_fingerprint
from losslab.objectives import batching, model_io
from losslab.objectives.network import NetworkObjective
from losslab.objectives.objective import Objective

EpochCallback = Callable[[int, float], None]
# optimizers that need more than a gradient per step (a closure, a Hessian) do not train a curve
REFUSED_OPTIMIZERS = ("lbfgs", "newton")
EVALUATION_CHUNK = 16  # curve points per vmapped evaluation: as the survey's chunks


@dataclass(frozen=True)
class Training:
    """How the curve is trained (checked when made): the curve and its bends, the optimizer, the
    epochs, the mini-batch size (None: the whole data set), the seed, the points measured."""

    curve: str = "bezier"
    bends: int = 1
    optimizer: OptimizerSpec = field(default_factory=lambda: parse_optimizer("adam:lr=0.01"))
    epochs: int = 100
    batch_size: int | None = None
    seed: int = 0
    points: int = 61

    def __post_init__(self) -> None:
        check_curve(self.curve, self.bends)
        if self.optimizer.name in REFUSED_OPTIMIZERS:
            raise LosslabError(
                f"optimizer {self.optimizer.name!r} cannot train a curve (one t per step); use sgd, momentum or adam"
            )
        check_int("epochs", self.epochs, least=0)
        if self.batch_size is not None:
            check_int("batch_size", self.batch_size, least=1)
        check_int("seed", self.seed, least=0)
        check_int("points", self.points, least=3, most=100_000)


def connect(
    objective: Objective,
    theta_a: Any,
    theta_b: Any,
    *,
    curve: str = "bezier",
    bends: int = 1,
    optimizer: str | OptimizerSpec = "adam:lr=0.01",
    epochs: int = 100,
    batch_size: int | None = None,
    seed: int = 0,
    points: int = 61,
    out: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    on_epoch: EpochCallback | None = None,
) -> Connection:
    """Train a curve from ``theta_a`` to ``theta_b`` on ``objective`` and measure it against the straight line.

    Args:
        objective: any objective; a network's is trained on mini-batches of its data.
        theta_a, theta_b: the end points (flat tensors, or modules / state dicts for a network).
        curve: ``bezier`` or ``polychain``; bends: 1 to 3 trainable control points.
        optimizer: a registry optimizer as text (``"sgd:lr=0.05,momentum=0.9"``) or an OptimizerSpec.
        epochs: passes over the data (an objective without data: steps).
        batch_size: samples per step (None: all of them).
        seed: of the generator that draws t and the mini-batches.
        points: how many evenly spaced t the loss is measured at (0 and 1 included).
        out, resume, force: the HDF5 file written after every epoch; continue the training in it;
            replace a file that holds something else.
        on_epoch: called as ``on_epoch(epoch, mean training loss)`` after each epoch.

    >>> from losslab.objectives.gallery import gallery
    >>> L = gallery("himmelblau")
    >>> c = connect(L, [3.0, 2.0], [-2.805118086952745, 3.131312518250573], optimizer="adam:lr=0.05", epochs=300)
    >>> round(c.line_barrier, 2), 67.7 < c.curve_barrier < 69  # the saddle between them is at 67.72
    (71.08, True)
    """
    spec = optimizer if isinstance(optimizer, OptimizerSpec) else parse_optimizer(optimizer)
    training = Training(curve, bends, spec, epochs, batch_size, seed, points)
    a, b = _end(objective, theta_a, "theta_a"), _end(objective, theta_b, "theta_b")
    task = CurveTask(objective, training)
    state = TrainingState(initial_bends(a, b, training.bends), torch.Generator().manual_seed(training.seed), [])
    file = None if out is None else ConnectionFile.open(out, _provenance(objective, a, b, training), resume, force)
    if file is not None and file.stored is not None:
        state = file.stored
    middle = state.middle.clone().requires_grad_(True)
    opt = build(spec.name, [middle], spec.hyperparameters)
    if state.optimizer_state is not None:
        opt.load_state_dict(state.optimizer_state)
    while len(state.train_loss) < epochs:
        state.train_loss.append(task.epoch(a, middle, b, opt, state.generator))
        state.middle = middle.detach().clone()
        state.optimizer_state = opt.state_dict()
        if file is not None:
            file.checkpoint(state)
        if on_epoch is not None:
            on_epoch(len(state.train_loss), state.train_loss[-1])
    if len(state.train_loss) > epochs:
        raise LosslabError(f"{out} holds {len(state.train_loss)} epochs, more than the {epochs} asked for")
    result = task.measure(a, state.middle, b)
    result.train_loss = list(state.train_loss)
    if file is not None:
        result.provenance = file.provenance
        result.notes = file.notes
        file.finish(state, result)
    else:
        result.provenance = _provenance(objective, a, b, training)
    return result


class CurveTask:
    """The loss of a curve's point on a mini-batch, the epochs' batches, and the measurements along t."""

    def __init__(self, objective: Objective, training: Training) -> None:
        self.objective, self.training = objective, training
        self.network = objective if isinstance(objective, NetworkObjective) else None
        if self.network is not None:
            _in_memory(self.network)
        self.batchnorm = self.network is not None and has_batchnorm(self.network.model)
        if self.network is not None and self.batchnorm:
            self._train_model = copy.deepcopy(self.network.model).train()
        n = objective.n_samples
        self.samples = n if n is not None and isinstance(getattr(objective, "data", None), tuple) else None
        if self.samples is None and training.batch_size is not None and objective.n_samples is None:
            raise LosslabError("batch_size needs an objective with data in memory; leave it out for this objective")

    def batches(self, generator: torch.Generator) -> Iterator[Tensor | None]:
        """One epoch's mini-batch indices (None: the whole objective), drawn from ``generator``."""
        size = self.training.batch_size
        if self.samples is None or size is None or size >= self.samples:
            yield None
            return
        order = torch.randperm(self.samples, generator=generator)
        yield from order.split(size)

    def epoch(self, a: Tensor, middle: Tensor, b: Tensor, opt: torch.optim.Optimizer, generator: torch.Generator
              ) -> float:  # fmt: skip
        """One pass over the data: per mini-batch one t ~ U(0, 1), one step; the mean loss."""
        total, steps = 0.0, 0
        for indices in self.batches(generator):
            t = float(torch.rand(1, generator=generator, dtype=torch.float64))
            opt.zero_grad()
            loss = self.loss(point_at(self.training.curve, a, middle, b, t), indices)
            loss.backward()
            opt.step()
            total, steps = total + float(loss.detach()), steps + 1
        return total / max(steps, 1)

    def loss(self, theta: Tensor, indices: Tensor | None) -> Tensor:
        """L(θ) on the mini-batch ``indices`` (differentiable in θ); a BatchNorm network in train mode."""
        network = self.network
        if network is None:
            objective = self.objective if indices is None else self.objective.subset(indices)
            return objective.value(theta)
        held = network if indices is None else network.subset(indices)
        if not self.batchnorm:
            return held._evaluate(theta)  # the objective's own loss: named, the model's, a causal LM's shifted
        inputs, targets = held.prepare(*_in_memory(held))
        buffers = {k: v.clone() for k, v in network.buffers.items()}  # the batch's statistics; copies updated
        outputs = model_io.call(self._train_model, (network.unflatten(theta), buffers), inputs)
        return network.loss_of(outputs, inputs, targets)  # type: ignore[no-any-return]

    def measure(self, a: Tensor, middle: Tensor, b: Tensor) -> Connection:
        """Loss (and accuracy) at ``points`` evenly spaced t along the curve and along the line."""
        t = torch.linspace(0, 1, self.training.points, dtype=torch.float64)
        t[-1] = 1.0
        control = torch.cat([a[None], middle.detach(), b[None]])
        with torch.no_grad():
            curve = curve_points(self.training.curve, a, middle.detach(), b, t)
            line = a + t[:, None].to(a) * (b - a)
            line[0], line[-1] = a, b
            curve_loss, curve_accuracy = self.evaluate(curve)
            line_loss, line_accuracy = self.evaluate(line)
        return Connection(self.training.curve, control, t, curve_loss, line_loss, curve_accuracy, line_accuracy)

    def evaluate(self, thetas: Tensor) -> tuple[Tensor, Tensor | None]:
        """(loss, accuracy or None) at each row of ``thetas``, float64 on the CPU."""
        network = self.network
        if network is None:
            return self.objective.values(thetas).to("cpu", torch.float64), None
        if self.batchnorm:
            return _recomputed(network, thetas)
        loss, accuracy = [], []
        for chunk in thetas.split(EVALUATION_CHUNK):
            l_, acc = _vmapped(network, chunk)
            loss.append(l_)
            accuracy.append(acc)
        return torch.cat(loss), (None if accuracy[0] is None else torch.cat(accuracy))  # type: ignore[arg-type]


def _vmapped(network: NetworkObjective, thetas: Tensor) -> tuple[Tensor, Tensor | None]:
    inputs, targets = network.prepare(*_in_memory(network))
    with network.evaluating():
        loss, hits = batching.over_points(network, network.loss_and_hits, (0, None, None))(thetas, inputs, targets)
    accuracy = (hits / model_io.batch_size(inputs)).to("cpu", torch.float64) if network.classifier else None
    return loss.to("cpu", torch.float64), accuracy


def _recomputed(network: NetworkObjective, thetas: Tensor) -> tuple[Tensor, Tensor | None]:
    """Each point with its own BatchNorm statistics, re-estimated over the training inputs."""
    recompute = network
    if network.batchnorm != "recompute":
        loss_spec = network.loss_fn if network.loss_name == "callable" else network.loss_name
        recompute = NetworkObjective(network.model, network.data, loss_spec, dtype=network.dtype,
                                     device=network.device, batchnorm="recompute")  # fmt: skip
    inputs, targets = network.prepare(*_in_memory(network))
    labels = model_io.class_labels(inputs, targets)
    loss, accuracy = [], []
    for theta in thetas:
        outputs = recompute.outputs(theta, inputs, recompute.recomputed_buffers(theta))
        loss.append(float(network.loss_of(outputs, inputs, targets)))
        if network.classifier and labels is not None:
            hits = model_io.prediction(outputs).argmax(-1) == labels
            accuracy.append(float(hits.to(torch.float64).mean()))
    as_tensor = torch.tensor(loss, dtype=torch.float64)
    return as_tensor, torch.tensor(accuracy, dtype=torch.float64) if accuracy else None


def _in_memory(network: NetworkObjective) -> tuple[Any, Tensor | None]:
    if not isinstance(network.data, tuple):
        raise LosslabError("connect needs the network's data in memory (inputs, targets), not a DataLoader")
    return network.data


def has_batchnorm(model: nn.Module) -> bool:
    """Whether the model has a BatchNorm layer (its statistics are recomputed along the curve)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def _end(objective: Objective, theta: Any, what: str) -> Tensor:
    """An end point as a flat tensor in the objective's dtype, checked to be finite."""
    if isinstance(objective, NetworkObjective):
        flat = as_flat(objective, theta, what)
    else:
        flat = objective.point(theta)
    if not bool(torch.isfinite(flat).all()):
        raise LosslabError(f"{what} holds values that are not finite; give two trained parameter vectors")
    return flat.detach().clone()


def _provenance(objective: Objective, a: Tensor, b: Tensor, training: Training) -> dict[str, Any]:
    network = objective if isinstance(objective, NetworkObjective) else None
    data = data_fingerprint(network) if network is not None else tensor_sha256(torch.zeros(0))
    if torch.equal(a, b):
        raise LosslabError("theta_a and theta_b are the same point; give two different minima")
    return {
        "kind": "losslab connection",
        "objective": objective.title,
        "parameters": int(a.numel()),
        "a_sha256": tensor_sha256(a),
        "b_sha256": tensor_sha256(b),
        "data_sha256": data,
        "curve": training.curve,
        "bends": training.bends,
        "optimizer": str(training.optimizer),
        "epochs": training.epochs,
        "batch_size": -1 if training.batch_size is None else training.batch_size,
        "seed": training.seed,
        "points": training.points,
        "batchnorm": "recomputed along the curve" if network is not None and has_batchnorm(network.model) else "none",
        "dtype": str(a.dtype).removeprefix("torch."),
        "losslab_version": version("losslab"),
        "distance": float(torch.linalg.vector_norm((b - a).to(torch.float64))),
    }
