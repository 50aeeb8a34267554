"""Lanczos eigenpairs against eigh of the full Hessian (networks) and SymPy (formulas)."""

from __future__ import annotations

import pytest
import sympy
import torch

from losslab.curvature import top_eigenvalues
from losslab.errors import LosslabError
from losslab.objectives.objective import formula

REL = 1e-6  # the bar for eigenvalues, relative


def _check_pairs(result, full, exact_values, exact_vectors):
    """Eigenvalues to REL, eigenvectors to sign, and the reported residuals are the true ones."""
    torch.testing.assert_close(result.eigenvalues, exact_values, rtol=REL, atol=REL)
    overlaps = (result.eigenvectors @ exact_vectors).abs().diagonal()
    assert bool((overlaps > 1 - 1e-6).all()), overlaps
    true = (result.eigenvectors @ full - result.eigenvalues[:, None] * result.eigenvectors).norm(dim=1)
    torch.testing.assert_close(result.residuals, true, rtol=1e-6, atol=1e-12)
    assert result.converged
    assert bool((result.residuals <= result.tol * result.eigenvalues.abs().clamp(min=1)).all())


@pytest.mark.parametrize("basis", [None, 8], ids=["grow", "restart-every-8"])
def test_top_k_of_a_network_match_eigh(small_net, basis):
    result = top_eigenvalues(small_net.objective, 4, tol=1e-8, basis=basis)
    values, vectors = small_net.eigenvalues, small_net.eigenvectors
    _check_pairs(result, small_net.hessian, values[-4:].flip(0), vectors[:, -4:].flip(1))
    assert result.restarts > 0 if basis == 8 else result.restarts == 0


def test_most_negative_of_a_network_match_eigh(small_net):
    result = top_eigenvalues(small_net.objective, 2, which="smallest", tol=1e-7)
    values, vectors = small_net.eigenvalues, small_net.eigenvectors
    assert float(values[0]) < 0  # the trained moons net is not at a minimum: a saddle-like direction
    _check_pairs(result, small_net.hessian, values[:2].flip(0), vectors[:, :2].flip(1))


SADDLE = "w0**2 - 3*w1**2 + w0*w1 + 2*w2**2 - w3**2 + w2*w3 + w4**2/2 + w0*w4 - w1*w3 + w5**2*w0"


def _sympy_spectrum(objective, point):
    hessian = sympy.hessian(objective.expr, objective.symbols).subs(dict(zip(objective.symbols, point, strict=True)))
    values, vectors = torch.linalg.eigh(torch.tensor(hessian.evalf(30).tolist(), dtype=torch.float64))
    exact = sorted((sympy.re(v.evalf(30)) for v in hessian.eigenvals(multiple=True)), reverse=True)
    return hessian, torch.tensor([float(v) for v in exact], dtype=torch.float64), vectors.flip(1)


@pytest.mark.parametrize("which", ["largest", "smallest", "both"])
def test_saddle_formula_matches_the_exact_sympy_hessian(which):
    objective = formula(SADDLE)
    point = [0.5, 0.0, 0.0, 0.0, 0.0, 1.0]
    hessian, exact, vectors = _sympy_spectrum(objective, point)
    full = torch.tensor(hessian.evalf(30).tolist(), dtype=torch.float64)
    result = top_eigenvalues(objective, 2, which=which, at=point, tol=1e-10)
    pick = {"largest": [0, 1], "smallest": [4, 5], "both": [0, 1, 4, 5]}[which]
    _check_pairs(result, full, exact[pick], vectors[:, pick])
    assert float(result.eigenvalues[-1]) < 0 if which != "largest" else True


def test_budget_exhausted_is_reported_not_hidden(small_net):
    result = top_eigenvalues(small_net.objective, 3, tol=1e-12, max_iter=5)
    assert not result.converged and result.products == 5
    assert "NOT converged" in str(result)


def test_warm_start_from_the_eigenvector_needs_few_products(small_net):
    first = top_eigenvalues(small_net.objective, 1, tol=1e-8)
    again = top_eigenvalues(small_net.objective, 1, tol=1e-8, start=first.eigenvectors[0])
    assert again.products < first.products
    assert float(again.eigenvalues[0]) == pytest.approx(float(first.eigenvalues[0]), rel=1e-10)


def test_same_generator_seed_same_answer(small_net):
    runs = [top_eigenvalues(small_net.objective, 2, generator=torch.Generator().manual_seed(5)) for _ in range(2)]
    assert torch.equal(runs[0].eigenvalues, runs[1].eigenvalues)
    assert runs[0].to_dict()["products"] == runs[1].products


BAD = {
    "k-zero": ({"k": 0}, "k must be a whole number ≥ 1, got 0"),
    "k-too-big": ({"k": 7}, "k must be a whole number from 1 to 6 \\(the number of parameters\\), got 7"),
    "which": ({"which": "top"}, "which 'top' is not one of largest, smallest, both"),
    "tol": ({"tol": -1.0}, "tol = -1.0 must be a relative residual above 0 and below 1"),
    "tol-one": ({"tol": 1.0}, "tol = 1.0 must be a relative residual above 0 and below 1"),
    "tol-nan": ({"tol": float("nan")}, "tol = nan must be a relative residual"),
    "max-iter": ({"max_iter": 0}, "max_iter = 0 must be at least 1"),
    "max-iter-below-k": ({"k": 3, "max_iter": 2}, "max_iter = 2 Hessian-vector products find at most 2 eigenvalues; "
                         "3 are asked for"),
    "max-iter-below-both": ({"k": 2, "which": "both", "max_iter": 3}, "4 are asked for: give max_iter ≥ 4"),
    "zero-start": ({"start": torch.zeros(6, dtype=torch.float64)}, "start vector has norm 0.0"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_arguments_are_refused_with_a_message(case):
    options, message = BAD[case]
    with pytest.raises(LosslabError, match=message):
        top_eigenvalues(formula(SADDLE), at=[0.0] * 6, **options)
