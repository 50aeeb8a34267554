"""Every grid value of a survey against a direct per-point evaluation of the model."""

from __future__ import annotations

import pytest
import torch
from landscape_helpers import Residual, seeded, small_cnn, small_mlp
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from losslab.errors import LosslabError
from losslab.landscape import Directions, LineObjective, interpolation, random_directions, survey
from losslab.objectives.network import NetworkObjective
from network_oracles import direct_loss, with_statistics

MODELS = {"mlp": small_mlp, "cnn-batchnorm": small_cnn, "residual-batchnorm": Residual}
CASES = [("mlp", "fused"), ("mlp", "vmap"), ("cnn-batchnorm", "fused"), ("cnn-batchnorm", "vmap"),
         ("residual-batchnorm", "auto")]  # fmt: skip


def build(name: str, x: torch.Tensor, dtype: torch.dtype = torch.float64) -> nn.Module:
    return with_statistics(seeded(MODELS[name]).to(dtype), x.to(dtype))


@pytest.mark.parametrize(("name", "method"), CASES, ids=[f"{n}-{m}" for n, m in CASES])
def test_float64_grid_equals_direct_evaluation(name, method, data64) -> None:
    x, y = data64
    model = build(name, x)
    objective = NetworkObjective(model, (x, y))
    directions = random_directions(objective, seed=3)
    surface = survey(objective, directions, grid=(4, 3), ranges=((-1, 1), (-0.5, 0.7)), method=method, chunk_size=5)
    assert surface.complete
    for i, a in enumerate(surface.coordinates[0]):
        for j, b in enumerate(surface.coordinates[1]):
            theta = directions.center + a * directions.vectors[0] + b * directions.vectors[1]
            loss, accuracy = direct_loss(model, theta, x, y)
            assert float(surface.values["loss"][i, j]) == pytest.approx(loss, rel=1e-10, abs=1e-12)
            assert float(surface.values["accuracy"][i, j]) == accuracy


@pytest.mark.parametrize("method", ["fused", "vmap"])
def test_float32_grid_equals_direct_evaluation_relative_1e5(method, data64) -> None:
    x, y = data64[0].float(), data64[1]
    model = build("cnn-batchnorm", x, torch.float32)
    objective = NetworkObjective(model, (x, y))
    directions = random_directions(objective, seed=5)
    surface = survey(objective, directions, grid=3, method=method)
    for i, a in enumerate(surface.coordinates[0]):
        for j, b in enumerate(surface.coordinates[1]):
            theta = directions.center.double() + a * directions.vectors[0].double() + b * directions.vectors[1].double()
            loss, _ = direct_loss(model.double(), theta, x.double(), y)
            model.float()
            assert float(surface.values["loss"][i, j]) == pytest.approx(loss, rel=1e-5)


def test_center_equals_loss_at_theta_star_and_model_is_untouched(data64) -> None:
    x, y = data64
    model = build("cnn-batchnorm", x)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    objective = NetworkObjective(model, (x, y))
    surface = survey(objective, random_directions(objective), grid=5)
    with torch.no_grad():
        expected = float(nn.functional.cross_entropy(model(x), y))
    assert surface.center_value() == pytest.approx(expected, rel=1e-12)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


def test_dataloader_survey_equals_in_memory(data64) -> None:
    x, y = data64
    model = build("mlp", x)
    in_memory = NetworkObjective(model, (x, y))
    streamed = NetworkObjective(model, DataLoader(TensorDataset(x, y), batch_size=7))
    directions = random_directions(in_memory, seed=1)
    expected = survey(in_memory, directions, grid=3)
    got = survey(streamed, directions, grid=3)
    torch.testing.assert_close(got.values["loss"], expected.values["loss"], rtol=1e-12, atol=0)
    torch.testing.assert_close(got.values["accuracy"], expected.values["accuracy"], rtol=0, atol=0)


