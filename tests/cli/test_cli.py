"""The CLI as a user runs it: JSON contracts, readable output, and one-line errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from losslab.cli.app import app

runner = CliRunner()


def run_json(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def test_analyze_json_has_the_documented_keys() -> None:
    doc = run_json("analyze", "0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)")
    assert doc["variables"] == ["w0", "w1"]
    assert doc["gradient"] == {"w0": "2*w0 + 3*w1 - 4", "w1": "3*w0 + 5*w1 - 6"}
    assert doc["hessian"] == [["2", "3"], ["3", "5"]]
    [point] = doc["stationary_points"]
    assert point["point"] == {"w0": 2.0, "w1": 0.0} and point["kind"] == "minimum" and point["value"] == 0.0
    assert len(point["hessian_eigenvalues"]) == 2
    assert doc["convexity"]["verdict"] == "convex"
    assert doc["max_stable_lr"] == pytest.approx(2 / ((7 + 45**0.5) / 2), rel=1e-12)


def test_analyze_at_a_point_reports_the_gradient_three_ways() -> None:
    doc = run_json("analyze", "2*w0**2 + 3*w1**2", "--at", "w0=3,w1=4", "--domain", "-5:5")
    assert doc["gradient_report"]["autodiff"] == [12.0, 24.0]


def test_descend_json_reproduces_the_hand_simulation() -> None:
    doc = run_json("descend", "w**2 - 4*w + 5", "--start", "w=0", "--lr", "0.3", "--steps", "8")
    ws = [s["params"]["w"] for s in doc["steps"]]
    assert ws[:5] == pytest.approx([0, 1.2, 1.68, 1.872, 1.9488], abs=1e-12)
    assert ws[8] == pytest.approx(1.99868928, abs=1e-12)
    assert set(doc["steps"][0]) >= {"step", "params", "loss", "gradient"}
    assert set(doc["diagnosis"]) >= {"status", "reason"}


def test_a_start_may_be_given_as_from_as_connect_takes_it() -> None:
    """``losslab connect`` takes --from and --to; a student who types --from to descend was told "Missing option
    '--start'"."""
    given = run_json("descend", "w**2 - 4*w + 5", "--from", "w=0", "--lr", "0.3", "--steps", "8")
    assert given == run_json("descend", "w**2 - 4*w + 5", "--start", "w=0", "--lr", "0.3", "--steps", "8")


def test_descend_table_is_readable() -> None:
    result = runner.invoke(app, ["descend", "(w-3)**2", "--start", "w=0", "--lr", "2.0", "--steps", "5"])
    assert result.exit_code == 0
    assert "-24" in result.stdout and "diverg" in result.stdout.lower() or "max_steps" in result.stdout


def test_descend_says_diverged_as_soon_as_growth_is_steady() -> None:
    result = runner.invoke(app, ["descend", "(w-3)**2", "--start", "w=0", "--lr", "2.0", "--steps", "3"])
    assert result.exit_code == 0
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("diverged at step 3: L grows geometrically, ×9 per step")
    assert "(1 − lr·λmax)² = (1 − 2·2)² = 9 per step" in last


def test_descend_stops_once_converged_and_says_unbounded_below() -> None:
    doc = run_json("descend", "(w-3)**2", "--start", "w=0", "--lr", "0.1", "--steps", "1000")
    assert len(doc["steps"]) < 200 and doc["diagnosis"]["status"] == "converged"
    doc = run_json("descend", "x**2 - y**2", "--start", "x=1,y=0.1", "--lr", "0.1", "--steps", "200")
    assert doc["diagnosis"]["status"] == "unbounded" and doc["diagnosis"]["step"] == 51
    assert doc["diagnosis"]["reason"].startswith("unbounded below at step 51: L fell from 0.99 to -1.193e+06")


def test_descend_within_answers_extension_b() -> None:
    args = ["descend", "w**2 - 4*w + 5", "--start", "w=0", "--lr", "0.05", "--steps", "100", "--within", "0.01"]
    doc = run_json(*args)
    assert doc["diagnosis"]["step"] == 51 == len(doc["steps"]) - 1
    assert doc["diagnosis"]["reason"].startswith("within 0.01 of the minimum w = 2 after 51 steps")


def test_fit_says_one_step_and_the_status_once(tmp_path: Path) -> None:
    data = tmp_path / "cs1.csv"
    data.write_text("x,y\n1,2.1\n2,3.9\n3,6.1\n4,8.0\n5,9.9\n")
    lines = runner.invoke(app, ["fit", str(data), "--model", "m*x", "--steps", "1", "--lr", "0.1"]).stdout.splitlines()
    assert lines[-2].startswith("descent (gd, 1 step): m = 4.388")
    assert lines[-1].startswith("diagnosis: stopped after 1 step (the step budget)")
    lines = runner.invoke(app, ["fit", str(data), "--model", "m*x", "--lr", "0.01"]).stdout.splitlines()
    assert lines[-1].startswith("diagnosis: converged at step ") and "converged — converged" not in lines[-1]
    suggested = runner.invoke(app, ["fit", str(data), "--model", "m*x", "--steps", "1"]).stdout.splitlines()
    assert suggested[-3].startswith("descent (gd, 1 step): m = 1.755")  # lr 0.04: 0.04 · 2·mean(x·y) = 1.7552
    assert suggested[-2].startswith("learning rate 0.04: suggested")


