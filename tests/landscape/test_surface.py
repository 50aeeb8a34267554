"""The surface file: plain-h5py readable, round trip, and resuming after Ctrl-C or SIGKILL."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import h5py
import pytest
import torch
from landscape_helpers import seeded, small_mlp

from losslab.errors import LosslabError
from losslab.landscape import load_surface, random_directions, survey
from losslab.objectives.network import NetworkObjective


@pytest.fixture
def objective(data64) -> NetworkObjective:
    return NetworkObjective(seeded(small_mlp).double(), data64)


def test_round_trip_and_plain_h5py_layout(objective, tmp_path) -> None:
    directions = random_directions(objective, seed=4)
    surface = survey(objective, directions, grid=(4, 3), ranges=((-1, 1), (-2, 2)))
    path = surface.save(tmp_path / "s.h5")
    back = load_surface(path)
    for key in ("loss", "accuracy"):
        torch.testing.assert_close(back.values[key], surface.values[key], rtol=0, atol=0)
    assert back.provenance == surface.provenance and back.complete
    torch.testing.assert_close(back.directions, directions.vectors, rtol=0, atol=0)
    with h5py.File(path, "r") as file:  # what an h5py or xarray user sees
        loss = file["loss"]
        assert loss.shape == (4, 3)
        assert [dim.label or list(dim.keys())[0] for dim in loss.dims] == ["a", "b"]
        assert loss.dims[1][0][()].tolist() == [-2.0, 0.0, 2.0]
        assert file.attrs["normalization"] == "filter" and file.attrs["batchnorm"] == "frozen"
        assert file.attrs["model_sha256"] == surface.provenance["model_sha256"]
        assert file.attrs["data_size"] == 30


def test_ctrl_c_then_resume_equals_uninterrupted(objective, tmp_path) -> None:
    directions = random_directions(objective, seed=4)
    whole = survey(objective, directions, grid=(5, 4), chunk_size=3)
    path = tmp_path / "s.h5"

    def interrupt(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        survey(objective, directions, grid=(5, 4), chunk_size=3, out=path, on_chunk=interrupt)
    partial = load_surface(path)
    assert int(partial.computed.sum()) == 6 and torch.isnan(partial.values["loss"]).sum() == 14
    seen = []
    resumed = survey(objective, directions, grid=(5, 4), out=path, resume=True, on_chunk=lambda d, t: seen.append(d))
    assert seen == [3, 4, 5, 6, 7]  # only the missing chunks
    for surface in (resumed, load_surface(path)):
        torch.testing.assert_close(surface.values["loss"], whole.values["loss"], rtol=0, atol=0)
        assert surface.complete


def test_sigkill_then_resume_equals_uninterrupted(tmp_path) -> None:
    path = tmp_path / "killed.h5"
    script = textwrap.dedent(f"""
        import os, signal, sys, torch
        sys.path.insert(0, {str(__file__.rsplit("/", 1)[0])!r})
        from landscape_helpers import seeded, small_mlp
        from losslab.landscape import random_directions, survey
        from losslab.objectives.network import NetworkObjective
        g = torch.Generator().manual_seed(1)
        L = NetworkObjective(seeded(small_mlp).double(), (torch.randn(30, 16, generator=g, dtype=torch.float64),
                             torch.randint(0, 3, (30,), generator=g)))
        def kill(done, total):
            if done == 3:
                os.kill(os.getpid(), signal.SIGKILL)
        survey(L, random_directions(L, seed=9), grid=(4, 4), chunk_size=2, out={str(path)!r}, on_chunk=kill)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert run.returncode == -9, run.stderr.decode()
    assert int(load_surface(path).computed.sum()) == 6
    g = torch.Generator().manual_seed(1)
    data = torch.randn(30, 16, generator=g, dtype=torch.float64), torch.randint(0, 3, (30,), generator=g)
    objective = NetworkObjective(seeded(small_mlp).double(), data)
    directions = random_directions(objective, seed=9)
    resumed = survey(objective, directions, grid=(4, 4), out=path, resume=True)
    whole = survey(objective, directions, grid=(4, 4), chunk_size=2)
    torch.testing.assert_close(resumed.values["loss"], whole.values["loss"], rtol=0, atol=0)


def test_resume_refuses_a_different_survey(objective, tmp_path) -> None:
    path = tmp_path / "s.h5"
    survey(objective, random_directions(objective, seed=1), grid=3, out=path)
    with pytest.raises(LosslabError, match="cannot resume .* directions_sha256"):
        survey(objective, random_directions(objective, seed=2), grid=3, out=path, resume=True)
    with pytest.raises(LosslabError, match="cannot resume .* grid"):
        survey(objective, random_directions(objective, seed=1), grid=4, out=path, resume=True)


def test_loading_a_missing_or_foreign_file_is_refused(tmp_path) -> None:
    with pytest.raises(LosslabError, match="does not exist"):
        load_surface(tmp_path / "none.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(LosslabError, match="not a readable HDF5"):
        load_surface(tmp_path / "text.h5")


def test_a_file_that_cannot_be_written_is_refused_in_one_line(objective, tmp_path) -> None:
    directions = random_directions(objective, seed=1)
    with pytest.raises(LosslabError, match="cannot write a surface to .*: folder .* does not exist"):
        survey(objective, directions, grid=3, out=tmp_path / "missing" / "s.h5")
    done = survey(objective, directions, grid=3)
    with pytest.raises(LosslabError, match="it is a folder"):
        done.save(tmp_path)
    held = tmp_path / "held.h5"
    done.save(held)
    with h5py.File(held, "a"):  # open elsewhere: not replaced under the holder, even with force
        with pytest.raises(LosslabError, match="cannot write a surface to .*held.h5.: another process has it open"):
            survey(objective, directions, grid=3, out=held, force=True)
    holder = "import h5py, sys; f = h5py.File(sys.argv[1], 'a'); print('open', flush=True); sys.stdin.read()"
    with subprocess.Popen([sys.executable, "-c", holder, str(held)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True) as process:  # fmt: skip
        assert process.stdout is not None and process.stdin is not None and process.stdout.readline() == "open\n"
        with pytest.raises(LosslabError, match="held.h5 is being written by another process"):
            load_surface(held)
        process.stdin.close()


def test_surface_text_and_json(objective) -> None:
    surface = survey(objective, random_directions(objective), grid=3)
    text = str(surface)
    assert "Surface 3×3 over a ∈ [-1, 1], b ∈ [-1, 1]: 9 of 9 points computed" in text
    assert "loss at the center" in text and "BatchNorm" not in text  # the MLP has none to speak of
    assert surface.to_dict()["provenance"]["grid"] == [3, 3]
