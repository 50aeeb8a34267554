// The explore view's plots: the landscape (curve, contour map, 3-D surface) with its Taylor overlay, and the loss chart.
/* global Plotly */
import { $ } from "./dom.js";
import { fmt, num, plottable, round, runLabel, shownName } from "./format.js";
import { live } from "./state.js";
import { axisTitle, baseLayout, chartTitle, colorOf, config, paddedRange } from "./plot-style.js";
import { curveLook, markerOf, regional, regionLook, renderLegend, traced } from "./legend.js";

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
// live.drawing counts the draws asked for and not finished: no animate() while react() renders (it would cut
// the contour short), and no paths on a plot about to be redrawn; the last draw puts the step's paths back.
let drawQueue = Promise.resolve();
export function drawLandscape() {
  live.drawing += 1;
  const draw = () => drawLandscapeNow().finally(() => {
    live.drawing -= 1;
    if (!live.drawing) hooks.drawn();
  });
  drawQueue = drawQueue.then(draw, draw);
  return drawQueue;
}

async function drawLandscapeNow() {
  const info = live.info;
  const main = $("plot-main");
  const side = $("plot-surface");
  $("plot-note").textContent = "";
  if (live.drawnFor !== live.version || !info) {
    // A new loss starts from empty plots, at once (the old loss's picture is not this one's), and
    // react() would keep the old size and trace types.
    for (const el of [main, side]) { Plotly.purge(el); delete el.dataset.bound; }
    live.drawnFor = live.version;
  }
  const sliced = Boolean(info && info.dim > 2 && live.slice); // a loss of 3+ parameters: the slice chosen
  if (!info || (info.dim > 2 && !sliced)) {
    main.hidden = true; side.hidden = true;
    $("plot-note").textContent = info
      ? `${info.dim} parameters (${info.names.join(", ")}): no picture of the whole landscape, `
        + "but the race, the numbers and the loss chart below work as for any loss."
      : `No loss to draw: ${live.problem}`;
    renderLegend();
    return;
  }
  main.hidden = false;
  side.hidden = info.dim !== 2 && !sliced;
  if (!shownSurface()) return;
  if (info.dim === 1) await drawCurve(main); else await drawMap(main, side);
}

// The analysis's marks, one trace per kind in the marker language (legend.js): the stationary points by
// kind, and the points where L has no gradient (kinks: the tip of a cone) as kinks, whatever their kind.
export function markedPoints() {
  const a = live.analysis;
  if (!a) return [];
  return a.stationary_points.map((p) => ({ ...p, mark: p.differentiable === false ? "kink" : p.kind }));
}

// The grid drawn: the loss's own, or for 3+ parameters the slice's (live.slice, slice.js).
const shownSurface = () => (live.info && live.info.dim > 2 ? live.slice && live.slice.surface : live.surface);

// The marks drawn one point each (not a traced curve, not a flat region), as [mark, points] per kind.
function pointsByMark() {
  const groups = {};
  for (const p of markedPoints().filter((q) => !traced(q) && !regional(q))) (groups[p.mark] = groups[p.mark] || []).push(p);
  return Object.entries(groups);
}

// A traced curve's pieces as one line's coordinates, the pieces apart at a null.
function curveXY(p) {
  const joined = p.curve.flatMap((piece, i) => [...(i > 0 ? [null] : []), ...piece]);
  return { x: joined.map((q) => (q === null ? null : num(q[0]))), y: joined.map((q) => (q === null ? null : num(q[1]))) };
}

// What counts as L at a flat region's level on the grid s: the analysis's "same value", 1e-8 of L's range over the
// grid (losslab.analysis.continua.level_tolerance).
const spreadOf = (s) => (s.max !== null && s.min !== null ? s.max - s.min : 0);
function levelTolerance(s, value) {
  return 1e-8 * spreadOf(s) + 1e-12 * (1 + Math.abs(value));
}

function markTraces(toXY) {
  if (live.info.dim > 2) return []; // the stationary points of the whole loss need not lie on the slice
  const marks = pointsByMark().map(([mark, ps]) => {
    const { symbol, words, size } = markerOf(mark);
    return { ...toXY(ps), mode: "markers", name: words, hovertemplate: `${words}<extra></extra>`,
      marker: { symbol, size, color: "#111", line: { color: "#fff", width: 1.5 } } };
  });
  return [...markedPoints().filter(traced).flatMap(curveTraces), ...marks];
}

