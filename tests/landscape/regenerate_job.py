"""Run under ``torchrun`` by test_regenerated: each rank regenerates the directions of its share of
``small_mlp``'s parameters (parameter i on rank i mod world) and saves them.

    torchrun --nproc_per_node=2 regenerate_job.py OUT_FOLDER
"""

from __future__ import annotations

import os
import sys

import torch
from landscape_helpers import seeded, small_mlp

from losslab.landscape.regenerated import RegeneratedDirections


def main(folder: str) -> None:
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    model = seeded(small_mlp).double()
    directions = RegeneratedDirections(seed=11, normalization="filter", bias_bn="include")
    mine = {}
    for index, (name, parameter) in enumerate(model.named_parameters()):
        if index % world == rank:
            mine[name] = torch.cat([block for _, block in directions.blocks(name, parameter.detach())], dim=1)
    torch.save(mine, os.path.join(folder, f"rank{rank}.pt"))


if __name__ == "__main__":
    main(sys.argv[1])
