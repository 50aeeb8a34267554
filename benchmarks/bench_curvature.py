"""losslab.curvature against PyHessian, in one process, on the digits MLP (64-128-128-10, full data).

    .venv/bin/python benchmarks/bench_curvature.py [--repeats 3] [--threads 1] [--device cuda]

- top eigenvalue at equal accuracy: each method's answer must be within 1e-4 (relative) of a
  tight float64 reference (Lanczos to a 1e-9 residual). PyHessian's power iteration gets
  maxIter raised until it is (the fewest iterations, by bisection); losslab runs Lanczos with
  tol = 1e-4 (its residual bounds the eigenvalue error), and also with the fewest products that
  reach 1e-4 (the same footing). Time includes building the first-order graph, for both.
- trace at equal standard error: PyHessian's Hutchinson with 100 probes sets the standard
  error; losslab's Hutch++ starts with 30 products (10 remainder probes, so its standard
  error is not a small-sample fluke) and adds probes until its standard error is at most that.
- density: losslab's SLQ; PyHessian's density calls the removed ``torch.eig`` and fails.

Prints medians and the min–max spread over the repeats, and the ratios. Goals (issue 6):
≥ 5× on the top eigenvalue, ≥ 2× on the trace.

On a GPU (``--device cuda``: the current CUDA device, where PyHessian's ``cuda=True`` puts its
data) the models, data and probe vectors live there and every timed run ends with a synchronize.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from losslab.curvature import density, hessian_operator, top_eigenvalues, trace
from losslab.networks.demos import demo
from losslab.objectives.network import NetworkObjective

DEVICE = torch.device("cpu")


def sync() -> None:
    """Wait for the device's queued work (a no-op on the CPU)."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def timed(fn: Callable[[], Any], repeats: int) -> tuple[Any, list[float]]:
    times, result = [], None
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        result = fn()
        sync()
        times.append(time.perf_counter() - start)
    return result, times


def on_device(name: str, trained: bool = True) -> tuple[Any, NetworkObjective]:
    """The demo with its model and data on :data:`DEVICE`, and its objective."""
    built = demo(name, trained=trained)
    built.model.to(DEVICE)
    built.inputs, built.targets = built.inputs.to(DEVICE), built.targets.to(DEVICE)
    return built, NetworkObjective(built.model, (built.inputs, built.targets), built.loss)


def show(label: str, times: list[float], extra: str = "") -> float:
    median = statistics.median(times)
    print(f"  {label:<44} {median * 1e3:8.1f} ms  (spread {min(times) * 1e3:.1f}–{max(times) * 1e3:.1f}) {extra}")
    return median


def pyhessian_top(model: Any, data: Any, max_iter: int, tol: float) -> float:
    from pyhessian import hessian

    torch.manual_seed(0)  # PyHessian draws from the global RNG
    return hessian(model, torch.nn.functional.cross_entropy, data=data, cuda=DEVICE.type == "cuda").eigenvalues(
        maxIter=max_iter, tol=tol
    )[0][0]


def bench_top(built: Any, objective: NetworkObjective, repeats: int, label: str) -> None:
    wide = NetworkObjective(copy.deepcopy(built.model).double(), (built.inputs.double(), built.targets), built.loss)
    reference = float(top_eigenvalues(wide, 1, tol=1e-9).eigenvalues[0])
    second = float(top_eigenvalues(wide, 2, tol=1e-6).eigenvalues[1])
    print(
        f"top eigenvalue at {label}: λmax {reference:.8g}, λ2/λ1 = {second / reference:.3f} "
        f"(equal accuracy: 1e-4 relative to λmax from float64 Lanczos to 1e-9)"
    )
    data = (built.inputs, built.targets)
    value, times = timed(lambda: pyhessian_top(built.model, data, 100, 1e-3), repeats)
    show("PyHessian defaults (tol 1e-3)", times, f"error {abs(value - reference) / reference:.1e}")
    iters = fewest(lambda n: abs(pyhessian_top(built.model, data, n, 0.0) - reference) / reference <= 1e-4)
    value, times = timed(lambda: pyhessian_top(built.model, data, iters, 0.0), repeats)
    theirs = show(f"PyHessian, {iters} power iterations", times, f"error {abs(value - reference) / reference:.1e}")
    result, times = timed(lambda: top_eigenvalues(objective, 1, tol=1e-4), repeats)
    error = abs(float(result.eigenvalues[0]) - reference) / reference
    ours = show(f"losslab Lanczos, tol 1e-4 met: {result.products} products", times, f"error {error:.1e}")
    print(f"  → losslab (with its residual guarantee) is {theirs / ours:.1f}× faster (goal ≥ 5×)")
    steps = fewest(lambda n: abs(lanczos_top(objective, n) - reference) / reference <= 1e-4)
    _, times = timed(lambda: lanczos_top(objective, steps), repeats)
    same = show(f"losslab Lanczos, fewest products for 1e-4: {steps}", times)
    print(f"  → on the same footing (fewest products for 1e-4 each) {theirs / same:.1f}× faster")


