"""The survey under ``torchrun --nproc_per_node=2`` (gloo on the CPU) equals the single-process one,
and a killed distributed survey keeps its finished rounds and resumes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from landscape_helpers import seeded, small_mlp
from torch import nn

from losslab.landscape import Surface, load_surface, model_fingerprint, plan_survey, random_directions, survey
from losslab.landscape.distributed import _result_row, _unpack
from losslab.objectives.network import NetworkObjective

HERE = Path(__file__).parent


def _files(tmp_path: Path, data64: tuple[torch.Tensor, torch.Tensor]) -> nn.Module:
    model = seeded(small_mlp).double().eval()
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    torch.save({"inputs": data64[0], "targets": data64[1]}, tmp_path / "data.pt")
    return model


def _torchrun(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args]
    env = {**os.environ, "PYTHONPATH": str(HERE), "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=150, env=env, cwd=tmp_path)


def _landscape(tmp_path: Path, out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """``losslab landscape`` of small_mlp (float64, 5×4 grid, seed 3 unless ``options`` say otherwise) on 2 ranks."""
    return _torchrun(
        tmp_path, "--no-python", str(Path(sys.executable).with_name("losslab")), "landscape",
        "--model", "landscape_helpers:small_mlp", "--weights", str(tmp_path / "weights.pt"),
        "--data", str(tmp_path / "data.pt"), "--dtype", "float64", "--grid", "5x4", "--range", "-1:1,-0.5:0.5",
        "--out", str(out), "--no-progress", "--method", "vmap", *options,
    )  # fmt: skip


def _single(model: nn.Module, data64: tuple[torch.Tensor, torch.Tensor], **options: int) -> Surface:
    objective = NetworkObjective(model, data64, title="landscape_helpers:small_mlp")
    directions = random_directions(objective, seed=3)
    return survey(objective, directions, (5, 4), ((-1, 1), (-0.5, 0.5)), method="vmap", **options)


def test_two_cpu_ranks_equal_one_process(tmp_path, data64) -> None:
    model = _files(tmp_path, data64)
    out = tmp_path / "ranks.h5"
    run = _landscape(tmp_path, out, "--seed", "3")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("written to") == 1  # only rank 0 prints
    ranks = load_surface(out)
    single = _single(model, data64)
    assert ranks.provenance["world_size"] == 2 and ranks.provenance["chunks_per_rank"] == [1, 1]
    assert ranks.provenance["model_sha256"] == model_fingerprint(NetworkObjective(model, data64))
    assert ranks.complete
    for key in ("loss", "accuracy"):
        torch.testing.assert_close(ranks.values[key], single.values[key], rtol=1e-12, atol=0)


def test_killed_distributed_survey_keeps_its_rounds_and_resumes(tmp_path, data64) -> None:
    model = _files(tmp_path, data64)
    out = tmp_path / "killed.h5"
    # 10 chunks of 2 points dealt in rounds of 2; rank 0 dies right after writing the 4th chunk
    killed = _torchrun(tmp_path, str(HERE / "ranks_job.py"), "weights.pt", "data.pt", str(out), "4")
    assert killed.returncode != 0
    partial = load_surface(out)
    flat = partial.computed.view(-1)
    assert bool(flat[:8].all()) and not bool(flat[8:].any())  # the two finished rounds, nothing else
    assert torch.isnan(partial.values["loss"].view(-1)[8:]).all()

    # resuming with other directions is refused on every rank (none left waiting) and loses nothing
    refused = _landscape(tmp_path, out, "--seed", "4", "--resume")
    assert refused.returncode != 0
    assert "cannot resume" in refused.stdout + refused.stderr and "directions_sha256" in refused.stdout + refused.stderr
    assert "LosslabError" not in refused.stderr  # each rank's clean message, no traceback (torchrun prints its own)
    unchanged = load_surface(out)
    assert torch.equal(unchanged.computed, partial.computed)
    torch.testing.assert_close(unchanged.values["loss"], partial.values["loss"], rtol=0, atol=0, equal_nan=True)

    resumed = _landscape(tmp_path, out, "--seed", "3", "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    done = load_surface(out)
    assert done.complete
    assert done.provenance["chunk_size"] == 2 and done.provenance["chunks_per_rank"] == [3, 3]  # the 6 left
    before = partial.values["loss"].view(-1)[:8]
    assert torch.equal(done.values["loss"].view(-1)[:8], before)  # finished rounds kept, not recomputed
    single = _single(model, data64, chunk_size=2)
    for key in ("loss", "accuracy"):
        torch.testing.assert_close(done.values[key], single.values[key], rtol=1e-12, atol=0)


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_a_rounds_result_row_carries_a_chunk_exactly(loss, data64) -> None:
    """What a rank sends rank 0 each round (one float64 row, NaN-padded) unpacks to the chunk's own
    values, for a classifier and a regression, for a full and the short last chunk and an idle rank."""
    x, y = data64
    targets = y if loss == "cross_entropy" else torch.nn.functional.one_hot(y, 3).double()
    objective = NetworkObjective(seeded(small_mlp).double(), (x, targets), loss)
    plan = plan_survey(objective, random_directions(objective, seed=1), (3, 3), chunk_size=4)  # chunks of 4, 4, 1
    for index in (0, 2):
        expected_loss, expected_accuracy, no_error = plan.evaluate(index)
        assert no_error is None  # the data is in memory: no sampling error
        unpacked = _unpack(plan, _result_row(plan, index, torch.device("cpu")))
        assert unpacked is not None and unpacked[0] == index
        assert torch.equal(unpacked[1], expected_loss)
        if loss == "cross_entropy":
            assert unpacked[2] is not None and torch.equal(unpacked[2], expected_accuracy)
        else:
            assert unpacked[2] is None and expected_accuracy is None
    assert _unpack(plan, _result_row(plan, None, torch.device("cpu"))) is None


def test_a_volume_on_two_ranks_equals_one_process(tmp_path, data64) -> None:
    """A 3-D survey goes through the same machinery as a plane: under torchrun its chunks are dealt to the ranks."""
    from losslab.landscape.volume import volume_directions, volume_survey

    model = _files(tmp_path, data64)
    out = tmp_path / "volume.h5"
    run = _landscape(tmp_path, out, "--seed", "3", "--grid", "4x3x3", "--range", "-1:1", "--chunk-size", "6")
    assert run.returncode == 0, run.stdout + run.stderr
    ranks = load_surface(out)
    assert ranks.shape == (4, 3, 3) and ranks.axis_names == ("a", "b", "c") and ranks.complete
    assert ranks.provenance["world_size"] == 2 and ranks.provenance["chunks_per_rank"] == [3, 3]
    objective = NetworkObjective(model, data64, title="landscape_helpers:small_mlp")
    single = volume_survey(objective, volume_directions(objective, seed=3), (4, 3, 3), method="vmap")
    for key in ("loss", "accuracy"):
        torch.testing.assert_close(ranks.values[key], single.values[key], rtol=1e-12, atol=0)