// The marks on the 3-D surface at their height L: each kind's glyph (★ ▲ ✖ ◆ ⬢, Plotly's 3-D markers have no star),
// white on the dark floor, black on a bright maximum; a traced curve of stationary points as a line at its level.
// Plotly writes a glyph standing on its point; each point is 1.5 % of L's range above the surface, where WebGL's
// depth test cannot bury it in the surface around (the tip of a cone); the hover says L itself. (A flat region:
// the surface's contour, regionEdge3d.)
function markTraces3d(nx, ny, s) {
  const marks = markedPoints();
  const lift = 0.015 * spreadOf(s);
  const curves = marks.filter(traced).map((p) => {
    const { fill, dash, words } = curveLook(p.kind);
    const { x, y } = curveXY(p);
    return { type: "scatter3d", mode: "lines", name: words, x, y, z: x.map((v) => (v === null ? null : num(p.value) + lift)),
      line: { color: fill, width: 7, dash }, hovertemplate: `${words}: L = ${fmt(num(p.value))}<extra></extra>` };
  });
  const points = pointsByMark().map(([mark, ps]) => {
    const { glyph, words } = markerOf(mark);
    return { type: "scatter3d", mode: "text", name: words, text: ps.map(() => glyph),
      x: ps.map((p) => num(p.point[nx])), y: ps.map((p) => num(p.point[ny])), z: ps.map((p) => num(p.value) + lift),
      customdata: ps.map((p) => num(p.value)), textfont: { size: 20, color: mark === "maximum" ? "#111" : "#fff" },
      hovertemplate: `${words}: L=%{customdata:.5g}<extra></extra>` };
  });
  return [...curves, ...points];
}

// A flat region of minima (maxima) outlined on the 3-D surface: its contour just above (below) the region's level,
// by the tolerance the map's shading uses, where the surface leaves the plateau. One level per surface (Plotly's).
function regionEdge3d(s) {
  const [region] = live.info.dim === 2 ? markedPoints().filter(regional) : [];
  if (!region) return { show: false };
  const value = num(region.value);
  const level = value + (region.kind === "maximum" ? -1 : 1) * levelTolerance(s, value);
  // one level: Plotly draws start, start + size, … ≤ end, and falls back to its own levels unless start < end
  const end = level + 1e-6 * (spreadOf(s) || 1);
  return { show: true, start: level, end, size: 2 * (end - level), color: region.kind === "maximum" ? "#111" : "#fff",
    width: 6, highlight: false, usecolormap: false, project: { z: false } };
}

// A flat region of minima or maxima shaded where the grid is at its level (levelTolerance) and outlined, as the
// CLI's maps hatch it.
function regionTraces(s) {
  return markedPoints().filter(regional).map((p) => {
    const value = num(p.value);
    const tolerance = levelTolerance(s, value);
    const z = s.values.map((row) => row.map((u) => {
      const v = plottable(u);
      return v !== null && Math.abs(v - value) <= tolerance ? 1 : 0;
    }));
    const { fill, edge, words } = regionLook(p.kind);
    return { type: "contour", x: s.axes[0], y: s.axes[1], z, zmin: 0, zmax: 1, showscale: false, hoverinfo: "skip",
      name: words, contours: { start: 0.5, end: 0.5, size: 1, coloring: "fill" },
      colorscale: [[0, "rgba(0,0,0,0)"], [1, fill]], line: { color: edge, width: 2 } };
  });
}

// A curve of stationary points (a ring or a valley floor of minima) drawn along itself, as the analysis traced it:
// a line in the mark's colours (edge under fill; dashed where the set is degenerate), pieces apart at a null.
function curveTraces(p) {
  const { fill, edge, dash, words } = curveLook(p.kind);
  const { x, y } = curveXY(p);
  const hover = `${words}: L = ${fmt(num(p.value))}<extra></extra>`;
  return [{ x, y, mode: "lines", name: words, hoverinfo: "skip", line: { color: edge, width: 6 } },
    { x, y, mode: "lines", name: words, hovertemplate: hover, line: { color: fill, width: 3, dash } }];
}

async function drawCurve(el) {
  const s = live.surface;
  const name = s.names[0];
  const y = s.values.map(plottable);
  const traces = [{ x: s.axes[0], y, mode: "lines", line: { color: "#444", width: 2 }, hovertemplate: `${shownName(name)}=%{x:.4g}<br>L=%{y:.4g}<extra></extra>` }];
  traces.push(...markTraces((ps) => ({ x: ps.map((p) => num(p.point[name])), y: ps.map((p) => num(p.value)) })));
  live.overlayIndex = traces.length;
  traces.push(taylorCurve());
  const finite = y.filter((v) => v !== null);
  // Fixed ranges: a path that leaves the box (a divergence) is cut at the frame instead of rescaling it.
  await Plotly.react(el, traces, baseLayout({
    xaxis: { title: axisTitle(shownName(name)), range: [s.axes[0][0], s.axes[0].at(-1)] },
    yaxis: { title: axisTitle(`L(${shownName(name)})`), range: paddedRange(finite) },
    title: chartTitle("Click the curve to set the start"), hovermode: "x" }), config); // any height over w reads L(w)
  bindPlot(el);
  renderLegend(markedPoints());
}

