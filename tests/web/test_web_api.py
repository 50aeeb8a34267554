"""The JSON API in-process, each answer checked against an independent float64 oracle."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch

from losslab.descent.optimizers import OPTIMIZERS
from losslab.descent.trajectory import STATUSES
from losslab.errors import LosslabError
from losslab.objectives.formula_parser import parse_formula
from losslab.objectives.gallery import ENTRIES
from losslab.web import ServerConfig, create_app, service
from losslab.web import app as web_app

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

BOWL = {"source": "gallery", "name": "case_study_2"}


def bowl_numpy(w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
    """Case Study 2 written out by hand: ½((w0 + w1 − 2)² + (w0 + 2w1 − 2)²)."""
    return 0.5 * ((w0 + w1 - 2) ** 2 + (w0 + 2 * w1 - 2) ** 2)


def strict_json(text: str) -> object:
    """Parse JSON refusing the bare NaN/Infinity tokens Python's json would accept."""

    def refuse(token: str) -> None:
        raise AssertionError(f"bare {token} in the response")

    return json.loads(text, parse_constant=refuse)


def test_gallery_lists_every_surface_seeds_first(client: TestClient) -> None:
    items = client.get("/api/gallery").json()
    assert sorted(i["name"] for i in items) == sorted(e.name for e in ENTRIES)
    families = [i["family"] for i in items]
    assert items[0]["name"] == "case_study_2"
    assert families == sorted(families, key=lambda f: f != "seed"), "seed examples come first"
    assert "double_well" in {i["name"] for i in items if i["family"] == "seed"}


def test_optimizers_offer_every_registry_entry_with_its_default_lr(client: TestClient) -> None:
    items = {o["name"]: o for o in client.get("/api/optimizers").json()}
    assert list(items) == list(OPTIMIZERS)
    for name, item in items.items():
        lr = next(k for k in item["knobs"] if k["name"] == "lr")
        assert lr["log"] and lr["default"] == OPTIMIZERS[name].defaults["lr"]
    assert items["sgd"]["mini_batch"] and not items["gd"]["mini_batch"]
    assert [k["default"] for k in items["adam"]["knobs"] if k["name"] == "betas"] == [0.9, 0.999]


def test_objective_gives_names_domain_and_sympy_mathml(client: TestClient) -> None:
    info = client.post("/api/objective", json={"objective": BOWL}).json()
    assert info["names"] == ["w0", "w1"] and info["dim"] == 2
    assert info["domain"] == [[-1.0, 5.0], [-3.0, 3.0]]
    hessian = info["mathml"]["hessian"]
    assert hessian.count("<mtr>") == 2 and "<mn>5</mn>" in hessian
    assert [p["name"] for p in info["mathml"]["partials"]] == ["w0", "w1"]


def test_surface_equals_the_formula_written_by_hand(client: TestClient) -> None:
    grid = client.post("/api/surface", json={"objective": BOWL, "points": 41}).json()
    x, y = np.array(grid["axes"][0]), np.array(grid["axes"][1])
    np.testing.assert_allclose(x, np.linspace(-1, 5, 41), rtol=0, atol=1e-15)
    expected = bowl_numpy(*np.meshgrid(x, y, indexing="xy"))  # row j is w1 = y[j]
    np.testing.assert_allclose(np.array(grid["values"]), expected, rtol=1e-13, atol=1e-13)
    assert grid["min"] == pytest.approx(expected.min(), abs=1e-13)


def test_curve_for_one_parameter(client: TestClient) -> None:
    spec = {"source": "gallery", "name": "double_well"}
    grid = client.post("/api/surface", json={"objective": spec, "points": 11, "domain": [[-2, 2]]}).json()
    w = np.linspace(-2, 2, 11)
    np.testing.assert_allclose(grid["values"], w**4 - 3.4 * w**2 + 0.5 * w, rtol=1e-13, atol=1e-13)


