"""Data objectives against independent oracles: the book's closed forms, numpy.polyfit,
SymPy by hand, torch.nn.functional losses and central differences, all in float64."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import sympy
import torch
import torch.nn.functional as F

from losslab.errors import LosslabError
from losslab.networks.loading import load_checkpoint
from losslab.objectives.columns import load_csv, synthetic_linear, synthetic_quadratic, two_blobs
from losslab.objectives.data import DataObjective, closed_form, data_objective, least_squares
from losslab.objectives.formula_parser import symbol
from losslab.objectives.objective import formula

F64 = torch.float64
XS = [1, 2, 3, 4, 5]
YS_CS1 = [2.1, 3.9, 6.1, 8.0, 9.9]


def _central_gradient(objective: DataObjective, theta: torch.Tensor, h: float = 1e-5) -> torch.Tensor:
    steps = torch.eye(objective.dim, dtype=F64) * h
    return torch.stack([(objective.value(theta + s) - objective.value(theta - s)) / (2 * h) for s in steps])


# -- Case Study 1 and its mini-project -----------------------------------------------------


def test_case_study_1_closed_form_loss_and_curvature() -> None:
    L = least_squares(XS, YS_CS1, model="m*x")
    solution = closed_form(L)
    assert solution is not None and solution.rank == 1
    exact = sum(x * y for x, y in zip(XS, YS_CS1, strict=True)) / sum(x * x for x in XS)
    m_star = solution.to_dict()["params"]["m"]
    assert m_star == pytest.approx(exact, abs=1e-12)
    assert round(m_star, 6) == 1.994545
    assert round(solution.loss, 6) == 0.007673
    # L''(m) = (2/5) Σ x² = 22, by torch.func and by SymPy.
    assert L.hessian([m_star]).item() == pytest.approx(22.0, abs=1e-12)
    assert sympy.diff(L.expr, symbol("m"), 2) == 22
    assert L.known_points[0].kind == "minimum" and L.known_points[0].is_global


def test_mini_project_line_matches_polyfit() -> None:
    ys = [2.5, 3.9, 6.1, 8.5, 10.3]
    L = least_squares(XS, ys, model="m*x + b")
    params = closed_form(L).to_dict()["params"]
    assert L.names == ("b", "m")
    assert params["m"] == pytest.approx(2.02, abs=1e-12)
    assert params["b"] == pytest.approx(0.2, abs=1e-12)
    slope, intercept = np.polyfit(XS, ys, 1)
    assert (params["m"], params["b"]) == pytest.approx((slope, intercept), abs=1e-12)
    assert L.grad([params["b"], params["m"]]).abs().max() < 1e-12


# -- Case Study 2 ---------------------------------------------------------------------------


@pytest.fixture
def maya() -> DataObjective:
    return least_squares([1, 2], [2, 2], model="w0 + w1*x", loss="half_sse")


def test_case_study_2_symbolic_partials_are_exact(maya: DataObjective) -> None:
    w0, w1 = maya.symbols
    assert sympy.expand(sympy.diff(maya.expr, w0) - (2 * w0 + 3 * w1 - 4)) == 0
    assert sympy.expand(sympy.diff(maya.expr, w1) - (3 * w0 + 5 * w1 - 6)) == 0
    assert str(sympy.expand(sympy.diff(maya.expr, w0))) == "2*w0 + 3*w1 - 4"
    assert sympy.hessian(maya.expr, (w0, w1)) == sympy.Matrix([[2, 3], [3, 5]])


def test_case_study_2_values_equal_the_formula(maya: DataObjective, generator: torch.Generator) -> None:
    book = formula("0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)")
    grid = 10 * torch.rand(41, 41, 2, generator=generator, dtype=F64) - 5
    assert torch.allclose(maya.values(grid), book.values(grid), rtol=0, atol=1e-12)
    assert maya.grad([0.0, 0.0]).tolist() == [-4.0, -6.0]


def test_case_study_2_closed_form(maya: DataObjective) -> None:
    solution = closed_form(maya)
    assert solution.params.tolist() == pytest.approx([2.0, 0.0], abs=1e-12)
    assert solution.loss == pytest.approx(0.0, abs=1e-24)
    assert "w0" in str(solution) and set(solution.to_dict()) >= {"params", "loss"}


# -- Listings 3.1, 3.3, 3.4 -----------------------------------------------------------------


def test_listing_3_1_recovers_slope_and_intercept(generator: torch.Generator) -> None:
    n = 1000
    L = data_objective(synthetic_linear(n, generator=generator), "w0 + w1*x")
    params = closed_form(L).to_dict()["params"]
    # Standard errors: σ/(√N·sd(x)) = 0.5/(√1000·10) ≈ 0.0016 for the slope and σ/√N ≈ 0.016
    # for the intercept; allow 5 standard errors.
    assert params["w1"] == pytest.approx(1.5, abs=5 * 0.5 / (math.sqrt(n) * 10))
    assert params["w0"] == pytest.approx(2.73, abs=5 * 0.5 / math.sqrt(n))
    assert closed_form(L).loss == pytest.approx(0.25, rel=0.15)  # the noise variance


def test_listing_3_3_line_on_parabola_stays_bad(generator: torch.Generator) -> None:
    L = data_objective(synthetic_quadratic(500, generator), "w0 + w1*x")
    assert closed_form(L).loss > 10


def test_listing_3_4_quadratic_model_recovers_coefficients(generator: torch.Generator) -> None:
    n = 500
    L = data_objective(synthetic_quadratic(n, generator), "a + b*x + c*x**2")
    params = closed_form(L).to_dict()["params"]
    # Uniform noise in ±0.25 has σ = 0.5/√12 ≈ 0.144; with x in [0, 10] the coefficient
    # standard errors are about 0.03 (a), 0.014 (b), 0.0013 (c) at N = 500; allow ~5×.
    assert params["a"] == pytest.approx(2.0, abs=0.15)
    assert params["b"] == pytest.approx(-1.0, abs=0.07)
    assert params["c"] == pytest.approx(1.0, abs=0.007)
    assert closed_form(L).loss == pytest.approx(0.25**2 / 3, rel=0.2)  # variance of U(±0.25)


def test_nonlinear_model_and_bce_have_no_closed_form(generator: torch.Generator) -> None:
    assert closed_form(least_squares(XS, YS_CS1, model="exp(k*x)")) is None
    assert closed_form(data_objective(two_blobs(20, generator), "sigmoid(w0 + w1*x1 + w2*x2)", loss="bce")) is None
    assert closed_form(formula("(w - 3)**2")) is None


def test_rank_deficient_design_gives_minimum_norm() -> None:
    L = least_squares(XS, YS_CS1, model="a*x + b*x")
    solution = closed_form(L)
    assert solution.rank == 1 and "minimum-norm" in solution.note
    m_star = 1.9945454545454546
    assert solution.params.tolist() == pytest.approx([m_star / 2, m_star / 2], abs=1e-12)
    assert L.known_points[0].kind == "degenerate"


# -- Logistic classifier --------------------------------------------------------------------


@pytest.fixture
def logistic(generator: torch.Generator) -> DataObjective:
    return data_objective(two_blobs(60, generator), "sigmoid(w0 + w1*x1 + w2*x2)", loss="bce")


def _torch_bce(L: DataObjective, theta: torch.Tensor) -> torch.Tensor:
    d = L.data
    p = torch.sigmoid(theta[0] + theta[1] * d["x1"] + theta[2] * d["x2"])
    return F.binary_cross_entropy(p, d["y"])


def test_logistic_values_equal_torch_bce(logistic: DataObjective, generator: torch.Generator) -> None:
    thetas = torch.randn(7, 3, generator=generator, dtype=F64)
    expected = torch.stack([_torch_bce(logistic, t) for t in thetas])
    assert torch.allclose(logistic.values(thetas), expected, rtol=0, atol=1e-12)


def test_logistic_gradient_matches_central_differences(logistic: DataObjective) -> None:
    theta = torch.tensor([0.3, -0.7, 1.1], dtype=F64)
    assert torch.allclose(logistic.grad(theta), _central_gradient(logistic, theta), rtol=0, atol=1e-8)


def test_logistic_symbolic_form_matches(logistic: DataObjective) -> None:
    theta = [0.3, -0.7, 1.1]
    exact = float(logistic.expr.subs(dict(zip(logistic.symbols, theta, strict=True))))
    assert exact == pytest.approx(float(logistic.value(theta)), abs=1e-12)


def test_logistic_is_stable_for_large_logits(logistic: DataObjective) -> None:
    theta = torch.tensor([0.0, -1e4, -1e4], dtype=F64)  # confidently wrong: logits ~ ±1e4
    value, gradient = logistic.value_and_grad(theta)
    d = logistic.data
    z = theta[1] * d["x1"] + theta[2] * d["x2"]
    expected = (torch.logaddexp(torch.zeros_like(z), z) - d["y"] * z).mean()  # softplus(z) - y·z
    assert torch.isfinite(gradient).all() and value > 1e3
    assert float(value) == pytest.approx(float(expected), rel=1e-12)


def test_bce_on_probability_model_clamps_like_torch() -> None:
    L = data_objective({"x": [0.0, 1.0, 0.5], "y": [0.0, 1.0, 1.0]}, "p*x", loss="bce")
    for p in (0.0, 0.4, 1.0):
        expected = F.binary_cross_entropy(torch.tensor([0.0, 1.0, 0.5], dtype=F64) * p, L.data["y"])
        assert float(L.value([p])) == pytest.approx(float(expected), abs=1e-12)
    assert math.isfinite(float(L.value([0.0])))
    with pytest.raises(LosslabError, match="sigmoid"):
        L.value([3.0])


# -- the speed path, subsets and batches ----------------------------------------------------


def test_values_on_a_stack_equal_per_point(logistic: DataObjective, generator: torch.Generator) -> None:
    thetas = torch.randn(4, 5, 3, generator=generator, dtype=F64)
    stacked = logistic.values(thetas)
    single = torch.stack([logistic.value(t) for t in thetas.reshape(-1, 3)]).reshape(4, 5)
    assert torch.allclose(stacked, single, rtol=0, atol=1e-12)
    assert torch.allclose(logistic.values(thetas, chunk_size=3), single, rtol=0, atol=1e-12)
    assert torch.allclose(logistic.grads(thetas[0]), torch.stack([logistic.grad(t) for t in thetas[0]]), atol=1e-12)


def test_subset_equals_objective_on_those_rows(generator: torch.Generator) -> None:
    data = synthetic_quadratic(30, generator)
    L = data_objective(data, "a + b*x + c*x**2")
    rows = torch.tensor([3, 7, 7, 0, 29])
    part = L.subset(rows)
    direct = data_objective({k: v[rows] for k, v in data.items()}, "a + b*x + c*x**2")
    thetas = torch.randn(6, 3, generator=generator, dtype=F64)
    assert part.n_samples == 5 and L.n_samples == 30
    assert torch.allclose(part.values(thetas), direct.values(thetas), rtol=0, atol=1e-12)
    assert sympy.simplify(part.expr - direct.expr) == 0
    assert part.known_points == ()


def test_batches_are_seeded_and_cover_every_row(maya: DataObjective, generator: torch.Generator) -> None:
    L = data_objective(synthetic_linear(23, generator=generator), "w0 + w1*x")
    first = list(L.batches(5, torch.Generator().manual_seed(7)))
    again = list(L.batches(5, torch.Generator().manual_seed(7)))
    assert [len(b) for b in first] == [5, 5, 5, 5, 3]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert sorted(torch.cat(first).tolist()) == list(range(23))
    assert len(list(L.batches(100, generator))) == 1


def test_symbolic_form_only_for_small_data(generator: torch.Generator) -> None:
    assert data_objective(synthetic_linear(201, generator=generator), "w0 + w1*x").expr is None
    assert data_objective(synthetic_linear(200, generator=generator), "w0 + w1*x").expr is not None


def test_predict_and_csv_round_trip(tmp_path: Path) -> None:
    file = tmp_path / "maya.csv"
    file.write_text("x,y\n1,2\n\n2,2\n")
    L = data_objective(file, "w0 + w1*x", loss="half_sse")
    assert L.n_samples == 2
    assert L.predict("w0=2,w1=0").tolist() == [2.0, 2.0]
    assert closed_form(L).params.tolist() == pytest.approx([2.0, 0.0], abs=1e-12)


# -- invalid inputs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    name: str
    make: Callable[[Path], object]
    words: tuple[str, ...]


def _csv(text: str | bytes) -> Callable[[Path], object]:
    def make(folder: Path) -> object:
        file = folder / "data.csv"
        file.write_bytes(text if isinstance(text, bytes) else text.encode())
        return load_csv(file)

    return make


def _ls(model: str = "w0 + w1*x", **kw: object) -> Callable[[Path], object]:
    return lambda _: least_squares(XS, kw.pop("y", YS_CS1), model=model, **kw)


def _do(data: object, model: str = "w0 + w1*x", **kw: object) -> Callable[[Path], object]:
    return lambda _: data_objective(data, model, **kw)


INVALID = [
    Bad("unknown-loss", _ls(loss="mae"), ("mae", "mse", "bce")),
    Bad("bce-labels-not-binary", _ls(model="sigmoid(w0 + w1*x)", loss="bce"), ("0 or 1", "2.1")),
    Bad("typo-X-for-x", _ls(model="m*X"), ("'X'", "x, y")),
    Bad("model-uses-no-column", _ls(model="a + b*z"), ("none of the data columns", "x, y")),
    Bad("no-parameters", _ls(model="2*x"), ("no parameters",)),
    Bad("model-uses-target", _ls(model="w*x + y"), ("target", "'y'")),
    Bad(
        "explicit-parameter-unknown-variable",
        _ls(model="m*x + c", parameters=["m"]),
        ("c", "neither"),
    ),
    Bad("explicit-parameter-unused", _ls(model="m*x", parameters=["m", "q"]), ("q", "do not appear")),
    Bad("explicit-parameter-is-column", _ls(model="m*x", parameters=["x"]), ("'x'", "data column")),
    Bad("model-not-parsable", _ls(model="w0 +* x"), ("cannot parse",)),
    Bad("lengths-differ", _ls(y=[1.0, 2.0]), ("differ in length", "x has 5", "y has 2")),
    Bad("nan-in-data", _ls(y=[1.0, float("nan"), 3.0, 4.0, 5.0]), ("'y'", "nan", "row 1", "finite")),
    Bad("target-missing", _do({"x": XS, "z": YS_CS1}), ("target column 'y'", "x, z")),
    Bad("column-not-numeric", _do({"x": ["a", "b"], "y": [1, 2]}), ("'x'", "numbers")),
    Bad("column-2d", _do({"x": [[1, 2], [3, 4]], "y": [1, 2]}), ("'x'", "shape (2, 2)", "1-D")),
    Bad("column-empty", _do({"x": [], "y": []}), ("'x'", "empty")),
    Bad("data-not-mapping", _do([1, 2, 3]), ("mapping", "list")),
    Bad(
        "csv-missing-file",
        lambda folder: load_csv(folder / "nope.csv"),
        ("nope.csv", "does not exist"),
    ),
    Bad("csv-empty", _csv(""), ("data.csv", "empty", "header")),
    Bad("csv-header-only", _csv("x,y\n"), ("data.csv", "no data rows")),
    Bad("csv-ragged-row", _csv("x,y\n1,2\n3\n"), ("line 3", "1 cells", "header has 2")),
    Bad(
        "csv-non-numeric",
        _csv("x,y\n1,2\n3,abc\n"),
        ("line 3", "column 2", "'y'", "'abc'", "not a number"),
    ),
    Bad("csv-nan", _csv("x,y\n1,nan\n"), ("line 2", "'nan'", "finite")),
    Bad("csv-inf", _csv("x,y\n1,2\n-inf,1\n"), ("line 3", "'-inf'", "finite")),
    Bad("csv-duplicate-columns", _csv("x,x\n1,2\n"), ("'x'", "twice")),
    Bad("csv-empty-column-name", _csv("x,\n1,2\n"), ("column 2", "no name")),
    Bad("csv-not-utf8", _csv(b"x,y\n1,\xff\n"), ("data.csv", "UTF-8")),
    Bad("csv-is-a-directory", lambda folder: load_csv(folder), ("not a file",)),
    Bad(
        "subset-out-of-range",
        lambda _: least_squares(XS, YS_CS1).subset(torch.tensor([0, 5])),
        ("0..4",),
    ),
    Bad(
        "subset-float-indices",
        lambda _: least_squares(XS, YS_CS1).subset(torch.tensor([0.0])),
        ("integer",),
    ),
    Bad(
        "batch-size-zero",
        lambda _: least_squares(XS, YS_CS1).batches(0, torch.Generator()),
        ("batch size", "≥ 1", "got 0"),
    ),
    Bad("synthetic-negative-n", lambda _: synthetic_linear(-3), ("-3", "≥ 1")),
    Bad(
        "domain-wrong-names",
        lambda _: DataObjective("m*x", {"x": XS, "y": YS_CS1}, domain="w=0:1"),
        ("w",),
    ),
]


@pytest.mark.parametrize("case", INVALID, ids=[case.name for case in INVALID])
def test_invalid_inputs_raise_with_a_message(case: Bad, tmp_path: Path) -> None:
    with pytest.raises(LosslabError) as info:
        case.make(tmp_path)
    message = str(info.value)
    assert "\n" not in message
    for word in case.words:
        assert word in message, f"{word!r} not in {message!r}"


class _NotATensor:
    """Anything a weights-only load refuses to unpickle."""


def test_a_file_that_is_not_a_safe_checkpoint_is_one_readable_line(tmp_path) -> None:
    """Text, and a pickle holding an arbitrary class: the error names the file and torch's reason,
    on one line and without the terminal's bold codes torch puts in its message."""
    (tmp_path / "text.pt").write_text("junk")
    torch.save({"inputs": torch.zeros(2), "other": _NotATensor()}, tmp_path / "unsafe.pt")
    for name, words in (("text.pt", "text.pt is not a weights-only torch checkpoint ("),
                        ("unsafe.pt", "(UnpicklingError: Weights only load failed")):  # fmt: skip
        with pytest.raises(LosslabError) as raised:
            load_checkpoint(tmp_path / name)
        message = str(raised.value)
        assert words in message and "\x1b" not in message and "\n" not in message
