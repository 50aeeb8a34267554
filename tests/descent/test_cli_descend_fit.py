"""``losslab descend`` and ``losslab fit`` as a careless user types them: odd optimizer strings, huge step counts.

Every refusal is one line on stderr starting ``error:``, exit code 2, no traceback; a long run
says in its output that its record was thinned.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from losslab.cli.app import app
from losslab.descent import record

runner = CliRunner()
DESCEND = ["descend", "w**2", "--start", "w=1", "--steps", "5"]


def refused(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output and result.stdout == ""
    return lines[0]


OPTIMIZER_TEXTS = [
    ("lbfgs:history_size=0", "history_size must be a whole number in [1, 1000000], got 0"),
    ("lbfgs:history_size=2.5", "history_size must be a whole number in [1, 1000000], got 2.5"),
    ("lbfgs:line_search_fn=1", "line_search_fn must be none or 'strong_wolfe', got 1"),
    ("lbfgs:max_eval=0", "max_eval must be a whole number in [1, 1000000], or none, got 0"),
    ("lbfgs:max_iter=1", "max_eval must be ≥ 2"),
    ("adam:betas=0.9", "betas must be two numbers, each in [0, 1)"),
    ("adam:betas=0.9;", "got (0.9, '')"),
    ("adam:betas=0.9;1", "got (0.9, 1)"),
    ("adamw:eps=0", "eps must be a finite number > 0, got 0"),
    ("rmsprop:alpha=1.5", "alpha must be a number in [0, 1)"),
    ("momentum:momentum=-0.5", "momentum must be a finite number ≥ 0, got -0.5"),
    ("nesterov:momentum=0", "Nesterov momentum needs momentum > 0"),
    ("adagrad:weight_decay=-1", "weight_decay must be a finite number ≥ 0, got -1"),
    ("newton:damping=-1", "damping must be a finite number ≥ 0, got -1"),
    ("gd:lr=true", "(true/false is not a number)"),
    ("adam:amsgrad=1", "amsgrad must be true or false, got 1"),
    ("adam:lr=0.1,lr=0.2", "gives lr twice"),
    ("adam,lr=0.1", "is not of the form name:key=value,key=value"),
    ("adam:lr", "is not of the form name:key=value,key=value"),
    ("adamm", "optimizer 'adamm' is not one of gd, sgd"),
    ("gd:momentum=0.9", "has no hyper-parameter 'momentum'"),
]


@pytest.mark.parametrize(("text", "words"), OPTIMIZER_TEXTS, ids=[t for t, _ in OPTIMIZER_TEXTS])
def test_odd_optimizer_strings_are_one_line(text: str, words: str) -> None:
    assert words in refused([*DESCEND, "--optimizer", text])


STEPS = [
    (
        "1e8",
        "Invalid value for '--steps': steps must be a whole number from 1 to 100000000, got '1e8'; write 100000000",
    ),
    ("1e9", "steps must be a whole number from 1 to 100000000, got '1e9'; see"),
    ("100000001", "steps must be at most 100000000, got 100000001"),
    ("99999999999999999999999", "steps must be at most 100000000"),
    ("0", "steps must be a whole number ≥ 1, got 0"),
    ("-1", "steps must be a whole number ≥ 1, got -1"),
    ("2.5", "got '2.5'"),
    ("lots", "got 'lots'"),
    ("nan", "got 'nan'"),
]


@pytest.mark.parametrize(("steps", "words"), STEPS, ids=[s for s, _ in STEPS])
def test_huge_or_odd_step_counts_are_one_line(steps: str, words: str) -> None:
    assert words in refused(["descend", "w**2", "--start", "w=1", "--steps", steps])


def test_fit_checks_the_run_before_reading_the_data(tmp_path: Path) -> None:
    missing = str(tmp_path / "never-read.csv")
    assert "history_size must be" in refused(["fit", missing, "--model", "m*x", "--optimizer", "lbfgs:history_size=0"])
    assert "got '1e8'; write 100000000" in refused(["fit", missing, "--model", "m*x", "--steps", "1e8"])
    assert "seed must be at most" in refused(["fit", missing, "--model", "m*x", "--seed", str(2**64)])
    assert "never-read.csv" in refused(["fit", missing, "--model", "m*x"])  # only then the file


def test_a_long_run_says_what_it_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record, "MAX_ROWS", 64)
    result = runner.invoke(app, ["descend", "(w-3)**2", "--start", "w=0", "--lr", "1e-5", "--steps", "1000"])
    assert result.exit_code == 0 and "kept every 32nd of 1 000 steps after the first 32, and the last" in result.stdout
    assert "\n1000 " in result.stdout or " 1000 " in result.stdout  # the last row is step 1000
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "".join(f"{i},{2 * i + 1}\n" for i in range(10)))
    args = ["fit", str(data), "--model", "w0 + w1*x", "--lr", "0.001", "--steps", "1000", "--json"]
    done = json.loads(runner.invoke(app, args).stdout)
    assert done["descent"]["steps"] == 1000


@pytest.mark.parametrize(
    ("labels", "model", "separable"),
    [
        ([0, 0, 1, 1], "sigmoid(w0 + w1*x)", True),  # split between x = 2 and 3
        ([0, 1, 0, 1], "sigmoid(w0 + w1*x)", False),  # interleaved: a finite minimum
        ([0, 0, 1, 1], "sigmoid(w1*x - 2.5)", False),  # a logit term without θ: scaling θ does not scale it
    ],
    ids=["separable", "interleaved", "not-homogeneous"],
)
def test_a_logistic_fit_on_separable_data_says_it_has_no_minimum(tmp_path: Path, labels: list, model: str,
                                                                  separable: bool) -> None:  # fmt: skip
    """Four points split by a threshold: the fit "stopped after 2000 steps with L still falling" and said no more.
    Where the note is given, L(c·θ) at the descent's θ falls for every c > 1 (oracle: direct evaluation)."""
    from losslab.descent.fit import fit

    (tmp_path / "c.csv").write_text("x,y\n" + "".join(f"{x},{y}\n" for x, y in zip([1, 2, 3, 4], labels, strict=True)))
    result = runner.invoke(app, ["fit", str(tmp_path / "c.csv"), "--model", model, "--loss", "bce", "--json"])
    assert result.exit_code == 0, result.output
    notes = json.loads(result.stdout)["notes"]
    assert (notes != []) == separable
    if separable:
        assert notes[0].startswith("the data are separable") and "L has no minimum" in notes[0]
        done = fit(str(tmp_path / "c.csv"), model, loss="bce")
        theta = done.descent.final
        values = [float(done.objective.value(c * theta)) for c in (1.0, 2.0, 4.0, 8.0)]
        assert all(later < earlier for earlier, later in zip(values, values[1:], strict=False)) and values[-1] > 0


