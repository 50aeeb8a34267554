"""Frozen BatchNorm folded into the convolution before it: the same values, only for values, on any traceable model."""

from __future__ import annotations

import random

import pytest
import torch
from torch import Tensor, nn

from losslab.landscape import survey
from losslab.landscape.directions import random_directions
from losslab.networks.vision import resnet
from losslab.objectives import folded_norms
from losslab.objectives.folded_norms import FoldedNorms, folded_module
from losslab.objectives.network import network
from network_oracles import direct_loss, plane_thetas, twin_at


def _statistics(model: nn.Module, shape: tuple[int, ...], generator: torch.Generator) -> nn.Module:
    """Non-trivial running statistics and affine parameters: train-mode passes, then eval mode."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, folded_norms.NORMS) and module.affine:
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.uniform_(-0.5, 0.5, generator=generator)
        model.train()
        for _ in range(3):
            model(torch.randn(4, *shape, generator=generator, dtype=torch.float64) * 2 + 0.5)
    return model.eval()


def _folds(module: nn.Module | None) -> int:
    if module is None:
        return 0
    return sum(1 for n in module.graph.nodes if n.op == "call_function" and n.target is folded_norms.conv_bn)


@pytest.fixture
def small_resnet(generator: torch.Generator) -> tuple[nn.Module, Tensor, Tensor]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # nn's initialisation draws from the global RNG; test-only
        model = resnet(width=4, blocks=(1, 1), num_classes=3).double()
    _statistics(model, (3, 8, 8), generator)
    model.train()  # the user's mode, to be left as it is
    images = torch.randn(6, 3, 8, 8, generator=generator, dtype=torch.float64)
    return model, images, torch.randint(0, 3, (6,), generator=generator)


def test_every_conv_batchnorm_pair_of_a_resnet_is_folded(small_resnet) -> None:
    model, _, _ = small_resnet
    norms = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert norms == 6  # stem, two per block, the second stage's shortcut
    assert _folds(folded_module(model)) == norms
    assert model.training  # traced in eval mode, its flags put back


def test_loop_survey_through_the_folds_equals_a_deep_copys_own_forward(small_resnet) -> None:
    model, images, labels = small_resnet
    before = {k: v.clone() for k, v in model.state_dict().items()}
    objective = network(model, (images, labels))
    assert objective._folded is not None
    directions = random_directions(objective, seed=3)
    calls = []
    original = folded_norms.conv_bn

    def counted(x, conv, norm):
        calls.append(folded_norms._foldable_now(conv, norm))
        return original(x, conv, norm)

    for node in objective._folded.module.graph.nodes:
        if node.target is original:
            node.target = counted
    objective._folded.module.recompile()
    surface = survey(objective, directions, grid=3, ranges=(-0.5, 0.5), method="loop", progress=False)
    assert sum(calls) >= 9 * 6  # every point through all six folds (the survey's probes of the model add some)
    for i, j, theta in plane_thetas(surface, directions):
        expected, accuracy = direct_loss(model, theta, images, labels)
        assert float(surface.values["loss"][i, j]) == pytest.approx(expected, rel=1e-12, abs=1e-14)
        assert float(surface.values["accuracy"][i, j]) == accuracy
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    calls.clear()  # derivatives keep the model's own forward
    gradient = objective.grad(objective.center)
    objective.hvp(objective.center, directions.vectors[0])
    assert not calls
    twin = twin_at(model, objective.center)
    nn.functional.cross_entropy(twin(images), labels).backward()
    expected = torch.cat([p.grad.reshape(-1) for p in twin.parameters()])
    torch.testing.assert_close(gradient, expected, rtol=1e-12, atol=1e-14)


def test_float32_and_bfloat16_surveys_of_a_resnet_agree_with_the_unfolded_ones(small_resnet) -> None:
    model, images, labels = small_resnet
    objective = network(model.float(), (images.float(), labels))
    directions = random_directions(objective, seed=1)
    folded = objective._folded
    assert folded is not None
    for autocast, tolerance in ((None, 1e-6), ("bfloat16", 2e-2)):
        on = survey(objective, directions, grid=3, method="loop", progress=False, autocast=autocast)
        objective._folded = None
        off = survey(objective, directions, grid=3, method="loop", progress=False, autocast=autocast)
        objective._folded = folded
        torch.testing.assert_close(on.values["loss"], off.values["loss"], rtol=tolerance, atol=tolerance)


class _Pair(nn.Module):
    """One convolution and its BatchNorm, drawn from a seeded generator over the options that change folding."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        dims = rng.choice((1, 2, 3))
        conv = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[dims - 1]
        norm = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)[dims - 1]
        groups = rng.choice((1, 2))
        channels_in, channels_out = 2 * rng.randint(1, 3), 2 * rng.randint(1, 3)
        self.dims, self.channels_in = dims, channels_in
        self.conv = conv(
            channels_in,
            channels_out,
            kernel_size=rng.choice((1, 2, 3)),
            stride=rng.choice((1, 2)),
            padding=rng.choice((0, 1)),
            dilation=rng.choice((1, 2)),
            groups=groups,
            bias=rng.random() < 0.5,
            padding_mode=rng.choice(("zeros", "reflect", "circular")),
        )
        self.norm = norm(channels_out, eps=rng.choice((1e-5, 1e-3, 0.1)), affine=rng.random() < 0.7)

    def forward(self, x: Tensor) -> Tensor:
        return torch.tanh(self.norm(self.conv(x)))


