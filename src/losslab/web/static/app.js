// losslab explorer: the page draws and animates; every number comes from the JSON API.
/* global Plotly */

const COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];
const KIND_MARK = { minimum: "circle", maximum: "triangle-up", saddle: "x", degenerate: "diamond" };
const $ = (id) => document.getElementById(id);

const state = {
  source: "gallery",
  gallery: "case_study_2",
  formula: "(w0 - 1)**2 + 3*(w1 + 2)**2",
  data: { model: "line", synthetic: "case_study_1", points: "" },
  start: null,
  runners: [{ name: "gd", hyper: { lr: 0.1 } }, { name: "momentum", hyper: { lr: 0.01, momentum: 0.9 } }],
  steps: 100,
  speed: 8,
};
const live = { info: null, surface: null, race: null, analysis: null, step: 0, playing: false, timer: null,
  optimizers: [], catalog: null, taylor: null, version: 0, dataRun: 0 };
const GIF_FRAMES = 30; // each frame is a full matplotlib drawing on the server (~0.2 s)

// ---- numbers and requests ---------------------------------------------------------------
const num = (v) => (typeof v === "string" ? Number(v) : v); // "Infinity", "-Infinity", "NaN" → numbers
function fmt(v) {
  v = num(v);
  if (v === null || v === undefined) return "—";
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a < 1e-4 || a >= 1e6) return v.toExponential(3);
  return String(Number(v.toPrecision(6)));
}
const vec = (xs) => `(${xs.map(fmt).join(", ")})`;
const plottable = (v) => { v = num(v); return Number.isFinite(v) ? v : null; };

class ApiError extends Error {
  constructor(body, status) { super(body.error || `HTTP ${status}`); this.body = body; this.status = status; }
}
const post = (body, signal) => ({ method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal });
async function api(path, body, signal) {
  const response = await fetch(path, body === undefined ? { signal } : post(body, signal));
  const json = await response.json();
  if (!response.ok) throw new ApiError(json, response.status);
  return json;
}

// The newest request on a channel ("race", "surface", …) wins: starting one aborts the one before
// (the server then stops that work), and an answer that arrives after a newer request started is
// dropped by its number. Both end in a StaleAnswer, which callers ignore.
class StaleAnswer extends Error { constructor() { super("superseded by a newer request"); this.name = "AbortError"; } }
const isStale = (error) => error instanceof Error && error.name === "AbortError";
const channels = {};
let requestCount = 0;
async function latest(channel, path, body) {
  const mine = { id: ++requestCount, controller: new AbortController() };
  if (channels[channel]) channels[channel].controller.abort();
  channels[channel] = mine;
  try {
    const answer = await api(path, body, mine.controller.signal);
    if (channels[channel].id !== mine.id) throw new StaleAnswer();
    return answer;
  } catch (error) {
    throw channels[channel].id !== mine.id ? new StaleAnswer() : error;
  }
}
function cancel(channel) {
  if (channels[channel]) channels[channel].controller.abort();
  channels[channel] = { id: ++requestCount, controller: new AbortController() };
}
function say(message, isError = false) {
  const el = $("status");
  el.textContent = message;
  el.className = isError ? "error" : "";
}

function objectiveSpec() {
  if (state.source === "gallery") return { source: "gallery", name: state.gallery };
  if (state.source === "formula") return { source: "formula", text: state.formula };
  const d = state.data;
  return d.synthetic === "pasted"
    ? { source: "data", model: d.model, points: d.points }
    : { source: "data", model: d.model, synthetic: d.synthetic, n: 30 };
}

// ---- URL state ------------------------------------------------------------------------------
function saveUrl() {
  history.replaceState(null, "", "#" + encodeURIComponent(JSON.stringify(state)));
}
function loadUrl() {
  if (location.hash.length < 2) return;
  try {
    Object.assign(state, JSON.parse(decodeURIComponent(location.hash.slice(1))));
  } catch (error) {
    say(`The link's state could not be read (${error.message}); starting fresh.`, true);
  }
}

// ---- the objective ----------------------------------------------------------------------------
async function loadObjective() {
  const version = ++live.version;
  let info;
  try {
    info = await latest("objective", "/api/objective", { objective: objectiveSpec() });
  } catch (error) {
    if (!isStale(error)) showObjectiveError(error);
    return;
  }
  if (version !== live.version) return;
  showObjectiveError(null);
  live.info = info;
  live.taylor = null;
  $("objective-title").textContent = `L(${info.names.join(", ")}) — ${info.title}`;
  if (!state.start || state.start.length !== info.dim) state.start = defaultStart(info);
  renderStartInputs();
  renderRunners();
  const gifButton = $("btn-gif");
  gifButton.disabled = info.dim > 2;
  gifButton.title = info.dim > 2 ? `A GIF shows a loss of 1 or 2 parameters; this one has ${info.dim}.` : "The race as an animated GIF, drawn on the server";
  live.race = null;
  loadFits();
  const tasks = [loadSurface(version), runRace()];
  loadAnalysis(version);
  await Promise.all(tasks);
}

function defaultStart(info) {
  const inside = info.domain.every(([lo, hi]) => lo <= 0 && 0 <= hi);
  return info.domain.map(([lo, hi]) => (inside ? 0 : Number(((lo + hi) / 2).toPrecision(3))));
}

function showObjectiveError(error) {
  const box = state.source === "data" ? $("data-error") : $("formula-error");
  $("formula-error").textContent = "";
  $("data-error").textContent = "";
  if (!error) { say(""); return; }
  if (state.source === "formula" && error.body && error.body.column) {
    const caret = " ".repeat(Math.max(0, error.body.column - 1)) + "^";
    box.textContent = `${state.formula}\n${caret}\n${error.message}`;
  } else if (state.source === "gallery") {
    say(error.message, true);
  } else {
    box.textContent = error.message;
  }
}

async function loadSurface(version) {
  const info = live.info;
  live.surface = null;
  cancel("surface");
  if (info.dim <= 2) {
    const points = info.dim === 1 ? 401 : 121;
    const surface = await latest("surface", "/api/surface", { objective: objectiveSpec(), points }).catch(report);
    if (version !== live.version || !surface) return;
    live.surface = surface;
  }
  drawLandscape();
}