def test_descend_optimizer_spec_carries_hyperparameters() -> None:
    doc = run_json("descend", "rosenbrock", "--start", "x=-1.5,y=2", "--optimizer", "adam:lr=0.05", "--steps", "20")
    assert doc["optimizer"] == "adam"
    assert doc["hyperparameters"]["lr"] == 0.05


def test_fit_csv_gives_closed_form_and_descent(tmp_path: Path) -> None:
    data = tmp_path / "line.csv"
    data.write_text("x,y\n1,2.1\n2,3.9\n3,6.1\n4,8.0\n5,9.9\n")
    doc = run_json("fit", str(data), "--model", "m*x", "--lr", "0.01", "--steps", "2000")
    assert doc["closed_form"]["params"]["m"] == pytest.approx(1.994545, abs=5e-7)
    assert doc["closed_form"]["loss"] == pytest.approx(0.007673, abs=5e-7)
    assert doc["descent"]["params"]["m"] == pytest.approx(1.994545, abs=5e-7)
    assert doc["descent"]["diagnosis"]["status"] in {"converged", "max_steps"}


def test_gallery_lists_and_shows() -> None:
    listing = json.loads(runner.invoke(app, ["gallery", "--json"]).stdout)
    assert {"rosenbrock", "himmelblau", "case_study_2"} <= {e["name"] for e in listing}
    one = run_json("gallery", "himmelblau")
    assert len(one["points"]) == 9


def _csv(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


BAD = [
    ("unparseable", ["analyze", "w +"], "cannot parse"),
    ("import", ["analyze", "__import__('os')"], "function '__import__' is not one of"),
    ("class-escape", ["analyze", "().__class__"], "attribute access"),
    ("power-tower", ["analyze", "9**9**9**9"], "exponent"),
    ("huge-formula", ["analyze", "w+" * 50_000 + "w"], "characters long"),
    ("unknown-start-variable", ["descend", "(w-3)**2", "--start", "z=0"], "'z', which is not a parameter"),
    ("lr-zero", ["descend", "(w-3)**2", "--start", "w=0", "--lr", "0"], "learning rate"),
    ("lr-negative", ["descend", "(w-3)**2", "--start", "w=0", "--lr", "-1"], "learning rate"),
    ("steps-zero", ["descend", "(w-3)**2", "--start", "w=0", "--steps", "0"], "steps"),
    ("within-zero", ["descend", "(w-3)**2", "--start", "w=0", "--within", "0"], "within must be a finite distance > 0"),
    ("within-no-minimum", ["descend", "x**2 - y**2", "--start", "x=1,y=0", "--within", "0.1"], "has no known minimum"),
    ("domain-inverted", ["analyze", "(w-3)**2", "--domain", "w=5:-5"], "minimum must be below"),
    ("unknown-optimizer", ["descend", "(w-3)**2", "--start", "w=0", "--optimizer", "adamax2"], "adamax2"),
    ("unknown-gallery", ["gallery", "rosenbrok"], "did you mean 'rosenbrock'"),
]


@pytest.mark.parametrize(("args", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_exit_2_no_traceback(args: list[str], words: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert words in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip().count("\n") == 0
    assert result.stdout == ""


CSV_BAD = [
    ("empty", "", "empty"),
    ("ragged", "x,y\n1,2\n3\n", "line 3"),
    ("nan", "x,y\n1,nan\n2,3\n", "line 2"),
]


@pytest.mark.parametrize(("text", "words"), [b[1:] for b in CSV_BAD], ids=[b[0] for b in CSV_BAD])
def test_bad_csv_is_refused(tmp_path: Path, text: str, words: str) -> None:
    result = runner.invoke(app, ["fit", _csv(tmp_path, "d.csv", text), "--model", "m*x"])
    assert result.exit_code == 2, result.stdout
    assert words in result.stderr
    assert result.stdout == ""


def test_missing_csv_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["fit", str(tmp_path / "nope.csv"), "--model", "m*x"])
    assert result.exit_code == 2 and "nope.csv" in result.stderr


def test_ctrl_c_while_the_cli_is_still_importing_torch_is_one_line_exit_130() -> None:
    """The first seconds of any verb go to importing torch; a Ctrl-C there printed Python's traceback."""
    import signal
    import subprocess
    import sys
    import time

    losslab = Path(sys.executable).with_name("losslab")
    started = subprocess.Popen(
        [str(losslab), "analyze", "x^2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Ctrl-C as a terminal delivers it: a parent that ignores SIGINT (a background job) would pass that on
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # torch's shared library is loaded early in `import torch`
            if "libtorch" in Path(f"/proc/{started.pid}/maps").read_text():
                break
            time.sleep(0.005)
        else:
            pytest.fail("torch was not being imported within 60 s")
        started.send_signal(signal.SIGINT)
        out, err = started.communicate(timeout=60)
    finally:
        if started.poll() is None:
            started.kill()
    assert started.returncode == 130, err.decode()[-2000:]
    assert err.decode().strip() == "interrupted" and out == b""
