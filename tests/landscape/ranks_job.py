"""Run under ``torchrun`` by test_distributed: the 2-rank survey of ``small_mlp`` that rank 0 cuts
short with ``os._exit`` after a given number of chunks — no cleanup, as after a SIGKILL.

    torchrun --nproc_per_node=2 ranks_job.py WEIGHTS DATA OUT STOP_AFTER
"""

from __future__ import annotations

import os
import sys

import torch
from landscape_helpers import small_mlp

from losslab.landscape import distributed_survey, random_directions
from losslab.objectives.network import NetworkObjective


def main(weights: str, data: str, out: str, stop_after: int) -> None:
    model = small_mlp().double()
    model.load_state_dict(torch.load(weights, weights_only=True))
    stored = torch.load(data, weights_only=True)
    objective = NetworkObjective(model.eval(), (stored["inputs"], stored["targets"]))

    def die(done: int, total: int) -> None:
        if done == stop_after:
            os._exit(3)

    directions = random_directions(objective, seed=3)
    ranges = ((-1, 1), (-0.5, 0.5))
    distributed_survey(objective, directions, (5, 4), ranges, method="vmap", chunk_size=2, out=out, on_chunk=die)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