def test_interpolation_line_beyond_the_endpoints(data64) -> None:
    x, y = data64
    model = build("mlp", x)
    objective = NetworkObjective(model, (x, y))
    end = objective.center + 0.3 * torch.ones_like(objective.center)
    line = interpolation(objective, end)
    surface = survey(objective, line, grid=7, ranges=(-0.5, 1.5))
    for alpha, value in zip(surface.coordinates[0], surface.values["loss"], strict=True):
        theta = objective.center + alpha * (end - objective.center)
        assert float(value) == pytest.approx(direct_loss(model, theta, x, y)[0], rel=1e-10)
    assert float(LineObjective(objective, line).value([1.0])) == pytest.approx(direct_loss(model, end, x, y)[0])


def test_recompute_policy_equals_statistics_estimated_by_hand(data64) -> None:
    """Oracle: a deep copy with momentum=None, reset statistics, trained-mode passes over the batches."""
    import copy

    x, y = data64
    model = build("cnn-batchnorm", x)
    objective = NetworkObjective(model, (x, y), batchnorm="recompute", batchnorm_batch_size=8)
    directions = random_directions(objective, seed=2)
    surface = survey(objective, directions, grid=2)
    assert surface.provenance["batchnorm"] == "recompute" and surface.provenance["batchnorm_layers"] == 1
    assert f"BatchNorm recompute, {len(x)} samples" in str(surface)
    for i, a in enumerate(surface.coordinates[0]):
        for j, b in enumerate(surface.coordinates[1]):
            clone = copy.deepcopy(model)
            theta = directions.center + a * directions.vectors[0] + b * directions.vectors[1]
            nn.utils.vector_to_parameters(theta, clone.parameters())
            clone[2].reset_running_stats()
            clone[2].momentum = None
            clone.train()
            with torch.no_grad():
                for batch in x.split(8):
                    clone(batch)
                out = clone.eval()(x)
            assert float(surface.values["loss"][i, j]) == pytest.approx(
                float(nn.functional.cross_entropy(out, y)), rel=1e-10
            )
            assert float(surface.values["accuracy"][i, j]) == float((out.argmax(-1) == y).double().mean())
    assert model[2].momentum == 0.1 and model[2].num_batches_tracked.item() == 3  # the user's model untouched


BAD = [
    ({"grid": (3, 0)}, "grid"),
    ({"grid": (3, 3, 3)}, "grid"),
    ({"ranges": (1, -1)}, "range 1.0:-1.0 is empty"),
    ({"ranges": (float("-inf"), float("inf"))}, "range -inf:inf is not finite"),
    ({"ranges": (float("nan"), 1)}, "range nan:1.0 is not finite"),
    ({"ranges": (-1e308, 1e308)}, r"range -1e\+308:1e\+308 is wider than a float can hold"),
    ({"ranges": (1.0, 1.0 + 1e-15)}, r"the 51 points over 1.0:1.000000000000001 are not distinct in float"),
    ({"grid": (4000, 4000)}, "grid 4000×4000 has 16000000 points; at most 10000000"),
    ({"method": "magic"}, "method 'magic'"),
    ({"chunk_size": 0}, "chunk_size = 0"),
]


@pytest.mark.parametrize(("kwargs", "words"), BAD, ids=[w.split()[0] + str(i) for i, (_, w) in enumerate(BAD)])
def test_bad_survey_options_are_refused(kwargs, words, data64) -> None:
    x, y = data64
    objective = NetworkObjective(build("mlp", x), (x, y))
    with pytest.raises(LosslabError, match=words):
        survey(objective, random_directions(objective), **kwargs)


