// The race: asking the server to run the optimizers, playback over the steps, and drawing the step shown.
/* global Plotly */
import { cancel, dropLater, isStale, latest, later } from "./api.js";
import { $, report, say } from "./dom.js";
import { plottable } from "./format.js";
import { live, saveUrl, state } from "./state.js";
import { colorOf, superseded } from "./plot-style.js";
import { curveAt, drawLandscape, drawLoss } from "./plots.js";
import { START_EDGE, START_FILL } from "./legend.js";
import { loadFits, updateData } from "./data-fit.js";
import { loadBoundary, updateBoundary } from "./boundary.js";
import { highlightTableRow, renderNumbers, renderTable } from "./table.js";

export function scheduleRace() {
  later("race", runRace, 150);
  saveUrl();
}

// A new race for the loss shown (its start, optimizers or steps changed) keeps the step shown and the
// playback going: a ▶| or ▶ clicked while it was computed (the click that left an edited box, say) counts.
// The first race of a new loss starts at step 0.
export async function runRace() {
  dropLater("race");
  saveUrl();
  if (!live.info) return;
  if (!state.runners.length) {
    cancel("race");
    showRace(null);
    say("Add an optimizer to start the race.");
    return;
  }
  const version = live.version;
  let race;
  try {
    race = await latest("race", "/api/race", raceBody());
  } catch (error) {
    if (version === live.version && !isStale(error)) { showRace(null); report(error); }
    return;
  }
  if (version !== live.version) return;
  say("");
  showRace(race);
}

function showRace(race) {
  const fresh = live.race === null;
  live.race = race;
  live.step = race && !fresh ? Math.min(live.step, maxStep()) : 0;
  if (!race || live.step >= maxStep()) pause();
  redrawRun();
}

// Everything drawn from the race (or its absence): the landscape's paths, the loss chart, the data fit,
// the decision boundary, the step table and the step shown.
export function redrawRun() {
  drawLandscape();
  drawLoss();
  loadFits();
  loadBoundary();
  renderTable();
  renderFrame();
}

// The JSON body of /api/race (and, with frames, of /api/animation).
export function raceBody() {
  const batch = live.info.data ? Math.min(state.batch || 8, live.info.data.x.length) : null;
  return {
    objective: live.spec, // the loss shown, whatever the formula box holds meanwhile
    start: state.start,
    steps: state.steps,
    optimizers: state.runners.map((r) => ({
      name: r.name, hyperparameters: r.hyper, batch_size: r.name === "sgd" && batch ? batch : null })),
  };
}

export const maxStep = () => (live.race ? Math.max(...live.race.runs.map((r) => r.losses.length - 1)) : 0);

// Where playback ends: the race's last step, or the Steps box's where it asks for fewer (a race for the new
// number is on its way: playing the old one past it made the step go back, 16 → 8, when the new one came).
const lastStep = () => Math.min(maxStep(), state.steps || Infinity);

export function play() {
  if (!live.race) return;
  if (live.step >= lastStep()) live.step = 0;
  cancelAnimationFrame(live.timer);
  live.playing = true;
  $("btn-play").textContent = "⏸ Pause";
  // Steps follow the clock (speed steps per second); a slow frame skips steps instead of slowing the run.
  const started = performance.now();
  const from = live.step;
  const tick = () => {
    if (!live.playing) return;
    const elapsed = Math.max(0, performance.now() - started); // not rAF's stamp: it can precede `started`
    const target = Math.min(lastStep(), from + Math.floor((elapsed / 1000) * state.speed));
    if (target !== live.step) { live.step = target; renderFrame(); }
    if (live.step >= lastStep()) { pause(); renderFrame(); return; }
    live.timer = requestAnimationFrame(tick);
  };
  live.timer = requestAnimationFrame(tick);
}

export function pause() {
  live.playing = false;
  cancelAnimationFrame(live.timer);
  $("btn-play").textContent = "▶ Play";
}

export function goTo(step) {
  pause();
  if (!live.race) return;
  live.step = Math.max(0, Math.min(maxStep(), step));
  renderFrame();
}

// The step shown: its label, the numbers, the table's row, the data's fit, the loss chart's marks, and the
// paths up to it on the landscape.
export function renderFrame() {
  const race = live.race;
  $("step-label").textContent = race ? `step ${live.step} of ${maxStep()}` : "";
  renderNumbers();
  highlightTableRow();
  updateData();
  updateBoundary();
  markLoss();
  drawPaths();
}

