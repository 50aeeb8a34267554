"""losslab against PyHessian (the PyPI package) on the same model and data."""

from __future__ import annotations

import copy

import pytest
import torch

from losslab.curvature import top_eigenvalues

pyhessian = pytest.importorskip("pyhessian")

PYHESSIAN_WARNINGS = [
    "ignore:Using backward\\(\\) with create_graph=True:UserWarning",  # PyHessian's own graph reuse
]


def _pyhessian(small_net):
    """PyHessian's `hessian` on a copy of the same model and data, in float64, seeded.

    PyHessian draws its vectors with the global RNG and in the default dtype, so both are
    set for the call and restored afterwards.
    """
    net = small_net.objective
    model = copy.deepcopy(net.model)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            comp = pyhessian.hessian(model, net.loss_fn, data=net.data, cuda=False)
            yield comp
    finally:
        torch.set_default_dtype(default)


@pytest.mark.filterwarnings(*PYHESSIAN_WARNINGS)
def test_same_top_eigenvalue_as_converged_pyhessian(small_net):
    for comp in _pyhessian(small_net):
        (theirs,), _ = comp.eigenvalues(maxIter=2000, tol=1e-10, top_n=1)
        default, _ = comp.eigenvalues()  # their defaults: tol 1e-3 on the relative change
    ours = float(top_eigenvalues(small_net.objective, 1, tol=1e-8).eigenvalues[0])
    exact = float(small_net.eigenvalues[-1])
    assert ours == pytest.approx(exact, rel=1e-9)
    # PyHessian normalizes by (‖v‖ + 1e-6), which biases its Rayleigh quotient by ~2e-6/‖v‖
    assert theirs == pytest.approx(ours, rel=1e-5)
    assert default[0] == pytest.approx(ours, rel=1e-2)


@pytest.mark.filterwarnings(*PYHESSIAN_WARNINGS)
def test_pyhessian_trace_samples_agree_with_the_exact_trace(small_net):
    for comp in _pyhessian(small_net):
        samples = torch.tensor(comp.trace(maxIter=100, tol=0.0), dtype=torch.float64)
    stderr = float(samples.std() / len(samples) ** 0.5)
    assert abs(float(samples.mean()) - float(small_net.hessian.trace())) <= 5 * stderr


@pytest.mark.filterwarnings(*PYHESSIAN_WARNINGS)
def test_pyhessian_density_fails_on_current_torch(small_net):
    """Documented peer failure: PyHessian's density calls torch.eig, removed from PyTorch."""
    for comp in _pyhessian(small_net):
        with pytest.raises(RuntimeError, match="deprecated since version 1.9 and is now removed"):
            comp.density(iter=5, n_v=1)