def test_parameters_that_overflow_along_the_ranges_are_refused(data64) -> None:
    """θ = center + a·d1 + b·d2 must stay finite: with entries 2 in each direction, ±6e307 reaches 2.4e308."""
    x, y = data64
    objective = NetworkObjective(build("mlp", x).double(), (x, y))
    plane = Directions(torch.full((2, objective.dim), 2.0, dtype=torch.float64), objective.center, "plane")
    with pytest.raises(LosslabError, match=r"θ = center \+ a·d overflow float64 there"):
        survey(objective, plane, grid=2, ranges=(-6e307, 6e307))
    assert survey(objective, plane, grid=3, ranges=(-1e307, 1e307)).shape == (3, 3)


def test_fused_is_refused_where_it_does_not_apply(data64) -> None:
    x, y = data64
    objective = NetworkObjective(build("residual-batchnorm", x), (x, y))
    with pytest.raises(LosslabError, match="use 'vmap'"):
        survey(objective, random_directions(objective), grid=2, method="fused")


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_budgeted_chunks_split_evenly_among_cpu_threads(threads: int, data64) -> None:
    """The memory budget's chunk, rounded down to a multiple of torch's threads: no thread idles at its end."""
    from losslab.landscape.survey import plan_survey

    x, y = data64
    objective = NetworkObjective(build("mlp", x), (x, y))
    directions = random_directions(objective, seed=0)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        per_point = plan_survey(objective, directions, chunk_size=1).evaluator.memory().per_point
        for fits in (1, 2, 5, 25):  # points the budget allows
            chunk = plan_survey(objective, directions, memory_budget=fits * per_point).chunk_size
            assert chunk == (fits if fits < threads else fits - fits % threads)
    finally:
        torch.set_num_threads(before)


def test_point_by_point_chunks_hold_one_points_activations() -> None:
    """Images run point after point: a chunk keeps one point's activations, so the budget buys
    many more points than a batched method's (up to 64), none of them rounded to the threads."""
    from losslab.landscape.survey import POINT_BY_POINT_CHUNK, plan_survey
    from losslab.networks.demos import cnn, digits

    x, y = digits(torch.float64)
    objective = NetworkObjective(seeded(cnn).double().eval(), (x[:64], y[:64]))
    directions = random_directions(objective, seed=0)
    images = plan_survey(objective, directions, method="fused", chunk_size=1).evaluator
    batched = plan_survey(objective, directions, method="vmap", chunk_size=1).evaluator
    assert images.point_by_point and not batched.point_by_point
    assert batched.fused is None  # nothing precomputed over the data set for a path that does not use it
    memory, per_batched = images.memory(), batched.memory()
    assert per_batched.fixed == 0
    assert memory.fixed == per_batched.per_point - 8 * objective.dim  # one point's two widest activations
    assert memory.per_point == 8 * (3 * objective.dim + 4 * 64 * 10)  # θ and derived, logits and loss temporaries
    for fits, expected in [(0, 1), (1, 1), (3, 3), (63, 63), (500, POINT_BY_POINT_CHUNK)]:
        budget = memory.fixed + fits * memory.per_point
        assert plan_survey(objective, directions, method="fused", memory_budget=budget).chunk_size == expected
        assert plan_survey(objective, directions, method="vmap", memory_budget=budget).chunk_size < max(2, fits)


def test_recompute_chunks_stay_small() -> None:
    """``recompute`` goes point by point but shares nothing across a chunk: its chunks keep the
    batched budget's size (fine-grained progress and resumption), not the image path's 64."""
    from losslab.landscape.survey import plan_survey
    from losslab.networks.demos import cnn, digits

    x, y = digits(torch.float64)
    model = seeded(cnn).double().eval()
    objective = NetworkObjective(model, (x[:64], y[:64]), batchnorm="recompute")
    directions = random_directions(objective, seed=0)
    evaluator = plan_survey(objective, directions, chunk_size=1).evaluator
    assert evaluator.method == "pointwise" and not evaluator.point_by_point
    memory = evaluator.memory()
    assert memory.fixed == 0
    assert plan_survey(objective, directions, memory_budget=3 * memory.per_point).chunk_size <= 3