async function loadAnalysis(version) {
  $("analysis").innerHTML = '<p class="hint">Analysing…</p>';
  live.analysis = null;
  try {
    const analysis = await latest("analysis", "/api/analyze", { objective: objectiveSpec() });
    if (version !== live.version) return;
    live.analysis = analysis;
    renderAnalysis(analysis);
    drawLandscape();
  } catch (error) {
    if (version === live.version && !isStale(error)) $("analysis").textContent = `Analysis unavailable: ${error.message}`;
  }
}

function report(error) {
  if (!isStale(error)) say(error.message, true);
  return null;
}

// ---- the race ------------------------------------------------------------------------------------
let raceTimer = null;
function scheduleRace() {
  clearTimeout(raceTimer);
  raceTimer = setTimeout(runRace, 150);
  saveUrl();
}

async function runRace() {
  saveUrl();
  const wasPlaying = live.playing;
  pause();
  if (!live.info) return;
  if (!state.runners.length) {
    cancel("race");
    live.race = null;
    renderFrame();
    drawLoss();
    loadFits();
    say("Add an optimizer to start the race.");
    return;
  }
  const version = live.version;
  const race = await latest("race", "/api/race", raceBody()).catch(report);
  if (!race || version !== live.version) return;
  say("");
  live.race = race;
  live.step = 0;
  drawLandscape();
  drawLoss();
  loadFits();
  renderTable();
  renderFrame();
  if (wasPlaying) play();
}

function raceBody() {
  const batch = live.info.data ? Math.min(8, live.info.data.x.length) : null;
  return {
    objective: objectiveSpec(),
    start: state.start,
    steps: state.steps,
    optimizers: state.runners.map((r) => ({
      name: r.name, hyperparameters: r.hyper, batch_size: r.name === "sgd" && batch ? batch : null })),
  };
}

const maxStep = () => (live.race ? Math.max(...live.race.runs.map((r) => r.losses.length - 1)) : 0);

function play() {
  if (!live.race) return;
  if (live.step >= maxStep()) live.step = 0;
  live.playing = true;
  $("btn-play").textContent = "⏸ Pause";
  // Steps follow the clock (speed steps per second); a slow frame skips steps instead of slowing the run.
  const started = performance.now();
  const from = live.step;
  const tick = () => {
    if (!live.playing) return;
    const elapsed = Math.max(0, performance.now() - started); // not rAF's stamp: it can precede `started`
    const target = Math.min(maxStep(), from + Math.floor((elapsed / 1000) * state.speed));
    if (target !== live.step) { live.step = target; renderFrame(); }
    if (live.step >= maxStep()) { pause(); renderFrame(); return; }
    live.timer = requestAnimationFrame(tick);
  };
  live.timer = requestAnimationFrame(tick);
}
function pause() {
  live.playing = false;
  cancelAnimationFrame(live.timer);
  $("btn-play").textContent = "▶ Play";
}
function goTo(step) {
  pause();
  live.step = Math.max(0, Math.min(maxStep(), step));
  renderFrame();
}