def test_one_gd_step_from_the_origin_lands_on_04_06(client: TestClient) -> None:
    body = {
        "objective": BOWL,
        "start": [0, 0],
        "steps": 1,
        "optimizers": [{"name": "gd", "hyperparameters": {"lr": 0.1}}],
    }
    run = client.post("/api/race", json=body).json()["runs"][0]
    np.testing.assert_allclose(run["params"][1], [0.4, 0.6], rtol=0, atol=1e-12)
    np.testing.assert_allclose(run["gradients"][0], [-4.0, -6.0], rtol=0, atol=1e-12)  # ∇L(0,0) by hand
    assert run["gradient_norms"][0] == pytest.approx(math.sqrt(52), abs=1e-12)
    assert run["lrs"] == [0.1]


def test_adam_matches_torch_optim_run_by_hand(client: TestClient) -> None:
    body = {
        "objective": BOWL,
        "start": [0.5, -1],
        "steps": 5,
        "optimizers": [{"name": "adam", "hyperparameters": {"lr": 0.05}}],
    }
    run = client.post("/api/race", json=body).json()["runs"][0]
    theta = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([theta], lr=0.05)
    for k in range(5):
        opt.zero_grad()
        w0, w1 = theta
        (0.5 * ((w0 + w1 - 2) ** 2 + (w0 + 2 * w1 - 2) ** 2)).backward()
        opt.step()
        np.testing.assert_allclose(run["params"][k + 1], theta.detach().numpy(), rtol=0, atol=1e-12)


def test_race_runs_every_optimizer_from_the_same_start(client: TestClient) -> None:
    runners = [{"name": name} for name in OPTIMIZERS]
    body = {
        "objective": {"source": "gallery", "name": "rosenbrock"},
        "start": [-1, 1],
        "steps": 20,
        "optimizers": runners,
    }
    race = client.post("/api/race", json=body).json()
    assert [r["optimizer"] for r in race["runs"]] == list(OPTIMIZERS)
    for run in race["runs"]:
        assert run["params"][0] == [-1.0, 1.0]
        assert run["diagnosis"]["status"] in set(STATUSES)
        assert len(run["losses"]) == len(run["params"]) == len(run["gradient_norms"])


def test_diverging_gd_is_diagnosed_with_the_stability_limit(client: TestClient) -> None:
    spec = {"source": "formula", "text": "w**2 - 4*w + 5"}
    body = {
        "objective": spec,
        "start": [0],
        "steps": 30,
        "optimizers": [{"name": "gd", "hyperparameters": {"lr": 1.5}}],
    }
    run = client.post("/api/race", json=body).json()["runs"][0]
    assert run["diagnosis"]["status"] == "diverged"
    assert "2/λmax = 1" in run["diagnosis"]["reason"]


def test_hessian_at_a_point_and_its_exact_taylor_model(client: TestClient) -> None:
    out = client.post("/api/hessian", json={"objective": BOWL, "point": [1, 1], "radius": 0.5, "points": 5}).json()
    assert out["hessian"] == [[2.0, 3.0], [3.0, 5.0]]
    np.testing.assert_allclose(out["eigenvalues"], [(7 - math.sqrt(45)) / 2, (7 + math.sqrt(45)) / 2], atol=1e-12)
    assert out["kind"] == "minimum"
    t = out["taylor"]
    expected = bowl_numpy(
        *np.meshgrid(t["axes"][0], t["axes"][1], indexing="xy")
    )  # a quadratic is its own Taylor model
    np.testing.assert_allclose(np.array(t["values"]), expected, rtol=1e-12, atol=1e-12)


def test_saddle_curvature_is_named(client: TestClient) -> None:
    out = client.post(
        "/api/hessian", json={"objective": {"source": "gallery", "name": "saddle"}, "point": [0, 0]}
    ).json()
    assert out["kind"] == "saddle" and out["eigenvalues"] == [-2.0, 2.0]


def test_analysis_gives_kinds_convexity_and_max_stable_lr(client: TestClient) -> None:
    a = client.post("/api/analyze", json={"objective": BOWL}).json()
    assert a["gradient"] == {"w0": "2*w0 + 3*w1 - 4", "w1": "3*w0 + 5*w1 - 6"}
    assert [(p["kind"], p["point"]) for p in a["stationary_points"]] == [("minimum", {"w0": 2.0, "w1": 0.0})]
    assert a["convexity"]["verdict"] == "convex"
    assert a["max_stable_lr"] == pytest.approx(4 / (7 + math.sqrt(45)), rel=1e-12)
    assert a["mathml"]["loss"].startswith("<mrow>") and "<msub><mi>w</mi><mi>0</mi></msub>" in a["mathml"]["loss"]