@pytest.mark.parametrize("seed", range(6))
def test_the_separable_note_on_generated_data(seed: int) -> None:
    """Generated 2-D data, labelled by a random line with a margin (separable) or with a tenth of the labels
    flipped across it (not, when a flipped point lies deep on the wrong side). Where the fit notes separability,
    the descent's θ separates every sample (oracle: the margins computed here) and L(2θ) < L(θ); data with a
    margin gets the note."""
    from losslab.descent.fit import fit

    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(24, 2, generator=generator, dtype=torch.float64) * 4 - 2
    normal = torch.randn(2, generator=generator, dtype=torch.float64)
    side = x @ normal + 0.3
    keep = side.abs() > 0.4  # a margin around the line
    x, side = x[keep], side[keep]
    labels = (side > 0).long()
    flipped = seed % 2 == 1
    if flipped:
        labels[: max(1, len(labels) // 10)] = 1 - labels[: max(1, len(labels) // 10)]
    data = {"x1": x[:, 0].tolist(), "x2": x[:, 1].tolist(), "y": labels.tolist()}
    done = fit(data, "sigmoid(w0 + w1*x1 + w2*x2)", loss="bce", steps=3000)
    theta = done.descent.final
    logits = theta[0] + theta[1] * x[:, 0] + theta[2] * x[:, 1]
    separates = bool(((2 * labels - 1) * logits > 0).all())
    assert bool(done.notes) == separates
    if done.notes:
        assert float(done.objective.value(2 * theta)) < float(done.objective.value(theta))
    if not flipped:
        assert done.notes, "data with a margin is separable, and 3000 steps of gd find a separating θ"
