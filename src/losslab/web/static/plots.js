// The explore view's plots: the landscape (curve, contour map, 3-D surface) with its Taylor overlay, and the loss chart.
/* global Plotly */
import { $ } from "./dom.js";
import { num, plottable, round, runLabel } from "./format.js";
import { live, state } from "./state.js";
import { axisTitle, baseLayout, colorOf, config, paddedRange } from "./plot-style.js";

const KIND_MARK = { minimum: "circle", maximum: "triangle-up", saddle: "x", degenerate: "diamond" };

// What the landscape calls back into; main wires these, so the plots import neither the race, the controls
// nor the inspector. pick(point): a click sets the start; hover(point): the mouse is over point; drawn(): redrawn.
const hooks = { pick: () => {}, hover: () => {}, drawn: () => {} };
export function onLandscape(handlers) { Object.assign(hooks, handlers); }

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
    line: { color: colorOf(i), width: 6 }, marker: { size: 3, color: colorOf(i) },
    hoverinfo: "skip" }));
}

// Draws run one after another: a purge or react while another react renders leaves an empty contour.
let drawQueue = Promise.resolve();
export function drawLandscape() {
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
  live.drawing += 1; // no animate() while react() renders: it would cut the contour short
  try {
    if (info.dim === 1) await drawCurve(main); else await drawMap(main, side);
  } finally {
    live.drawing -= 1;
  }
  hooks.drawn();
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
    hooks.pick(live.info.dim === 1 ? [round(p.x)] : [round(p.x), round(p.y)]);
  });
  el.on("plotly_hover", (event) => {
    const p = event.points && event.points[0];
    if (!p || p.x === undefined) return;
    hooks.hover(live.info.dim === 1 ? [p.x] : [p.x, p.y]);
  });
}

// The Taylor overlay alone, redrawn after the inspector's answer or the overlay's checkbox.
export function redrawOverlay() {
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

export function drawLoss() {
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
    name: runLabel(run), line: { color: colorOf(i), width: 2 } }));  // the legend label every picture uses
  traces.push({ x: [], y: [], mode: "markers", showlegend: false, hoverinfo: "skip",
    marker: { size: 9, color: race.runs.map((_, i) => colorOf(i)), line: { color: "#fff", width: 1 } } });
  Plotly.react(el, traces, baseLayout({ showlegend: true, legend: { orientation: "h", y: 1.15 },
    margin: { l: 60, r: 10, t: 10, b: 40 },
    xaxis: { title: axisTitle("step") },
    yaxis: { title: axisTitle(logScale ? `L (log scale${zeros ? "; L = 0 not drawn" : ""})` : "L (linear: some L < 0)"),
      type: logScale ? "log" : "linear",
      dtick: logScale ? Math.max(1, Math.ceil(Math.log10(Math.max(...positive) / Math.min(...positive)) / 6)) : undefined,
      exponentformat: "power" } }), config);
}
