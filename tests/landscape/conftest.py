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


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder this process cannot write in: mode 555, and immutable (chattr +i) when running as root."""
    import os
    import subprocess

    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = False
    if os.access(folder, os.W_OK):  # root: permissions do not stop it
        immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
        if not immutable:
            folder.chmod(0o755)
            pytest.skip("cannot make a read-only folder here (root, no chattr)")
    try:
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)
