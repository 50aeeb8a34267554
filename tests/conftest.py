"""Shared fixtures: seeded generators, float64 by default."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def generator() -> torch.Generator:
    """A seeded generator; library code never touches the global RNG."""
    return torch.Generator().manual_seed(20261129)
