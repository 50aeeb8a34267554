"""Built-in networks and data sets, so the landscape and curvature commands run with no arguments.

Data ships with scikit-learn or is generated on the spot — nothing is downloaded:

- ``digits``: scikit-learn's bundled 8×8 handwritten digits (1 797 images, 10 classes),
  pixels scaled to [0, 1];
- ``moons``: two interleaving half-moons (``sklearn.datasets.make_moons``), seeded.

Models: ``mlp`` (64-128-128-10 on digits, 26 122 parameters), ``cnn`` (two 3×3 conv layers
with BatchNorm on digits, 10 026 parameters), ``moons-mlp`` (2-16-16-2, 354 parameters). Initial weights come
from a seeded generator inside ``torch.random.fork_rng``, so building a demo neither reads
nor disturbs the global RNG.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from losslab.errors import LosslabError, check_choice


@dataclass
class Demo:
    """A model, its data and its loss, optionally trained, with the checkpoints on the way.

    Attributes:
        name: the demo's name.
        model: the network (trained when ``trained=True``), in eval mode.
        inputs, targets: the whole data set (float inputs, int64 class labels).
        loss: the loss name for :class:`losslab.objectives.network.NetworkObjective`.
        checkpoints: flat parameter vectors recorded during training (the first is the
            initialisation, the last equals the final model) — a trajectory for PCA directions.
    """

    name: str
    model: nn.Module
    inputs: Tensor
    targets: Tensor
    loss: str = "cross_entropy"
    checkpoints: list[Tensor] = field(default_factory=list)


def digits(dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor]:
    """scikit-learn's bundled digits: inputs ``(1797, 64)`` in [0, 1], labels ``(1797,)``."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return torch.as_tensor(bunch.data / 16.0, dtype=dtype), torch.as_tensor(bunch.target, dtype=torch.int64)


def moons(n: int = 512, noise: float = 0.2, seed: int = 0, dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor]:
    """Two half-moons, ``n`` points, generated on the spot with a fixed seed."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return torch.as_tensor(x, dtype=dtype), torch.as_tensor(y, dtype=torch.int64)


class _Image(nn.Module):
    """Flat 64-pixel rows → 1×8×8 images, so the CNN takes the same data as the MLP."""

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(-1, 1, 8, 8)


def mlp(sizes: tuple[int, ...] = (64, 128, 128, 10)) -> nn.Sequential:
    """A ReLU multilayer perceptron with the given layer widths."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def cnn() -> nn.Sequential:
    """A small CNN with BatchNorm for 8×8 digits (10 026 parameters, 88 k multiply-adds per image).

    The max-pool comes after the first block, so the second conv runs on 4×4 maps.
    """
    return nn.Sequential(
        _Image(),
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10),
    )  # fmt: skip


# name -> (model builder, data, default training steps: enough to fit, quick on a CPU)
_BUILDERS: dict[str, tuple[Callable[[], nn.Module], Callable[[torch.dtype], tuple[Tensor, Tensor]], int]] = {
    "mlp": (mlp, digits, 150),
    "cnn": (cnn, digits, 40),
    "moons-mlp": (lambda: mlp((2, 16, 16, 2)), lambda dtype: moons(dtype=dtype), 300),
}
DEMOS = tuple(_BUILDERS)


def demo(
    name: str = "mlp",
    *,
    trained: bool = True,
    steps: int | None = None,
    lr: float = 0.01,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    checkpoint_every: int = 10,
) -> Demo:
    """Build a demo network and its data; train it full-batch with Adam when ``trained``.

    ``steps`` defaults per demo (mlp 150, cnn 40, moons-mlp 300).

    >>> d = demo("moons-mlp", steps=20)
    >>> sum(p.numel() for p in d.model.parameters()), len(d.inputs), len(d.checkpoints)
    (354, 512, 3)
    """
    check_choice("demo", name, DEMOS)
    build, data, default_steps = _BUILDERS[name]
    steps = default_steps if steps is None else steps
    if steps < 0 or checkpoint_every < 1:
        raise LosslabError(f"steps = {steps} and checkpoint_every = {checkpoint_every}: need steps ≥ 0, every ≥ 1")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build().to(dtype)
    inputs, targets = data(dtype)
    result = Demo(name, model, inputs, targets)
    if trained:
        result.checkpoints = train(model, inputs, targets, steps=steps, lr=lr, checkpoint_every=checkpoint_every)
    model.eval()
    return result


def train(
    model: nn.Module, inputs: Tensor, targets: Tensor, *, steps: int, lr: float, checkpoint_every: int = 10
) -> list[Tensor]:
    """Full-batch Adam on cross-entropy; returns flat parameter checkpoints (first and last included)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    checkpoints = [nn.utils.parameters_to_vector(model.parameters()).detach().clone()]
    with one_thread():
        for step in range(1, steps + 1):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(inputs), targets).backward()
            optimizer.step()
            if step % checkpoint_every == 0 or step == steps:
                checkpoints.append(nn.utils.parameters_to_vector(model.parameters()).detach().clone())
    model.eval()
    return checkpoints


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """torch on one CPU thread inside the context (its thread count restored after). A demo trains as it is
    built, and its sums' order followed the thread count: ``torchrun`` runs each rank on one thread, this
    machine two, so a survey of the mlp, cnn or gpt2-tiny demo started under ``torchrun`` was refused on
    resume in one process (another model sha256). On one thread θ* is the same bits whatever the machine's
    thread count, for a training that costs 0.1–0.4 s more here."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
