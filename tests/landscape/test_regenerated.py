"""Directions regenerated from (seed, name, shape): the same bits on every rank and in any order; a
survey formed layer by layer equals the stored-direction survey and leaves the model untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from landscape_helpers import seeded, small_mlp
from torch import nn

from losslab.errors import LosslabError
from losslab.landscape import load_surface, regenerated
from losslab.landscape.layerwise import LayerwisePoint
from losslab.landscape.regenerated import RegeneratedDirections
from losslab.landscape.regenerated_survey import regenerated_survey
from losslab.landscape.survey import survey
from losslab.objectives.network import NetworkObjective

HERE = Path(__file__).parent
CASES = [("filter", "zero"), ("layer", "include"), ("none", "zero")]


def test_two_ranks_regenerate_the_bits_of_one_process(tmp_path) -> None:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(HERE / "regenerate_job.py"), str(tmp_path)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(HERE), "OMP_NUM_THREADS": "1"}
    run = subprocess.run(command, capture_output=True, text=True, timeout=150, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    ranks = {**torch.load(tmp_path / "rank0.pt"), **torch.load(tmp_path / "rank1.pt")}
    model = seeded(small_mlp).double()
    directions = RegeneratedDirections(seed=11, normalization="filter", bias_bn="include")
    assert sorted(ranks) == sorted(name for name, _ in model.named_parameters())
    for name, parameter in model.named_parameters():
        whole = directions.parameter(name, parameter.detach())
        assert torch.equal(ranks[name].reshape(whole.shape), whole), name


def test_blocks_split_rows_and_normalize_like_stored_directions(monkeypatch) -> None:
    monkeypatch.setattr(regenerated, "BLOCK_ELEMENTS", 12)  # several blocks per weight
    model = seeded(small_mlp).double()
    objective = NetworkObjective(model, (torch.zeros(2, 16, dtype=torch.float64), torch.tensor([0, 1])))
    for normalization, bias_bn in CASES:
        d = RegeneratedDirections(seed=5, normalization=normalization, bias_bn=bias_bn).materialize(objective)
        for vector in d.vectors:
            for name, piece in objective.unflatten(vector).items():
                reference = objective.unflatten(objective.center)[name]
                if piece.dim() <= 1 and bias_bn == "zero":
                    assert not piece.any()
                elif normalization == "filter" and piece.dim() > 1:
                    torch.testing.assert_close(piece.norm(dim=1), reference.norm(dim=1), rtol=1e-6, atol=0)
                elif normalization != "none":
                    torch.testing.assert_close(piece.norm(), reference.norm(), rtol=1e-6, atol=0)
    assert len(list(RegeneratedDirections().blocks("w", torch.ones(6, 4)))) == 2  # 3 rows of 4 per block


@pytest.mark.parametrize(("normalization", "bias_bn"), CASES)
def test_the_layerwise_survey_equals_the_stored_direction_survey(normalization, bias_bn, data64) -> None:
    x, y = data64
    model = seeded(small_mlp).double()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    objective = NetworkObjective(model, (x, y))
    directions = RegeneratedDirections(seed=2, normalization=normalization, bias_bn=bias_bn)
    got = regenerated_survey(objective, directions, (4, 3), ((-1, 1), (-0.5, 0.7)))
    stored = survey(objective, directions.materialize(objective), (4, 3), ((-1, 1), (-0.5, 0.7)), method="vmap")
    torch.testing.assert_close(got.values["loss"], stored.values["loss"], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(got.values["accuracy"], stored.values["accuracy"], rtol=0, atol=0)
    assert got.provenance["directions"] == "regenerated" and got.center is None and got.directions is None
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_a_tied_gpt2_in_bfloat16_records_its_dtype_and_matches_stored_directions() -> None:
    pytest.importorskip("transformers")
    from losslab.networks.language import counting_tokens, gpt2_tiny

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = gpt2_tiny(vocabulary=24, width=16)
    tokens = counting_tokens(4, 8, vocabulary=24)
    objective = NetworkObjective(model, tokens)
    directions = RegeneratedDirections(seed=1)
    got = regenerated_survey(objective, directions, 3, (-0.5, 0.5))
    stored = survey(objective, directions.materialize(objective), 3, (-0.5, 0.5), method="loop")
    torch.testing.assert_close(got.values["loss"], stored.values["loss"], rtol=1e-5, atol=0)
    half = regenerated_survey(NetworkObjective(model.to(torch.bfloat16), tokens), directions, 3, (-0.5, 0.5))
    assert half.provenance["dtype"] == "bfloat16"
    torch.testing.assert_close(half.values["loss"], got.values["loss"], rtol=0.05, atol=0)


def test_an_error_inside_the_model_puts_theta_star_back(data64) -> None:
    class Breaks(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Linear(16, 3).double()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.inner(x)
            raise RuntimeError("boom")

    model = Breaks()
    weight = model.inner.weight
    with pytest.raises(RuntimeError, match="boom"), LayerwisePoint(model, RegeneratedDirections()) as at:
        at.point = (1.0, 1.0)
        model(data64[0])
    assert model.inner.weight is weight and isinstance(model.inner.weight, nn.Parameter)


def test_a_model_in_another_dtype_than_the_objective_is_refused(data64) -> None:
    objective = NetworkObjective(seeded(small_mlp), data64, dtype=torch.float64)
    with pytest.raises(LosslabError, match="convert the model itself"):
        regenerated_survey(objective, RegeneratedDirections(), 3)


def test_the_cli_surveys_regenerated_directions_in_bfloat16(tmp_path) -> None:
    pytest.importorskip("transformers")
    from typer.testing import CliRunner

    from losslab.cli.app import app
    from losslab.landscape import load_surface

    out = tmp_path / "g.h5"
    args = ["landscape", "--model", "transformers:gpt2-tiny", "--steps", "2", "--grid", "3x3", "--out", str(out),
            "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(app, [*args, "--directions", "regenerated", "--dtype", "bfloat16"])
    assert result.exit_code == 0, result.output
    surface = load_surface(out)
    assert surface.complete and surface.provenance["dtype"] == "bfloat16" and surface.center is None
    refused = CliRunner().invoke(app, [*args, "--dtype", "bfloat16"])
    assert refused.exit_code == 2 and "is for --directions regenerated" in refused.output


def test_an_interrupted_regenerated_survey_resumes_to_the_same_bits(tmp_path, data64) -> None:
    """Written point by point (a point of a large model is long): a Ctrl-C loses at most the point under way."""
    objective = NetworkObjective(seeded(small_mlp).double(), data64)
    directions = RegeneratedDirections(seed=4)
    whole = regenerated_survey(objective, directions, (4, 3), (-0.5, 0.5))
    out = tmp_path / "g.h5"

    def stop_after_five(done: int, total: int) -> None:
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        regenerated_survey(objective, directions, (4, 3), (-0.5, 0.5), out=out, on_chunk=stop_after_five)
    kept = load_surface(out)
    assert int(kept.computed.sum()) == 5 and kept.center is None and kept.provenance["chunk_size"] == 1
    done = []
    resumed = regenerated_survey(
        objective, directions, (4, 3), (-0.5, 0.5), out=out, resume=True, on_chunk=lambda d, t: done.append(d)
    )
    assert done == list(range(6, 13))  # the seven points left, counted on from the five in the file
    assert torch.equal(resumed.values["loss"], whole.values["loss"]) and load_surface(out).complete
    with pytest.raises(LosslabError, match="its directions_sha256 is"):  # another seed: another survey
        regenerated_survey(objective, RegeneratedDirections(seed=5), (4, 3), (-0.5, 0.5), out=out, resume=True)


def test_two_ranks_survey_regenerated_directions_as_one_process(tmp_path, data64) -> None:
    """Under torchrun each rank makes the same directions from the seed and evaluates its share of the points."""
    model = seeded(small_mlp).double().eval()
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    torch.save({"inputs": data64[0], "targets": data64[1]}, tmp_path / "data.pt")
    out = tmp_path / "ranks.h5"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "--no-python",
               str(Path(sys.executable).with_name("losslab")), "landscape", "--model", "landscape_helpers:small_mlp",
               "--weights", str(tmp_path / "weights.pt"), "--data", str(tmp_path / "data.pt"), "--dtype", "float64",
               "--grid", "5x3", "--range", "-1:1,-0.5:0.5", "--directions", "regenerated", "--seed", "6",
               "--out", str(out), "--no-progress"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(HERE), "OMP_NUM_THREADS": "1"}
    run = subprocess.run(command, capture_output=True, text=True, timeout=150, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("written to") == 1  # only rank 0 reports
    ranks = load_surface(out)
    assert ranks.provenance["world_size"] == 2 and sum(ranks.provenance["chunks_per_rank"]) == 15
    assert min(ranks.provenance["chunks_per_rank"]) >= 7  # both ranks worked
    objective = NetworkObjective(model, data64)
    single = regenerated_survey(objective, RegeneratedDirections(seed=6), (5, 3), ((-1, 1), (-0.5, 0.5)))
    assert ranks.center is None and ranks.provenance["directions_sha256"] == single.provenance["directions_sha256"]
    torch.testing.assert_close(ranks.values["loss"], single.values["loss"], rtol=1e-12, atol=0)
    torch.testing.assert_close(ranks.values["accuracy"], single.values["accuracy"], rtol=0, atol=0)
