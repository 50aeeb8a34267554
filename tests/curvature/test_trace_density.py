"""Trace (Hutchinson, Hutch++) and SLQ density against the exact spectrum of the full Hessian."""

from __future__ import annotations

import math

import pytest
import torch

from losslab.curvature import density, hessian_operator, trace
from losslab.errors import LosslabError
from losslab.objectives.objective import formula
from losslab.serialize import jsonable

SEEDS = range(40)


@pytest.mark.parametrize("method", ["hutchinson", "hutch++"])
def test_trace_is_within_its_standard_error_at_the_nominal_rate(small_net, method):
    """Over 40 seeds, ±2 standard errors should cover the exact trace about 95% of the time
    (t with ≥ 19 degrees of freedom: ≥ 94%); accept ≥ 80% and no miss beyond 5 standard errors."""
    exact = float(small_net.hessian.trace())
    operator = hessian_operator(small_net.objective)
    z = []
    for seed in SEEDS:
        estimate = trace(operator, method=method, probes=60, generator=torch.Generator().manual_seed(seed))
        z.append((estimate.estimate - exact) / estimate.stderr)
    z = torch.tensor(z)
    print(method, z)
    assert float((z.abs() <= 2).double().mean()) >= 0.8, z
    assert float(z.abs().max()) < 5, z
    assert abs(float(z.mean())) < 0.6, "biased: the mean z-score over 40 seeds should be near 0"


def test_hutch_plus_plus_beats_hutchinson_at_equal_products(small_net):
    operator = hessian_operator(small_net.objective)
    errors = {}
    for method in ("hutchinson", "hutch++"):
        runs = [trace(operator, method=method, probes=30, generator=torch.Generator().manual_seed(s)) for s in range(8)]
        assert all(r.products == 30 for r in runs)
        errors[method] = sum(r.stderr for r in runs) / len(runs)
    assert errors["hutch++"] < 0.5 * errors["hutchinson"], errors


def test_target_standard_error_is_met(small_net):
    estimate = trace(small_net.objective, method="hutchinson", probes=10, target_stderr=0.8)
    assert estimate.stderr <= 0.8 and estimate.products == estimate.probes > 10


def test_trace_of_a_formula_is_exact_once_the_sketch_spans_everything():
    estimate = trace(formula("w0**2 + 3*w1**2 + w0*w1 - w2**2"), probes=9, at=[0.0, 0.0, 0.0])
    assert estimate.estimate == pytest.approx(6.0, abs=1e-12) and estimate.stderr == pytest.approx(0.0, abs=1e-12)


def test_density_moments_match_the_exact_spectrum(small_net):
    """SLQ's first two moments estimate tr(H)/n and tr(H²)/n; compare within 4 standard errors."""
    values = small_net.eigenvalues
    result = density(small_net.objective, runs=12, steps=40, generator=torch.Generator().manual_seed(3))
    for p, exact in ((1, float(values.mean())), (2, float((values**2).mean()))):
        assert abs(result.moments[p] - exact) <= 4 * result.moment_stderr[p], (p, result.moments[p], exact)
    grid_step = float(result.grid[1] - result.grid[0])
    assert float(result.density.sum()) * grid_step == pytest.approx(1.0, abs=1e-3)
    assert result.products == 12 * 40
    assert all(float(w.sum()) == pytest.approx(1.0, abs=1e-10) for w in result.weights)


def test_density_nodes_are_the_eigenvalues_when_steps_reach_n():
    """With n steps Lanczos quadrature is exact: the nodes are the Hessian's eigenvalues (SymPy: 2, 4, 6)."""
    result = density(formula("w0**2 + 2*w1**2 + 3*w2**2"), runs=2, steps=3, at=[0.0, 0.0, 0.0])
    for nodes in result.nodes:
        torch.testing.assert_close(nodes, torch.tensor([2.0, 4.0, 6.0], dtype=torch.float64), rtol=0, atol=1e-12)
    assert result.moments[1] == pytest.approx(4.0, abs=1e-12)
    assert result.moments[2] == pytest.approx((4 + 16 + 36) / 3, abs=1e-12)
    assert jsonable(result)["moments"]["1"] == pytest.approx(4.0)


BAD = {
    "method": (lambda f: trace(f, method="girard", at=[0.0]), "trace method 'girard' is not one of hutch"),
    "probes": (lambda f: trace(f, probes=3, at=[0.0]), "probes for hutch\\+\\+ must be a whole number ≥ 4, got 3"),
    "target": (lambda f: trace(f, target_stderr=0.0, at=[0.0]), "target_stderr = 0.0 must be a positive"),
    "runs": (lambda f: density(f, runs=1, at=[0.0]), "runs must be a whole number ≥ 2, got 1"),
    "sigma": (lambda f: density(f, sigma=-1.0, at=[0.0]), "sigma = -1.0 must be a positive"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_arguments_are_refused_with_a_message(case):
    call, message = BAD[case]
    with pytest.raises(LosslabError, match=message):
        call(formula("w**2"))


def test_results_print_and_serialize(small_net):
    estimate = trace(small_net.objective, probes=12)
    assert "±" in str(estimate) and jsonable(estimate)["probes"] == estimate.probes
    spectrum = density(small_net.objective, runs=2, steps=10)
    assert "tr(H)/n" in str(spectrum) and math.isfinite(jsonable(spectrum)["sigma"])
