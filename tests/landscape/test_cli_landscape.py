"""`losslab landscape`, `losslab plot-surface` and `losslab plot surface/contour x.h5`: thin shells over the library."""

from __future__ import annotations

import json

import pytest
import torch
from landscape_helpers import seeded, small_mlp
from typer.testing import CliRunner

from losslab.cli.app import app
from losslab.landscape import load_surface, random_directions, survey
from losslab.objectives.network import NetworkObjective

runner = CliRunner()


def test_demo_survey_writes_a_surface_and_plots_it(tmp_path) -> None:
    out = tmp_path / "moons.h5"
    result = runner.invoke(
        app, ["landscape", "--demo", "moons-mlp", "--steps", "30", "--grid", "5x5", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["provenance"]["directions"] == "filter" and document["provenance"]["data_size"] == 512
    surface = load_surface(out)
    assert surface.complete and surface.shape == (5, 5)
    for picture in ("moons.png", "moons.html"):
        drawn = runner.invoke(app, ["plot-surface", str(out), "--out", str(tmp_path / picture)])
        assert drawn.exit_code == 0, drawn.output
        assert (tmp_path / picture).stat().st_size > 10_000
    # the spelling: a saved surface in place of the formula of `plot surface` / `plot contour`
    for command, picture in (("surface", "moons3d.png"), ("contour", "moonsc.png"), ("surface", "moons2.html")):
        drawn = runner.invoke(app, ["plot", command, str(out), "--out", str(tmp_path / picture)])
        assert drawn.exit_code == 0, drawn.output
        assert (tmp_path / picture).stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["plot", "surface", "missing.h5", "--out", "x.png"], "surface file 'missing.h5' does not exist"),
        (["plot", "contour", "{saved}", "--start", "a=0,b=0", "--out", "x.png"], "apply to formulas"),
        (["plot", "surface", "{saved}", "--out", "x.gif"], "a saved surface is a still"),
        (["plot", "contour", "{saved}", "--levels", "0", "--out", "x.png"], "levels must be a whole number ≥ 2"),
    ],
    ids=["missing", "start-on-a-file", "animation", "levels-of-a-file"],
)
def test_saved_surface_misuse_is_one_line(tmp_path, monkeypatch, args, words) -> None:
    saved = tmp_path / "s.h5"
    assert (
        runner.invoke(
            app, ["landscape", "--demo", "moons-mlp", "--steps", "5", "--grid", "3x3", "--out", str(saved)]
        ).exit_code
        == 0
    )
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [a.format(saved=saved) for a in args])
    assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output


