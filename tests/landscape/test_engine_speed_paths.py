"""The fast paths of the slice evaluator against a direct per-point evaluation of the model.

Oracle: a deep copy of the model with θ written into its parameters, run in eval mode, and the
objective's own loss function — float64 to 1e-10 relative, float32 to 1e-5 relative (against
the float64 oracle), accuracy exactly. Tiles are shrunk so every chunk spans several sample
tiles, the last one short.
"""

from __future__ import annotations

import copy

import pytest
import torch
from landscape_helpers import Image, seeded, small_cnn
from torch import nn

from losslab.landscape import fused_chain, random_directions, survey
from losslab.landscape.engine import SliceEvaluator
from losslab.landscape.fused_chain import class_sums, class_targets, is_cross_entropy
from losslab.objectives.network import NetworkObjective
from network_oracles import with_statistics


def mlp_bias_relu() -> nn.Module:
    return nn.Sequential(nn.Linear(16, 7), nn.ReLU(), nn.Linear(7, 6), nn.ReLU(), nn.Linear(6, 3))


def mlp_no_bias_tanh() -> nn.Module:
    return nn.Sequential(
        nn.Linear(16, 7, bias=False), nn.Tanh(), nn.Linear(7, 6, bias=False), nn.Tanh(), nn.Linear(6, 3, bias=False)
    )  # fmt: skip


def regression_mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(16, 5), nn.Softplus(), nn.Linear(5, 2))


def two_conv_cnn() -> nn.Module:
    return nn.Sequential(
        Image(), nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16, 3),
    )  # fmt: skip


def pool_first_cnn() -> nn.Module:
    """The digits demo's shape: conv, BN, ReLU, 2×2 max-pool, conv, BN, ReLU, flatten, linear."""
    return nn.Sequential(
        Image(), nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.Flatten(), nn.Linear(24, 3),
    )  # fmt: skip