// ---- drawing ---------------------------------------------------------------------------------------
const axisTitle = (text) => ({ text, font: { size: 13 } });
const baseLayout = (extra) => ({
  margin: { l: 55, r: 10, t: 30, b: 45 }, font: { family: "system-ui, sans-serif", size: 12 },
  paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff", showlegend: false, ...extra });
const config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

function shade(values, low, high) {
  // Colours follow log(L − min + δ) when L spans decades, so valleys keep their detail.
  const span = high - low;
  const wide = low !== null && span > 0 && span / (Math.abs(low) + 1e-12 * span + 1e-300) > 50;
  if (!wide) return { z: values, title: "L", log: false };
  const delta = span * 1e-4;
  const z = values.map((row) => row.map((v) => (v === null ? null : Math.log10(v - low + delta))));
  return { z, title: "log₁₀(L − min)", log: true };
}

function pathTraces3d() {
  if (!live.race) return [];
  return live.race.runs.map((run, i) => ({ type: "scatter3d", mode: "lines+markers", x: [], y: [], z: [],
    line: { color: COLORS[i % COLORS.length], width: 6 }, marker: { size: 3, color: COLORS[i % COLORS.length] },
    hoverinfo: "skip" }));
}

// Draws run one after another: a purge or react while another react renders leaves an empty contour.
let drawQueue = Promise.resolve();
function drawLandscape() {
  drawQueue = drawQueue.then(drawLandscapeNow, drawLandscapeNow);
  return drawQueue;
}

async function drawLandscapeNow() {
  const info = live.info;
  const main = $("plot-main");
  const side = $("plot-surface");
  $("plot-note").textContent = "";
  if (!info) return;
  if (info.dim > 2) {
    Plotly.purge(main); Plotly.purge(side);
    main.hidden = true; side.hidden = true;
    $("plot-note").textContent = `${info.dim} parameters (${info.names.join(", ")}): no picture of the whole landscape, `
      + "but the race, the numbers and the loss chart below work as for any loss.";
    return;
  }
  main.hidden = false;
  side.hidden = info.dim !== 2;
  if (!live.surface) return;
  if (live.drawnFor !== live.version) {
    // A new loss starts from empty plots: react() would keep the old size and trace types.
    for (const el of [main, side]) { Plotly.purge(el); delete el.dataset.bound; }
    live.drawnFor = live.version;
  }
  live.drawing = (live.drawing || 0) + 1; // no animate() while react() renders: it would cut the contour short
  try {
    if (info.dim === 1) await drawCurve(main); else await drawMap(main, side);
  } finally {
    live.drawing -= 1;
  }
  renderFrame();
}

function stationaryTraces(kindToXY) {
  const points = live.analysis ? live.analysis.stationary_points : [];
  const groups = {};
  for (const p of points) (groups[p.kind] = groups[p.kind] || []).push(p);
  return Object.entries(groups).map(([kind, ps]) => ({
    ...kindToXY(ps), mode: "markers", name: kind, hovertemplate: `${kind}<extra></extra>`,
    marker: { symbol: KIND_MARK[kind] || "circle-open", size: 11, color: "#111", line: { color: "#fff", width: 1.5 } } }));
}

async function drawCurve(el) {
  const s = live.surface;
  const name = s.names[0];
  const y = s.values.map(plottable);
  const traces = [{ x: s.axes[0], y, mode: "lines", line: { color: "#444", width: 2 }, hovertemplate: `${name}=%{x:.4g}<br>L=%{y:.4g}<extra></extra>` }];
  traces.push(...stationaryTraces((ps) => ({ x: ps.map((p) => num(p.point[name])), y: ps.map((p) => num(p.value)) })));
  live.overlayIndex = traces.length;
  traces.push(taylorCurve());
  const finite = y.filter((v) => v !== null);
  await Plotly.react(el, traces, baseLayout({
    xaxis: { title: axisTitle(name) }, yaxis: { title: axisTitle(`L(${name})`), range: paddedRange(finite) },
    title: { text: "Click the curve to set the start", font: { size: 13 } } }), config);
  bindPlot(el);
}

function paddedRange(values) {
  const lo = Math.min(...values), hi = Math.max(...values);
  const pad = (hi - lo) * 0.05 || 1;
  return [lo - pad, hi + pad];
}

function taylorCurve() {
  const t = live.taylor;
  if (!t || !$("taylor-toggle").checked || live.info.dim !== 1) return { x: [], y: [], mode: "lines", hoverinfo: "skip" };
  return { x: t.taylor.axes[0], y: t.taylor.values.map(plottable), mode: "lines", hoverinfo: "skip",
    line: { color: "#e6550d", width: 2, dash: "dash" } };
}

async function drawMap(main, side) {
  const s = live.surface;
  const [nx, ny] = s.names;
  const values = s.values.map((row) => row.map(plottable));
  const shaded = shade(values, s.min, s.max);
  const hover = `${nx}=%{x:.4g}<br>${ny}=%{y:.4g}<br>L=%{customdata:.5g}<extra></extra>`;
  const contour = { type: "contour", x: s.axes[0], y: s.axes[1], z: shaded.z, customdata: values, hovertemplate: hover,
    colorscale: "Viridis", ncontours: 30, contours: { coloring: "heatmap", showlines: true }, line: { width: 0.5, color: "rgba(255,255,255,0.5)" },
    colorbar: { title: { text: shaded.title, side: "right" }, thickness: 12 } };
  const traces = [contour, ...stationaryTraces((ps) => ({ x: ps.map((p) => num(p.point[nx])), y: ps.map((p) => num(p.point[ny])) }))];
  live.overlayIndex = traces.length;
  traces.push(taylorContour());
  traces.push({ x: [state.start[0]], y: [state.start[1]], mode: "markers", hoverinfo: "skip",
    marker: { symbol: "star", size: 15, color: "#fff", line: { color: "#000", width: 1.5 } } });
  await Plotly.react(main, traces, baseLayout({ title: { text: "Contour map — click to set the start", font: { size: 13 } },
    xaxis: { title: axisTitle(nx), range: [s.axes[0][0], s.axes[0].at(-1)] },
    yaxis: { title: axisTitle(ny), range: [s.axes[1][0], s.axes[1].at(-1)] } }), config);
  const surface = { type: "surface", x: s.axes[0], y: s.axes[1], z: values, surfacecolor: shaded.z, colorscale: "Viridis",
    showscale: false, opacity: 0.95, hovertemplate: hover, customdata: values };
  const overlay = taylorSurface();
  await Plotly.react(side, [surface, overlay, ...pathTraces3d()], baseLayout({ title: { text: "3-D surface", font: { size: 13 } },
    margin: { l: 0, r: 0, t: 30, b: 0 }, scene: { xaxis: { title: axisTitle(nx) }, yaxis: { title: axisTitle(ny) },
      zaxis: { title: axisTitle("L") }, camera: { eye: { x: 1.5, y: -1.5, z: 1.1 } }, aspectmode: "manual", aspectratio: { x: 1, y: 1, z: 0.7 } } }), config);
  bindPlot(main);
  bindPlot(side);
}

function taylorContour() {
  const t = live.taylor;
  if (!t || !$("taylor-toggle").checked || live.info.dim !== 2) return { x: [], y: [], mode: "lines", hoverinfo: "skip" };
  return { type: "contour", x: t.taylor.axes[0], y: t.taylor.axes[1], z: t.taylor.values.map((r) => r.map(plottable)),
    contours: { coloring: "none", showlines: true }, ncontours: 12, showscale: false, hoverinfo: "skip",
    line: { color: "#ff7f0e", width: 1.5, dash: "dash" } };
}

function taylorSurface() {
  const t = live.taylor;
  if (!t || !$("taylor-toggle").checked || live.info.dim !== 2) return { type: "scatter3d", x: [], y: [], z: [], mode: "markers", hoverinfo: "skip" };
  return { type: "surface", x: t.taylor.axes[0], y: t.taylor.axes[1], z: t.taylor.values.map((r) => r.map(plottable)),
    colorscale: [[0, "#ff7f0e"], [1, "#ff7f0e"]], showscale: false, opacity: 0.55, hoverinfo: "skip" };
}

function bindPlot(el) {
  if (el.dataset.bound) return;
  el.dataset.bound = "1";
  el.on("plotly_click", (event) => {
    const p = event.points && event.points[0];
    if (!p || p.x === undefined) return;
    state.start = live.info.dim === 1 ? [round(p.x)] : [round(p.x), round(p.y)];
    renderStartInputs();
    scheduleRace();
    if (live.info.dim === 2) drawLandscape();
  });
  el.on("plotly_hover", (event) => {
    const p = event.points && event.points[0];
    if (!p || p.x === undefined) return;
    inspect(live.info.dim === 1 ? [p.x] : [p.x, p.y]);
  });
}
const round = (v) => Number(Number(v).toPrecision(4));

let inspectTimer = null;
let inspectBusy = false;
function inspect(point) {
  clearTimeout(inspectTimer);
  inspectTimer = setTimeout(async () => {
    if (inspectBusy) return;
    inspectBusy = true;
    try {
      const t = await latest("hessian", "/api/hessian", { objective: objectiveSpec(), point, points: 31 });
      live.taylor = t;
      renderInspector(t);
      if ($("taylor-toggle").checked) redrawOverlay();
    } catch (error) {
      if (!isStale(error)) $("inspector-body").textContent = error.message;
    } finally {
      inspectBusy = false;
    }
  }, 120);
}

function redrawOverlay() {
  const main = $("plot-main");
  if (!live.info || !main.data) return;
  const index = live.overlayIndex;
  const trace = live.info.dim === 1 ? taylorCurve() : taylorContour();
  Plotly.deleteTraces(main, index);
  Plotly.addTraces(main, trace, index);
  if (live.info.dim === 2) {
    Plotly.deleteTraces($("plot-surface"), 1);
    Plotly.addTraces($("plot-surface"), taylorSurface(), 1);
  }
}

function renderInspector(t) {
  const names = t.names;
  const rows = t.hessian.map((row) => `<tr>${row.map((v) => `<td>${fmt(v)}</td>`).join("")}</tr>`).join("");
  $("inspector-body").innerHTML = `
    <p>at ${names.map((n, i) => `${n} = ${fmt(t.point[i])}`).join(", ")}: L = ${fmt(t.value)}, |∇L| = ${fmt(t.gradient_norm)}</p>
    <div class="hess"><span>H =</span><table class="matrix">${rows}</table></div>
    <p>eigenvalues λ = ${vec(t.eigenvalues)} → <strong class="kind-${t.kind}">${curvatureWords(t.kind)}</strong></p>
    <p class="hint">Dashed orange: L(θ) + ∇Lᵀδ + ½δᵀHδ, the second-order Taylor model around this point.</p>`;
}
function curvatureWords(kind) {
  return { minimum: "curves up every way (bowl)", maximum: "curves down every way (cap)", saddle: "up one way, down another (saddle)",
    degenerate: "flat in some direction (degenerate)", undefined: "undefined here" }[kind] || kind;
}

// ---- the current step --------------------------------------------------------------------------
function renderFrame() {
  const race = live.race;
  const k = live.step;
  $("step-label").textContent = race ? `step ${k} of ${maxStep()}` : "";
  renderNumbers();
  highlightTableRow();
  updateData();
  if (!race || !live.info || live.info.dim > 2 || live.drawing) return;
  const main = $("plot-main");
  if (!main.data) return;
  const upto = (run) => Math.min(k, run.params.length - 1) + 1;
  const xs = race.runs.map((run) => run.params.slice(0, upto(run)).map((p) => plottable(p[0])));
  const ys = race.runs.map((run) => (live.info.dim === 1 ? run.losses : run.params.map((p) => p[1])).slice(0, upto(run)).map(plottable));
  // The paths are layout shapes: replacing the shapes redraws only them (~1 ms), while a restyle
  // recomputes the contour (~200 ms) and animate() drops it.
  Plotly.relayout(main, { shapes: race.runs.flatMap((_, i) => pathShapes(xs[i], ys[i], COLORS[i % COLORS.length])) }).catch(superseded);
  const quick = { transition: { duration: 0 }, frame: { duration: 0, redraw: false }, mode: "immediate" };
  const loss = $("plot-loss");
  if (loss.data && loss.data.length === race.runs.length + 1) {
    const at = race.runs.map((run) => Math.min(k, run.losses.length - 1));
    const y = at.map((j, i) => plottable(race.runs[i].losses[j])).map((v) => (loss.layout.yaxis.type === "log" && v <= 0 ? null : v));
    Plotly.animate(loss, { data: [{ x: at, y }], traces: [race.runs.length] }, quick)
      .catch(superseded);
  }
  const side = $("plot-surface");
  const now = performance.now();
  // WebGL redraws of the 3-D view are slow without a GPU: while playing, at most ~4 per second.
  if (live.info.dim === 2 && side.data && side.data.length >= 2 + race.runs.length && (!live.playing || now - (live.last3d || 0) > 250)) {
    live.last3d = now;
    const zs = race.runs.map((run) => run.losses.slice(0, upto(run)).map(plottable));
    Plotly.restyle(side, { x: xs, y: ys, z: zs }, race.runs.map((_, i) => 2 + i)).catch(superseded);
  }
}

// Plotly rejects a draw's promise (with undefined) when a newer one replaces it; that is expected.
const superseded = () => {};

function pathShapes(xs, ys, color) {
  const points = xs.map((x, j) => [x, ys[j]]).filter(([x, y]) => x !== null && y !== null);
  if (!points.length) return [];
  const [x, y] = points.at(-1);
  const dot = (px, py, r, fill) => ({ type: "circle", xsizemode: "pixel", ysizemode: "pixel", xanchor: px, yanchor: py,
    x0: -r, x1: r, y0: -r, y1: r, fillcolor: fill, line: { color: "#fff", width: 1.5 }, layer: "above" });
  const trail = points.length > 1 ? [{ type: "path", layer: "above", line: { color, width: 2 },
    path: points.map(([px, py], j) => `${j ? "L" : "M"}${px},${py}`).join(" ") }] : [];
  const steps = points.length <= 60 ? points.slice(0, -1).map(([px, py]) => dot(px, py, 2.5, color)) : [];
  return [...trail, ...steps, dot(x, y, 6, color)];
}

function runLabel(run) {
  const h = run.hyperparameters;
  const extras = [`lr ${fmt(h.lr)}`];
  if (run.optimizer === "momentum" || run.optimizer === "nesterov") extras.push(`β ${fmt(h.momentum)}`);
  if (h.batch_size) extras.push(`batch ${h.batch_size}`);
  return `${run.optimizer} (${extras.join(", ")})`;
}

function renderNumbers() {
  const table = $("numbers");
  const race = live.race;
  if (!race) { table.innerHTML = ""; return; }
  const n = race.names;
  const head = `<tr><th></th><th>optimizer</th><th class="col-step">step</th><th>θ = (${n.join(", ")})</th><th>L(θ)</th><th>∇L(θ)</th><th>|∇L|</th><th>diagnosis</th></tr>`;
  const rows = race.runs.map((run, i) => {
    const k = Math.min(live.step, run.params.length - 1);
    const d = run.diagnosis;
    const ended = k >= run.params.length - 1;
    const words = ended ? d.reason : "running…";
    // data-label: the column's name, shown inside the cell where a phone stacks each row as a card
    return `<tr class="status-${ended ? d.status : "running"}"><td class="col-swatch"><span class="swatch" style="background:${COLORS[i % COLORS.length]}"></span></td>
      <td class="col-name">${runLabel(run)}</td><td class="col-step">${k}</td><td class="mono col-theta" data-label="θ" data-testid="theta-${i}">${vec(run.params[k])}</td>
      <td class="mono col-loss" data-label="L" data-testid="loss-${i}">${fmt(run.losses[k])}</td><td class="mono col-grad" data-label="∇L">${vec(run.gradients[k])}</td>
      <td class="mono col-norm" data-label="|∇L|">${fmt(run.gradient_norms[k])}</td><td class="diagnosis col-diag" data-testid="diagnosis-${i}">${escapeHtml(words)}</td></tr>`;
  });
  table.innerHTML = head + rows.join("");
}
const escapeHtml = (text) => text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

function drawLoss() {
  const el = $("plot-loss");
  const race = live.race;
  if (!race) { Plotly.purge(el); return; }
  const all = race.runs.flatMap((r) => r.losses.map(num)).filter(Number.isFinite);
  const positive = all.filter((v) => v > 0);
  // Log scale unless some L is negative; an L of exactly 0 (a minimum reached) is left out of a log plot.
  const logScale = positive.length > 0 && all.every((v) => v >= 0);
  const zeros = positive.length < all.length;
  const shown = (v) => (logScale && num(v) <= 0 ? null : plottable(v));
  const traces = race.runs.map((run, i) => ({ x: run.losses.map((_, k) => k), y: run.losses.map(shown), mode: "lines",
    name: run.optimizer, line: { color: COLORS[i % COLORS.length], width: 2 } }));
  traces.push({ x: [], y: [], mode: "markers", showlegend: false, hoverinfo: "skip",
    marker: { size: 9, color: race.runs.map((_, i) => COLORS[i % COLORS.length]), line: { color: "#fff", width: 1 } } });
  Plotly.react(el, traces, baseLayout({ showlegend: true, legend: { orientation: "h", y: 1.15 },
    margin: { l: 60, r: 10, t: 10, b: 40 },
    xaxis: { title: axisTitle("step") },
    yaxis: { title: axisTitle(logScale ? `L (log scale${zeros ? "; L = 0 not drawn" : ""})` : "L (linear: some L < 0)"),
      type: logScale ? "log" : "linear",
      dtick: logScale ? Math.max(1, Math.ceil(Math.log10(Math.max(...positive) / Math.min(...positive)) / 6)) : undefined,
      exponentformat: "power" } }), config);
}

// ---- analysis panel ------------------------------------------------------------------------------
const math = (mathml) => `<math display="block">${mathml}</math>`;
function renderAnalysis(a) {
  const m = a.mathml;
  const names = a.variables;
  const parts = [];
  if (m) {
    parts.push(`<div class="formula"><span>L =</span>${math(m.loss)}</div>`);
    parts.push(`<div class="partials">${m.partials.map((p) => `<div class="formula"><span>∂L/∂${p.name} =</span>${math(p.mathml)}</div>`).join("")}</div>`);
    if (m.hessian) parts.push(`<div class="formula"><span>H =</span>${math(m.hessian)}</div>`);
  } else {
    parts.push('<p class="hint">No formula to print (the loss is evaluated numerically).</p>');
  }
  const rows = a.stationary_points.slice(0, 12).map((p) => `<tr><td>${vec(names.map((n) => p.point[n]))}</td><td>${fmt(p.value)}</td>
    <td class="kind-${p.kind}">${p.kind}</td><td>${vec(p.hessian_eigenvalues)}</td></tr>`).join("");
  parts.push(`<h4>Stationary points (∇L = 0) in view</h4>` + (rows
    ? `<div class="scroll"><table><tr><th>θ</th><th>L</th><th>kind</th><th>Hessian eigenvalues</th></tr>${rows}</table></div>`
    : '<p class="hint">None found in the box.</p>'));
  const c = a.convexity;
  parts.push(`<dl>
    <dt>Convexity</dt><dd><strong>${escapeHtml(c.verdict)}</strong> ${c.proved ? "(proved)" : "(evidence)"} — ${escapeHtml(c.reason)}</dd>
    <dt>Condition number</dt><dd>${fmt(a.condition_number)}</dd>
    <dt>Largest stable learning rate 2/λmax</dt><dd data-testid="max-stable-lr">${fmt(a.max_stable_lr)}</dd>
    ${a.notes.map((n) => `<dt>Note</dt><dd>${escapeHtml(n)}</dd>`).join("")}</dl>`);
  $("analysis").innerHTML = parts.join("");
}

// ---- the data and the model's prediction ---------------------------------------------------------
// The fit f(θ_k; x) at every step of the selected run comes from the server (/api/fit: the library's
// DataObjective.predict on a grid over the data's range); the page only picks the row of the step shown.
const CLASS_COLORS = ["#3a6fb0", "#e08214"];

function dataModel() {
  if (!live.info || !live.info.data || !live.catalog || state.source !== "data") return null;
  const model = live.catalog.models.find((m) => m.name === state.data.model);
  return model ? { ...model, classes: model.loss === "bce" } : null;
}
const selectedRun = () => (live.race ? live.race.runs[Math.min(live.dataRun || 0, live.race.runs.length - 1)] : null);
function prediction(step = live.step) {
  const fits = live.fits;
  return fits ? fits.y[Math.min(step, fits.y.length - 1)].map(plottable) : [];
}
async function loadFits() {
  live.fits = null;
  drawData();  // the points at once; the curve when its fits arrive
  const run = selectedRun();
  if (!dataModel() || !run) return;
  const fits = await latest("fit", "/api/fit", { objective: objectiveSpec(), params: run.params }).catch(report);
  if (!fits || run !== selectedRun()) return;
  live.fits = fits;
  drawData();
}

function drawData() {
  const panel = $("data-panel");
  const el = $("plot-data");
  const model = dataModel();
  panel.hidden = !model;
  $("plots").classList.toggle("with-data", Boolean(model));
  if (!model) { Plotly.purge(el); return; }
  const { x, y } = live.info.data;
  const select = $("data-runner");
  select.innerHTML = live.race ? live.race.runs.map((run, i) => `<option value="${i}">${escapeHtml(runLabel(run))}</option>`).join("") : "";
  if (live.race) select.value = String(Math.min(live.dataRun || 0, live.race.runs.length - 1));
  const points = model.classes
    ? [0, 1].map((c) => ({ x: x.filter((_, i) => y[i] === c), y: y.filter((v) => v === c), name: `y = ${c}`, mode: "markers",
      marker: { color: CLASS_COLORS[c], size: 8, symbol: c ? "diamond" : "circle", line: { color: "#fff", width: 1 } },
      hovertemplate: `x=%{x:.4g}, y=${c}<extra></extra>` }))
    : [{ x, y, name: "data", mode: "markers", marker: { color: "#222", size: 8, line: { color: "#fff", width: 1 } },
      hovertemplate: "x=%{x:.4g}, y=%{y:.4g}<extra></extra>" }];
  const run = selectedRun();
  const index = live.race ? live.race.runs.indexOf(run) : 0;
  const fit = { x: live.fits ? live.fits.x : [], y: prediction(), mode: "lines", name: model.classes ? "P(y = 1)" : "model",
    line: { color: COLORS[index % COLORS.length], width: 3 }, hovertemplate: "x=%{x:.4g}<br>f=%{y:.4g}<extra></extra>" };
  // The y range holds the data and the start's prediction, so it stays put while the fit moves.
  const start = prediction(0).filter((v) => v !== null && Math.abs(v) < 1e6);
  const yRange = model.classes ? [-0.1, 1.1] : paddedRange([...y, ...start]);
  live.dataFit = points.length;
  Plotly.react(el, [...points, fit], baseLayout({ showlegend: true,
    legend: { orientation: "h", x: 1, xanchor: "right", y: 1, yanchor: "bottom", font: { size: 11 } },
    margin: { l: 50, r: 10, t: 22, b: 40 }, xaxis: { title: axisTitle("x"), zeroline: false },
    yaxis: { title: axisTitle(model.classes ? "y  and  P(y = 1)" : "y"), range: yRange, zeroline: false } }), config)
    .then(updateData, superseded);
}

function updateData() {
  const model = dataModel();
  const el = $("plot-data");
  if (!model || !el.data || el.data.length !== live.dataFit + 1) return;
  const run = selectedRun();
  const caption = $("data-caption");
  if (!run) { caption.textContent = state.runners.length ? "racing…" : "Add an optimizer to see the model fit the data."; return; }
  if (!live.fits) { caption.textContent = "fitting…"; return; }
  const k = Math.min(live.step, run.params.length - 1);
  caption.textContent = `step ${k}: ${live.race.names.map((n, i) => `${n} = ${fmt(run.params[k][i])}`).join(", ")}`;
  Plotly.restyle(el, { y: [prediction()] }, [live.dataFit]).catch(superseded);
}

// ---- step table and CSV -------------------------------------------------------------------------
function renderTable() {
  const select = $("table-runner");
  const race = live.race;
  select.innerHTML = race ? race.runs.map((run, i) => `<option value="${i}">${runLabel(run)}</option>`).join("") : "";
  fillTable();
}
function csvRows(run, names) {
  const header = ["step", ...names, "L", ...names.map((n) => `dL/d${n}`), "grad_norm", "lr"];
  const rows = run.params.map((p, k) => [k, ...p, run.losses[k], ...run.gradients[k], run.gradient_norms[k], k < run.lrs.length ? run.lrs[k] : ""]);
  return [header, ...rows];
}
function fillTable() {
  const race = live.race;
  const table = $("step-table");
  if (!race) { table.innerHTML = ""; return; }
  const run = race.runs[Number($("table-runner").value) || 0];
  const [header, ...rows] = csvRows(run, race.names);
  const shown = rows.slice(0, 1001);
  table.innerHTML = `<tr>${header.map((h) => `<th>${h}</th>`).join("")}</tr>`
    + shown.map((r, k) => `<tr data-step="${k}">${r.map((v, j) => `<td>${j === 0 || v === "" ? v : fmt(v)}</td>`).join("")}</tr>`).join("")
    + (rows.length > shown.length ? `<tr><td colspan="${header.length}">… ${rows.length - shown.length} more rows in the CSV</td></tr>` : "");
  highlightTableRow();
}
function highlightTableRow() {
  for (const row of $("step-table").querySelectorAll("tr.current")) row.classList.remove("current");
  const row = $("step-table").querySelector(`tr[data-step="${live.step}"]`);
  if (row) row.classList.add("current");
}
function downloadCsv() {
  const race = live.race;
  if (!race) return;
  const lines = [];
  race.runs.forEach((run, i) => {
    const rows = csvRows(run, race.names);
    rows.forEach((r, j) => lines.push([j === 0 ? "optimizer" : runLabel(run).replaceAll(",", ";"), ...r].join(",")));
    if (i < race.runs.length - 1) lines.push("");
  });
  const blob = new Blob([lines.join("\n") + "\n"], { type: "text/csv" });
  const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: "losslab-steps.csv" });
  a.click();
  URL.revokeObjectURL(a.href);
}

