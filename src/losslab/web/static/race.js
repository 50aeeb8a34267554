// The race: asking the server to run the optimizers, playback over the steps, and drawing the step shown.
/* global Plotly */
import { cancel, latest } from "./api.js";
import { $, report, say } from "./dom.js";
import { plottable } from "./format.js";
import { live, objectiveSpec, saveUrl, state } from "./state.js";
import { colorOf, superseded } from "./plot-style.js";
import { drawLandscape, drawLoss } from "./plots.js";
import { loadFits, updateData } from "./data-fit.js";
import { highlightTableRow, renderNumbers, renderTable } from "./table.js";

let raceTimer = null;
export function scheduleRace() {
  clearTimeout(raceTimer);
  raceTimer = setTimeout(runRace, 150);
  saveUrl();
}

export async function runRace() {
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

// The JSON body of /api/race (and, with frames, of /api/animation).
export function raceBody() {
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

export function play() {
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

export function pause() {
  live.playing = false;
  cancelAnimationFrame(live.timer);
  $("btn-play").textContent = "▶ Play";
}

export function goTo(step) {
  pause();
  live.step = Math.max(0, Math.min(maxStep(), step));
  renderFrame();
}

// The step shown: its label, the numbers, the table's row, the data's fit, and the paths up to it on the plots.
export function renderFrame() {
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
  Plotly.relayout(main, { shapes: race.runs.flatMap((_, i) => pathShapes(xs[i], ys[i], colorOf(i))) }).catch(superseded);
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
  if (live.info.dim === 2 && side.data && side.data.length >= 2 + race.runs.length && (!live.playing || now - live.last3d > 250)) {
    live.last3d = now;
    const zs = race.runs.map((run) => run.losses.slice(0, upto(run)).map(plottable));
    Plotly.restyle(side, { x: xs, y: ys, z: zs }, race.runs.map((_, i) => 2 + i)).catch(superseded);
  }
}

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
