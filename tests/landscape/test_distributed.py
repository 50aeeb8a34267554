"""The survey under ``torchrun --nproc_per_node=2`` (gloo on the CPU) equals the single-process one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from landscape_helpers import seeded, small_mlp

from losslab.landscape import load_surface, model_fingerprint, random_directions, survey
from losslab.network import NetworkObjective

HERE = Path(__file__).parent


def test_two_cpu_ranks_equal_one_process(tmp_path, data64) -> None:
    model = seeded(small_mlp).double().eval()
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    torch.save({"inputs": data64[0], "targets": data64[1]}, tmp_path / "data.pt")
    out = tmp_path / "ranks.h5"
    losslab = Path(sys.executable).with_name("losslab")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "--no-python",
        str(losslab), "landscape", "--model", "landscape_helpers:small_mlp", "--weights", str(tmp_path / "weights.pt"),
        "--data", str(tmp_path / "data.pt"), "--dtype", "float64", "--grid", "5x4", "--range", "-1:1,-0.5:0.5",
        "--seed", "3", "--out", str(out), "--no-progress", "--method", "vmap",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(HERE), "OMP_NUM_THREADS": "1"}
    run = subprocess.run(command, capture_output=True, text=True, timeout=150, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("written to") == 1  # only rank 0 prints
    ranks = load_surface(out)
    objective = NetworkObjective(model, data64, title="landscape_helpers:small_mlp")
    single = survey(objective, random_directions(objective, seed=3), (5, 4), ((-1, 1), (-0.5, 0.5)), method="vmap")
    assert ranks.provenance["world_size"] == 2 and ranks.provenance["chunks_per_rank"] == [1, 1]
    assert ranks.provenance["model_sha256"] == model_fingerprint(objective)
    assert ranks.complete
    for key in ("loss", "accuracy"):
        torch.testing.assert_close(ranks.values[key], single.values[key], rtol=1e-12, atol=0)
