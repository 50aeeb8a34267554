"""A damaged surface file is read correctly or refused in one line naming it — by ``load_surface``,
``losslab plot-surface`` and a resumed survey — never a traceback, never mixed into a survey.

Each case (40) damages a copy of one valid file (a half-finished 5×4 survey) in a seeded random
way: truncated, bytes flipped in the middle of the file (its metadata, mostly) or in the raw
values, a dataset deleted, a dataset of another dtype or shape, attributes deleted, the
provenance edited. "Read correctly" is equality with the original, except where a flipped byte
lies in the raw values of loss, accuracy or the mask: HDF5 keeps no checksum of those, so such an
element may read differently (and only such an element).
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from survey_job import objective
from typer.testing import CliRunner

from losslab.cli.app import app
from losslab.errors import LosslabError
from losslab.landscape import Surface, load_surface, random_directions, survey

DATASETS = ("a", "b", "loss", "accuracy", "computed", "center", "directions")
VALUES = ("loss", "accuracy", "computed")
KINDS = ("truncate", "flip", "flip-values", "delete", "dtype", "shape", "attributes", "provenance")
SEEDS = {"flip": range(12)}  # flips in the middle hit the most varied places; 4 seeds of each other kind
CASES = [f"{kind}-{seed}" for kind in KINDS for seed in SEEDS.get(kind, range(4))]
runner = CliRunner()


def _survey(out: Path | None, resume: bool = False, stop_after: int | None = None) -> Surface:
    L = objective()

    def stop(done: int, total: int) -> None:
        if done == stop_after:
            raise KeyboardInterrupt

    return survey(L, random_directions(L, seed=5), grid=(5, 4), ranges=((-1, 1), (-2, 2)), chunk_size=3,
                  method="vmap", out=out, resume=resume, on_chunk=stop)  # fmt: skip


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("valid") / "valid.h5"
    with pytest.raises(KeyboardInterrupt):
        _survey(path, stop_after=4)
    return path


def _raw_ranges(path: Path) -> dict[str, tuple[int, int, int]]:
    """Where the raw values of each value dataset lie in the file: (offset, bytes, bytes per element)."""
    with h5py.File(path, "r") as file:
        return {k: (file[k].id.get_offset(), file[k].id.get_storage_size(), file[k].dtype.itemsize) for k in VALUES}


def _damage(path: Path, kind: str, rng: random.Random) -> list[int]:
    """Damage ``path`` in place; the positions of flipped bytes (for ``flip``), else []."""
    if kind == "truncate":
        with path.open("r+b") as file:
            file.truncate(rng.randrange(0, path.stat().st_size))
    elif kind in ("flip", "flip-values"):
        data = bytearray(path.read_bytes())
        spans = [(len(data) // 4, 3 * len(data) // 4)]  # the middle: metadata, mostly
        if kind == "flip-values":
            spans = [(start, start + size) for start, size, _ in _raw_ranges(path).values()]
        positions = [rng.randrange(*rng.choice(spans)) for _ in range(rng.randint(1, 8))]
        for position in positions:
            data[position] ^= rng.randrange(1, 256)
        path.write_bytes(bytes(data))
        return positions
    else:
        with h5py.File(path, "a") as file:
            _damage_structure(file, kind, rng)
    return []


def _damage_structure(file: h5py.File, kind: str, rng: random.Random) -> None:
    name = rng.choice(DATASETS)
    if kind == "delete":
        del file[name]
    elif kind in ("dtype", "shape"):
        data = file[name][()]
        del file[name]
        if kind == "dtype":
            dtype = rng.choice(["i8", "S8", "f2", [("x", "f8"), ("y", "i4")]])
            file.create_dataset(name, data=np.zeros(data.shape, dtype=dtype))
        else:
            reshaped = rng.choice([data.reshape(-1)[:-1], np.stack([data, data]), data.T, data.reshape(-1)])
            file.create_dataset(name, data=reshaped)
    elif kind == "attributes":
        choice = rng.choice(["provenance_json", "provenance_sha256", "grid", "all"])
        for key in list(file.attrs) if choice == "all" else [choice]:
            del file.attrs[key]
    elif kind == "provenance":
        provenance = json.loads(file.attrs["provenance_json"])
        key, value = rng.choice([("grid", [4, 5]), ("ranges", [[-1, 1], [-3, 3]]), ("directions_sha256", "0" * 64)])
        provenance[key] = value
        file.attrs["provenance_json"] = json.dumps(provenance)
        if rng.random() < 0.5:  # consistent with its checksum: the arrays must give it away
            file.attrs["provenance_sha256"] = hashlib.sha256(file.attrs["provenance_json"].encode()).hexdigest()
    else:
        raise ValueError(kind)


def _flipped_elements(positions: list[int], raw: dict[str, tuple[int, int, int]]) -> dict[str, set[int]]:
    """The flat indices of the value elements the flips hit (flips elsewhere must change nothing read)."""
    hit: dict[str, set[int]] = {key: set() for key in VALUES}
    for position in positions:
        for key, (start, size, width) in raw.items():
            if start <= position < start + size:
                hit[key].add((position - start) // width)
    return hit


def _assert_read_correctly(found: Surface, original: Surface, hit: dict[str, set[int]]) -> None:
    struck = torch.zeros(original.computed.numel(), dtype=torch.bool)
    for elements in hit.values():
        struck[list(elements)] = True
    struck = struck.reshape(original.shape)
    assert found.axis_names == original.axis_names and found.provenance == original.provenance
    for mine, theirs in zip(found.coordinates, original.coordinates, strict=True):
        assert torch.equal(mine, theirs)
    assert torch.equal(found.center, original.center) and torch.equal(found.directions, original.directions)
    assert torch.equal(found.computed[~struck], original.computed[~struck])
    assert sorted(found.values) == sorted(original.values)
    for key, value in original.values.items():
        torch.testing.assert_close(found.values[key][~struck], value[~struck], rtol=0, atol=0, equal_nan=True)


def _one_line_naming(message: str, path: Path) -> None:
    assert str(path) in message and "\n" not in message.strip() and "Traceback" not in message, message


@pytest.mark.parametrize("case", CASES)
def test_a_damaged_file_is_read_correctly_or_refused_in_one_line(case, valid, tmp_path) -> None:
    kind, seed = case.rsplit("-", 1)
    path = tmp_path / "damaged.h5"
    shutil.copyfile(valid, path)
    original, raw = load_surface(valid), _raw_ranges(valid)
    positions = _damage(path, kind, random.Random(f"{kind}:{seed}"))
    damaged = path.read_bytes()
    hit = _flipped_elements(positions, raw)

    try:
        found = load_surface(path)
    except LosslabError as refused:
        _one_line_naming(str(refused), path)
        readable = False
    else:
        _assert_read_correctly(found, original, hit)
        readable = True

    drawn = runner.invoke(app, ["plot-surface", str(path), "--out", str(tmp_path / "picture.png")])
    assert drawn.exit_code == (0 if readable else 2), drawn.output
    if not readable:
        _one_line_naming(drawn.stderr.removeprefix("error: "), path)

    try:
        resumed = _survey(path, resume=True)
    except LosslabError as refused:
        assert not readable, f"{case}: readable but not resumable: {refused}"
        _one_line_naming(str(refused), path)
        assert path.read_bytes() == damaged  # refused: the file is left as it is
    else:
        assert readable and resumed.complete
