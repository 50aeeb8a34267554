"""Results show as readable text in Jupyter (IPython's pretty printer calls ``_repr_pretty_``)."""

from __future__ import annotations

import losslab


class Printer:
    def __init__(self) -> None:
        self.shown = ""

    def text(self, value: str) -> None:
        self.shown += value


def shown(result: object) -> str:
    printer = Printer()
    result._repr_pretty_(printer, False)  # type: ignore[attr-defined]
    return printer.shown


def test_trajectory_shows_its_step_table() -> None:
    run = losslab.descend(losslab.gallery("hand_simulation"), "w=0", lr=0.3, steps=8)
    text = shown(run)
    assert "1.99868928" in text and "step" in text and "tensor(" not in text


def test_analysis_and_reports_show_as_text() -> None:
    bowl = losslab.gallery("case_study_2")
    assert "2*w0 + 3*w1 - 4" in shown(losslab.analyze(bowl))
    assert "autodiff" in shown(losslab.gradient_report(bowl, "w0=0,w1=0"))
    assert shown(losslab.convexity(bowl)).startswith("convex")
    assert "minimum" in shown(losslab.stationary_points(bowl)[0])
    assert str(losslab.descend(bowl, "w0=0,w1=0", lr=0.1, steps=1).diagnosis).startswith("max_steps: ")
