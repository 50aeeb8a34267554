"""Network objectives against direct evaluation of the module, in float64."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from losslab.errors import LosslabError
from losslab.objectives.network import NetworkObjective


@pytest.fixture
def classifier(generator: torch.Generator) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)  # nn.Linear's initialisation draws from the global RNG; test-only
    net = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3)).double()
    net.train()
    x = torch.randn(40, 4, generator=generator, dtype=torch.float64)
    net(x)  # give BatchNorm non-trivial running statistics
    y = torch.randint(0, 3, (40,), generator=generator)
    return net, x, y


def test_values_equal_direct_per_point_evaluation(classifier, generator) -> None:
    net, x, y = classifier
    objective = NetworkObjective(net, (x, y), "cross_entropy")
    thetas = objective.center + 0.1 * torch.randn(5, objective.dim, generator=generator, dtype=torch.float64)
    batched = objective.values(thetas, chunk_size=2)
    for theta, value in zip(thetas, batched, strict=True):
        copy = _with_parameters(net, theta)
        with torch.no_grad():
            direct = nn.functional.cross_entropy(copy(x), y)
        assert float(value) == pytest.approx(float(direct), rel=1e-12)


def test_model_is_not_mutated_and_center_is_theta_star(classifier) -> None:
    net, x, y = classifier
    before = {k: v.clone() for k, v in net.state_dict().items()}
    objective = NetworkObjective(net, (x, y))
    objective.values(torch.zeros(3, objective.dim, dtype=torch.float64))
    for key, value in net.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    with torch.no_grad():
        direct = nn.functional.cross_entropy(net.eval()(x), y)
    assert float(objective.value(objective.center)) == pytest.approx(float(direct), rel=1e-12)


def test_gradient_and_hessian_match_autograd_and_are_symmetric(classifier) -> None:
    net, x, y = classifier
    objective = NetworkObjective(net, (x, y))
    theta = objective.center.clone().requires_grad_(True)
    loss = nn.functional.cross_entropy(torch.func.functional_call(net.eval(), objective.unflatten(theta), (x,)), y)
    (expected,) = torch.autograd.grad(loss, theta)
    torch.testing.assert_close(objective.grad(objective.center), expected, rtol=1e-12, atol=1e-14)
    hessian = objective.hessian(objective.center)
    torch.testing.assert_close(hessian, hessian.T, rtol=1e-10, atol=1e-12)
    v = torch.linspace(-1, 1, objective.dim, dtype=torch.float64)
    torch.testing.assert_close(objective.hvp(objective.center, v), hessian @ v, rtol=1e-10, atol=1e-12)


def test_hessians_of_a_layernorm_network_equal_central_differences_of_the_gradient(generator) -> None:
    """``hessians`` (many points at once) through ``layer_norm`` with a weight: ``torch.func.hessian`` (forward
    over ``jacrev``) gave a non-symmetric Hessian off by 3.65 there in torch 2.13."""
    torch.manual_seed(0)  # nn.Linear's initialisation draws from the global RNG; test-only
    net = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Tanh(), nn.Linear(4, 2)).double()
    with torch.no_grad():  # a non-trivial affine part, so its second derivatives matter
        net[1].weight.copy_(torch.randn(4, generator=generator, dtype=torch.float64))
        net[1].bias.copy_(torch.randn(4, generator=generator, dtype=torch.float64))
    x = torch.randn(12, 3, generator=generator, dtype=torch.float64)
    objective = NetworkObjective(net, (x, torch.randint(0, 2, (12,), generator=generator)))
    thetas = objective.center + 0.3 * torch.randn(2, objective.dim, generator=generator, dtype=torch.float64)
    batched = objective.hessians(thetas)
    step = 1e-5  # central differences of the exact gradient: error O(step²) ≈ 1e-10, plus rounding 1e-11
    for theta, hessian in zip(thetas, batched, strict=True):
        columns = [
            (objective.grad(theta + step * e) - objective.grad(theta - step * e)) / (2 * step)
            for e in torch.eye(objective.dim, dtype=torch.float64)
        ]
        torch.testing.assert_close(hessian, torch.stack(columns, dim=1), rtol=0, atol=1e-7)
        torch.testing.assert_close(hessian, objective.hessian(theta), rtol=1e-10, atol=1e-12)


def test_dataloader_streaming_equals_in_memory(classifier, generator) -> None:
    net, x, y = classifier
    in_memory = NetworkObjective(net, (x, y))
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    streamed = NetworkObjective(net, loader)
    thetas = in_memory.center + 0.05 * torch.randn(3, in_memory.dim, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(streamed.values(thetas), in_memory.values(thetas), rtol=1e-12, atol=0)


def test_flat_names_are_lazy_and_readable(classifier) -> None:
    net, x, y = classifier
    objective = NetworkObjective(net, (x, y))
    assert objective.dim == sum(p.numel() for p in net.parameters())
    assert objective.names[0] == "0.weight[0]"
    assert objective.names[24] == "0.bias[0]"
    assert objective.names[-1] == "3.bias[2]"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"loss": "hinge"}, "not one of cross_entropy"),
        ({"batchnorm": "adaptive"}, "batchnorm policy 'adaptive'"),
    ],
    ids=["unknown-loss", "unknown-batchnorm-policy"],
)
def test_bad_options_are_refused(classifier, kwargs, words) -> None:
    net, x, y = classifier
    with pytest.raises(LosslabError, match=words):
        NetworkObjective(net, (x, y), **kwargs)


def test_ragged_data_is_refused(classifier) -> None:
    net, x, y = classifier
    with pytest.raises(LosslabError, match="inputs have 40 rows but targets 39"):
        NetworkObjective(net, (x, y[:-1]))


@pytest.mark.parametrize(
    ("data", "loss", "words"),
    [
        ("wide-inputs", "cross_entropy", r"model does not take the data's inputs \(shape \(5,\), float64 per sample\)"),
        ("wide-inputs-loader", "cross_entropy", "model does not take the data's inputs"),
        (
            "classes",
            "mse",
            r"loss does not take the model's outputs \(shape \(3,\), float64 per sample\) with the "
            r"data's targets \(one int64 per sample\): Using a target size",
        ),
        ("class-too-big", "cross_entropy", r"targets hold class 7, but the model has 3 outputs \(classes 0 to 2"),
        ("class-too-big-later", "cross_entropy", r"targets hold class 7, but the model has 3 outputs \(classes 0 to 2"),
    ],
    ids=["model-vs-inputs", "model-vs-loader", "mse-on-classes", "class-out-of-range", "class-out-of-range-later"],
)
def test_data_the_model_or_loss_cannot_take_is_refused_with_shapes(classifier, data, loss, words) -> None:
    """Checked on two samples when the objective is made, not deep inside a survey."""
    net, x, y = classifier
    inputs, targets = (torch.cat([x, x[:, :1]], dim=1) if data.startswith("wide") else x), y.clone()
    if data.startswith("class-too-big"):
        targets[1 if data == "class-too-big" else 30] = 7  # in the two samples checked first, or after them
    held = DataLoader(TensorDataset(inputs, targets), batch_size=8) if data.endswith("loader") else (inputs, targets)
    with pytest.raises(LosslabError, match=words):
        NetworkObjective(net, held, loss)


def test_a_regression_with_row_targets_passes_the_check(classifier) -> None:
    net, x, _ = classifier
    targets = torch.zeros(len(x), 3, dtype=torch.float64)
    objective = NetworkObjective(net, (x, targets), "mse")
    with torch.no_grad():
        expected = nn.functional.mse_loss(net.eval()(x), targets)
    assert float(objective.value(objective.center)) == pytest.approx(float(expected), rel=1e-12)


def _with_parameters(net: nn.Module, theta: torch.Tensor) -> nn.Module:
    import copy

    clone = copy.deepcopy(net).eval()
    torch.nn.utils.vector_to_parameters(theta, clone.parameters())
    return clone


def test_recompute_policy_reestimates_statistics_on_a_copy(classifier) -> None:
    """At θ*, with one batch of all the data, the statistics are that batch's (torch's cumulative average)."""
    net, x, y = classifier
    before = {k: v.clone() for k, v in net.state_dict().items()}
    objective = NetworkObjective(net, (x, y), batchnorm="recompute", batchnorm_batch_size=len(x))
    buffers = objective.recomputed_buffers(objective.center)
    with torch.no_grad():
        hidden = net[0](x)
    torch.testing.assert_close(buffers["1.running_mean"], hidden.mean(0), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(buffers["1.running_var"], hidden.var(0, unbiased=True), rtol=1e-12, atol=1e-14)
    assert int(buffers["1.num_batches_tracked"]) == 1
    objective.value(objective.center)
    objective.grad(objective.center)  # statistics are constants for derivatives: the gradient exists
    for key, value in net.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    assert net[1].momentum == 0.1 and net.training  # the user's model is left in the mode it was in


def test_recompute_needs_batchnorm(generator) -> None:
    net = nn.Sequential(nn.Linear(2, 2)).double()
    x = torch.randn(4, 2, generator=generator, dtype=torch.float64)
    with pytest.raises(LosslabError, match="needs a model with BatchNorm"):
        NetworkObjective(net, (x, x), "mse", batchnorm="recompute")


@pytest.mark.parametrize("block", [1, 7, 10**6], ids=["row-by-row", "ragged-blocks", "whole-rows"])
def test_causal_lm_loss_in_blocks_equals_the_flat_cross_entropy(block, generator, monkeypatch) -> None:
    from losslab.objectives import model_io

    monkeypatch.setattr(model_io, "LOSS_BLOCK", block * 5)  # 5 classes: `block` rows a block
    logits = torch.randn(3, 6, 5, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, 5, (3, 6), generator=generator)
    labels[0, 3:] = -100  # a padded row: ignored, and not counted in the mean
    flat = nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 5), labels[:, 1:].reshape(-1))
    ours = model_io.causal_lm_loss(logits, labels)
    assert ours.dtype == torch.float64 and float(ours) == pytest.approx(float(flat), rel=1e-14)
    low = model_io.causal_lm_loss(logits.bfloat16(), labels)  # bfloat16 logits: the loss in float32
    expected = nn.functional.cross_entropy(logits.bfloat16()[:, :-1].float().reshape(-1, 5), labels[:, 1:].reshape(-1))
    assert low.dtype == torch.float32 and float(low) == pytest.approx(float(expected), rel=1e-6)
