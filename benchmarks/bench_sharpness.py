"""λmax at every step of a training run: SharpnessTracker's warm start against PyHessian called cold each step.

The run is the edge-of-stability demo's (digits MLP 64-128-128-10, MSE on one-hot targets, full-batch GD,
lr = 1). Its parameters at every step are recorded once; then each method measures λmax at every step:

- losslab warm: ``SharpnessTracker(eigenvalue_tol=1e-3)``: the first step by Lanczos to a 1e-3 residual,
  every later one from the last eigenvector until λmax settles (:mod:`losslab.curvature.warm_lanczos`);
- PyHessian cold: ``hessian(...).eigenvalues(tol=1e-3)`` (power iteration from a random vector, stopped when
  λ changes by less than 1e-3 relative — its default rule) at every step;
- the reference: the same network in float64, Lanczos to a 1e-9 residual at every step.

Printed: Hessian-vector products per step, wall time, and the largest relative error against the reference.

    .venv/bin/python benchmarks/bench_sharpness.py [--steps 60] [--threads 1]
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from torch import nn

from losslab.curvature import SharpnessTracker, top_eigenvalues
from losslab.networks.build import network_objective
from losslab.objectives.network import NetworkObjective


def training_snapshots(
    steps: int, lr: float = 1.0
) -> tuple[nn.Module, torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    objective = network_objective(demo_name="mlp", trained=False, seed=0, loss="mse").objective
    model, (inputs, targets) = objective.model, objective.data
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    snapshots = []
    for _ in range(steps + 1):
        snapshots.append(nn.utils.parameters_to_vector(model.parameters()).detach().clone())
        optimizer.zero_grad()
        nn.functional.mse_loss(model(inputs), targets).backward()
        optimizer.step()
    return model, inputs, targets, snapshots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, inputs, targets, snapshots = training_snapshots(args.steps)
    print(f"torch {torch.__version__}, {args.threads} thread(s); {len(snapshots)} steps of the edge-of-stability run")

    tracker = SharpnessTracker.for_model(model, (inputs, targets), "mse", every=1, eigenvalue_tol=1e-3)
    start = time.perf_counter()
    first = None
    for step, theta in enumerate(snapshots):
        nn.utils.vector_to_parameters(theta, model.parameters())
        tracker.step(step)
        first = tracker.series.products if first is None else first
    warm_time = time.perf_counter() - start
    warm = tracker.series.lambda_max

    exact = NetworkObjective(copy.deepcopy(model).double(), (inputs.double(), targets.double()), "mse")
    reference = [float(top_eigenvalues(exact, 1, at=theta.double(), tol=1e-9).eigenvalues[0]) for theta in snapshots]
    later = (tracker.series.products - first) / max(len(snapshots) - 1, 1)
    error = max(abs(w - r) / r for w, r in zip(warm, reference, strict=True))
    print(
        f"  losslab warm (eigenvalue_tol 1e-3)  {warm_time:7.2f} s  {tracker.series.products} products: "
        f"{first} at step 0, then {later:.2f} a step   max relative error {error:.1e}"
    )
    if args.no_peer:
        return
    from pyhessian import hessian

    start, values = time.perf_counter(), []
    for theta in snapshots:
        nn.utils.vector_to_parameters(theta, model.parameters())
        torch.manual_seed(0)  # PyHessian draws its start vector from the global RNG
        computer = hessian(model.eval(), nn.functional.mse_loss, data=(inputs, targets), cuda=False)
        eigenvalues, _ = computer.eigenvalues(maxIter=100, tol=1e-3)
        values.append(float(eigenvalues[0]))
    peer_time = time.perf_counter() - start
    error = max(abs(v - r) / r for v, r in zip(values, reference, strict=True))
    print(f"  PyHessian cold (tol 1e-3)          {peer_time:7.2f} s   max relative error {error:.1e}")
    print(f"  losslab warm is {peer_time / warm_time:.1f}× faster")


if __name__ == "__main__":
    main()
