"""Analysis: stationary points vs closed forms and scipy.optimize.root, convexity verdicts
(never a false "convex"), the chord picture, and the 2/λmax stability seeds."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.optimize
import torch

from losslab.analysis.convexity import chord_check, convexity
from losslab.analysis.kinds import hessian_eigenvalues
from losslab.analysis.report import analyze
from losslab.analysis.stability import condition_number, max_stable_lr, predict_gd
from losslab.analysis.stationary import classify, stationary_points
from losslab.errors import LosslabError
from losslab.objectives.objective import formula

CASE_STUDY_1 = "((2.1 - m)**2 + (3.9 - 2*m)**2 + (6.1 - 3*m)**2 + (8.0 - 4*m)**2 + (9.9 - 5*m)**2)/5"
CASE_STUDY_2 = "0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)"
HIMMELBLAU = "(x**2 + y - 11)**2 + (x + y**2 - 7)**2"
# Himmelblau's nine stationary points (minima exact or to 6 digits; Wikipedia / Himmelblau 1972)
HIMMELBLAU_MINIMA = [
    (3.0, 2.0),
    (-2.805118, 3.131312),
    (-3.779310, -3.283186),
    (3.584428, -1.848126),
]
HIMMELBLAU_MAXIMUM = (-0.270845, -0.923039)


def test_classify() -> None:
    assert classify([1.0, 2.0]) == "minimum" and classify([-1.0, -2.0]) == "maximum"
    assert classify([-1.0, 2.0]) == "saddle" and classify([0.0, 2.0]) == "degenerate"
    assert classify([1e-3, 1.0], tol=1e-2) == "degenerate"
    with pytest.raises(LosslabError, match="finite"):
        classify([float("nan")])


def test_case_study_2_single_minimum() -> None:
    (point,) = stationary_points(formula(CASE_STUDY_2))
    assert point.method == "exact" and point.kind == "minimum"
    assert point.point.tolist() == [2.0, 0.0] and point.value == 0.0
    expected = np.linalg.eigvalsh(np.array([[2.0, 3.0], [3.0, 5.0]]))
    assert np.allclose(point.hessian_eigenvalues.numpy(), expected, atol=1e-12)


def _scipy_root(obj, start):  # the independent oracle: scipy's hybrid root finder on ∇L
    sol = scipy.optimize.root(lambda v: obj.grad(torch.tensor(v)).numpy(), start, tol=1e-13)
    return sol.x


def test_himmelblau_nine_points(generator: torch.Generator) -> None:
    obj = formula(HIMMELBLAU, domain="-5:5")
    points = stationary_points(obj, generator=generator)
    kinds = [p.kind for p in points]
    assert len(points) == 9
    assert kinds.count("minimum") == 4 and kinds.count("saddle") == 4 and kinds.count("maximum") == 1
    found = torch.stack([p.point for p in points]).numpy()
    for known in HIMMELBLAU_MINIMA + [HIMMELBLAU_MAXIMUM]:
        assert np.abs(found - np.array(known)).max(axis=1).min() < 1e-5
    for p in points:  # each agrees with scipy.optimize.root started nearby
        assert np.allclose(_scipy_root(obj, p.point.numpy() + 0.01), p.point.numpy(), atol=1e-9)
        assert (p.value < 1e-20) == (p.kind == "minimum")


@pytest.mark.parametrize(
    ("text", "domain", "count"),
    [
        ("sin(x)*cos(y)", "-3:3", 4),
        ("20 + x**2 - 10*cos(2*pi*x) + y**2 - 10*cos(2*pi*y)", "-1.2:1.2", 25),
        ("x**2 + exp(y) - y", "-3:3", 1),
    ],
    ids=["sin-cos", "rastrigin", "exp"],
)
def test_numeric_path_matches_scipy(text: str, domain: str, count: int, generator: torch.Generator) -> None:
    obj = formula(text, domain=domain)
    points = stationary_points(obj, generator=generator)
    assert len(points) == count and all(p.method == "numeric" for p in points)
    for p in points:
        assert float(obj.grad(p.point).norm()) < 1e-8
    for p in points[::5]:  # scipy is slow per point; a spread of five suffices
        assert np.allclose(_scipy_root(obj, p.point.numpy() + 0.01), p.point.numpy(), atol=1e-8)


def test_exact_rational_and_degenerate() -> None:
    (saddle,) = stationary_points(formula("1/(1 + x**2) + y**2"))
    assert saddle.kind == "saddle" and saddle.method == "exact" and saddle.point.tolist() == [0.0, 0.0]
    (flat,) = stationary_points(formula("x**4"))
    assert flat.kind == "degenerate"
    assert stationary_points(formula("exp(x)")) == []


CONVEXITY = [
    ("x**2", None, "convex", True),
    ("exp(x)", None, "convex", True),
    ("log(x)", "0.1:10", "concave", True),
    (CASE_STUDY_2, None, "convex", True),
    ("-log(x) - log(y)", "0.1:5", "convex", True),
    ("x**3", None, "not convex", True),
    ("20 + x**2 - 10*cos(2*pi*x) + y**2 - 10*cos(2*pi*y)", "-5.12:5.12", "not convex", True),
    ("x*y", None, "not convex", True),
    # eigenvalue −1.9 at x + y = −1 beside 4e9 at (5, 5): the rounding allowed is each Hessian's own, not the box's
    ("(exp(x)*exp(y) - 2)**2", None, "not convex", True),
    ("sqrt(x**2 + y**2)", None, "convex", True),  # by the composition rules: a Euclidean norm
    ("softplus(x) + y**2", None, "convex", True),
    ("sqrt(x**2 + x*y + y**2)", None, "convex", True),  # √ of a convex quadratic with minimum 0: a norm
    ("log(cosh(x)) + y**2", None, "convex", True),  # log cosh of an affine function
    # (e^(x+y) + e^(x−y))/2 is convex, but the rules do not read products and SymPy cannot sign cosh² − sinh²
    ("exp(x)*cosh(y)", None, "no counterexample found", False),
    ("log(cosh(x)*cosh(y))", None, "no counterexample found", False),  # = log cosh x + log cosh y, not read so
]


@pytest.mark.parametrize(("text", "domain", "verdict", "proved"), CONVEXITY, ids=[c[0][:24] for c in CONVEXITY])
def test_convexity_verdicts(
    text: str, domain: str | None, verdict: str, proved: bool, generator: torch.Generator
) -> None:
    report = convexity(formula(text, domain=domain), generator=generator, samples=500)
    assert (report.verdict, report.proved) == (verdict, proved), report.reason
    if verdict == "not convex":
        point, lam = report.counterexample
        assert lam < 0 and float(torch.linalg.eigvalsh(formula(text).hessian(point))[0]) == pytest.approx(lam)
    if verdict == "no counterexample found":
        assert "no counterexample found on the domain (" in report.reason and "random" in report.reason
    json.dumps(report.to_dict())


@pytest.mark.parametrize(
    "text",
    [
        "x**3",
        "20 + x**2 - 10*cos(2*pi*x) + y**2 - 10*cos(2*pi*y)",
        "x**4 - x**2",
        "sin(x) + y**2",
        "x**2*y**2",
    ],
)
def test_never_a_false_convex(text: str, generator: torch.Generator) -> None:
    assert convexity(formula(text), generator=generator, samples=300).verdict != "convex"


def test_chord_pictures_of_figure_3_16() -> None:
    square = chord_check(formula("x**2"), [-3.0], [5.0], 0.3)
    assert square.position == "chord above curve"
    assert square.chord_value == pytest.approx(20.2) and square.curve_value == pytest.approx(6.76)
    cube = chord_check(formula("x**3"), [-8.0], [5.0], 0.3)
    assert cube.position == "chord below curve" and cube.chord_value == pytest.approx(-66.1)
    with pytest.raises(LosslabError, match="alpha"):
        chord_check(formula("x**2"), [0.0], [1.0], 1.5)


@pytest.mark.parametrize(
    ("text", "lr", "behaviour"),
    [
        ("(w - 3)**2", 0.1, "converges monotonically"),
        ("(w - 3)**2", 0.75, "oscillates but converges"),
        ("(w - 3)**2", 1.0, "oscillates forever"),
        ("(w - 3)**2", 2.0, "diverges"),
        ("w**2 - 4*w + 5", 0.3, "converges monotonically"),
        ("w**2 - 4*w + 5", 1.5, "diverges"),
        (CASE_STUDY_1, 0.1, "diverges"),
        (CASE_STUDY_1, 0.01, "converges monotonically"),
        ("x**2 + 1e-9*y**2", 0.1, "stalls"),
    ],
)
def test_predict_gd_seeds(text: str, lr: float, behaviour: str) -> None:
    prediction = predict_gd(formula(text), lr)
    assert prediction.behaviour == behaviour and prediction.exact
    assert "2/λmax" in prediction.reason and "exact" in prediction.reason


def _run_gd(obj, lr: float, start: list[float], steps: int) -> list[float]:  # torch.optim as the oracle
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([theta], lr=lr)
    errors = []
    for _ in range(steps):
        opt.zero_grad()
        obj._evaluate(theta).backward()
        opt.step()
        errors.append(theta.detach().clone())
    return errors


def test_predictions_match_torch_optim_on_case_study_1() -> None:
    obj = formula(CASE_STUDY_1)
    assert max_stable_lr(obj) == pytest.approx(2 / 22, rel=1e-12)  # L''(m) = (2/5)·Σx² = 22
    m_star = stationary_points(obj)[0].point[0]
    far = [abs(float(t[0] - m_star)) for t in _run_gd(obj, 0.1, [0.0], 30)]
    near = [abs(float(t[0] - m_star)) for t in _run_gd(obj, 0.01, [0.0], 30)]
    assert far[-1] > 10 * far[0] and near[-1] < 1e-2 * near[0]


def test_local_prediction_and_condition_number() -> None:
    obj = formula(HIMMELBLAU)
    prediction = predict_gd(obj, 0.001, at=[3.0, 2.0])
    assert not prediction.exact and "locally" in prediction.reason
    lam = torch.linalg.eigvalsh(obj.hessian([3.0, 2.0]))
    assert condition_number(obj, [3.0, 2.0]) == pytest.approx(float(lam[1] / lam[0]))
    assert max_stable_lr(obj, [3.0, 2.0]) == pytest.approx(2 / float(lam[1]))
    with pytest.raises(LosslabError, match="learning rate"):
        predict_gd(obj, -0.1)
    with pytest.raises(LosslabError, match="no minimum"):
        max_stable_lr(formula("x**3 + y"))


@pytest.mark.parametrize("text", ["abs(x) + y**2", "sqrt(x**2 + y**2)", "x**2 + abs(y - 1)"])
def test_no_prediction_at_a_kink(text: str) -> None:
    """|x| + y² "converges monotonically" at lr 0.6 (its "Hessian" at the kink read diag(0, 2), torch's DiracDelta(0)
    being 0), yet gd from (1, 1) hops across x = 0 forever (oracle: the iterates themselves)."""
    objective = formula(text)
    with pytest.raises(LosslabError, match=r"is a point where L is not differentiable: there is no Hessian there"):
        predict_gd(objective, 0.6)
    if text == "abs(x) + y**2":
        xs = [float(t[0]) for t in _run_gd(objective, 0.6, [1.0, 1.0], 40)]
        assert min(abs(x) for x in xs[-10:]) > 0.1  # never settles on the kink


def test_analyze_case_study_2_json_contract() -> None:
    result = analyze(formula(CASE_STUDY_2), at="w0=0,w1=0")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["variables"] == ["w0", "w1"]
    assert data["gradient"] == {"w0": "2*w0 + 3*w1 - 4", "w1": "3*w0 + 5*w1 - 6"}
    assert data["hessian"] == [["2", "3"], ["3", "5"]]
    (point,) = data["stationary_points"]
    assert point["point"] == {"w0": 2.0, "w1": 0.0} and point["kind"] == "minimum" and point["value"] == 0.0
    assert data["convexity"]["verdict"] == "convex" and data["convexity"]["proved"] is True
    lam = np.linalg.eigvalsh(np.array([[2.0, 3.0], [3.0, 5.0]]))
    assert data["max_stable_lr"] == pytest.approx(2 / lam[1]) and data["condition_number"] == pytest.approx(
        lam[1] / lam[0]
    )
    assert data["gradient_report"]["autodiff"] == [-4.0, -6.0]
    text = str(result)
    assert "Stationary points (1)" in text and "convex (proved)" in text and "∂L/∂w0 = 2*w0 + 3*w1 - 4" in text


def test_a_constant_three_by_three_hessian_is_proved_convex_with_real_eigenvalues(generator: torch.Generator) -> None:
    # SymPy's closed-form eigenvalues of this Hessian are complex expressions (casus irreducibilis)
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    quadratic = formula(" + ".join(f"(w0 + w1*{v} + w2*{v}**2 - {2 * v + 0.1})**2" for v in x))
    report = convexity(quadratic, generator=generator, samples=200)
    assert (report.verdict, report.proved) == ("convex", True)
    exact = torch.linalg.eigvalsh(quadratic.hessian([0.0, 0.0, 0.0]))
    shown = [float(v) for v in report.reason.split("eigenvalues ")[1].split(", all")[0].split(", ")]
    np.testing.assert_allclose(shown, exact.tolist(), rtol=1e-5)


def _logistic_on_thirty_points():
    from losslab.objectives.data_models import model_objective, synthetic_points

    return model_objective(*synthetic_points("labels", 30), "logistic")


def test_analyze_searches_for_stationary_points_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import losslab.analysis.report
    import losslab.analysis.stability

    calls: list[int] = []
    real = losslab.analysis.report.stationary_points

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(losslab.analysis.report, "stationary_points", counted)
    monkeypatch.setattr(losslab.analysis.stability, "stationary_points", counted)
    line = formula("(w0 + w1 - 2)**2 + (w0 - w1)**2 + 0.1*w0**4")
    result = analyze(line, generator=torch.Generator().manual_seed(0))
    assert len(calls) == 1
    minimum = result.global_minimum.point
    assert result.max_stable_lr == pytest.approx(2 / float(torch.linalg.eigvalsh(line.hessian(minimum))[-1]), rel=1e-9)


def test_large_symbolic_hessians_skip_the_proof_and_the_simplify(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from losslab.analysis.derivatives import clairaut

    def too_slow(*_args: object) -> bool:
        raise AssertionError("a 30-sample loss's minors must not go to SymPy")

    # the package re-exports the function convexity, which shadows the module as an attribute
    monkeypatch.setattr(importlib.import_module("losslab.analysis.convexity"), "_psd_everywhere", too_slow)
    logistic = _logistic_on_thirty_points()
    report = convexity(logistic, generator=torch.Generator().manual_seed(0), samples=300)
    assert (report.verdict, report.proved) == ("no counterexample found", False)
    checked = clairaut(logistic, [0.5, 0.5])
    assert checked.symbolic_equal is None and checked.asymmetry < 1e-12
    assert clairaut(formula("x**2*y + sin(x*y)")).symbolic_equal is True


def test_hessian_eigenvalues_are_nan_where_no_number_can_be_trusted() -> None:
    # found by the web fuzzer: max(min(atan(x), 1/3 - y), min(x**w0, sin(0.5))) gave LAPACK a Hessian near 1e308
    # ("linalg.eigh: failed to converge", a 500); a NaN entry made LAPACK return [0, -0] without a word
    stack = torch.tensor([[[1.0, 0.0], [0.0, 2.0]], [[math.nan, 0.0], [0.0, 1.0]], [[1e308, 1e308], [1e308, -1e308]]],
                         dtype=torch.float64)  # fmt: skip
    eigenvalues = hessian_eigenvalues(stack)
    assert eigenvalues[0].tolist() == [1.0, 2.0] and bool(eigenvalues[1:].isnan().all())
    assert hessian_eigenvalues(stack[0]).tolist() == [1.0, 2.0]


def test_analyze_refuses_a_network_in_one_line_before_sampling_its_hessian() -> None:
    """analyze samples full Hessians at 2000 points: on a 1 508-parameter network that asked for 36 GB and the
    process was killed. It now says what to use instead."""
    from torch import nn

    from losslab.analysis.report import MAX_ANALYZED_PARAMETERS
    from losslab.objectives.network import NetworkObjective

    net = nn.Sequential(nn.Linear(10, 10), nn.Tanh(), nn.Linear(10, 2))  # 132 parameters
    L = NetworkObjective(net, (torch.randn(8, 10), torch.randint(0, 2, (8,))))
    assert L.dim > MAX_ANALYZED_PARAMETERS
    with pytest.raises(LosslabError, match=r"^analyze takes a loss of at most 100 parameters .* this one has 132: "
                       r"for a network use losslab\.curvature"):  # fmt: skip
        analyze(L)


def test_convexity_refuses_samples_whose_hessians_would_not_fit() -> None:
    from torch import nn

    from losslab.objectives.network import NetworkObjective

    net = nn.Sequential(nn.Linear(40, 30), nn.Tanh(), nn.Linear(30, 2))  # 1 292 parameters: 2000 Hessians, 12.4 GiB
    L = NetworkObjective(net, (torch.randn(8, 40), torch.randint(0, 2, (8,))))
    with pytest.raises(LosslabError, match=r"^convexity samples 2000 full Hessians of 1,292×1,292 \(12\.4 GiB; at most "
                       r"1\): give fewer samples"):  # fmt: skip
        convexity(L)