def strided_patch_regression() -> nn.Module:
    """A bias-free strided first conv with uneven padding (output 2×1), then flatten and linear."""
    return nn.Sequential(
        Image(), nn.Conv2d(1, 5, 3, stride=2, padding=(1, 0), bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(10, 2)
    )  # fmt: skip


class TwoChannels(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1, 2, 2, 4)


def two_channel_patches() -> nn.Module:
    """Two input channels: the patches' (channel, row, column) order must match the kernel's."""
    return nn.Sequential(
        TwoChannels(), nn.Conv2d(2, 8, 3, padding=1), nn.BatchNorm2d(8), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(), nn.Linear(16, 3),
    )  # fmt: skip


# name -> (model, loss, regression?, the path expected, its cross-entropy expected, biases/BN in the directions)
CASES = {
    "mlp-bias-relu-ce": (mlp_bias_relu, nn.functional.cross_entropy, False, "chain", True, "zero"),
    "mlp-nobias-tanh-ce-module": (mlp_no_bias_tanh, nn.CrossEntropyLoss(), False, "chain", True, "zero"),
    "mlp-label-smoothing-generic": (
        mlp_bias_relu,
        nn.CrossEntropyLoss(label_smoothing=0.1),
        False,
        "chain",
        False,
        "include",
    ),  # fmt: skip
    "mlp-mse-regression-generic": (regression_mlp, nn.functional.mse_loss, True, "chain", False, "zero"),
    "cnn-batchnorm-vmap-rest": (small_cnn, nn.functional.cross_entropy, False, "vmap", True, "include"),
    "cnn-two-conv-channels-last": (two_conv_cnn, nn.functional.cross_entropy, False, "images", True, "zero"),
    "cnn-pool-first-patches": (pool_first_cnn, nn.functional.cross_entropy, False, "patches", True, "zero"),
    "cnn-pool-first-patches-bn-moves": (pool_first_cnn, nn.CrossEntropyLoss(), False, "patches", True, "include"),
    "cnn-strided-patches-mse": (strided_patch_regression, nn.functional.mse_loss, True, "patches", False, "include"),
    "cnn-two-channel-patches": (two_channel_patches, nn.functional.cross_entropy, False, "patches", True, "include"),
}


def path_of(evaluator: SliceEvaluator) -> str:
    fused = evaluator.fused
    assert fused is not None
    if fused.chain is not None:
        return "chain"
    if fused.images is None:
        return "vmap"
    return "patches" if fused.images.first is not None else "images"


@pytest.fixture
def small_tiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiles of 4 samples: 30 samples → 7 full tiles and a short one."""
    monkeypatch.setattr(fused_chain, "CACHE_BYTES", 1)
    monkeypatch.setattr(fused_chain, "MIN_TILE", 4)


def objective_for(name: str, data64, dtype: torch.dtype) -> tuple[NetworkObjective, nn.Module]:
    build, loss, regression, *_ = CASES[name]
    x, y = data64
    if regression:
        y = torch.stack([x[:, :3].sum(1), x[:, 3:].prod(1).tanh()], dim=1)
    model = with_statistics(seeded(build).double(), x)
    copied = copy.deepcopy(model).to(dtype)
    return NetworkObjective(copied, (x.to(dtype), y.to(dtype) if regression else y), loss), model


def direct(model: nn.Module, loss, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    clone = copy.deepcopy(model).double().eval()
    nn.utils.vector_to_parameters(theta.double(), clone.parameters())
    with torch.no_grad():
        out = clone(x.double())
        accuracy = float((out.argmax(-1) == y).double().mean()) if not y.is_floating_point() else float("nan")
        return float(loss(out, y.double() if y.is_floating_point() else y)), accuracy


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize(("dtype", "rel"), [(torch.float64, 1e-10), (torch.float32, 1e-5)], ids=["float64", "float32"])
def test_fused_grid_equals_direct_evaluation(name, dtype, rel, data64, small_tiles) -> None:
    objective, model = objective_for(name, data64, dtype)
    *_, path, cross_entropy, bias_bn = CASES[name]
    directions = random_directions(objective, seed=4, bias_bn=bias_bn)
    evaluator = SliceEvaluator(objective, directions, "auto")
    assert evaluator.method == "fused"
    assert path_of(evaluator) == path
    assert evaluator.fused.cross_entropy == cross_entropy  # type: ignore[union-attr]
    surface = survey(objective, directions, grid=(3, 4), ranges=((-1, 1), (-0.6, 0.9)), chunk_size=5)
    x, y = objective.data  # type: ignore[misc]
    center, vectors = directions.center.double(), directions.vectors.double()
    for i, a in enumerate(surface.coordinates[0]):
        for j, b in enumerate(surface.coordinates[1]):
            loss, accuracy = direct(model, objective.loss_fn, center + a * vectors[0] + b * vectors[1], x, y)
            assert float(surface.values["loss"][i, j]) == pytest.approx(loss, rel=rel, abs=1e-12)
            if "accuracy" in surface.values:
                assert float(surface.values["accuracy"][i, j]) == pytest.approx(accuracy, rel=rel)  # same count


@pytest.mark.parametrize(
    ("build", "absorbed", "pool", "relu"),
    [
        (pool_first_cnn, 3, True, True),
        (two_channel_patches, 2, True, False),
        (strided_patch_regression, 0, False, False),
    ],
    ids=["bn-relu-pool", "bn-pool", "nothing"],
)
def test_patch_conv_absorbs_what_commutes_with_it(build, absorbed, pool, relu, data64) -> None:
    x, y = data64
    objective = NetworkObjective(with_statistics(seeded(build).double(), x), (x, y % 2))  # two classes fit every build
    first = SliceEvaluator(objective, random_directions(objective)).fused.images.first  # type: ignore[union-attr]
    assert first is not None and (first.absorbed, first.pool, first.relu) == (absorbed, pool, relu)


def test_class_sums_follow_argmax_on_ties_and_nan() -> None:
    logits = torch.tensor(
        [[1.0, 2.0, 2.0, float("nan"), 0.0], [2.0, 2.0, 1.0, 3.0, 0.0], [0.0, 1.0, 2.0, float("nan"), 0.0]]
    )
    targets = torch.tensor([1, 1, 0, 0, 2])  # per sample (column): ties resolved to the first maximum, NaN wins
    _, correct = class_sums(logits[None], targets)
    assert correct.item() == float((logits.T.argmax(-1) == targets).sum())
    finite = logits[:, [0, 1, 2, 4]][None]
    loss, _ = class_sums(finite.double(), targets[[0, 1, 2, 4]])
    expected = nn.functional.cross_entropy(finite[0].T.double(), targets[[0, 1, 2, 4]], reduction="sum")
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)


@pytest.mark.parametrize(
    ("build", "expected"),
    [(mlp_bias_relu, True), (mlp_no_bias_tanh, False), (regression_mlp, False)],
    ids=["relu-bias", "no-bias", "softplus"],
)
def test_bias_row_only_where_the_activation_keeps_one(build, expected, data64) -> None:
    """The next bias rides on a constant feature only when ReLU-like activations map 1 to exactly 1."""
    x, y = data64
    objective = NetworkObjective(seeded(build).double(), (x, y % 2))  # two classes fit every build
    evaluator = SliceEvaluator(objective, random_directions(objective, seed=2))
    assert evaluator.fused.chain.bias_row is expected  # type: ignore[union-attr]


def _sums_in_buffers(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """class_sums working in a copy of the logits and a scratch buffer (as the chain calls it): the
    same bits as in fresh tensors."""
    scratch = torch.full_like(logits, 7.0)  # stale contents must not matter
    in_buffers = class_sums(logits.clone(), targets, scratch=scratch)
    fresh = class_sums(logits, targets)
    for a, b in zip(in_buffers, fresh, strict=True):
        assert torch.equal(a, b) or (a.isnan() == b.isnan()).all() and torch.equal(a.nan_to_num(), b.nan_to_num())
    return in_buffers


@pytest.mark.parametrize("seed", range(12))
def test_class_sums_accuracy_equals_argmax_with_ties_and_infinities(seed) -> None:
    """Integer logits (ties everywhere), some −inf, +inf and NaN entries: the count equals argmax's
    (in fresh tensors and in the caller's buffers)."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randint(-2, 3, (3, 4, 40), generator=g).double()
    if seed % 2:
        logits[0, 1, :10] = float("-inf")
        logits[1, :, 30:] = float("-inf")  # whole columns: argmax is the first class
    if seed % 3 == 0:
        logits[1, 2, 5:9] = float("inf")
    if seed % 4 == 0:
        logits[2, 0, 3] = float("nan")
    targets = torch.randint(0, 4, (40,), generator=g)
    _, correct = _sums_in_buffers(logits, targets)
    assert torch.equal(correct, (logits.transpose(1, 2).argmax(-1) == targets).sum(1).double())


@pytest.mark.parametrize(
    ("dtype", "rel"), [(torch.bfloat16, 2e-2), (torch.float16, 2e-3), (torch.float32, 1e-6), (torch.float64, 1e-12)]
)
def test_class_sums_with_gaps_past_exps_smallest_normal(dtype, rel) -> None:
    """Logits 0–1500 apart (exp of most gaps underflows): the loss still equals cross-entropy's,
    including samples whose target is far below the maximum."""
    g = torch.Generator().manual_seed(5)
    spread = 1500 if dtype.itemsize > 2 else 60  # float16 ends at 65504
    logits = (torch.rand(3, 10, 200, generator=g, dtype=torch.float64) * spread - spread / 2).to(dtype)
    logits[:, 4, :20] = logits[:, :, :20].amax(1) - 0.5  # some close seconds, so not every sum is exactly 1
    targets = torch.randint(0, 10, (200,), generator=g)
    loss, correct = _sums_in_buffers(logits, targets)
    for point in range(3):
        expected = nn.functional.cross_entropy(logits[point].T.double(), targets, reduction="sum")
        assert loss[point].item() == pytest.approx(expected.item(), rel=rel)
    assert torch.equal(correct, (logits.transpose(1, 2).argmax(-1) == targets).sum(1).to(dtype))


def test_class_sums_with_finite_maxima_whose_sum_overflows() -> None:
    """Logits near float32's largest value: every maximum finite, their sum not. The sums still equal
    argmax's count and cross-entropy's (the check that all maxima are finite errs only to the exact side)."""
    g = torch.Generator().manual_seed(4)
    logits = torch.randint(-2, 3, (2, 3, 50), generator=g).float() * 1e37 + 3e38
    logits[0, :, 7] = 3e38  # a three-way tie at the top
    targets = torch.randint(0, 3, (50,), generator=g)
    assert torch.isinf(logits.amax(1).sum()) and torch.isfinite(logits).all()
    loss, correct = _sums_in_buffers(logits, targets)
    assert torch.equal(correct, (logits.transpose(1, 2).argmax(-1) == targets).sum(1).float())
    for point in range(2):
        expected = nn.functional.cross_entropy(logits[point].T, targets, reduction="sum")
        assert loss[point].item() == pytest.approx(expected.item(), rel=1e-5)


RECOGNIZED = [
    (nn.functional.cross_entropy, True),
    (nn.CrossEntropyLoss(), True),
    (nn.CrossEntropyLoss(reduction="sum"), False),
    (nn.CrossEntropyLoss(weight=torch.ones(3)), False),
    (nn.CrossEntropyLoss(label_smoothing=0.2), False),
    (lambda out, y: nn.functional.cross_entropy(out, y), False),
    (nn.functional.mse_loss, False),
]


@pytest.mark.parametrize(("loss", "expected"), RECOGNIZED, ids=[str(i) for i in range(len(RECOGNIZED))])
def test_only_default_cross_entropy_is_recognized(loss, expected) -> None:
    assert is_cross_entropy(loss) == expected


@pytest.mark.parametrize(
    ("targets", "loss", "expected"),
    [
        (torch.tensor([0, 2, 1]), nn.functional.cross_entropy, True),
        (torch.tensor([0, 3, 1]), nn.functional.cross_entropy, False),  # out of range
        (torch.tensor([0, -100, 1]), nn.functional.cross_entropy, False),  # ignored
        (torch.tensor([0, 2, 1]), nn.CrossEntropyLoss(ignore_index=2), False),
        (torch.tensor([[0.2, 0.8, 0.0]]), nn.functional.cross_entropy, False),  # probabilities
    ],
    ids=["in-range", "out-of-range", "ignored-default", "ignored-custom", "probabilities"],
)
def test_class_targets(targets, loss, expected) -> None:
    assert class_targets(loss, targets, 3) == expected


def test_ignored_targets_fall_back_to_the_generic_loss(data64) -> None:
    x, y = data64
    y = y.clone()
    y[0] = -100
    model = with_statistics(seeded(mlp_bias_relu).double(), x)
    objective = NetworkObjective(model, (x, y))
    directions = random_directions(objective, seed=1)
    evaluator = SliceEvaluator(objective, directions)
    assert evaluator.fused.chain is not None and not evaluator.fused.chain.cross_entropy  # type: ignore[union-attr]
    loss, _ = evaluator(torch.tensor([[0.3, -0.2]], dtype=torch.float64))
    theta = directions.center + 0.3 * directions.vectors[0] - 0.2 * directions.vectors[1]
    assert float(loss[0]) == pytest.approx(direct(model, nn.functional.cross_entropy, theta, x, y)[0], rel=1e-10)


@pytest.mark.filterwarnings("ignore:.*torch.jit.script_method.* is deprecated:DeprecationWarning")  # inductor's import
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_compiled_chunks_equal_the_fused_ones(name: str, monkeypatch) -> None:
    """``method="compile"`` (opt-in) gives the fused path's values: the chain without its kept buffers
    (two tiles of 32 and 8 samples here), the cross-entropy without a host sync, the last short chunk
    padded to the compiled size."""
    from losslab.networks.demos import cnn, mlp

    monkeypatch.setattr(fused_chain, "CACHE_BYTES", 1)  # tiles of MIN_TILE = 32 samples

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 64, generator=g, dtype=torch.float64), torch.randint(0, 10, (40,), generator=g)
    torch.manual_seed(0)
    objective = NetworkObjective({"mlp": mlp, "cnn": cnn}[name]().double().eval(), (x, y))
    directions = random_directions(objective, seed=0)
    compiled = survey(objective, directions, grid=5, method="compile", chunk_size=8)  # 25 points: 8, 8, 8, 1
    fused = survey(objective, directions, grid=5, method="fused", chunk_size=8)
    assert compiled.provenance["method"] == "compile"
    for key in ("loss", "accuracy"):
        torch.testing.assert_close(compiled.values[key], fused.values[key], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("device", "images", "expected"),
    [("cpu", True, "fused"), ("cpu", False, "fused"), ("cuda", True, "vmap"), ("cuda", False, "fused")],
)
def test_auto_sends_images_on_an_accelerator_to_vmap(device: str, images: bool, expected: str) -> None:
    """One grid point at a time is the CPU's fastest image path; on a GPU it would be launch-bound,
    so ``auto`` batches the points with vmap there. (A stand-in objective: this machine has no GPU.)"""
    from types import SimpleNamespace

    from losslab.landscape.engine import _choose

    objective = SimpleNamespace(batchnorm="frozen", device=torch.device(device))
    fused = SimpleNamespace(images=object() if images else None)
    assert _choose("auto", objective, fused) == expected  # type: ignore[arg-type]
    assert _choose("fused", objective, fused) == "fused"  # asked for by name: as asked


def test_sample_tiles_are_a_cpu_cache_matter(data64, monkeypatch) -> None:
    """On a CPU a chunk's samples are cut into cache-sized tiles; on any other device (a meta tensor
    stands in for a GPU here) one tile holds them all."""
    x, y = data64
    objective = NetworkObjective(seeded(mlp_bias_relu).double(), (x, y))
    chain = SliceEvaluator(objective, random_directions(objective, seed=0)).fused.chain  # type: ignore[union-attr]
    assert chain is not None
    monkeypatch.setattr(fused_chain, "CACHE_BYTES", 1)
    assert chain.tile_width(8) == fused_chain.MIN_TILE
    chain.zs = chain.zs.to("meta")
    assert chain.tile_width(8) == len(x)
