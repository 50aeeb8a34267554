"""The shipped lessons, loaded once for every course test (loading computes every answer)."""

from __future__ import annotations

import pytest

from losslab.course.lessons import Lesson, Library


@pytest.fixture(scope="session")
def library() -> Library:
    return Library()


@pytest.fixture(scope="session")
def lessons(library: Library) -> dict[str, Lesson]:
    return {entry["id"]: library.lesson(entry["id"]) for entry in library.catalogue()}