def test_user_model_weights_and_data_equal_the_library(tmp_path, data64, monkeypatch) -> None:
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    model = seeded(small_mlp).double().eval()
    torch.save(model.state_dict(), tmp_path / "w.pt")
    torch.save(data64, tmp_path / "d.pt")
    out = tmp_path / "s.h5"
    args = ["landscape", "--model", "landscape_helpers:small_mlp", "--weights", str(tmp_path / "w.pt"),
            "--data", str(tmp_path / "d.pt"), "--dtype", "float64", "--grid", "3x4", "--range", "-1:1,-2:2",
            "--seed", "4", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    objective = NetworkObjective(model, data64)
    expected = survey(objective, random_directions(objective, seed=4), (3, 4), ((-1, 1), (-2, 2)))
    torch.testing.assert_close(load_surface(out).values["loss"], expected.values["loss"], rtol=1e-12, atol=0)


@pytest.mark.parametrize(("where", "words"), [("missing/s.h5", "folder"), (".", "it is a folder")])
def test_an_unwritable_out_is_one_line_before_any_work(where, words, tmp_path) -> None:
    target = tmp_path / where
    result = runner.invoke(app, ["landscape", "--demo", "moons-mlp", "--grid", "3x3", "--out", str(target)])
    assert result.exit_code == 2 and "cannot write a surface to" in result.output and words in result.output
    assert "Traceback" not in result.output


def test_memory_budget_and_chunk_size_set_the_chunks(tmp_path) -> None:
    """--chunk-size is taken as given; --memory sizes the chunks (fewer points in a smaller budget);
    the values do not depend on the chunking."""
    surveys = {}
    for name, option in (("default", []), ("chunk", ["--chunk-size", "4"]), ("memory", ["--memory", "64KiB"])):
        out = tmp_path / f"{name}.h5"
        args = ["landscape", "--demo", "moons-mlp", "--steps", "5", "--grid", "5x5", "--out", str(out), *option]
        result = runner.invoke(app, [*args, "--no-progress"])
        assert result.exit_code == 0, result.output
        surveys[name] = load_surface(out)
    chunks = {name: s.provenance["chunk_size"] for name, s in surveys.items()}
    assert chunks["chunk"] == 4 and 1 <= chunks["memory"] < chunks["default"]
    for name in ("chunk", "memory"):
        torch.testing.assert_close(surveys[name].values["loss"], surveys["default"].values["loss"], rtol=1e-5, atol=0)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--grid", "5by5"], "--grid '5by5'"),
        (["--range", "-1..1"], "--range '-1..1'"),
        (["--directions", "sideways"], "directions 'sideways'"),
        (["--model", "nomodule"], "package.module:factory"),
        (["--model", "os:nothing", "--data", "digits"], "cannot import"),
        (["--dtype", "float128"], "dtype 'float128'"),
        (["--memory", "lots"], "--memory 'lots' is not a size"),
        (["--memory", "2 parsecs"], "512MiB or 2GiB"),
        (["--memory", "0GiB"], "--memory '0GiB'"),
        (["--chunk-size", "0"], "--chunk-size"),
        (["--range=-inf:inf"], "range -inf:inf is not finite"),
        (["--range=1:1"], "range 1.0:1.0 is empty"),
        (["--range=-1e308:1e308"], "wider than a float can hold"),
        (["--range=-1e39:1e39"], "range -1e+39:1e+39 with 51 points overflows float32"),
        (["--grid", "51x51", "--range=1e6:1.000001e6"], "are not distinct in float32"),
        (["--grid", "100000x100000"], "has 10000000000 points; at most 10000000"),
        (["--model", "os:system", "--data", "digits"], "is a builtin_function_or_method, not a torch.nn.Module class"),
        (["--model", "torch.nn:Linear", "--data", "digits"], "needs arguments (in_features, out_features)"),
        (["--model", "collections:OrderedDict", "--data", "digits"], "is the class OrderedDict"),
        (["--grid", "5", "--demo", "moons-mlp", "--steps", "5", "--directions", "interpolate"], None),
    ],
    ids=[
        "grid",
        "range",
        "directions",
        "model-spec",
        "model-import",
        "dtype",
        "memory-word",
        "memory-unit",
        "memory-zero",
        "chunk-zero",
        "range-infinite",
        "range-empty",
        "range-overflows",
        "range-beyond-float32",
        "range-points-not-distinct",
        "grid-of-10^10-points",
        "model-builtin",
        "model-needs-arguments",
        "model-not-a-module-class",
        "line-ok",
    ],  # fmt: skip
)
def test_bad_options_exit_2_with_one_line(args, words, tmp_path) -> None:
    result = runner.invoke(app, ["landscape", *args, "--out", str(tmp_path / "x.h5"), "--no-progress"])
    if words is None:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output
    assert result.output.strip().count("\n") == 0 and not (tmp_path / "x.h5").exists()