def test_every_data_model_is_analyzed(client: TestClient) -> None:
    for model in ("line_origin", "line", "quadratic"):  # the quadratic's 3×3 Hessian once answered 500
        spec = {"source": "data", "model": model, "synthetic": "case_study_1", "n": 5}
        response = client.post("/api/analyze", json={"objective": spec})
        assert response.status_code == 200, response.text
        assert response.json()["convexity"]["verdict"] == "convex"


def test_non_finite_numbers_are_encoded_as_strings(client: TestClient) -> None:
    spec = {"source": "formula", "text": "log(w)"}
    response = client.post("/api/surface", json={"objective": spec, "points": 3, "domain": [[-1, 1]]})
    values = strict_json(response.text)["values"]  # type: ignore[index]
    assert values == ["NaN", "-Infinity", 0.0]  # log(−1), log(0), log(1)
    at_zero = strict_json(client.post("/api/hessian", json={"objective": spec, "point": [0]}).text)
    assert at_zero["value"] == "-Infinity" and at_zero["kind"] == "undefined"  # type: ignore[index]


BAD_FORMULAS = {
    "syntax": "w0 +* 2",
    "unknown function": "foo(w)",
    "attribute access": "w.__class__",
    "import": "__import__('os').system('true')",
    "root of a negative": "w**2 + (-8)**(1/3)",
    "no variables": "2 + 3",
}


@pytest.mark.parametrize("text", BAD_FORMULAS.values(), ids=BAD_FORMULAS.keys())
def test_bad_formula_is_422_with_the_parsers_message(client: TestClient, text: str) -> None:
    with pytest.raises(LosslabError) as parser:
        from losslab.objectives.objective import formula

        formula(text)
    for path in ("/api/objective", "/api/analyze"):
        response = client.post(path, json={"objective": {"source": "formula", "text": text}})
        assert response.status_code == 422
        assert response.json()["error"] == str(parser.value)


def test_syntax_error_reports_the_column(client: TestClient) -> None:
    body = client.post("/api/objective", json={"objective": {"source": "formula", "text": "w0 +* 2"}}).json()
    assert body["column"] == 5
    with pytest.raises(LosslabError, match="column 5"):
        parse_formula("w0 +* 2")


def test_unknown_gallery_name_suggests_the_closest(client: TestClient) -> None:
    body = client.post("/api/objective", json={"objective": {"source": "gallery", "name": "rosenbrok"}}).json()
    assert "did you mean 'rosenbrock'" in body["error"]


def test_pasted_points_fit_the_closed_form_slope(client: TestClient) -> None:
    spec = {"source": "data", "model": "line_origin", "points": "x,y\n1,2.1\n2,3.9\n3,6.1\n4,8.0\n5,9.9"}
    x, y = np.array([1, 2, 3, 4, 5.0]), np.array([2.1, 3.9, 6.1, 8.0, 9.9])
    slope = (x @ y) / (x @ x)  # Case Study 1's m* = Σxy / Σx²
    body = {
        "objective": spec,
        "start": [0],
        "steps": 300,
        "optimizers": [{"name": "gd", "hyperparameters": {"lr": 0.02}}],
    }
    run = client.post("/api/race", json=body).json()["runs"][0]
    assert run["params"][-1][0] == pytest.approx(slope, abs=1e-9)
    info = client.post("/api/objective", json={"objective": spec}).json()
    assert info["data"] == {"x": x.tolist(), "y": y.tolist()} and info["names"] == ["w"]


def test_sgd_takes_mini_batches_on_data(client: TestClient) -> None:
    spec = {"source": "data", "model": "line", "synthetic": "linear", "n": 40, "seed": 1}
    body = {"objective": spec, "start": [0, 0], "steps": 50, "optimizers": [{"name": "sgd", "batch_size": 8}]}
    run = client.post("/api/race", json=body).json()["runs"][0]
    assert run["hyperparameters"]["batch_size"] == 8
    assert "mini-batches of 8 of 40 samples" in run["notes"][0]


