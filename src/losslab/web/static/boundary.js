// A classifier of two inputs (Chapter 3's hyperplane and hypersphere): the labelled points of the plane and the
// decision boundary P(y = 1) = ½ at the step shown, moving as the race plays. P over the plane at each step comes
// from the server (/api/boundary: the library's DataObjective.predict on a grid); the page picks the step shown.
/* global Plotly */
import { latest } from "./api.js";
import { $, report } from "./dom.js";
import { escapeHtml, fmt, runLabel, shownName } from "./format.js";
import { live } from "./state.js";
import { TOOLBAR, axisTitle, baseLayout, colorOf, config, superseded } from "./plot-style.js";

const CLASS_COLORS = ["#3a6fb0", "#e08214"]; // the data panel's classes
const MOST_FRAMES = 151; // evenly spaced steps asked for: the server bounds frames × points²
const POINTS = 31;

const isClassifier = () => Boolean(live.info && live.spec && live.spec.source === "classifier");
const selectedRun = () => (live.race ? live.race.runs[Math.min(live.dataRun, live.race.runs.length - 1)] : null);

// The steps whose boundary is asked for: every step of a short run, else MOST_FRAMES evenly spaced (the last included).
function frameSteps(count) {
  if (count <= MOST_FRAMES) return Array.from({ length: count }, (_, k) => k);
  return Array.from({ length: MOST_FRAMES }, (_, i) => Math.round((i * (count - 1)) / (MOST_FRAMES - 1)));
}

export async function loadBoundary() {
  live.boundary = null;
  drawBoundary();
  const run = selectedRun();
  if (!isClassifier() || !run) return;
  const steps = frameSteps(run.params.length);
  const body = { objective: live.spec, params: steps.map((k) => run.params[k]), points: POINTS };
  const answer = await latest("boundary", "/api/boundary", body).catch(report);
  if (!answer || run !== selectedRun()) return;
  live.boundary = { ...answer, steps };
  drawBoundary();
}

// The frame shown: the last one at or before the step shown.
function frameAt(step) {
  const steps = live.boundary.steps;
  let i = steps.length - 1;
  while (i > 0 && steps[i] > step) i -= 1;
  return i;
}

function drawBoundary() {
  const panel = $("boundary-panel");
  const el = $("plot-boundary");
  panel.hidden = !isClassifier();
  $("plots").classList.toggle("with-boundary", !panel.hidden);
  if (panel.hidden || !live.boundary) { Plotly.purge(el); $("boundary-caption").textContent = panel.hidden ? "" : "training…"; return; }
  const b = live.boundary;
  const select = $("boundary-runner");
  select.innerHTML = live.race.runs.map((run, i) => `<option value="${i}">${escapeHtml(runLabel(run))}</option>`).join("");
  select.value = String(Math.min(live.dataRun, live.race.runs.length - 1));
  const [n1, n2] = b.names;
  const z = b.probability[frameAt(live.step)];
  const colour = colorOf(live.race.runs.indexOf(selectedRun()));
  const shading = { type: "heatmap", x: b.axes[0], y: b.axes[1], z, zmin: 0, zmax: 1, opacity: 0.35, showscale: false,
    colorscale: [[0, CLASS_COLORS[0]], [0.5, "#ffffff"], [1, CLASS_COLORS[1]]], hovertemplate: `${n1}=%{x:.3g}<br>${n2}=%{y:.3g}<br>P(y=1)=%{z:.3f}<extra></extra>` };
  const line = { type: "contour", x: b.axes[0], y: b.axes[1], z, showscale: false, hoverinfo: "skip", name: "boundary P = ½",
    contours: { start: 0.5, end: 0.5, size: 1, coloring: "lines" }, line: { color: colour, width: 3 }, colorscale: [[0, colour], [1, colour]] };
  const points = [0, 1].map((c) => {
    const at = b.data.y.map((v, i) => (v === c ? i : -1)).filter((i) => i >= 0);
    return { x: at.map((i) => b.data[n1][i]), y: at.map((i) => b.data[n2][i]), mode: "markers", name: `y = ${c}`,
      marker: { color: CLASS_COLORS[c], size: 6, symbol: c ? "diamond" : "circle", line: { color: "#fff", width: 0.5 } },
      hovertemplate: `${n1}=%{x:.3g}, ${n2}=%{y:.3g}: y=${c}<extra></extra>` };
  });
  Plotly.react(el, [shading, line, ...points], baseLayout({ showlegend: true,
    legend: { orientation: "h", x: 1, xanchor: "right", y: 1, yanchor: "bottom", font: { size: 11 } },
    margin: { l: 50, r: 10, t: TOOLBAR + 32, b: 40 },
    // one unit is as long across as up (a circle looks round); the plot narrows rather than the range widening
    xaxis: { title: axisTitle(n1), range: [b.axes[0][0], b.axes[0].at(-1)], zeroline: false, constrain: "domain" },
    yaxis: { title: axisTitle(n2), range: [b.axes[1][0], b.axes[1].at(-1)], zeroline: false, scaleanchor: "x",
      constrain: "domain" } }), config)
    .then(updateBoundary, superseded);
}

// The boundary and the caption at the step shown.
export function updateBoundary() {
  const el = $("plot-boundary");
  const b = live.boundary;
  if (!isClassifier() || !b || !el.data || el.data.length !== 4) return;
  const run = selectedRun();
  const frame = frameAt(live.step);
  const k = b.steps[frame];
  $("boundary-caption").textContent = `step ${k}: ${live.race.names.map((n, i) => `${shownName(n)} = ${fmt(run.params[k][i])}`).join(", ")}`;
  const z = b.probability[frame];
  Plotly.restyle(el, { z: [z, z] }, [0, 1]).catch(superseded);
}

export function wireBoundary() {
  $("boundary-runner").addEventListener("change", (e) => { live.dataRun = Number(e.target.value); loadBoundary(); });
}