// L on the curve at x, read off the drawn curve (the start's mark sits on it before its race arrives).
export function curveAt(x) {
  const s = live.surface;
  if (!s || live.info.dim !== 1) return null;
  const xs = s.axes[0];
  const i = Math.min(Math.max(xs.findIndex((v) => v >= x), 1), xs.length - 1);
  const [x0, x1, y0, y1] = [xs[i - 1], xs[i], plottable(s.values[i - 1]), plottable(s.values[i])];
  if (y0 === null || y1 === null || x1 === x0) return y0 ?? y1;
  return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
}

function taylorCurve() {
  const t = live.taylor;
  if (!t || !$("taylor-toggle").checked || live.info.dim !== 1) return { x: [], y: [], mode: "lines", hoverinfo: "skip" };
  return { x: t.taylor.axes[0], y: t.taylor.values.map(plottable), mode: "lines", hoverinfo: "skip",
    line: { color: "#e6550d", width: 2, dash: "dash" } };
}

async function drawMap(main, side) {
  const s = shownSurface();
  const [nx, ny] = s.names;
  const values = s.values.map((row) => row.map(plottable));
  const shaded = shade(values, s.min, s.max);
  const hover = `${shownName(nx)}=%{x:.4g}<br>${shownName(ny)}=%{y:.4g}<br>L=%{customdata:.5g}<extra></extra>`;
  const contour = { type: "contour", x: s.axes[0], y: s.axes[1], z: shaded.z, customdata: values, hovertemplate: hover,
    colorscale: "Viridis", ncontours: 30, contours: { coloring: "heatmap", showlines: true }, line: { width: 0.5, color: "rgba(255,255,255,0.5)" },
    colorbar: { title: { text: shaded.title, side: "right" }, thickness: 12 } };
  const regions = live.info.dim === 2 ? regionTraces(s) : [];
  const traces = [contour, ...regions, ...markTraces((ps) => ({ x: ps.map((p) => num(p.point[nx])), y: ps.map((p) => num(p.point[ny])) }))];
  live.overlayIndex = traces.length;
  traces.push(taylorContour(), ...energyPathTraces(false));
  const title = live.info.dim > 2 ? `Slice at ${live.slice.held} — click to move the start` : "Contour map — click to set the start";
  await Plotly.react(main, traces, baseLayout({ title: chartTitle(title),
    xaxis: { title: axisTitle(shownName(nx)), range: [s.axes[0][0], s.axes[0].at(-1)], constrain: "domain" },
    yaxis: { title: axisTitle(shownName(ny)), range: [s.axes[1][0], s.axes[1].at(-1)], ...toScale(s) } }), config);
  const surface = { type: "surface", x: s.axes[0], y: s.axes[1], z: values, surfacecolor: shaded.z, colorscale: "Viridis",
    showscale: false, opacity: 0.95, hovertemplate: hover, customdata: values, contours: { z: regionEdge3d(s) } };
  const overlay = taylorSurface();
  // The box is the surface's: a path that runs off it (a divergence) is cut there instead of rescaling the view.
  const zRange = s.min === null ? undefined : paddedRange([s.min, s.max]);
  // the stationary points after the paths: race.js restyles the paths by index (2 + i)
  const marks3d = live.info.dim === 2 ? markTraces3d(nx, ny, s) : [];
  await Plotly.react(side, [surface, overlay, ...pathTraces3d(), ...energyPathTraces(true), ...marks3d], baseLayout({ title: chartTitle("3-D surface"),
    margin: { l: 0, r: 0, t: 52, b: 0 }, scene: {
      // at most 6 ticks on a side and 5 up the foreshortened L axis: Plotly's own 8 ran into each other there
      xaxis: { title: axisTitle(shownName(nx)), range: [s.axes[0][0], s.axes[0].at(-1)], nticks: 6 },
      yaxis: { title: axisTitle(shownName(ny)), range: [s.axes[1][0], s.axes[1].at(-1)], nticks: 6 },
      zaxis: { title: axisTitle("L"), range: zRange, nticks: 5 },
      // seen from 40° above the floor: at 27° a bowl's near wall hid its bottom, and the minimum's mark with it
      camera: { eye: { x: 1.3, y: -1.3, z: 1.6 } }, aspectmode: "manual", aspectratio: { x: 1, y: 1, z: 0.7 } } }), config);
  bindPlot(main);
  bindPlot(side);
  renderLegend(markedPoints());
}