def test_bad_pasted_points_name_the_line(client: TestClient) -> None:
    spec = {"source": "data", "model": "line", "points": "1,2\n3,four\n5,6"}
    body = client.post("/api/objective", json={"objective": spec}).json()
    assert body["error"].startswith("line 2 ('3,four')")


def test_three_parameter_model_has_no_surface_but_races(client: TestClient) -> None:
    spec = {"source": "data", "model": "quadratic", "synthetic": "quadratic", "n": 20}
    response = client.post("/api/surface", json={"objective": spec})
    assert response.status_code == 422 and "1 or 2 parameters" in response.json()["error"]
    body = {"objective": spec, "start": [0, 0, 0], "steps": 5, "optimizers": [{"name": "adam"}]}
    assert client.post("/api/race", json=body).status_code == 200


def test_page_and_plotly_are_served_locally(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<script type="module" src="/static/app.js">' in page.text
    assert "cdn" not in page.text.lower()
    js = client.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and "plotly" in js.text[:2000].lower()
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and "error" in missing.json()


def test_openapi_schema_states_the_shapes(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/api/race", "/api/surface", "/api/hessian", "/api/analyze", "/api/landscape/jobs"} <= set(schema["paths"])
    assert "RaceResponse" in schema["components"]["schemas"]


def test_fit_is_the_library_model_at_each_step(client: TestClient) -> None:
    from losslab.objectives.data_models import model_objective

    spec = {"source": "data", "model": "line", "synthetic": "case_study_1", "n": 5}
    params = [[0.0, 0.0], [0.5, 1.5], ["NaN", "Infinity"]]
    out = client.post("/api/fit", json={"objective": spec, "params": params, "points": 7}).json()
    loss = model_objective([1.0, 2.0, 3.0, 4.0, 5.0], [2.1, 3.9, 6.1, 8.0, 9.9], "line")
    x = torch.tensor(out["x"], dtype=torch.float64)
    assert out["x"][0] == pytest.approx(1 - 0.32) and out["x"][-1] == pytest.approx(5 + 0.32) and len(x) == 7
    for theta, row in zip(params[:2], out["y"][:2], strict=True):
        assert row == loss.predict(theta, {"x": x}).tolist()
    assert set(out["y"][2]) <= {"NaN", "Infinity", "-Infinity"}  # a diverged step stays visible as such
    wrong = client.post("/api/fit", json={"objective": BOWL, "params": [[0.0, 0.0]]})
    assert wrong.status_code == 422 and "data objective with one input" in wrong.json()["error"]
    big = client.post("/api/fit", json={"objective": spec, "params": [[0.0, 0.0]], "points": 402})
    assert big.status_code == 422 and big.json()["bound"] == "grid_points"


@pytest.mark.parametrize("warm", [True, False])
def test_start_up_warms_the_server_unless_told_not_to(warm: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    calls: list[None] = []
    monkeypatch.setattr(web_app, "warm_up", lambda: calls.append(service.warm_up()))  # the real one, counted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    with TestClient(create_app(ServerConfig(torch_threads=None, warm_up=warm, isolate=False))) as started:
        assert started.get("/api/catalog").status_code == 200
    assert len(calls) == int(warm)



def test_every_model_and_data_set_the_catalog_lists_is_accepted_by_the_schema(client: TestClient) -> None:
    from losslab.objectives import data_models
    from losslab.web.schemas import DataSource

    catalog = client.get("/api/catalog").json()
    assert [m["name"] for m in catalog["models"]] == list(data_models.MODELS)
    assert catalog["synthetic"] == list(data_models.SYNTHETIC)
    for model in catalog["models"]:
        for synthetic in catalog["synthetic"]:
            spec = DataSource.model_validate({"source": "data", "model": model["name"], "synthetic": synthetic})
            assert (spec.model, spec.synthetic) == (model["name"], synthetic)
