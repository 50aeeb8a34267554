// The data and the model's prediction (losses from data + model): the points, and the fit at the step shown.
// The fit f(θ_k; x) at every step of the selected run comes from the server (/api/fit: the library's
// DataObjective.predict on a grid over the data's range); the page only picks the row of the step shown.
/* global Plotly */
import { latest } from "./api.js";
import { $, report } from "./dom.js";
import { escapeHtml, fmt, plottable, runLabel, shownName } from "./format.js";
import { live, state } from "./state.js";
import { TOOLBAR, axisTitle, baseLayout, colorOf, config, paddedRange, superseded } from "./plot-style.js";

const CLASS_COLORS = ["#3a6fb0", "#e08214"];

function dataModel() {
  const spec = live.spec;
  if (!live.info || !live.info.data || !live.catalog || !spec || spec.source !== "data") return null;
  const model = live.catalog.models.find((m) => m.name === spec.model);
  return model ? { ...model, classes: model.loss === "bce" } : null;
}

const selectedRun = () => (live.race ? live.race.runs[Math.min(live.dataRun, live.race.runs.length - 1)] : null);

function prediction(step = live.step) {
  const fits = live.fits;
  return fits ? fits.y[Math.min(step, fits.y.length - 1)].map(plottable) : [];
}

export async function loadFits() {
  live.fits = null;
  drawData();  // the points at once; the curve when its fits arrive
  const run = selectedRun();
  if (!dataModel() || !run) return;
  const fits = await latest("fit", "/api/fit", { objective: live.spec, params: run.params }).catch(report);
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
  if (live.race) select.value = String(Math.min(live.dataRun, live.race.runs.length - 1));
  const points = model.classes
    ? [0, 1].map((c) => ({ x: x.filter((_, i) => y[i] === c), y: y.filter((v) => v === c), name: `y = ${c}`, mode: "markers",
      marker: { color: CLASS_COLORS[c], size: 8, symbol: c ? "diamond" : "circle", line: { color: "#fff", width: 1 } },
      hovertemplate: `x=%{x:.4g}, y=${c}<extra></extra>` }))
    : [{ x, y, name: "data", mode: "markers", marker: { color: "#222", size: 8, line: { color: "#fff", width: 1 } },
      hovertemplate: "x=%{x:.4g}, y=%{y:.4g}<extra></extra>" }];
  const run = selectedRun();
  const index = live.race ? live.race.runs.indexOf(run) : 0;
  const fit = { x: live.fits ? live.fits.x : [], y: prediction(), mode: "lines", name: model.classes ? "P(y = 1)" : "model",
    line: { color: colorOf(index), width: 3 }, hovertemplate: "x=%{x:.4g}<br>f=%{y:.4g}<extra></extra>" };
  // The y range holds the data and the start's prediction, so it stays put while the fit moves.
  const start = prediction(0).filter((v) => v !== null && Math.abs(v) < 1e6);
  const yRange = model.classes ? [-0.1, 1.1] : paddedRange([...y, ...start]);
  live.dataFit = points.length;
  Plotly.react(el, [...points, fit], baseLayout({ showlegend: true,
    legend: { orientation: "h", x: 1, xanchor: "right", y: 1, yanchor: "bottom", font: { size: 11 } },
    margin: { l: 50, r: 10, t: TOOLBAR + 32, b: 40 }, xaxis: { title: axisTitle("x"), zeroline: false }, // legend: under the toolbar
    yaxis: { title: axisTitle(model.classes ? "y  and  P(y = 1)" : "y"), range: yRange, zeroline: false } }), config)
    .then(updateData, superseded);
}

// The fit and the caption at the step shown.
export function updateData() {
  const model = dataModel();
  const el = $("plot-data");
  if (!model || !el.data || el.data.length !== live.dataFit + 1) return;
  const run = selectedRun();
  const caption = $("data-caption");
  if (!run) { caption.textContent = state.runners.length ? "racing…" : "Add an optimizer to see the model fit the data."; return; }
  if (!live.fits) { caption.textContent = "fitting…"; return; }
  const k = Math.min(live.step, run.params.length - 1);
  caption.textContent = `step ${k}: ${live.race.names.map((n, i) => `${shownName(n)} = ${fmt(run.params[k][i])}`).join(", ")}`;
  Plotly.restyle(el, { y: [prediction()] }, [live.dataFit]).catch(superseded);
}
