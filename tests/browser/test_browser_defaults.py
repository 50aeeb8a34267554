"""The explorer's findings of issue 15, each pinned as a person meets it: a click that must count, a panel
that must follow the loss, an axis title, data that fits the model, defaults that suit the loss, labels,
the marker language and its legend, a toolbar off the titles, the formula as read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from explorer_page import check_consistent, open_page, state_url, wait_idle

BOWL = {"gallery": "case_study_2", "runners": [{"name": "gd", "hyper": {"lr": 0.1}}], "steps": 100}
WATCH_STEPS = """() => { window.__labels = []; new MutationObserver(() => window.__labels.push(
  document.getElementById('step-label').textContent)).observe(document.getElementById('step-label'),
  { childList: true, characterData: true, subtree: true }); }"""


def test_a_step_clicked_right_after_editing_a_box_counts(browser: Any, server_url: str) -> None:
    page = open_page(browser, state_url(server_url, **BOWL))
    wait_idle(page)
    assert page.text_content("[data-testid='theta-0']") == "(0, 0)"
    # the click on ▶| leaves the box: that starts a new race, which used to reset the page to step 0
    page.fill("[data-testid='knob-0-lr']", "0.05")
    page.click("#btn-forward")
    wait_idle(page)
    assert page.text_content("#step-label") == "step 1 of 100"
    assert page.text_content("[data-testid='theta-0']") == "(0.2, 0.3)"  # one step of lr 0.05 from (0, 0)
    assert page.text_content("#numbers .col-name") == "gd (lr 0.05)"
    check_consistent(page, server_url)

    # Steps = 8, then Play at once, with the new race held back until playback runs: it must not snap back
    page.evaluate(WATCH_STEPS)
    held: list[Any] = []
    page.route("**/api/race", lambda route: held.append(route))
    page.fill("#steps-input", "8")
    page.click("#btn-play")
    page.wait_for_function("window.__labels.length >= 2")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(20)
    # the old 100-step race plays meanwhile (8 steps a second): it stops at the 8 asked for, not at 16 to go back
    # to 8 when the new race comes (seen when the server was slow)
    page.wait_for_timeout(2000)
    assert max(int(text.split()[1]) for text in page.evaluate("window.__labels")) <= 8
    held[0].continue_()
    page.unroute("**/api/race")
    page.wait_for_function("document.getElementById('step-label').textContent === 'step 8 of 8'", timeout=15_000)
    steps = [int(text.split()[1]) for text in page.evaluate("window.__labels")]
    assert steps == sorted(steps), f"the step went back during playback: {steps}"
    wait_idle(page)
    check_consistent(page, server_url)
    page.close()


def test_a_start_typed_then_a_click_on_the_map_the_click_wins(browser: Any, server_url: str) -> None:
    """Found by the random clicker: the typed box's change arrived after the click's start, and won."""
    page = open_page(browser, state_url(server_url, **BOWL), 420, 900)
    wait_idle(page)
    page.fill("[aria-label='start w1']", "-0.46")  # typed, not left: the map takes the mouse without focus
    page.locator("#plot-main").scroll_into_view_if_needed()
    box = page.locator("#plot-main .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.3)
    page.wait_for_function("window.losslab.state.start[0] !== 0")
    wait_idle(page)
    start = page.evaluate("window.losslab.state.start")
    assert start[1] > 0 and [float(page.input_value(f"[aria-label='start {n}']")) for n in ("w0", "w1")] == start
    check_consistent(page, server_url)
    page.close()


def test_a_formula_typed_while_the_previous_one_loads(browser: Any, server_url: str) -> None:
    """Found by the random clicker: the requests of a loss being loaded named the formula typed meanwhile
    (a 2-D loss got the surface of a 1-D one: "row.map is not a function")."""
    page = open_page(browser, state_url(server_url, source="formula", formula="x**2 + 3*y**2"))
    wait_idle(page)
    held: list[Any] = []
    page.route("**/api/objective", lambda route: held.append(route))
    page.fill("#formula-input", "(x - 1)**2 + y**2")  # a new 2-D loss: its objective is held…
    page.wait_for_function("window.losslab.pending().requests.includes('/api/objective')")
    page.fill("#formula-input", "x^2 - 4x + 5")  # …while the box already holds a 1-D one
    held[0].continue_()  # the 2-D loss goes on: its surface, suggestion and race must still be about it
    page.unroute("**/api/objective")
    wait_idle(page)
    assert page.errors == []
    assert page.text_content("#objective-title") == "L(x) — x^2 - 4x + 5"
    check_consistent(page, server_url)
    page.close()


def test_the_curvature_panel_follows_the_loss(browser: Any, server_url: str) -> None:
    page = open_page(browser, state_url(server_url, **BOWL))
    wait_idle(page)
    box = page.locator("#plot-main .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    page.wait_for_function("document.getElementById('inspector-body').dataset.dim === '2'")
    assert page.locator("#inspector-body .matrix tr").count() == 2
    # a hover whose answer arrives after the switch to a 1-D loss must not fill the panel either
    held: list[Any] = []
    page.route("**/api/hessian", lambda route: held.append(route))
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6)
    page.wait_for_function("window.losslab.idle() === false")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(20)
    page.select_option("#gallery-select", "double_well")
    page.wait_for_function("document.getElementById('objective-title').textContent.includes('double well')")
    for route in held:
        try:
            route.continue_()
        except Exception:  # noqa: BLE001 - Playwright refuses to continue a request the page aborted
            pass
    page.unroute("**/api/hessian")
    wait_idle(page)
    assert page.get_attribute("#inspector-body", "data-dim") == ""
    assert "curve" in page.text_content("#inspector-body") and page.locator("#inspector-body .matrix").count() == 0
    curve = page.locator("#plot-main .nsewdrag").first.bounding_box()
    for fraction in (0.3, 0.35, 0.4):  # Plotly reports a hover near the curve's points
        page.mouse.move(curve["x"] + curve["width"] * fraction, curve["y"] + curve["height"] * 0.5)
        page.wait_for_timeout(200)
    page.wait_for_function("document.getElementById('inspector-body').dataset.dim === '1'")
    assert page.locator("#inspector-body .matrix tr").count() == 1
    check_consistent(page, server_url)
    assert page.errors == []
    page.close()


def loss_axis_title(page: Any) -> str:
    return str(page.evaluate("document.getElementById('plot-loss').layout.yaxis.title.text"))


def test_the_loss_axis_says_why_it_is_linear(browser: Any, server_url: str) -> None:
    state = {"source": "formula", "formula": "0*w", "start": [1.0], "runners": [{"name": "gd", "hyper": {"lr": 0.1}}]}
    page = open_page(browser, state_url(server_url, **state, steps=5))
    wait_idle(page)
    assert loss_axis_title(page) == "L (every L = 0)"  # it said "linear: some L < 0"
    page.check("input[name='source'][value='gallery']")
    page.select_option("#gallery-select", "double_well")  # L < 0 near its minima
    wait_idle(page)
    assert loss_axis_title(page) == "L (linear: some L < 0)"
    page.select_option("#gallery-select", "case_study_2")
    wait_idle(page)
    assert loss_axis_title(page).startswith("L (log scale")
    assert page.errors == []
    page.close()


def test_a_logistic_classifier_gets_labelled_data_and_a_mismatch_says_so(
    browser: Any, server_url: str, shots: Path
) -> None:
    page = open_page(browser, server_url)
    page.check("input[name='source'][value='data']")
    page.wait_for_function("document.getElementById('objective-title').textContent.includes('line')")
    page.select_option("#model-select", "logistic")
    page.wait_for_function("document.getElementById('objective-title').textContent.includes('logistic')")
    assert page.input_value("#synthetic-select") == "labels"
    assert "labels" in page.text_content("#data-note") and page.text_content("#data-error") == ""
    wait_idle(page)
    check_consistent(page, server_url)
    page.select_option("#synthetic-select", "case_study_1")  # the numbers 2.1 … 9.9 are no classes
    page.wait_for_function("document.getElementById('data-error').textContent.length > 0")
    message = page.text_content("#data-error")
    assert "labels y = 0 or 1" in message and "'labels'" in message
    assert page.text_content("#objective-title") == "No loss to show"  # not the line's title any more
    wait_idle(page)
    check_consistent(page, server_url)
    page.screenshot(path=str(shots / "logistic-mismatch-1280x800.png"))
    page.select_option("#model-select", "line")  # a regression fits these numbers: the title follows the model
    page.wait_for_function("document.getElementById('objective-title').textContent.includes('line  y')")
    assert page.input_value("#synthetic-select") == "case_study_1" and page.text_content("#data-error") == ""
    wait_idle(page)
    check_consistent(page, server_url)
    assert page.errors == []
    page.close()


def play_to_the_end(page: Any) -> None:
    page.fill("#speed-input", "60")
    page.dispatch_event("#speed-input", "input")
    page.click("#btn-play")
    page.wait_for_function("window.losslab.live.playing === false", timeout=20_000)


def test_defaults_suit_the_loss(browser: Any, server_url: str, shots: Path) -> None:
    page = open_page(browser, server_url)
    wait_idle(page)
    # Data + model's default: line on Case Study 1 — lr 0.1 diverged at step 23 and the 3-D view rescaled to 7·10⁷
    page.check("input[name='source'][value='data']")
    page.wait_for_function("document.getElementById('objective-title').textContent.includes('line')")
    wait_idle(page)
    assert page.input_value("[data-testid='knob-0-lr']") == "0.04"
    hint = page.text_content("[data-testid='lr-hint-0']")
    assert "2/λmax 0.08452" in hint and "suggested 0.04" in hint
    play_to_the_end(page)
    assert "diverged" not in page.text_content("#numbers")
    z_range = "document.getElementById('plot-surface').layout.scene.zaxis.range"
    z_top = page.evaluate(f"{z_range}[1]")
    assert z_top < 1e3
    # the bowl's 0–70 got eight labels up the foreshortened L axis, run into one another: five at most now
    scene = "document.getElementById('plot-surface').layout.scene"
    ticks = page.evaluate(f"['xaxis', 'yaxis', 'zaxis'].map((a) => {scene}[a].nticks)")
    assert ticks == [6, 6, 5]
    check_consistent(page, server_url)
    page.screenshot(path=str(shots / "data-default-1280x800.png"))
    # the old default, lr 0.1, diverges: the path leaves the box, the 3-D view keeps its scale (it went to 7·10⁷)
    page.fill("[data-testid='knob-0-lr']", "0.1")
    page.locator("[data-testid='knob-0-lr']").blur()
    wait_idle(page)
    play_to_the_end(page)
    assert "diverged" in page.text_content("[data-testid='diagnosis-0']")
    assert page.evaluate(f"{z_range}[1]") == z_top
    check_consistent(page, server_url)

    # the cone: not its kink, where both optimizers "diverged at step 0"
    page.check("input[name='source'][value='gallery']")
    page.select_option("#gallery-select", "cone")
    page.wait_for_function("document.getElementById('objective-title').textContent.includes('cone')")
    wait_idle(page)
    start = [float(page.input_value(f"[aria-label='start {n}']")) for n in ("w0", "w1")]
    assert start != [0.0, 0.0]
    play_to_the_end(page)
    assert "step 0" not in page.text_content("#numbers") and "diverged" not in page.text_content("#numbers")

    # Himmelblau: lr 0.1 does not carry over from another loss
    page.locator("[data-testid='knob-0-lr']").fill("0.1")
    page.locator("[data-testid='knob-0-lr']").blur()
    wait_idle(page)
    page.select_option("#gallery-select", "himmelblau")
    page.wait_for_function("document.getElementById('objective-title').textContent.includes('Himmelblau')")
    wait_idle(page)
    assert float(page.input_value("[data-testid='knob-0-lr']")) < 0.1
    play_to_the_end(page)
    assert "diverged" not in page.text_content("#numbers")
    # an added optimizer comes with the rate that suits this loss; a click on the suggestion takes it
    page.select_option("#optimizer-select", "gd")
    page.click("#add-optimizer")
    assert page.input_value("[data-testid='knob-2-lr']") == page.input_value("[data-testid='knob-0-lr']")
    page.fill("[data-testid='knob-2-lr']", "0.5")
    page.locator("[data-testid='knob-2-lr']").blur()
    assert "above 2/λmax" in page.text_content("[data-testid='lr-hint-2']")
    page.click("[data-testid='lr-hint-2'] button")
    assert page.input_value("[data-testid='knob-2-lr']") == page.input_value("[data-testid='knob-0-lr']")
    wait_idle(page)
    check_consistent(page, server_url)
    assert page.errors == []
    page.close()


def test_labels_markers_legend_and_the_formula_as_read(browser: Any, server_url: str, shots: Path) -> None:
    page = open_page(browser, state_url(server_url, gallery="himmelblau"))
    wait_idle(page)
    labels = page.eval_on_selector_all("#gallery-select option", "options => options.map((o) => o.textContent)")
    assert "Styblinski-Tang function (2-D)" in labels and not any("(2-D) (2-D)" in label for label in labels)
    # one marker language: the minima are stars (as in the CLI's pictures), the start a white circle
    symbols = page.evaluate("""Object.fromEntries(document.getElementById('plot-main').data
      .filter((t) => t.mode === 'markers' && t.name).map((t) => [t.name, t.marker.symbol]))""")
    assert symbols == {"minimum": "star", "maximum": "triangle-up", "saddle point": "x"}
    start = page.evaluate("""document.getElementById('plot-main').layout.shapes
      .filter((s) => s.type === 'circle' && s.fillcolor === '#fff').map((s) => [s.xanchor, s.yanchor])""")
    assert start == [page.evaluate("window.losslab.state.start")]
    legend = page.eval_on_selector_all("#marker-legend li", "items => items.map((i) => i.dataset.mark)")
    assert legend == ["start", "minimum", "maximum", "saddle", "step"]
    # the same marks on the 3-D surface: each kind's glyph at (θ, L), 1.5 % of L's range above it (not buried)
    glyphs = page.evaluate("""document.getElementById('plot-surface').data.filter((t) => t.mode === 'text')
      .map((t) => [t.name, t.text, t.x, t.y, t.z, t.customdata])""")
    spread = page.evaluate("window.losslab.live.surface.max - window.losslab.live.surface.min")
    assert {name: set(text) for name, text, *_ in glyphs} == {"minimum": {"★"}, "maximum": {"▲"}, "saddle point": {"✖"}}
    assert sum(len(xs) for _, _, xs, *_ in glyphs) == 9
    for _, _, xs, ys, zs, values in glyphs:
        for x, y, z, value in zip(xs, ys, zs, values, strict=True):
            assert abs(value - ((x * x + y - 11) ** 2 + (x + y * y - 7) ** 2)) < 1e-9  # Himmelblau's closed form
            assert abs(z - value - 0.015 * spread) < 1e-9 * spread
    page.locator("#plot-surface").screenshot(path=str(shots / "surface3d-himmelblau-1280x800.png"))
    page.select_option("#gallery-select", "cone")
    wait_idle(page)
    assert page.eval_on_selector_all("#marker-legend li", "items => items.map((i) => i.dataset.mark)") == [
        "start", "kink", "step"]  # fmt: skip
    page.screenshot(path=str(shots / "legend-cone-1280x800.png"))

    page.check("input[name='source'][value='formula']")  # a ring of minima is drawn along itself, not as a star
    page.fill("#formula-input", "(x^2+y^2-1)^2")
    wait_idle(page)
    assert page.eval_on_selector_all("#marker-legend li", "items => items.map((i) => i.dataset.mark)") == [
        "start", "curve:minimum", "maximum", "step"]  # fmt: skip
    ring = page.evaluate("""document.getElementById('plot-main').data
      .filter((t) => t.name === 'minima (a line or curve)' && t.hovertemplate).map((t) => [t.x, t.y])""")
    assert len(ring) == 1 and len(ring[0][0]) >= 20
    assert all(abs(x * x + y * y - 1) < 1e-9 for x, y in zip(*ring[0], strict=True))
    (ring3d,) = page.evaluate("""document.getElementById('plot-surface').data
      .filter((t) => t.name === 'minima (a line or curve)').map((t) => [t.x, t.y, t.z])""")
    assert ring3d[:2] == ring[0] and len(set(ring3d[2])) == 1  # along the map's ring, at one height: L = 0 lifted
    page.screenshot(path=str(shots / "legend-ring-1280x800.png"))
    page.fill("#formula-input", "max(0, x^2+y^2-1)")  # a flat region of minima is shaded, not starred at a point
    wait_idle(page)
    assert page.eval_on_selector_all("#marker-legend li", "items => items.map((i) => i.dataset.mark)") == [
        "start", "region:minimum", "step"]  # fmt: skip
    (region,) = page.evaluate("""document.getElementById('plot-main').data
      .filter((t) => t.name === 'minima (a flat region)').map((t) => [t.x, t.y, t.z])""")
    xs, ys, inside = region
    assert inside == [[int(x * x + y * y <= 1) for x in xs] for y in ys]  # the disc, exactly: L = 0 there
    edge = page.evaluate("document.getElementById('plot-surface').data[0].contours.z")  # outlined on the 3-D surface
    spread = page.evaluate("window.losslab.live.surface.max - window.losslab.live.surface.min")
    assert edge["show"] and 0 < edge["start"] <= 2e-8 * spread  # just above L = 0, where the surface leaves it
    assert edge["start"] < edge["end"] < edge["start"] + edge["size"]  # that one level only
    page.screenshot(path=str(shots / "legend-disc-1280x800.png"))

    page.fill("#formula-input", "x^2 - 4x + 5")
    wait_idle(page)
    understood = page.evaluate("window.losslab.live.info.understood")
    if understood is not None:  # the server sends the parser's reading
        assert page.text_content("#formula-understood") == f"read as: {understood}" == "read as: x**2 - 4*x + 5"
    page.fill("#formula-input", "x**2 - 4*x + 5")
    wait_idle(page)
    assert page.text_content("#formula-understood") == ""  # read as typed: nothing to say
    assert page.errors == []
    page.close()


def overlaps(a: dict[str, float] | None, b: dict[str, float] | None) -> bool:
    if not a or not b or not a["width"] or not b["width"]:
        return False
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])  # fmt: skip


def test_the_toolbar_leaves_titles_and_legends_alone(browser: Any, server_url: str, shots: Path) -> None:
    for width, height in ((1280, 800), (420, 900)):
        page = open_page(browser, state_url(server_url, source="data"), width, height)
        wait_idle(page)
        for plot in ("plot-main", "plot-surface", "plot-loss", "plot-data"):
            page.hover(f"#{plot}")  # Plotly shows its toolbar under the mouse
            toolbar = page.locator(f"#{plot} .modebar").bounding_box()
            assert toolbar, f"{plot} has no toolbar at {width}px"
            for part in (".gtitle", ".legend"):
                for box in [page.locator(f"#{plot} {part}").nth(i).bounding_box()
                            for i in range(page.locator(f"#{plot} {part}").count())]:  # fmt: skip
                    assert not overlaps(toolbar, box), f"the toolbar covers {plot}'s {part} at {width}px"
        page.screenshot(path=str(shots / f"toolbar-{width}x{height}.png"))
        assert page.errors == []
        page.close()


def test_a_line_of_minima_is_one_row_with_its_equations(browser: Any, server_url: str, shots: Path) -> None:
    page = open_page(browser, state_url(server_url, source="formula", formula="(x - y)^2", steps=20))
    wait_idle(page)
    shown = page.locator("[data-testid='stationary-set']")
    assert shown.count() == 1 and shown.text_content() == "x = y, y free"
    assert "line or curve" in page.text_content("#analysis")
    page.locator("#analysis").screenshot(path=str(shots / "analysis_line_of_minima.png"))
    assert not page.errors


def test_a_flat_region_of_minima_is_named_so_and_its_derivatives_read_as_in_a_textbook(
    browser: Any, server_url: str, shots: Path
) -> None:
    """max(0, 1 − x − y), a hinge: its minima fill a half-plane, which the row called "a plane or surface of points";
    its Hessian printed SymPy's "diracdelta(...)" and its gradient Θ(..., 1/2)."""
    page = open_page(browser, state_url(server_url, source="formula", formula="max(0, 1 - x - y)", steps=5))
    wait_idle(page)
    analysis = page.text_content("#analysis")
    assert page.locator("[data-testid='stationary-set']").text_content() == "-4 ≤ x ≤ 5, -4 ≤ y ≤ 5"
    assert "(a flat region of points)" in analysis and "it fills" in analysis
    assert "diracdelta" not in analysis and "δ" in analysis
    assert page.locator("#analysis .partials mfrac").count() == 0  # Θ(1 - x - y), not Θ(1 - x - y, 1/2)
    page.locator("#analysis").screenshot(path=str(shots / "analysis_flat_region.png"))
    assert not page.errors


def test_greek_parameters_are_labelled_as_the_student_typed_them(browser: Any, server_url: str) -> None:
    """θ₀ is read as theta0 (the API's name); the title, the axes, the hover and the start boxes said 'theta0'."""
    page = open_page(browser, state_url(server_url, source="formula", formula="(θ₀ - 1)² + 3λ²"))
    wait_idle(page)
    assert page.text_content("#objective-title").startswith("L(λ, θ₀) — ")
    layout = page.evaluate("document.getElementById('plot-main').layout")
    titles = {layout["xaxis"]["title"]["text"], layout["yaxis"]["title"]["text"]}
    assert titles == {"θ₀", "λ"}
    labels = page.locator("#start-inputs label").all_text_contents()
    assert sorted(label.strip() for label in labels) == ["θ₀", "λ"]
    hover = page.evaluate("document.getElementById('plot-main').data[0].hovertemplate")
    assert "θ₀=" in hover and "λ=" in hover
    assert page.errors == []
    page.close()
