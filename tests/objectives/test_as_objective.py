"""The Python entry points take a loss as text too, as the CLI and the explorer do: losslab.analyze("x^2 + y^2")
died with "AttributeError: 'str' object has no attribute 'dim'"."""

from __future__ import annotations

import pytest
import torch

import losslab
from losslab.objectives.objective import formula


def test_a_formula_as_text_is_the_same_loss_everywhere() -> None:
    text = "x^2 + 3y^2 - x*y"
    a = losslab.analyze(text, generator=torch.Generator().manual_seed(0))
    b = losslab.analyze(formula(text), generator=torch.Generator().manual_seed(0))
    assert a.to_dict() == b.to_dict()
    found = [str(p) for p in losslab.stationary_points(text)]
    assert found == [str(p) for p in losslab.stationary_points(formula(text))]
    assert str(losslab.convexity("|x| + |y|")) == str(losslab.convexity(formula("|x| + |y|")))
    run = losslab.descend(text, "x=1,y=1", lr=0.1, steps=20)
    assert torch.equal(run.params, losslab.descend(formula(text), "x=1,y=1", lr=0.1, steps=20).params)


def test_a_gallery_name_is_the_gallery_surface() -> None:
    by_name = [str(p) for p in losslab.stationary_points("rosenbrock")]
    assert by_name == [str(p) for p in losslab.stationary_points(losslab.gallery("rosenbrock"))]


@pytest.mark.parametrize("loss", [3, None, ["x^2"]])
def test_anything_else_is_refused_in_one_line(loss: object) -> None:
    refused = r"^the loss .* is not a formula, gallery name or objective"
    with pytest.raises(losslab.LosslabError, match=refused) as error:
        losslab.analyze(loss)  # type: ignore[arg-type]
    assert "\n" not in str(error.value)


def test_text_goes_through_the_whitelist_parser() -> None:
    with pytest.raises(losslab.LosslabError, match="__import__"):
        losslab.analyze("__import__('os').system('true')")


CALLS = [
    ("gradient_report", ("x=1,y=2",)),
    ("symbolic_gradient", ()),
    ("symbolic_hessian", ()),
    ("taylor", ("x=1,y=2", "x=0.01,y=0.02")),
    ("clairaut", ("x=1,y=2",)),
    ("directional_derivative", ("x=1,y=2", "x=1,y=1")),
    ("max_stable_lr", ()),
    ("predict_gd", (0.1,)),
    ("condition_number", ("x=0,y=0",)),
    ("chord_check", ("x=-1,y=0", "x=2,y=1", 0.3)),
]


@pytest.mark.parametrize(("name", "arguments"), CALLS, ids=[c[0] for c in CALLS])
def test_every_entry_point_that_takes_a_loss_takes_it_as_text(name: str, arguments: tuple[object, ...]) -> None:
    text = "x^2 + 3y^2 + sin(x*y)"
    call = getattr(losslab, name)
    assert str(call(text, *arguments)) == str(call(formula(text), *arguments))


@pytest.mark.parametrize("name", ["contour", "heatmap", "surface", "interactive_contour", "interactive_surface"])
def test_the_pictures_take_a_loss_as_text(name: str) -> None:
    import losslab.plot as plot

    text = "x^2 + 3y^2 + sin(x*y)"
    draw = getattr(plot, name)
    by_text, by_formula = draw(text, resolution=30), draw(formula(text), resolution=30)
    if name.startswith("interactive"):
        assert by_text.layout.title.text == by_formula.layout.title.text
        assert [list(t.z) if t.z is not None else None for t in by_text.data] == [
            list(t.z) if t.z is not None else None for t in by_formula.data
        ]
    else:
        assert [a.get_title() for a in by_text.axes] == [a.get_title() for a in by_formula.axes]


def test_the_curve_and_race_take_a_loss_as_text() -> None:
    import losslab.plot as plot

    assert plot.curve("x^4 - 2x^2").axes[0].get_title() == plot.curve(formula("x^4 - 2x^2")).axes[0].get_title()
    runs = [losslab.descend("rosenbrock", "x=-1.5,y=2", "adam", lr=0.05, steps=20)]
    assert [a.get_title() for a in plot.race("rosenbrock", runs).axes] == [
        a.get_title() for a in plot.race(losslab.gallery("rosenbrock"), runs).axes
    ]
