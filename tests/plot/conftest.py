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
