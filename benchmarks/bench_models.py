"""The models researchers use: losslab's survey against loss-landscapes, in one process, with ratios.

- W4: ResNet-18 (``losslab.networks.vision.resnet18_like``: torchvision's architecture with the CIFAR stem,
  11.2 M parameters, BatchNorm in eval mode), 10 classes, 256 synthetic 3×32×32 images, a 21×21
  filter-normalized plane.
- W5: a GPT-2-style causal LM built from a config (vocabulary 16 384, width 256, 8 layers, 4 heads:
  10.5 M parameters, ``lm_head`` tied), 16 sequences of 128 tokens, a 21×21 plane; the peer is driven
  through a ``Metric`` that calls the model with ``input_ids``/``labels`` and reads ``outputs.loss``.

Both sides evaluate the same number of points on the same data; the peer sets the weights and runs the
module once per point (with autograd recording, as it does), losslab surveys in chunks (``--memory``).
With ``--autocast`` both sides also run under ``torch.autocast`` (the peer through a ``Metric`` that
enters it), and the ratios are printed against the peer in float32 and in the same precision.
The defaults are the issue's sizes, meant for a GPU (``benchmarks/gpu_check.sh``); on a CPU scale them
down, e.g. ``--grid 3 --images 32 --sequences 4``.

    .venv/bin/python benchmarks/bench_models.py [--workloads W4,W5] [--grid 21] [--images 256]
        [--sequences 16] [--device cuda] [--memory 2GiB] [--repeats 1] [--autocast bfloat16]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from losslab.landscape import random_directions, survey
from losslab.networks.vision import resnet18_like, synthetic_images
from losslab.objectives.network import network

DEVICE = torch.device("cpu")


def sync() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def timed(run: Callable[[], object]) -> float:
    sync()
    start = time.perf_counter()
    run()
    sync()
    return time.perf_counter() - start


def peer_plane(model: nn.Module, metric: Any, grid: int) -> object:
    from loss_landscapes import random_plane

    with torch.device(DEVICE):  # the peer makes its directions on the default device
        try:
            return random_plane(model, metric, distance=1, steps=grid, normalization="filter", deepcopy_model=True)
        except ZeroDivisionError:
            # its second direction (orthogonal_to the first) can hold an all-zero filter, and its filter
            # normalization then divides by zero (seen on ResNet-18); layer normalization costs the same
            print("  (loss-landscapes' filter normalization divided by zero: this run of the peer uses 'layer')")
            return random_plane(model, metric, distance=1, steps=grid, normalization="layer", deepcopy_model=True)


def autocast_metric(metric: Any, dtype: str) -> Any:
    """The peer's metric evaluated under ``torch.autocast`` (what its user would write for lower precision)."""
    from loss_landscapes.metrics import Metric

    class Autocast(Metric):  # type: ignore[misc]
        def __call__(self, wrapper: Any) -> float:
            with torch.autocast(DEVICE.type, dtype=getattr(torch, dtype)):
                return float(metric(wrapper))

    return Autocast()


def lm_metric(ids: torch.Tensor) -> Any:
    from loss_landscapes.metrics import Metric

    class LanguageModelLoss(Metric):  # type: ignore[misc]
        """The wrapper a loss-landscapes user writes for a HuggingFace causal LM."""

        def __call__(self, wrapper: Any) -> float:
            return float(wrapper.modules[0](input_ids=ids, labels=ids, use_cache=False).loss)

    return LanguageModelLoss()


def gpt2_10m() -> nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=16384, n_positions=128, n_embd=256, n_layer=8, n_head=4, bos_token_id=0,
                        eos_token_id=0)  # fmt: skip
    return GPT2LMHeadModel(config).eval()


def workload(name: str, args: argparse.Namespace) -> None:
    torch.manual_seed(0)  # the models' initialisation; benchmark-only
    if name == "W4":
        model = resnet18_like().to(DEVICE).eval()
        images, labels = (t.to(DEVICE) for t in synthetic_images(args.images))
        objective = network(model, (images, labels), "cross_entropy")
        from loss_landscapes.metrics import Loss

        metric: Any = Loss(nn.functional.cross_entropy, images, labels)
        size = f"{args.images} images 3×32×32"
    elif name == "W5":
        model = gpt2_10m().to(DEVICE)
        ids = torch.randint(0, 16384, (args.sequences, 128), generator=torch.Generator().manual_seed(0)).to(DEVICE)
        objective = network(model, {"input_ids": ids, "labels": ids})
        metric = lm_metric(ids)
        size = f"{args.sequences}×128 tokens"
    else:
        raise SystemExit(f"unknown workload {name}: W4 or W5")
    directions = random_directions(objective, seed=0)
    grid = args.grid
    print(f"\n{name}: {type(model).__name__}, {objective.dim:,} parameters, {size}, {grid}×{grid} plane")
    budget = None if args.memory is None else int(float(args.memory.removesuffix("GiB")) * 2**30)
    sides: dict[str, list[float]] = {"losslab survey": []}
    if args.autocast:
        sides[f"losslab, {args.autocast}"] = []
    if not args.no_peer:
        sides["loss-landscapes plane"] = []
        if args.autocast:
            sides[f"loss-landscapes, {args.autocast}"] = []
    surfaces: dict[str, Any] = {}

    def ours(name: str, autocast: str | None) -> None:
        surfaces[name] = survey(objective, directions, grid, memory_budget=budget, progress=False, autocast=autocast)

    for _ in range(args.repeats):  # alternating, so a busy spell on a shared machine hits every side alike
        for name, times in sides.items():
            if name.startswith("loss-landscapes"):
                low = autocast_metric(metric, args.autocast) if "," in name else metric
                times.append(timed(lambda low=low: peer_plane(model, low, grid)))
            else:
                times.append(timed(lambda name=name: ours(name, args.autocast if "," in name else None)))
    for name, times in sides.items():
        best, worst = min(times), max(times)
        print(f"  {name:24} {best:8.2f} s ({best / grid**2 * 1000:.0f} ms a point; worst {worst:.2f} s)")
    if args.autocast:
        exact, low = surfaces["losslab survey"].values["loss"], surfaces[f"losslab, {args.autocast}"].values["loss"]
        deviation = float(((low - exact).abs() / exact.abs()).max())
        print(f"  {args.autocast} values against float32: largest relative difference {deviation:.2g}"
              f" (loss {float(exact.min()):.4g} … {float(exact.max()):.4g})")  # fmt: skip
    if args.no_peer:
        return
    theirs = min(sides["loss-landscapes plane"])
    for name, times in sides.items():
        if not name.startswith("loss-landscapes"):
            print(f"  {name} is {theirs / min(times):.2f}× the peer in float32 (best of {args.repeats} each)")
    if args.autocast:
        low = min(sides[f"loss-landscapes, {args.autocast}"])
        ours = min(sides[f"losslab, {args.autocast}"])
        print(f"  losslab, {args.autocast} is {low / ours:.2f}× the peer under the same autocast")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="W4,W5")
    parser.add_argument("--grid", type=int, default=21)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--sequences", type=int, default=16)
    parser.add_argument("--memory", default=None, help="losslab's chunk budget, e.g. 8GiB (default: its own)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each side, alternating; the best counts")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument(
        "--autocast", choices=("bfloat16", "float16"), help="also survey under torch.autocast, both sides"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    where = torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {where}")
    for name in args.workloads.split(","):
        workload(name, args)


if __name__ == "__main__":
    main()