// ---- controls --------------------------------------------------------------------------------------
function renderStartInputs() {
  const info = live.info;
  $("start-inputs").innerHTML = info.names.map((n, i) =>
    `<label class="field">${n} <input type="number" step="any" data-index="${i}" value="${state.start[i]}" aria-label="start ${n}"></label>`).join("");
  for (const input of $("start-inputs").querySelectorAll("input")) {
    input.addEventListener("change", () => {
      const v = Number(input.value);
      if (!Number.isFinite(v)) { say(`start ${info.names[input.dataset.index]} must be a number`, true); return; }
      state.start[Number(input.dataset.index)] = v;
      scheduleRace();
      if (info.dim === 2) drawLandscape();
    });
  }
}

function knobsOf(name) {
  const entry = live.optimizers.find((o) => o.name === name);
  return entry ? entry.knobs : [];
}
function knobValue(runner, knob) {
  const v = runner.hyper[knob.name];
  if (v === undefined) return knob.default;
  return knob.index === null ? v : v[knob.index];
}
function setKnob(runner, knob, value) {
  if (knob.index === null) { runner.hyper[knob.name] = value; return; }
  const pair = knobsOf(runner.name).filter((k) => k.name === knob.name).map((k) => knobValue(runner, k));
  pair[knob.index] = value;
  runner.hyper[knob.name] = pair;
}