// The minimum-energy path between two minima (connect.js asked for it): white, through the band's points, its
// saddle an orange diamond; on the 3-D surface at the loss's height.
const PATH_COLOR = "#fff";
const SADDLE_COLOR = "#ff7f0e";
function energyPathTraces(in3d) {
  const p = live.energyPath;
  if (!p) return [];
  const [xs, ys, zs] = [p.images.map((q) => plottable(q[0])), p.images.map((q) => plottable(q[1])), p.values.map(plottable)];
  const saddle = { x: [plottable(p.saddle[0])], y: [plottable(p.saddle[1])], mode: "markers", name: "saddle of the path",
    hovertemplate: `saddle of the path: L=${fmt(p.saddle_value)}, barrier ${fmt(p.barrier)}<extra></extra>` };
  const path = { x: xs, y: ys, mode: "lines+markers", name: "minimum-energy path", hovertemplate: "path: L=%{customdata:.5g}<extra></extra>",
    customdata: zs };
  if (!in3d) {
    return [{ ...path, line: { color: PATH_COLOR, width: 3 }, marker: { size: 5, color: PATH_COLOR, line: { color: "#111", width: 1 } } },
      { ...saddle, marker: { symbol: "diamond", size: 14, color: SADDLE_COLOR, line: { color: "#111", width: 1.5 } } }];
  }
  return [{ ...path, type: "scatter3d", z: zs, line: { color: PATH_COLOR, width: 7 }, marker: { size: 3, color: "#111" } },
    { ...saddle, type: "scatter3d", z: [plottable(p.saddle_value)], marker: { symbol: "diamond", size: 7, color: SADDLE_COLOR, line: { color: "#111", width: 1 } } }];
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
    hooks.pick(live.info.dim === 1 ? [round(p.x)] : onSlice(round(p.x), round(p.y)));
  });
  el.on("plotly_hover", (event) => {
    const p = event.points && event.points[0];
    if (!p || p.x === undefined) return;
    hooks.hover(live.info.dim === 1 ? [p.x] : onSlice(p.x, p.y));
  });
}

// A point of the map as a point of the loss: on a slice, the slice's point with the two varied parameters at (x, y).
function onSlice(x, y) {
  if (live.info.dim <= 2 || !live.slice) return [x, y];
  const point = [...live.slice.at];
  [point[live.slice.vary[0]], point[live.slice.vary[1]]] = [x, y];
  return point;
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

// The loss chart's y axis for the finite losses: a log scale when every L ≥ 0 and some L > 0 (an L of exactly 0,
// a minimum reached, is left out and the title says so); else linear, the title saying why.
export function lossAxis(losses) {
  const positive = losses.filter((v) => v > 0);
  const negative = losses.some((v) => v < 0);
  if (negative) return { type: "linear", title: "L (linear: some L < 0)" };
  if (!positive.length) return { type: "linear", title: losses.length ? "L (every L = 0)" : "L" };
  const zeros = positive.length < losses.length;
  const decades = Math.log10(Math.max(...positive) / Math.min(...positive));
  return { type: "log", title: `L (log scale${zeros ? "; L = 0 not drawn" : ""})`, dtick: Math.max(1, Math.ceil(decades / 6)) };
}

export function drawLoss() {
  const el = $("plot-loss");
  const race = live.race;
  if (!race) { Plotly.purge(el); return; }
  const axis = lossAxis(race.runs.flatMap((r) => r.losses.map(num)).filter(Number.isFinite));
  const shown = (v) => (axis.type === "log" && num(v) <= 0 ? null : plottable(v));
  const traces = race.runs.map((run, i) => ({ x: run.losses.map((_, k) => k), y: run.losses.map(shown), mode: "lines",
    name: runLabel(run), line: { color: colorOf(i), width: 2 } }));  // the legend label every picture uses
  traces.push({ x: [], y: [], mode: "markers", showlegend: false, hoverinfo: "skip",
    marker: { size: 9, color: race.runs.map((_, i) => colorOf(i)), line: { color: "#fff", width: 1 } } });
  // The legend goes under the chart: its top belongs to Plotly's toolbar.
  Plotly.react(el, traces, baseLayout({ showlegend: true,
    legend: { orientation: "h", x: 0, xanchor: "left", y: -0.34, yanchor: "top" }, // below the axis title "step"
    margin: { l: 60, r: 10, t: 30, b: 40 },
    xaxis: { title: axisTitle("step") },
    yaxis: { title: axisTitle(axis.title), type: axis.type, dtick: axis.dtick, exponentformat: "power" } }), config);
}

// A map drawn to scale where its spans differ less than threefold (as losslab.plot's contour maps): one unit as
// long on both axes, so −∇L meets its level curve at a right angle; the plot area shrinks, the ranges stay.
function toScale(s) {
  const spans = [s.axes[0].at(-1) - s.axes[0][0], s.axes[1].at(-1) - s.axes[1][0]];
  const similar = Math.max(...spans) < 3 * Math.min(...spans);
  return similar ? { scaleanchor: "x", scaleratio: 1, constrain: "domain" } : { constrain: "domain" };
}
