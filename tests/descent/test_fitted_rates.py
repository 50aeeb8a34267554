"""The rates a race fits to its loss (``fitted_specs``): on generated quadratics gradient descent's fitted rate is
below the stable 2/λmax of ``eigvalsh`` and every racer converges, where the optimizers' default rates leave
gd oscillating for ever on x² + 10y²; a rate the user gives, or a start with no gradient, is kept as it is."""

from __future__ import annotations

import random
from pathlib import Path

import torch
from typer.testing import CliRunner

from losslab.analysis.report import analyze
from losslab.cli.app import app
from losslab.descent.optimizers import OptimizerSpec
from losslab.descent.run import descend
from losslab.descent.tried_rates import fitted_specs
from losslab.objectives.objective import formula

RACERS = [OptimizerSpec("gd"), OptimizerSpec("momentum"), OptimizerSpec("adam")]


def test_the_default_race_on_an_elongated_bowl_is_a_race() -> None:
    bowl = formula("x^2 + 10y^2")
    default = descend(bowl, [1.0, 1.0], "gd", steps=200)
    assert default.diagnosis.status != "converged"  # lr 0.1 = 2/λmax: y flips between ±1 for ever
    specs, said = fitted_specs(bowl, [1.0, 1.0], RACERS, steps=200)
    assert [s.hyperparameters["lr"] for s in specs] == [0.05, 0.005, 0.2]
    assert said is not None and said.startswith("learning rates fitted to this loss from the start: gd 0.05,")
    for spec in specs:
        run = descend(bowl, [1.0, 1.0], spec, steps=200)
        assert run.diagnosis.status in ("converged", "max_steps"), (spec, run.diagnosis)
        assert float(run.losses[-1]) < 1e-7, (spec, run.diagnosis)  # from L = 11


def test_generated_quadratics_get_a_stable_rate_and_converge() -> None:
    """L = ½θᵀAθ + bᵀθ with A positive definite (seeded): gd's fitted rate is below 2/λmax (eigvalsh), and each
    racer from a random start ends below where it began, none diverged."""
    rng = random.Random(3)
    for _ in range(12):
        p, q, r = (round(rng.uniform(-3, 3), 2) for _ in range(3))
        s = round(rng.uniform(0.1, 2), 2)
        b0, b1 = round(rng.uniform(-2, 2), 2), round(rng.uniform(-2, 2), 2)
        text = f"({p}*x + {q}*y)^2 + ({r}*x + {s}*y)^2 + {b0}*x + {b1}*y"
        loss = formula(text)
        start = [round(rng.uniform(-3, 3), 1), round(rng.uniform(-3, 3), 1)]
        a = torch.tensor([[p, q], [r, s]], dtype=torch.float64)
        lam_max = float(torch.linalg.eigvalsh(2 * a.T @ a).max())
        specs, said = fitted_specs(loss, start, RACERS, steps=200)
        assert said is not None, text
        assert specs[0].hyperparameters["lr"] < 2 / lam_max, (text, specs[0], 2 / lam_max)
        for spec in specs:
            run = descend(loss, start, spec, steps=200)
            assert run.diagnosis.status != "diverged", (text, spec, run.diagnosis)
            assert float(run.losses[-1]) < float(run.losses[0]), (text, spec)


def test_given_rates_and_a_start_without_gradient_are_kept() -> None:
    bowl = formula("x^2 + y^2")
    given = [OptimizerSpec("gd", {"lr": 0.3}), OptimizerSpec("adam", {"lr": 0.05, "betas": (0.8, 0.9)})]
    assert fitted_specs(bowl, [1.0, 2.0], given, steps=50) == (given, None)
    assert fitted_specs(bowl, [0.0, 0.0], RACERS, steps=50) == (RACERS, None)  # at the minimum: ∇L = 0
    mixed, said = fitted_specs(bowl, [1.0, 2.0], [given[0], OptimizerSpec("momentum", {"momentum": 0.5})], steps=50)
    assert mixed[0] == given[0] and mixed[1].hyperparameters == {"lr": 0.2, "momentum": 0.5}
    assert said is not None and "momentum 0.2" in said and "gd" not in said.split("(")[0]
    twice, said = fitted_specs(bowl, [1.0, 2.0], [OptimizerSpec("gd"), given[0]], steps=50)
    assert twice[1] == given[0] and said is not None and said.split("(")[0].count("gd") == 1  # only the fitted one


def test_a_kink_at_the_minimum_keeps_the_steps_short() -> None:
    """The cone's tip is a kink: with its analysis the first step is a fiftieth of the box (0.2), not 1/λmax at the
    start (2.2, which leaves gd bouncing across the tip at distance ~1 for ever)."""
    cone = formula("sqrt(x^2 + y^2)")
    without, _ = fitted_specs(cone, [1.0, 2.0], RACERS[:1], steps=200)
    specs, said = fitted_specs(cone, [1.0, 2.0], RACERS[:1], steps=200, analysis=analyze(cone))
    assert without[0].hyperparameters["lr"] == 2 and specs[0].hyperparameters["lr"] == 0.2
    assert said is not None and "(the loss has a kink)" in said
    final = descend(cone, [1.0, 2.0], specs[0], steps=200).final
    assert float(torch.linalg.vector_norm(final)) <= 0.2


def test_the_cli_race_says_which_rates_it_fitted(tmp_path: Path) -> None:
    target = tmp_path / "race.png"
    args = ["plot", "race", "x^2 + 10y^2", "--start", "x=1,y=1", "--optimizer", "gd", "--optimizer", "adam:lr=0.1"]
    result = CliRunner().invoke(app, [*args, "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote {target}"
    assert "learning rates fitted to this loss from the start: gd 0.05 (" in result.stderr
    assert "adam" not in result.stderr.split("(")[0]