def lanczos_top(objective: NetworkObjective, products: int) -> float:
    return float(top_eigenvalues(objective, 1, tol=1e-12, max_iter=products).eigenvalues[0])


def fewest(accurate: Callable[[int], bool], limit: int = 2000) -> int:
    """The smallest budget n with accurate(n), by doubling then bisection (assumes monotone)."""
    high = 1
    while not accurate(high) and high < limit:
        high *= 2
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if accurate(middle) else (middle, high)
    return high


def pyhessian_trace(model: Any, data: Any) -> list[float]:
    from pyhessian import hessian

    torch.manual_seed(0)
    cuda = DEVICE.type == "cuda"
    return hessian(model, torch.nn.functional.cross_entropy, data=data, cuda=cuda).trace(maxIter=100, tol=0.0)


def bench_trace(built: Any, objective: NetworkObjective, repeats: int) -> None:
    print("trace (equal standard error)")
    samples, times = timed(lambda: pyhessian_trace(built.model, (built.inputs, built.targets)), repeats)
    values = torch.tensor(samples, dtype=torch.float64)
    target = float(values.std() / len(values) ** 0.5)
    theirs = show("PyHessian Hutchinson, 100 probes", times, f"{float(values.mean()):.5g} ± {target:.3g}")
    result, times = timed(lambda: trace(objective, method="hutchinson", probes=100), repeats)
    show("losslab Hutchinson, 100 probes", times, f"{result.estimate:.5g} ± {result.stderr:.3g}")

    def ours_fn() -> Any:
        # 30 products to start (10 remainder probes), so the standard error itself is not a small-sample fluke
        return trace(objective, method="hutch++", probes=30, target_stderr=target)

    result, times = timed(ours_fn, repeats)
    ours = show(f"losslab Hutch++, {result.products} products", times, f"{result.estimate:.5g} ± {result.stderr:.3g}")
    print(f"  → losslab is {theirs / ours:.1f}× faster at equal standard error (goal ≥ 2×)")


def bench_density(built: Any, objective: NetworkObjective, repeats: int) -> None:
    print("spectral density")
    result, times = timed(lambda: density(objective, runs=4, steps=60), repeats)
    show(f"losslab SLQ, 4 runs × 60 steps ({result.products} products)", times, f"tr(H)/n ≈ {result.moments[1]:.3g}")
    from pyhessian import hessian

    torch.manual_seed(0)
    data, cuda = (built.inputs, built.targets), DEVICE.type == "cuda"
    comp = hessian(built.model, torch.nn.functional.cross_entropy, data=data, cuda=cuda)
    try:
        comp.density(iter=60, n_v=4)
        print("  PyHessian density ran")
    except RuntimeError as exc:
        print(f"  PyHessian density fails: RuntimeError: {str(exc).splitlines()[0]}")


def bench_products(objective: NetworkObjective, repeats: int) -> None:
    print("one Hessian-vector product (the rule behind method='auto')")
    v = torch.randn(objective.dim, generator=torch.Generator().manual_seed(0)).to(objective.device)
    for method in ("graph", "jvp"):
        operator = hessian_operator(objective, method=method)
        operator.matvec(v)
        _, times = timed(lambda op=operator: [op.matvec(v) for _ in range(10)], repeats)
        show(f"{method} (per product)", [t / 10 for t in times])
    operator = hessian_operator(objective, method="jvp")
    _, times = timed(lambda: operator.matmat(v.expand(16, -1)), repeats)
    show("jvp, vmap over 16 vectors (per product)", [t / 16 for t in times])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steady on a shared machine)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    torch.set_num_threads(args.threads)
    built, objective = on_device("mlp")
    print(f"digits MLP 64-128-128-10: {objective.dim} parameters, {len(built.inputs)} samples, float32, ")
    where = torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else f"{args.threads} thread(s)"
    print(f"torch {torch.__version__}, {where}, {args.repeats} repeats")
    import warnings

    warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
    bench_products(objective, args.repeats)
    bench_top(built, objective, args.repeats, "θ* (the demo trained by Adam, 150 steps)")
    initial, start = on_device("mlp", trained=False)
    bench_top(initial, start, args.repeats, "the initialisation")
    bench_trace(built, objective, args.repeats)
    bench_density(built, objective, args.repeats)


if __name__ == "__main__":
    main()