function renderRunners() {
  const list = $("runner-list");
  list.innerHTML = "";
  state.runners.forEach((runner, i) => {
    const card = document.createElement("div");
    card.className = "runner";
    card.style.borderLeftColor = COLORS[i % COLORS.length];
    card.innerHTML = `<div class="runner-head"><strong>${runner.name}</strong>
      <button type="button" class="remove" aria-label="remove ${runner.name}" title="Remove">×</button></div>`;
    for (const knob of knobsOf(runner.name)) card.append(knobControl(runner, knob, i));
    card.querySelector(".remove").addEventListener("click", () => {
      state.runners.splice(i, 1);
      renderRunners();
      scheduleRace();
    });
    list.append(card);
  });
}

function knobControl(runner, knob, i) {
  const label = document.createElement("label");
  label.className = "knob";
  const title = knob.index === null ? knob.name : `${knob.name}[${knob.index}]`;
  const value = knobValue(runner, knob);
  const toSlider = (v) => (knob.log ? Math.log10(v) : v);
  const fromSlider = (s) => (knob.log ? Number((10 ** s).toPrecision(3)) : Number(Number(s).toPrecision(4)));
  const [lo, hi] = [toSlider(knob.min), toSlider(knob.max)];
  label.innerHTML = `<span>${title}</span><input type="range" min="${lo}" max="${hi}" step="${(hi - lo) / 200}" value="${toSlider(value)}"
    aria-label="${runner.name} ${title}${knob.log ? " (log scale)" : ""}">
    <input type="number" step="any" value="${value}" aria-label="${runner.name} ${title} value" data-testid="knob-${i}-${title}">`;
  const [slider, box] = label.querySelectorAll("input");
  slider.addEventListener("input", () => { box.value = fromSlider(slider.value); setKnob(runner, knob, Number(box.value)); scheduleRace(); });
  box.addEventListener("change", () => {
    const v = Number(box.value);
    if (!Number.isFinite(v)) return;
    slider.value = toSlider(v);
    setKnob(runner, knob, v);
    scheduleRace();
  });
  return label;
}

