"""Network landscape surveys: losslab's methods against the peer, in one process, with ratios.

Workloads (the issue's):

- W1: the MLP 64-128-128-10 on all 1 797 digits, a 51×51 filter-normalized plane;
- W2: the small CNN with BatchNorm on digits, the same plane;
- W3: W1's plane evaluated the way the reference implementation does it — one grid point at
  a time, the data re-read through a DataLoader of batch 128 for every point.

For each method: best and worst of ``--repeats`` runs (the spread), the ratio to the peer,
and the fraction of the FLOP bound — grid points × forward FLOPs (counted by
``torch.utils.flop_counter``) ÷ the matmul throughput measured here (probed at the start and
again after every round of runs; the best probe counts, so a busy spell during one probe does
not shrink the bound). The allocator is
glibc's malloc with the environment's settings (printed); both sides share it.

    .venv/bin/python benchmarks/bench_landscape.py [--grid 51] [--repeats 2] [--workloads W1,W2,W3] [--compile]
        [--device cuda]

On a GPU (``--device cuda``) everything — model, data, the peer's directions (made on the default
device, which is set to the GPU around its run) — lives on the device, every timed run ends with
a synchronize, and the throughput probe is a 4096³ matmul (a small one only measures launches).
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from losslab.landscape import random_directions, survey
from losslab.networks.demos import demo
from losslab.objectives.network import NetworkObjective

DEVICE = torch.device("cpu")


def sync() -> None:
    """Wait for the device's queued work (a no-op on the CPU)."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def matmul_gflops(repeats: int = 5) -> float:
    """Best-of-``repeats`` throughput of a float32 matmul (CPU 2048×512 @ 512×512, GPU 4096³), in GFLOP/s."""
    m, k = (4096, 4096) if DEVICE.type == "cuda" else (2048, 512)
    a, b = torch.randn(m, k, device=DEVICE), torch.randn(k, k, device=DEVICE)
    a @ b
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(10):
            a @ b
        sync()
        best = min(best, (time.perf_counter() - start) / 10)
    return 2 * m * k * k / best / 1e9


def forward_flops(model: nn.Module, inputs: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(inputs)
    return int(counter.get_total_flops())


def timed(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return min(times), max(times)


def interleaved(
    runs: list[tuple[str, Callable[[], object]]], repeats: int, between: Callable[[], object] = lambda: None
) -> list[tuple[str, float, float]]:
    """Best and worst time of each run, the runs alternating (A B C A B C …) so a busy spell on a
    shared machine hits all of them alike; ``between`` is called after every round."""
    times: dict[str, list[float]] = {label: [] for label, _ in runs}
    for _ in range(repeats):
        for label, run in runs:
            times[label].append(timed(run, 1)[0])
        between()
    return [(label, min(times[label]), max(times[label])) for label, _ in runs]


def peer_plane(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, steps: int) -> object:
    from loss_landscapes import random_plane
    from loss_landscapes.metrics import Loss

    metric = Loss(nn.functional.cross_entropy, inputs, targets)
    with torch.device(DEVICE):  # the peer makes its directions with torch.rand on the default device
        return random_plane(model, metric, distance=1, steps=steps, normalization="filter", deepcopy_model=True)


def per_point_dataloader(objective: NetworkObjective, grid: int, batch: int = 128) -> torch.Tensor:
    """The reference implementation's way: set the weights, stream the data, one grid point at a time."""
    directions = random_directions(objective, seed=0)
    model = copy.deepcopy(objective.model).eval()
    loader = DataLoader(TensorDataset(*objective.data), batch_size=batch)  # type: ignore[misc]
    axis = torch.linspace(-1, 1, grid)
    losses = torch.empty(grid, grid)
    with torch.no_grad():
        for i, a in enumerate(axis):
            for j, b in enumerate(axis):
                theta = directions.center + a * directions.vectors[0] + b * directions.vectors[1]
                nn.utils.vector_to_parameters(theta, model.parameters())
                total = sum(nn.functional.cross_entropy(model(x), y, reduction="sum") for x, y in loader)
                losses[i, j] = total / len(objective.data[0])  # type: ignore[operator]
    return losses


def workload(name: str, grid: int, repeats: int, methods: list[str], peak: float, peer: bool) -> None:
    built = demo("cnn" if name == "W2" else "mlp")
    built.model.to(DEVICE)
    built.inputs, built.targets = built.inputs.to(DEVICE), built.targets.to(DEVICE)
    objective = NetworkObjective(built.model, (built.inputs, built.targets))
    directions = random_directions(objective, seed=0)
    points = grid * grid
    print(f"\n{name}: {objective.title} {objective.dim} parameters, {len(built.inputs)} samples, {grid}×{grid} grid")
    runs: list[tuple[str, Callable[[], object]]] = []
    if peer:
        runs.append(("loss-landscapes random_plane", lambda: peer_plane(built.model, *objective.data, grid)))
    if name == "W3":
        runs.append(("per-point DataLoader(128)", lambda: per_point_dataloader(objective, grid)))
    for method in methods:
        if method == "compile":  # the first call compiles; time it apart from the steady state
            start = time.perf_counter()
            survey(objective, directions, grid=2, method="compile", chunk_size=16)
            print(f"  (torch.compile warm-up {time.perf_counter() - start:.1f} s)")
        runs.append(
            (f"losslab survey method={method}", lambda m=method: survey(objective, directions, grid=grid, method=m))
        )
    peaks = [peak]  # the probe again after every round: the bound at the best throughput seen, not a lucky-slow one
    rows = interleaved(runs, repeats, between=lambda: peaks.append(matmul_gflops()))
    bound = points * forward_flops(built.model, built.inputs) / (max(peaks) * 1e9)
    print(
        f"  FLOP bound {bound:.3f} s ({points} points × forward FLOPs at {max(peaks):.0f} GFLOP/s, the best of "
        f"{len(peaks)} probes: {min(peaks):.0f}–{max(peaks):.0f})"
    )
    reference = rows[0][1]
    for label, best, worst in rows:
        print(
            f"  {label:<34} {best:8.3f} s (worst {worst:7.3f})   ×{reference / best:6.2f} vs {rows[0][0].split()[0]}"
            f"   {bound / best:6.1%} of the FLOP bound"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=51)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workloads", default="W1,W2,W3")
    parser.add_argument("--methods", default="fused,vmap")
    parser.add_argument("--compile", action="store_true", help="also time method=compile")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    methods = args.methods.split(",") + (["compile"] if args.compile else [])
    malloc = {k: v for k, v in os.environ.items() if k.startswith(("MALLOC_", "LD_PRELOAD"))} or "glibc defaults"
    where = torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {where}, allocator: {malloc}")
    peak = max(matmul_gflops() for _ in range(2))
    shape = "4096³" if DEVICE.type == "cuda" else "2048×512·512×512"
    print(f"matmul throughput ({shape}, best of 10): {peak:.0f} GFLOP/s")
    for name in args.workloads.split(","):
        workload(name, args.grid, args.repeats, methods, peak, peer=not args.no_peer and name != "W3")


if __name__ == "__main__":
    main()