def test_generated_conv_batchnorm_pairs_fold_to_the_same_function() -> None:
    rng = random.Random(20261206)
    generator = torch.Generator().manual_seed(7)
    for case in range(40):
        pair = _Pair(rng).double()
        shape = (pair.channels_in, *(7,) * pair.dims)
        _statistics(pair, shape, generator)
        folded = folded_module(pair)
        assert _folds(folded) == 1, case
        x = torch.randn(3, *shape, generator=generator, dtype=torch.float64)
        with torch.no_grad():
            torch.testing.assert_close(folded(x), pair(x), rtol=1e-12, atol=1e-13, msg=f"case {case}: {pair}")


class _Shared(nn.Module):
    """What must not be folded: a convolution whose output is also used elsewhere, a convolution called
    twice, a BatchNorm without running statistics, and a transposed convolution."""

    def __init__(self) -> None:
        super().__init__()
        self.used_twice = nn.Conv2d(2, 2, 3, padding=1)
        self.norm_a = nn.BatchNorm2d(2)
        self.called_twice = nn.Conv2d(2, 2, 1)
        self.norm_b = nn.BatchNorm2d(2)
        self.plain = nn.Conv2d(2, 2, 1)
        self.batch_statistics = nn.BatchNorm2d(2, track_running_stats=False)
        self.transposed = nn.ConvTranspose2d(2, 2, 1)
        self.norm_c = nn.BatchNorm2d(2)
        self.unused = nn.Linear(3, 3)  # never called: tracing leaves it out of the graph module

    def forward(self, x: Tensor) -> Tensor:
        z = self.used_twice(x)
        x = self.norm_a(z) + z
        x = self.norm_b(self.called_twice(x))
        x = self.called_twice(x)
        x = self.batch_statistics(self.plain(x))
        return self.norm_c(self.transposed(x))


def test_pairs_that_are_not_one_convolution_stay_as_they_are(generator: torch.Generator) -> None:
    model = _statistics(_Shared().double(), (2, 5, 5), generator)
    assert folded_module(model) is None
    images = torch.randn(4, 2, 5, 5, generator=generator, dtype=torch.float64)
    objective = network(model, (images, torch.randn(4, 2, 5, 5, generator=generator, dtype=torch.float64)), "mse")
    assert objective._folded is None
    with torch.no_grad():
        assert float(objective.value(objective.center)) == pytest.approx(
            float(nn.functional.mse_loss(model(images), objective.data[1])), rel=1e-14
        )


class _Branching(nn.Module):
    """A forward fx cannot trace (it branches on a tensor's value)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.norm = nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)

    def forward(self, x: Tensor) -> Tensor:
        y = self.norm(self.conv(x))
        return y.flatten(1) if y.sum() > 0 else -y.flatten(1)


def test_an_untraceable_model_runs_unfolded_and_is_left_as_it_was(generator: torch.Generator) -> None:
    model = _Branching().double()
    before = dict(model.__dict__)
    assert folded_module(model) is None
    assert model.__dict__.keys() == before.keys()
    x = torch.randn(3, 1, 5, 5, generator=generator, dtype=torch.float64)
    objective = network(model, (x, torch.randint(0, 18, (3,), generator=generator)))
    assert objective._folded is None
    assert torch.isfinite(objective.value(objective.center))


def test_hooked_modules_run_unfolded_and_their_hooks_fire(small_resnet) -> None:
    model, images, labels = small_resnet
    objective = network(model, (images, labels))
    seen: list[tuple[int, ...]] = []
    handle = model.stem[1].register_forward_hook(lambda module, args, output: seen.append(tuple(output.shape)))
    try:
        with torch.no_grad():
            hooked = objective.outputs(objective.center, images)
    finally:
        handle.remove()
    assert seen == [(6, 4, 8, 8)]
    everywhere: list[str] = []
    handle = nn.modules.module.register_module_forward_hook(lambda m, a, o: everywhere.append(type(m).__name__))
    try:
        with torch.no_grad():
            objective.outputs(objective.center, images)
    finally:
        handle.remove()
    assert everywhere.count("BatchNorm2d") == 6
    with torch.no_grad():
        torch.testing.assert_close(objective.outputs(objective.center, images), hooked, rtol=1e-12, atol=1e-14)


def test_a_folded_module_that_disagrees_with_the_model_is_not_used(generator: torch.Generator) -> None:
    class Counting(nn.Module):  # its forward's Python side effect is traced once, then baked in
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.norm, self.calls = nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), 0

        def forward(self, x: Tensor) -> Tensor:
            self.calls += 1
            return self.norm(self.conv(x)).flatten(1) * self.calls

    model = _statistics(Counting().double(), (1, 5, 5), generator)
    x = torch.randn(3, 1, 5, 5, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        expected = model(x)
    state = (dict(model.named_parameters()), dict(model.named_buffers()))
    assert FoldedNorms.checked(model, state, x, expected, torch.float64) is None
