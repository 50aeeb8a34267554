"""Shared runs for the plot tests (figures are pyplot-free: nothing to close between tests)."""

from __future__ import annotations

import pytest

from losslab.descent.run import descend
from losslab.descent.trajectory import Trajectory
from losslab.objectives.gallery import gallery


@pytest.fixture
def himmelblau_runs() -> list[Trajectory]:
    L = gallery("himmelblau")
    return [descend(L, "x=0,y=0", "adam", lr=0.1, steps=40), descend(L, "x=-1,y=-1", "gd", lr=0.01, steps=25)]


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
