"""The shape of a landscape, measured: a 3-D survey and its basins, the basins of a 201×201 grid, and the
cost of training a curve between two minima against a plain training epoch.

- S1: a 21×21×21 filter-normalized volume of the digits MLP (64-128-128-10, all 1 797 digits), then its
  basins and merge tree;
- S2: the basins of a 201×201 grid: Himmelblau (4 basins) and seeded noise smoothed over 3×3 (thousands
  of basins: the worst case of the loop over passes); goal < 1 s;
- S3: one epoch of curve training (a one-bend Bézier curve, Adam, mini-batches of 128) against one epoch of
  plain training of the same model with the same optimizer and batches; goal ≤ 1.5×;
- S4: the barriers of the line and of the trained curve between two networks trained from different seeds
  (moons MLP; with ``--cnn`` the digits CNN with BatchNorm too).

    .venv/bin/python benchmarks/bench_shape.py [--repeats 3] [--threads 2] [--cnn]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from losslab.landscape.basins import basins
from losslab.landscape.connect import connect
from losslab.landscape.volume import volume_directions, volume_survey
from losslab.networks.demos import demo
from losslab.objectives.gallery import gallery
from losslab.objectives.grid import Grid, evaluate_grid
from losslab.objectives.network import NetworkObjective


def best_of(repeats: int, run) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), max(times), result


def volume(repeats: int) -> None:
    net = demo("mlp")
    objective = NetworkObjective(net.model, (net.inputs, net.targets))
    directions = volume_directions(objective, seed=0)
    low, high, surface = best_of(repeats, lambda: volume_survey(objective, directions, grid=21))
    print(f"S1 3-D survey 21×21×21 of the digits MLP: {low:.2f}–{high:.2f} s ({9261 / low:.0f} points/s)")
    low, high, report = best_of(repeats, lambda: basins(surface))
    print(f"   its basins: {low * 1e3:.1f}–{high * 1e3:.1f} ms; {report.summary()}")  # type: ignore[attr-defined]


def grid_201(repeats: int) -> None:
    himmelblau = evaluate_grid(gallery("himmelblau"), resolution=201)
    low, high, report = best_of(repeats, lambda: basins(himmelblau))
    print(f"S2 basins of Himmelblau on 201×201: {low * 1e3:.1f}–{high * 1e3:.1f} ms, "
          f"{len(report.basins)} basins")  # type: ignore[attr-defined]  # fmt: skip
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(1, 1, 203, 203, generator=generator, dtype=torch.float64)
    noise = nn.functional.avg_pool2d(noise, 3, 1)[0, 0]
    axis = torch.linspace(0, 1, 201, dtype=torch.float64)
    rough = Grid(("a", "b"), (axis, axis), {"loss": noise})
    low, high, report = best_of(repeats, lambda: basins(rough))
    print(f"   basins of smoothed noise on 201×201: {low * 1e3:.1f}–{high * 1e3:.1f} ms, "
          f"{len(report.basins)} basins")  # type: ignore[attr-defined]  # fmt: skip


def plain_epochs(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, epochs: int, batch: int) -> list[float]:
    """Seconds per epoch of ordinary mini-batch Adam training."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(0)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for indices in torch.randperm(len(inputs), generator=generator).split(batch):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(inputs[indices]), targets[indices]).backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def curve_epochs(objective: NetworkObjective, a: torch.Tensor, b: torch.Tensor, epochs: int, batch: int
                 ) -> list[float]:  # fmt: skip
    """Seconds per epoch of curve training (the measurement along t after the last epoch is not counted)."""
    stamps = [time.perf_counter()]
    connect(objective, a, b, epochs=epochs, batch_size=batch, points=3,
            on_epoch=lambda *_: stamps.append(time.perf_counter()))  # fmt: skip
    return [later - earlier for earlier, later in zip(stamps, stamps[1:], strict=False)]


def curve_cost(name: str, epochs: int, batch: int, rounds: int = 4) -> None:
    """Curve and plain epochs in alternating rounds, so that a busy spell of a shared machine hits both."""
    first, second = demo(name, seed=0), demo(name, seed=1)
    objective = NetworkObjective(first.model, (first.inputs, first.targets))
    b = nn.utils.parameters_to_vector(second.model.parameters()).detach()
    model = demo(name, seed=2).model.train()
    curve: list[float] = []
    plain: list[float] = []
    for _ in range(rounds):
        curve += curve_epochs(objective, objective.center, b, epochs, batch)
        plain += plain_epochs(model, first.inputs, first.targets, epochs, batch)
    fastest, middle = min(curve) / min(plain), statistics.median(curve) / statistics.median(plain)
    c, p = statistics.median(curve), statistics.median(plain)
    print(f"S3 {name}: one epoch of curve training {min(curve) * 1e3:.1f} ms (median {c * 1e3:.1f}), of plain "
          f"training {min(plain) * 1e3:.1f} ms (median {p * 1e3:.1f}); {len(curve)} epochs each, batches of {batch}: "
          f"{fastest:.2f}× (fastest), {middle:.2f}× (medians)")  # fmt: skip


def barriers(name: str, epochs: int, batch: int) -> None:
    first, second = demo(name, seed=0), demo(name, seed=1)
    objective = NetworkObjective(first.model, (first.inputs, first.targets))
    b = nn.utils.parameters_to_vector(second.model.parameters()).detach()
    start = time.perf_counter()
    result = connect(objective, objective.center, b, epochs=epochs, batch_size=batch, seed=3)
    seconds = time.perf_counter() - start
    accuracy = ""
    if result.curve_accuracy is not None and result.line_accuracy is not None:
        accuracy = (f"; lowest accuracy on the line {float(result.line_accuracy.min()):.3f}, on the curve "
                    f"{float(result.curve_accuracy.min()):.3f}")  # fmt: skip
    print(f"S4 {name} (seeds 0 and 1): L(a) {float(result.line_loss[0]):.4f}, L(b) {float(result.line_loss[-1]):.4f}; "
          f"line barrier {result.line_barrier:.4f}, curve barrier {result.curve_barrier:.4f} "
          f"({result.line_barrier / max(result.curve_barrier, 1e-12):.1f}× lower){accuracy}; {epochs} epochs in "
          f"{seconds:.1f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--cnn", action="store_true", help="also the digits CNN with BatchNorm (slower)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    volume(args.repeats)
    grid_201(args.repeats)
    curve_cost("mlp", 4, 128)
    barriers("moons-mlp", 40, 128)
    barriers("mlp", 20, 128)
    if args.cnn:
        curve_cost("cnn", 2, 128, rounds=2)
        barriers("cnn", 10, 128)


if __name__ == "__main__":
    main()
