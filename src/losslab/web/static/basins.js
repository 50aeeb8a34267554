// The shape of a surface (Bowl vs mountains): its basins in one colour each — on the surface, on the numbered
// minima, in the merge tree — the merge tree itself, and the server's one-paragraph summary. The server computes
// every number (losslab.landscape.basins: labels, levels, tree positions); this module only draws them.
/* global Plotly */
import { $ } from "./dom.js";
import { fmt, num, plottable } from "./format.js";
import { axisTitle, baseLayout, chartTitle, config } from "./plot-style.js";

// tab10 then its light half: the colours losslab.plot.basins uses, so the page and the PNG agree
const BASIN_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#aec7e8", "#ffbb78"];
export const basinColor = (i) => BASIN_COLORS[i % BASIN_COLORS.length];

// The surface trace's colouring by basin: each point the colour of the minimum it drains to.
export function basinColouring(shape) {
  const n = shape.basins.length;
  const colorscale = shape.basins.flatMap((_, i) => [[i / n, basinColor(i)], [(i + 1) / n, basinColor(i)]]);
  const surfacecolor = shape.labels.map((row) => row.map((v) => (v < 0 ? null : v)));
  return { surfacecolor, colorscale, cmin: -0.5, cmax: n - 0.5, showscale: false };
}

// Each basin's minimum, numbered, in its colour, and the saddles where basins meet, on the 3-D surface.
export function basinMarks3d(shape) {
  const b = shape.basins;
  const saddles = b.filter((x) => x.saddle);
  return [
    { type: "scatter3d", mode: "markers+text", name: "minima", x: b.map((x) => x.point[0]), y: b.map((x) => x.point[1]),
      z: b.map((x) => plottable(x.value)), text: b.map((x) => `#${x.index}`), textposition: "top center",
      textfont: { size: 12, color: "#111" }, hovertemplate: "basin %{text}: minimum L=%{z:.4g}<extra></extra>",
      marker: { size: 6, symbol: "diamond", color: b.map((x) => basinColor(x.index)), line: { color: "#111", width: 1 } } },
    { type: "scatter3d", mode: "markers", name: "saddles", x: saddles.map((x) => x.saddle[0]), y: saddles.map((x) => x.saddle[1]),
      z: saddles.map((x) => plottable(x.merges_at)), hovertemplate: "saddle: basins meet at L=%{z:.4g}<extra></extra>",
      // WebGL draws its "x" from a font glyph that many systems lack (a box shows instead); an open circle is drawn
      marker: { size: 6, symbol: "circle-open", color: "#111", line: { width: 2 } } },
  ];
}

// The merge tree: each basin a line from its minimum up to the level where it merges, joined there to the
// basin it merges into (grey), the saddle a cross; the deepest basin's line runs to the top of the surface.
export function drawTree(el, shape, top, name) {
  const byIndex = new Map(shape.basins.map((b) => [b.index, b]));
  const traces = [];
  for (const b of shape.basins) {
    const merges = num(b.merges_at);
    const end = Number.isFinite(merges) ? merges : top;
    traces.push({ x: [b.tree_x, b.tree_x], y: [plottable(b.value), end], mode: "lines", hoverinfo: "skip",
      line: { color: basinColor(b.index), width: 4 } });
    if (b.merges_into !== null) {
      traces.push({ x: [b.tree_x, byIndex.get(b.merges_into).tree_x], y: [merges, merges], mode: "lines+markers",
        line: { color: "#888", width: 1.5 }, marker: { symbol: "x", size: [9, 0], color: "#111" },
        hovertemplate: `#${b.index} meets #${b.merges_into} at L=${fmt(merges)}<extra></extra>` });
    }
  }
  const b = shape.basins;
  traces.push({ x: b.map((x) => x.tree_x), y: b.map((x) => plottable(x.value)), mode: "markers+text",
    text: b.map((x) => `#${x.index}`), textposition: "bottom center", cliponaxis: false,
    customdata: b.map((x) => fmt(x.persistence)),
    hovertemplate: "basin %{text}: minimum L=%{y:.4g}, depth %{customdata}<extra></extra>",
    marker: { symbol: "diamond", size: 10, color: b.map((x) => basinColor(x.index)), line: { color: "#111", width: 1 } } });
  const count = `${b.length} basin${b.length === 1 ? "" : "s"}`;
  Plotly.react(el, traces, baseLayout({ title: chartTitle(`${name}: merge tree of its ${count}`),
    margin: { l: 55, r: 15, t: 52, b: 30 },
    xaxis: { showticklabels: false, zeroline: false, showgrid: false, range: [-0.6, Math.max(...b.map((x) => x.tree_x)) + 0.6] },
    yaxis: { title: axisTitle("L") } }), config);
}

// The server's summary of the surface's shape, under its surface.
export function showSummary(id, shape) {
  $(id).textContent = shape.summary;
}