function addRunner(name) {
  const hyper = {};
  for (const knob of knobsOf(name)) setKnob({ name, hyper }, knob, knob.default);
  state.runners.push({ name, hyper });
  renderRunners();
  scheduleRace();
}

function showSource() {
  for (const s of ["gallery", "formula", "data"]) $(`src-${s}`).hidden = state.source !== s;
  for (const radio of document.querySelectorAll('input[name="source"]')) radio.checked = radio.value === state.source;
}

function describeGallery(items) {
  const item = items.find((g) => g.name === state.gallery);
  $("gallery-description").textContent = item ? `${item.formula} — ${item.description}` : "";
}

let formulaTimer = null;
function wireControls(gallery) {
  for (const radio of document.querySelectorAll('input[name="source"]')) {
    radio.addEventListener("change", () => { state.source = radio.value; state.start = null; showSource(); loadObjective(); });
  }
  $("gallery-select").addEventListener("change", (e) => {
    state.gallery = e.target.value; state.start = null; describeGallery(gallery); loadObjective();
  });
  $("formula-input").addEventListener("input", (e) => {
    state.formula = e.target.value;
    clearTimeout(formulaTimer);
    formulaTimer = setTimeout(() => { state.start = null; loadObjective(); }, 300);
  });
  const dataChanged = () => {
    state.data.model = $("model-select").value;
    state.data.synthetic = $("synthetic-select").value;
    state.data.points = $("points-input").value;
    $("points-input").hidden = state.data.synthetic !== "pasted";
    $("data-apply").hidden = state.data.synthetic !== "pasted";
    state.start = null;
    loadObjective();
  };
  $("model-select").addEventListener("change", dataChanged);
  $("synthetic-select").addEventListener("change", dataChanged);
  $("data-apply").addEventListener("click", dataChanged);
  $("add-optimizer").addEventListener("click", () => addRunner($("optimizer-select").value));
  $("steps-input").addEventListener("change", (e) => {
    const v = Math.round(Number(e.target.value));
    if (!(v >= 1)) return;
    state.steps = v;
    scheduleRace();
  });
  $("speed-input").addEventListener("input", (e) => { state.speed = Number(e.target.value); showSpeed(); if (live.playing) play(); saveUrl(); });
  $("btn-play").addEventListener("click", () => (live.playing ? pause() : play()));
  $("btn-forward").addEventListener("click", () => goTo(live.step + 1));
  $("btn-back").addEventListener("click", () => goTo(live.step - 1));
  $("btn-reset").addEventListener("click", () => goTo(0));
  $("btn-csv").addEventListener("click", downloadCsv);
  $("btn-png").addEventListener("click", exportPng);
  $("btn-gif").addEventListener("click", exportGif);
  $("data-runner").addEventListener("change", (e) => { live.dataRun = Number(e.target.value); loadFits(); });
  $("btn-link").addEventListener("click", copyLink);
  $("table-runner").addEventListener("change", fillTable);
  $("taylor-toggle").addEventListener("change", redrawOverlay);
  $("tab-explore").addEventListener("click", () => showTab("explore"));
  $("tab-compare").addEventListener("click", () => showTab("compare"));
}
const showSpeed = () => { $("speed-label").textContent = `${state.speed} steps/s`; };

