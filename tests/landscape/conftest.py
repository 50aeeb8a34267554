"""Fixtures for the landscape tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def data64(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """30 seeded float64 samples of 16 features, 3 classes."""
    x = torch.randn(30, 16, generator=generator, dtype=torch.float64)
    y = torch.randint(0, 3, (30,), generator=generator)
    return x, y
