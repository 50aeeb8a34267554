"""Nothing is lost and nothing is mixed: a survey started over a file — a finished survey, a file of
something else, a half-written survey — with or without resume/force, and killed at any moment,
leaves the file as it was or a valid resumable new survey; resuming with other data or another
method is refused."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import h5py
import pytest
import torch
from survey_job import objective, run
from torch.utils.data import DataLoader, TensorDataset

from losslab.errors import LosslabError
from losslab.landscape import data_fingerprint, load_surface
from losslab.landscape.survey import SurveyPlan

HERE = Path(__file__).parent
NEW = 6  # the survey started over the files: 6×6 points, 18 chunks
EXISTING = ("finished", "unrelated", "half")
MODES = ("plain", "resume", "force", "resume-force")
KILL_SEED = 16


def _make(kind: str, path: Path) -> bytes:
    """An existing file at ``path``: a finished survey of another grid, a text file, or this survey cut short."""
    if kind == "finished":
        run(path, 4)
    elif kind == "unrelated":
        path.write_text("my notes, not a survey\n")
    elif kind == "half":

        def stop(done: int, total: int) -> None:
            if done == 5:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            run(path, NEW, on_chunk=stop)
    else:
        raise ValueError(kind)
    return path.read_bytes()


def _may_replace(kind: str, mode: str) -> bool:
    """Whether the 6×6 survey started in ``mode`` may replace a file of this kind: the same survey, or with force."""
    return kind == "half" or "force" in mode


def _temporaries(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


def _check_new_survey(path: Path, whole: torch.Tensor) -> None:
    """``path`` holds the 6×6 survey: its computed values are the uninterrupted ones, and it resumes to them."""
    found = load_surface(path)
    assert found.provenance["grid"] == [NEW, NEW]
    done = found.computed
    torch.testing.assert_close(found.values["loss"][done], whole[done], rtol=0, atol=0)
    resumed = run(path, NEW, "resume")
    assert resumed.complete
    torch.testing.assert_close(resumed.values["loss"], whole, rtol=0, atol=0)
    assert _temporaries(path.parent) == []  # the killed run's temporary file is gone


def _start_and_kill(path: Path, mode: str, delay: float, together: threading.Barrier) -> tuple[int, str]:
    """Start the 6×6 survey over ``path`` in a subprocess; once every case is ready, let it go and
    SIGKILL it ``delay`` s later. Its exit code and stderr."""
    env = {**os.environ, "PYTHONPATH": str(HERE), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(HERE / "survey_job.py"), str(path), str(NEW), mode]
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with subprocess.Popen(command, text=True, env=env, **pipes) as process:  # type: ignore[call-overload]
        ready = process.stdout.readline().strip()
        together.wait(timeout=300)
        process.stdin.write("go\n")
        process.stdin.flush()
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
        _, errors = process.communicate(timeout=120)
    assert ready == "ready", errors
    return process.returncode, errors


def test_a_file_is_intact_however_a_survey_is_started_over_it_and_killed(tmp_path) -> None:
    """3 files × 4 ways to start (plain, --resume, --force, both) = 12 subprocesses, started together
    and each SIGKILLed at a seeded random moment (0–1.2 s after it starts; the survey takes about
    0.8 s): the file is byte for byte what it was, or — only where that is allowed — the new survey,
    valid and resumable."""
    whole = run(None, NEW).values["loss"]
    rng = random.Random(KILL_SEED)
    cases = []
    for kind in EXISTING:
        for mode in MODES:
            folder = tmp_path / f"{kind}-{mode}"
            folder.mkdir()
            path = folder / "s.h5"
            cases.append((kind, mode, rng.uniform(0.0, 1.2), path, _make(kind, path)))
    ends: dict[Path, tuple[int, str]] = {}
    together = threading.Barrier(len(cases))

    def start(path: Path, mode: str, delay: float) -> None:
        ends[path] = _start_and_kill(path, mode, delay, together)

    threads = [threading.Thread(target=start, args=(path, mode, delay)) for _, mode, delay, path, _ in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes: Counter[str] = Counter()
    for kind, mode, delay, path, before in cases:
        ended, errors = ends[path]
        where = f"{kind} file, {mode}, killed after {delay:.2f} s (exit {ended})"
        assert ended in (0, 2, -signal.SIGKILL), f"{where}: {errors}"
        outcomes[f"exit {ended}"] += 1
        print(where, "as it was" if path.read_bytes() == before else "new")
        if path.read_bytes() == before:
            outcomes["as it was"] += 1
            if not _may_replace(kind, mode):
                assert ended in (2, -signal.SIGKILL), where
            continue
        assert _may_replace(kind, mode), f"{where}: replaced"
        _check_new_survey(path, whole)
        outcomes["the new survey"] += 1
    print(dict(outcomes))
    assert outcomes["as it was"] + outcomes["the new survey"] == len(cases)
    assert outcomes[f"exit {-signal.SIGKILL}"] >= 1


def test_stopped_before_its_first_chunk_a_survey_leaves_the_file_as_it_was(tmp_path, monkeypatch) -> None:
    path = tmp_path / "s.h5"
    before = _make("finished", path)

    def interrupted(self: SurveyPlan, index: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(SurveyPlan, "evaluate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(path, NEW, "force")
    assert path.read_bytes() == before and _temporaries(tmp_path) == []


def test_after_its_first_chunk_the_file_is_the_new_resumable_survey(tmp_path) -> None:
    path = tmp_path / "s.h5"
    _make("unrelated", path)

    def stop(done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(path, NEW, "force", on_chunk=stop)
    assert int(load_surface(path).computed.sum()) == 2 and _temporaries(tmp_path) == []
    _check_new_survey(path, run(None, NEW).values["loss"])


@pytest.mark.parametrize("mode", ["plain", "resume"])
@pytest.mark.parametrize(
    ("kind", "words"),
    [("unrelated", "is not a readable HDF5 surface file"), ("finished", "its grid is [4, 4], this survey's [6, 6]")],
)
def test_another_survey_or_another_file_is_refused_without_force(tmp_path, kind, words, mode) -> None:
    path = tmp_path / "s.h5"
    before = _make(kind, path)
    with pytest.raises(LosslabError) as refused:
        run(path, NEW, mode)
    message = str(refused.value)
    assert words in message and str(path) in message and "--force" in message and "\n" not in message
    assert path.read_bytes() == before and _temporaries(tmp_path) == []


def test_the_same_survey_without_resume_is_computed_afresh_and_says_so(tmp_path) -> None:
    path = tmp_path / "s.h5"
    _make("half", path)
    again = run(path, NEW)
    assert again.complete and any("held this same survey" in note for note in again.notes)
    forced = run(path, 4, "force")
    assert forced.shape == (4, 4) and load_surface(path).shape == (4, 4) and "--force" in forced.notes[0]


@pytest.mark.parametrize(
    ("change", "key"),
    [({"objective": "other data"}, "data_sha256"), ({"method": "fused"}, "method")],
    ids=["other-data-of-the-same-size", "another-method"],
)
def test_resuming_with_other_data_or_another_method_is_refused_and_the_file_untouched(tmp_path, change, key) -> None:
    path = tmp_path / "s.h5"
    before = _make("half", path)
    options = {"objective": objective(data_seed=2)} if "objective" in change else dict(change)
    assert objective(data_seed=2).n_samples == objective().n_samples
    with pytest.raises(LosslabError, match=rf"cannot resume {path}: its {key} is .*, this survey's .*left as it is"):
        run(path, NEW, "resume", **options)
    assert path.read_bytes() == before and _temporaries(tmp_path) == []


def test_a_file_written_before_data_fingerprints_resumes_and_says_so(tmp_path) -> None:
    path = tmp_path / "s.h5"
    _make("half", path)
    with h5py.File(path, "a") as file:  # as losslab wrote it before: no data_sha256, no provenance checksum
        provenance = json.loads(file.attrs["provenance_json"])
        del provenance["data_sha256"], file.attrs["data_sha256"], file.attrs["provenance_sha256"]
        file.attrs["provenance_json"] = json.dumps(provenance)
    resumed = run(path, NEW, "resume")
    assert resumed.complete and "without checking that the data is the same" in " ".join(resumed.notes)
    assert "data_sha256" not in load_surface(path).provenance  # not claimed for chunks computed before
    torch.testing.assert_close(resumed.values["loss"], run(None, NEW).values["loss"], rtol=0, atol=0)


def test_a_streamed_loader_is_fingerprinted_by_its_samples_in_any_order(data64) -> None:
    L = objective()
    inputs, targets = L.data
    shuffled = DataLoader(TensorDataset(inputs, targets), batch_size=7, shuffle=True,
                          generator=torch.Generator().manual_seed(0))  # fmt: skip
    in_order = DataLoader(TensorDataset(inputs, targets), batch_size=4)
    other = DataLoader(TensorDataset(inputs + 1e-9, targets), batch_size=4)
    prints = {data_fingerprint(L.__class__(L.model, loader)) for loader in (shuffled, in_order)}
    assert len(prints) == 1 and data_fingerprint(L.__class__(L.model, other)) not in prints