function exportPng() {
  const plots = live.info && live.info.dim === 2 ? [["plot-main", "contour"], ["plot-surface", "surface"]] : [["plot-main", "curve"]];
  if ($("view-compare").hidden === false) plots.splice(0, plots.length, ["plot-bowl", "bowl"], ["plot-mountains", "mountains"]);
  for (const [id, name] of plots) {
    if ($(id).data) Plotly.downloadImage($(id), { format: "png", width: 900, height: 700, filename: `losslab-${name}` });
  }
}
async function exportGif() {
  if (!live.info || !state.runners.length) { say("Add an optimizer first: the GIF shows the race.", true); return; }
  const button = $("btn-gif");
  const frames = Math.min(GIF_FRAMES, live.catalog.bounds.frames);
  button.disabled = true;
  button.textContent = "Rendering GIF…";
  say(`Drawing the race as a GIF (${frames} frames at most): a few seconds…`);
  try {
    const response = await fetch("/api/animation", post({ ...raceBody(), frames }));
    if (!response.ok) throw new ApiError(await response.json(), response.status);
    const blob = await response.blob();
    const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: "losslab-race.gif" });
    a.click();
    URL.revokeObjectURL(a.href);
    say(`Saved losslab-race.gif (${Math.round(blob.size / 1024)} kB).`);
  } catch (error) {
    report(error);
  } finally {
    button.textContent = "Run as GIF";
    button.disabled = live.info.dim > 2;
  }
}
async function copyLink() {
  saveUrl();
  try {
    await navigator.clipboard.writeText(location.href);
    say("Link copied: it restores the loss, start point, optimizers and settings.");
  } catch {
    say("Copy the address bar: it holds the whole state.");
  }
}