def _unbuildable(**_: object) -> None:
    raise AssertionError("the model was built before the refusal")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--grid", "100000x100000"], "at most 10000000"),
        (["--grid", "2000x2000"], "GB of memory, but only 0.001 GB is free"),
        (["--range=-inf:inf"], "is not finite"),
        (["--out", "{tmp}/notes.txt"], "notes.txt is not a readable HDF5 surface file"),
        (["--out", "{tmp}/notes.txt/s.h5"], "notes.txt' is a file, not a folder"),
        (["--out", "{read_only}/s.h5"], "cannot be written"),
        (["--autocast", "fp8"], "autocast 'fp8' is not one of bfloat16, float16"),
        (["--autocast", "bfloat16", "--method", "fused"], "autocast runs with method loop (or auto), not fused"),
        (["--autocast", "float16", "--directions", "regenerated"], "--autocast is for stored directions"),
        (["--autocast", "bfloat16", "--dtype", "float64"], "give --dtype float32, not float64"),
        (["--directions", "regenerated", "--faithfulness"], "regenerated surveys a line or a plane"),
        (["--directions", "regenerated", "--grid", "3x3x3"], "regenerated surveys a line or a plane"),
        (["--seed", "-1"], "Invalid value for '--seed': Input should be greater than or equal to 0"),
    ],
    ids=[
        "points", "memory", "range", "foreign-file", "file-as-folder", "read-only-folder", "autocast-unknown",
        "autocast-fused", "autocast-regenerated", "autocast-float64", "regenerated-faithfulness", "regenerated-3d",
        "negative-seed",  # -1 was the survey's record for "no seed": the summary lost it
    ],  # fmt: skip
)
def test_refusals_come_before_the_model_is_built(args, words, tmp_path, read_only_folder, monkeypatch) -> None:
    monkeypatch.setattr("losslab.networks.build.network_objective", _unbuildable)
    monkeypatch.setattr("losslab.landscape.limits.free_memory", lambda: 10**6)
    (tmp_path / "notes.txt").write_text("my notes\n")
    args = [a.format(tmp=tmp_path, read_only=read_only_folder) for a in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "s.h5")]
    result = runner.invoke(app, ["landscape", *args, *out, "--no-progress"])
    assert result.exit_code == 2 and words in result.stderr, result.output
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.output
    assert (tmp_path / "notes.txt").read_text() == "my notes\n"


def test_autocast_is_recorded_and_said(tmp_path) -> None:
    out = tmp_path / "bf16.h5"
    args = ["landscape", "--demo", "moons-mlp", "--steps", "5", "--grid", "3x3", "--no-progress", "--out", str(out)]
    result = runner.invoke(app, [*args, "--autocast", "bfloat16"])
    assert result.exit_code == 0, result.output
    assert "evaluated under autocast bfloat16 (θ and the losses in float32)" in result.stdout
    surface = load_surface(out)
    assert surface.provenance["autocast"] == "bfloat16" and surface.provenance["method"] == "loop"
    from losslab.networks.build import network_objective

    objective = network_objective(demo_name="moons-mlp", steps=5, seed=0).objective  # the same demo, float32
    a, b = torch.meshgrid(*surface.coordinates, indexing="ij")
    coords = torch.stack([a.reshape(-1), b.reshape(-1)], dim=1).float()
    exact = objective.values(surface.center.float() + coords @ surface.directions.float()).reshape(3, 3)
    relative = (surface.values["loss"] - exact.double()).abs() / exact.double().abs()
    assert 0 < float(relative.max()) < 1e-2  # bfloat16's 8 significant bits through a small MLP


def test_an_existing_file_is_replaced_only_with_force(tmp_path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    args = ["landscape", "--demo", "moons-mlp", "--steps", "5", "--grid", "3x3", "--no-progress", "--out", str(notes)]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "--force replaces it" in refused.stderr
    assert notes.read_text() == "my notes\n"
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "was replaced (--force)" in forced.stderr and load_surface(notes).complete


def test_resume_with_another_method_is_refused_and_the_file_untouched(tmp_path) -> None:
    out = tmp_path / "s.h5"
    args = ["landscape", "--demo", "moons-mlp", "--steps", "5", "--grid", "3x3", "--no-progress", "--out", str(out)]
    assert runner.invoke(app, [*args, "--method", "vmap"]).exit_code == 0
    before = out.read_bytes()
    refused = runner.invoke(app, [*args, "--method", "fused", "--resume"])
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert f"cannot resume {out}: its method is vmap, this survey's fused" in refused.stderr
    assert out.read_bytes() == before
