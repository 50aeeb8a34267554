"""The tour reproduces every worked example of the seeds (each line is one seed claim)."""

from __future__ import annotations

import pytest

from losslab.course.tour import SECTIONS, SeedCheck, run_tour

CHECKS: list[SeedCheck] = [check for section in SECTIONS for check in section()]


@pytest.mark.parametrize("check", CHECKS, ids=[f"{c.seed}: {c.claim}" for c in CHECKS])
def test_seed_claim_is_reproduced(check: SeedCheck) -> None:
    assert check.passed, f"{check.seed}: {check.claim}: seed {check.expected}, losslab {check.computed}"


def test_tour_covers_every_seed_and_reports_mismatches() -> None:
    report = run_tour.__wrapped__() if hasattr(run_tour, "__wrapped__") else None
    assert report is None  # run_tour is a plain function; the sections above already ran
    seeds = {c.seed for c in CHECKS}
    assert seeds == {"Hill-Descending", "Case Study 1", "Case Study 2", "Chapter 3"}
    assert len(CHECKS) >= 30
    failing = SeedCheck("x", "y", "1", "2", False)
    from losslab.course.tour import TourReport

    assert not TourReport((failing,)).passed
    assert "MISMATCH" in str(TourReport((failing,)))


def test_the_tour_and_its_figure_say_lr_1_5_diverged_at_the_same_step() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from losslab.course import figures, tour

    [fast] = [c for c in tour.hill_descending() if c.claim == "lr 1.5 diverges, and why"]
    assert fast.computed.startswith("diverged at step 3: L grows geometrically, ×4 per step")
    fig = figures.hand_simulation("w")
    words = [t for ax in fig.axes for t in ax.texts if "diverged" in t.get_text()]
    assert [t.get_text() for t in words] == ["diverged at step 3"]


@pytest.mark.parametrize("what", ["w", "loss"])
def test_the_divergence_words_stay_inside_the_axes_and_off_the_ticks(what: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from losslab.course import figures

    fig = figures.hand_simulation(what)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for ax in fig.axes:
        frame = ax.get_window_extent(renderer)
        ticks = [label.get_window_extent(renderer) for label in ax.get_xticklabels() + ax.get_yticklabels()]
        for text in ax.texts:
            box = text.get_window_extent(renderer)
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            assert not any(box.overlaps(tick) for tick in ticks if tick.width > 0)
