"""Shared fixtures: seeded generators, float64 by default."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def generator() -> torch.Generator:
    """A seeded generator; library code never touches the global RNG."""
    return torch.Generator().manual_seed(20261129)


# --doctest-modules would import every conftest.py as a module named "conftest" and clash;
# conftests are loaded by pytest as plugins anyway.
collect_ignore_glob = ["conftest.py", "*/conftest.py"]
