"""Lanczos defaults that fit the dtype and size, its progress callback, and the hessian CLI's --max-iter / --basis."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from losslab.cli.app import app
from losslab.curvature.lanczos import BASIS_BUDGET, basis_bytes, default_basis, default_tolerance, top_eigenvalues
from losslab.objectives.objective import formula


def test_the_default_tolerance_grows_with_the_rounding_of_long_float32_sums() -> None:
    eps32 = torch.finfo(torch.float32).eps
    assert default_tolerance(torch.float32, 1000) == pytest.approx(1000 * eps32)
    assert default_tolerance(torch.float32, 11_173_962) == pytest.approx(4 * eps32 * 11_173_962**0.5)
    assert default_tolerance(torch.float32, 11_173_962) > 5.8e-4  # the stall measured on ResNet-18
    assert default_tolerance(torch.float64, 10**10) == 1e-6


def test_the_default_basis_stays_within_its_memory_budget() -> None:
    n = 11_173_962
    basis = default_basis(n, 3, torch.float32)
    assert basis == 12 and basis_bytes(n, basis, torch.float32) <= BASIS_BUDGET
    assert default_basis(26_122, 3, torch.float32) == 30
    assert default_basis(10, 3, torch.float64) == 10  # never more than n
    assert default_basis(10**9, 5, torch.float32) == 7  # never fewer than wanted + 2


def test_progress_is_reported_after_every_product() -> None:
    seen: list[tuple[int, float]] = []
    bowl = formula("x**2 + 3*y**2 + 5*z**2 + x*y")
    result = top_eigenvalues(bowl, 1, at=[0.0, 0.0, 0.0], progress=lambda p, r: seen.append((p, r)))
    assert [p for p, _ in seen] == list(range(1, result.products + 1))
    assert seen[-1][1] <= result.tol


def test_hessian_cli_max_iter_stops_and_says_it_did_not_converge() -> None:
    runner = CliRunner()
    args = ["hessian", "--demo", "moons-mlp", "--top", "2", "--max-iter", "3", "--basis", "8", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    eigen = json.loads(result.output)["eigen"]
    assert eigen["products"] == 3 and not eigen["converged"]
    refused = runner.invoke(app, ["hessian", "--demo", "moons-mlp", "--max-iter", "0"])
    assert refused.exit_code == 2 and "--max-iter" in refused.output
