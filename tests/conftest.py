"""Shared fixtures: seeded generators, float64 by default."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests first (their order kept): they are the suite's longest (a lesson walk ~100 s), and `make
    test`'s processes (pytest-xdist) take tests in this order — started last, one of them kept a process busy for a
    minute and a half after the other had finished."""
    items.sort(key=lambda item: 0 if "tests/browser/" in item.nodeid else 1)


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """One intra-op thread for small tensors: on the shared 2-core machine two threads per process fought
    (oversubscription: 20-40× slower products, a demo's training 40× slower). For a test module's whole run
    (its module fixtures that train take it as an argument); restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def generator() -> torch.Generator:
    """A seeded generator; library code never touches the global RNG."""
    return torch.Generator().manual_seed(20261129)


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


# --doctest-modules would import every conftest.py as a module named "conftest" and clash;
# conftests are loaded by pytest as plugins anyway.
collect_ignore_glob = ["conftest.py", "*/conftest.py"]
