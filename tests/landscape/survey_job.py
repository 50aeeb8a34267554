"""One survey of ``small_mlp`` over a file, run by test_survey_files in a subprocess that it SIGKILLs
at a random moment; also imported there to make the same surveys in-process.

    python survey_job.py OUT GRID MODE     (MODE: plain, resume, force or resume-force)

It builds the model and data and warms up (a small survey in memory), prints ``ready``, waits
for a line on stdin, then surveys GRID×GRID points (float64, vmap, chunks of 2) pausing
:data:`PAUSE` seconds after each chunk; a refused survey exits with 2.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from landscape_helpers import seeded, small_mlp

from losslab.errors import LosslabError
from losslab.landscape import Surface, random_directions, survey
from losslab.objectives.network import NetworkObjective

PAUSE = 0.04


def objective(data_seed: int = 1) -> NetworkObjective:
    g = torch.Generator().manual_seed(data_seed)
    data = torch.randn(30, 16, generator=g, dtype=torch.float64), torch.randint(0, 3, (30,), generator=g)
    return NetworkObjective(seeded(small_mlp).double(), data)


def run(
    out: Path | None, grid: int, mode: str = "plain", on_chunk: Callable[[int, int], None] | None = None, **options
) -> Surface:
    L = options.pop("objective", None) or objective()
    options = {"method": "vmap", "resume": "resume" in mode, "force": "force" in mode, **options}
    return survey(L, random_directions(L, seed=9), grid=grid, chunk_size=2, out=out, on_chunk=on_chunk, **options)


def main(out: str, grid: int, mode: str) -> None:
    L = objective()
    run(None, 2, objective=L)  # first calls are slow: not in the measured moments
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        run(Path(out), grid, mode, on_chunk=lambda done, total: time.sleep(PAUSE), objective=L)
    except LosslabError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