// ---- bowl vs mountains ----------------------------------------------------------------------------
function showTab(name) {
  $("view-explore").hidden = name !== "explore";
  $("view-compare").hidden = name !== "compare";
  $("tab-explore").classList.toggle("active", name === "explore");
  $("tab-compare").classList.toggle("active", name === "compare");
  $("tab-explore").setAttribute("aria-selected", String(name === "explore"));
  $("tab-compare").setAttribute("aria-selected", String(name === "compare"));
  window.dispatchEvent(new Event("resize"));
  if (name === "compare" && !$("plot-bowl").data) computeLandscapes();
}

let landscapeRunning = false;
async function computeLandscapes() {
  if (landscapeRunning) return;
  landscapeRunning = true;
  $("compute-landscape").disabled = true;
  try {
    let job = await api("/api/landscape/jobs", { points: 41, span: 1.0, seed: 0 });
    while (job.status === "queued" || job.status === "running") {
      $("landscape-progress").value = job.progress;
      $("landscape-message").textContent = `${Math.round(job.progress * 100)}% — ${job.message}`;
      await new Promise((resolve) => setTimeout(resolve, 300));
      job = await api(`/api/landscape/jobs/${job.id}`);
    }
    if (job.status === "failed") throw new Error(job.message);
    $("landscape-progress").value = 1;
    $("landscape-message").textContent = "done";
    drawSurface3d($("plot-bowl"), job.result.bowl, `Bowl: ${job.result.bowl_title}`);
    drawSurface3d($("plot-mountains"), job.result.network, `Mountains: ${job.result.network_title}`);
  } catch (error) {
    $("landscape-message").textContent = `failed: ${error.message}`;
  } finally {
    landscapeRunning = false;
    $("compute-landscape").disabled = false;
  }
}

function drawSurface3d(el, grid, title) {
  const [nx, ny] = grid.names;
  const values = grid.values.map((row) => row.map(plottable));
  Plotly.react(el, [{ type: "surface", x: grid.axes[0], y: grid.axes[1], z: values, colorscale: "Viridis", showscale: false,
    contours: { z: { show: true, usecolormap: true, project: { z: true } } },
    hovertemplate: `${nx}=%{x:.3g}<br>${ny}=%{y:.3g}<br>L=%{z:.4g}<extra></extra>` }],
  baseLayout({ title: { text: title, font: { size: 14 } }, margin: { l: 0, r: 0, t: 40, b: 0 },
    // one box shape for both panels: with Plotly's data-proportioned default, a loss that rises to 6 over a
    // [−1, 1]² plane makes a tower taller than the panel, its axes cut off
    scene: { xaxis: { title: axisTitle(nx) }, yaxis: { title: axisTitle(ny) }, zaxis: { title: axisTitle("L") },
      camera: { eye: { x: 1.6, y: -1.6, z: 1.0 } }, aspectmode: "manual", aspectratio: { x: 1, y: 1, z: 0.7 } } }), config);
}

// ---- start-up --------------------------------------------------------------------------------------
async function main() {
  loadUrl();
  const [gallery, optimizers, catalog] = await Promise.all([api("/api/gallery"), api("/api/optimizers"), api("/api/catalog")]);
  live.optimizers = optimizers;
  live.catalog = catalog;
  const seeds = gallery.filter((g) => g.family === "seed");
  const tests = gallery.filter((g) => g.family !== "seed");
  const option = (g) => `<option value="${g.name}">${escapeHtml(g.title)} (${g.variables.length}-D)</option>`;
  $("gallery-select").innerHTML = `<optgroup label="From the lessons">${seeds.map(option).join("")}</optgroup>`
    + `<optgroup label="Test functions">${tests.map(option).join("")}</optgroup>`;
  $("gallery-select").value = state.gallery;
  describeGallery(gallery);
  $("optimizer-select").innerHTML = optimizers.map((o) => `<option value="${o.name}" title="${escapeHtml(o.summary)}">${o.name} — ${escapeHtml(o.summary)}</option>`).join("");
  $("model-select").innerHTML = catalog.models.map((m) => `<option value="${m.name}">${escapeHtml(m.title)}</option>`).join("");
  $("synthetic-select").innerHTML = `<option value="pasted">pasted points (below)</option>`
    + catalog.synthetic.map((s) => `<option value="${s}">${s.replaceAll("_", " ")} (made on the spot)</option>`).join("");
  $("model-select").value = state.data.model;
  $("synthetic-select").value = state.data.synthetic;
  $("points-input").value = state.data.points;
  $("points-input").hidden = state.data.synthetic !== "pasted";
  $("data-apply").hidden = state.data.synthetic !== "pasted";
  $("formula-input").value = state.formula;
  $("steps-input").value = state.steps;
  $("speed-input").value = state.speed;
  showSpeed();
  showSource();
  wireControls(gallery);
  // The panel's size follows the grid (beside the curve, under the map, alone), not only the window.
  new ResizeObserver(() => { if ($("plot-data").data) Plotly.Plots.resize($("plot-data")); }).observe($("plot-data"));
  await loadObjective();
  document.body.dataset.ready = "1";
}

main().catch((error) => say(`The explorer could not start: ${error.message}`, true));