const quick = { transition: { duration: 0 }, frame: { duration: 0, redraw: false }, mode: "immediate" };

function markLoss() {
  const race = live.race;
  const loss = $("plot-loss");
  if (!race || !loss.data || loss.data.length !== race.runs.length + 1 || live.drawing) return;
  const at = race.runs.map((run) => Math.min(live.step, run.losses.length - 1));
  const y = at.map((j, i) => plottable(race.runs[i].losses[j])).map((v) => (loss.layout.yaxis.type === "log" && v <= 0 ? null : v));
  Plotly.animate(loss, { data: [{ x: at, y }], traces: [race.runs.length] }, quick).catch(superseded);
}

function drawPaths() {
  const race = live.race;
  const [i0, i1] = shownAxes();
  if (!live.info || i0 === undefined || live.drawing) return;
  const main = $("plot-main");
  if (!main.data) return;
  if (!race) { Plotly.relayout(main, { shapes: startShape() }).catch(superseded); return; }
  const upto = (run) => Math.min(live.step, run.params.length - 1) + 1;
  // on a slice of a loss of 3+ parameters, each θ is projected onto the slice's two parameters
  const xs = race.runs.map((run) => run.params.slice(0, upto(run)).map((p) => plottable(p[i0])));
  const ys = race.runs.map((run) => (live.info.dim === 1 ? run.losses : run.params.map((p) => p[i1])).slice(0, upto(run)).map(plottable));
  // The paths are layout shapes: replacing the shapes redraws only them (~1 ms), while a restyle
  // recomputes the contour (~200 ms) and animate() drops it. The trails first, then the start's
  // mark (the start typed or clicked: it moves before its race arrives), then each run's step shown.
  const paths = race.runs.map((_, i) => pathShapes(xs[i], ys[i], colorOf(i), Math.max(3.5, 7 - 1.2 * i)));
  Plotly.relayout(main, { shapes: [...paths.flatMap((p) => p.trail), ...startShape(), ...paths.flatMap((p) => p.head)] })
    .catch(superseded);
  const side = $("plot-surface");
  const now = performance.now();
  // WebGL redraws of the 3-D view are slow without a GPU: while playing, at most ~4 per second.
  if (live.info.dim >= 2 && side.data && side.data.length >= 2 + race.runs.length && (!live.playing || now - live.last3d > 250)) {
    live.last3d = now;
    const zs = race.runs.map((run) => run.losses.slice(0, upto(run)).map(plottable));
    Plotly.restyle(side, { x: xs, y: ys, z: zs }, race.runs.map((_, i) => 2 + i)).catch(superseded);
  }
}

// The parameters along the map's axes: the first two, or those of the slice drawn (none before it is drawn).
function shownAxes() {
  if (!live.info || live.info.dim <= 2) return [0, 1];
  return live.slice && live.slice.surface ? live.slice.vary : [];
}

const dot = (px, py, r, fill, edge = "#fff", width = 1.5) => ({ type: "circle", xsizemode: "pixel", ysizemode: "pixel",
  xanchor: px, yanchor: py, x0: -r, x1: r, y0: -r, y1: r, fillcolor: fill, line: { color: edge, width }, layer: "above" });

// A run's trail and its step shown; later runs' marks are smaller, so runs that meet stay visible as rings.
function pathShapes(xs, ys, color, radius) {
  const points = xs.map((x, j) => [x, ys[j]]).filter(([x, y]) => x !== null && y !== null);
  if (!points.length) return { trail: [], head: [] };
  const [x, y] = points.at(-1);
  const line = points.length > 1 ? [{ type: "path", layer: "above", line: { color, width: 2 },
    path: points.map(([px, py], j) => `${j ? "L" : "M"}${px},${py}`).join(" ") }] : [];
  const steps = points.length <= 60 ? points.slice(1, -1).map(([px, py]) => dot(px, py, 2.5, color)) : [];
  return { trail: [...line, ...steps], head: [dot(x, y, radius, color)] };
}

// The start in the marker language (legend.js): a white circle with a dark edge, on the curve for one parameter.
function startShape() {
  const start = state.start;
  if (!start || start.length !== live.info.dim) return [];
  const [i0, i1] = shownAxes();
  const y = live.info.dim === 1 ? curveAt(start[0]) : start[i1];
  return y === null ? [] : [dot(start[i0], y, 7.5, START_FILL, START_EDGE, 2)];
}
