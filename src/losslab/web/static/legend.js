// The marker language on the page: the marks' Plotly symbols and words come from the server (/api/catalog's
// markers: losslab.plot._style.MARKERS, the CLI's pictures use the same), and the legend under the plots
// says what each mark on the landscape means.
import { $ } from "./dom.js";
import { escapeHtml } from "./format.js";
import { live } from "./state.js";
import { colorOf } from "./plot-style.js";

const SIZES = { star: 15 }; // pixels; every other mark 11
const FALLBACK = { start: "circle", minimum: "star", maximum: "triangle-up", saddle: "x", degenerate: "diamond", kink: "hexagon" };
const GLYPHS = { start: "●", minimum: "★", maximum: "▲", saddle: "✖", degenerate: "◆", kink: "⬢" };

// A mark's Plotly symbol, words, size, and glyph (the shape as a character: 3-D scenes have no star marker).
export function markerOf(mark) {
  const known = live.catalog && live.catalog.markers[mark];
  const symbol = known ? known.symbol : FALLBACK[mark] || "circle-open";
  const glyph = known ? known.glyph : GLYPHS[mark] || "○";
  return { symbol, words: known ? known.words : mark, size: SIZES[symbol] || 11, glyph };
}

// The start's mark on the plots (a layout shape: white, dark edge, every run starts there).
export const START_FILL = "#fff";
export const START_EDGE = "#111";

// Small SVG drawings of Plotly's symbols, for the legend (viewBox −8…8).
const polygon = (n, outer, inner = outer, turn = -90) => Array.from({ length: n * (inner === outer ? 1 : 2) }, (_, k) => {
  const step = inner === outer ? 360 / n : 180 / n;
  const r = inner === outer || k % 2 === 0 ? outer : inner;
  const a = ((turn + k * step) * Math.PI) / 180;
  return `${(r * Math.cos(a)).toFixed(2)},${(r * Math.sin(a)).toFixed(2)}`;
}).join(" ");
const SHAPES = {
  circle: '<circle r="5"/>',
  star: `<polygon points="${polygon(5, 7.5, 3.2)}"/>`,
  "triangle-up": '<polygon points="0,-6.5 6,4.5 -6,4.5"/>',
  x: '<path d="M-6,-3.5 -3.5,-6 0,-2.5 3.5,-6 6,-3.5 2.5,0 6,3.5 3.5,6 0,2.5 -3.5,6 -6,3.5 -2.5,0Z"/>',
  diamond: '<polygon points="0,-6.5 5.5,0 0,6.5 -5.5,0"/>',
  hexagon: `<polygon points="${polygon(6, 6.5, 6.5, 0)}"/>`,
};

function glyph(symbol, fill, edge) {
  const shape = SHAPES[symbol] || SHAPES.circle;
  return `<svg class="glyph" viewBox="-8 -8 16 16" aria-hidden="true"><g fill="${fill}" stroke="${edge}" stroke-width="1.3">${shape}</g></svg>`;
}

// A set of stationary points the analysis traced as a curve (a ring of minima) is drawn along itself on a map.
export const traced = (p) => live.info && live.info.dim === 2 && Array.isArray(p.curve) && p.curve.length > 0;

// A flat region of minima or maxima (max(0, x² + y² − 1): the unit disc) is shaded where L is at its level.
export const regional = (p) => live.info && live.info.dim === 2 && p.dimension === 2
  && (p.kind === "minimum" || p.kind === "maximum");

export function regionLook(kind) {
  return kind === "maximum"
    ? { fill: "rgba(0,0,0,0.35)", edge: "#fff", words: "maxima (a flat region)" }
    : { fill: "rgba(255,255,255,0.45)", edge: "#111", words: "minima (a flat region)" };
}

function regionGlyph({ fill, edge }) {
  return `<svg class="glyph" viewBox="-8 -8 16 16" aria-hidden="true"><rect x="-6" y="-5" width="12" height="10" fill="${fill}" stroke="${edge}" stroke-width="1.5"/></svg>`;
}

const CURVE_WORDS = { minimum: "minima", maximum: "maxima", saddle: "saddle points", degenerate: "degenerate points" };

// How such a curve is drawn: the marks' colours (minima white edged in black, maxima the other way round, as the
// CLI's pictures draw them), dashed where the set is degenerate.
export function curveLook(kind) {
  const [fill, edge] = kind === "maximum" ? ["#111", "#fff"] : ["#fff", "#111"];
  return { fill, edge, dash: kind === "degenerate" ? "dash" : "solid", words: `${CURVE_WORDS[kind] || kind} (a line or curve)` };
}

function lineGlyph({ fill, edge, dash }) {
  const pattern = dash === "dash" ? ' stroke-dasharray="4 2"' : "";
  return `<svg class="glyph" viewBox="-8 -8 16 16" aria-hidden="true"><line x1="-8" y1="0" x2="8" y2="0" stroke="${edge}" stroke-width="5"/>`
    + `<line x1="-8" y1="0" x2="8" y2="0" stroke="${fill}" stroke-width="2.5"${pattern}/></svg>`;
}

// The legend of the landscape plots: the start, the marks this loss has, and the step shown.
export function renderLegend(marks = null) {
  const el = $("marker-legend");
  const info = live.info;
  if (!info || info.dim > 2 || !live.surface) { el.hidden = true; el.innerHTML = ""; return; }
  const present = new Set((marks || []).filter((p) => !traced(p) && !regional(p)).map((p) => p.mark));
  const curves = new Set((marks || []).filter(traced).map((p) => p.kind));
  const regions = new Set((marks || []).filter(regional).map((p) => p.kind));
  const item = (mark, fill, edge, words) =>
    `<li data-mark="${escapeHtml(mark)}">${glyph(markerOf(mark).symbol, fill, edge)}${escapeHtml(words || markerOf(mark).words)}</li>`;
  const items = [item("start", START_FILL, START_EDGE)];
  for (const mark of ["minimum", "maximum", "saddle", "degenerate", "kink"]) {
    if (present.has(mark)) items.push(item(mark, "#111", "#fff"));
    if (regions.has(mark)) {
      const look = regionLook(mark);
      items.push(`<li data-mark="region:${mark}">${regionGlyph(look)}${escapeHtml(look.words)}</li>`);
    }
    if (curves.has(mark)) {
      const look = curveLook(mark);
      items.push(`<li data-mark="curve:${mark}">${lineGlyph(look)}${escapeHtml(look.words)}</li>`);
    }
  }
  const runs = live.race ? live.race.runs.length : 0;
  const dots = Array.from({ length: Math.max(1, Math.min(runs, 4)) }, (_, i) => glyph("circle", colorOf(i), "#fff")).join("");
  items.push(`<li data-mark="step">${dots}step shown${runs > 1 ? " (one colour per optimizer)" : ""}</li>`);
  el.innerHTML = items.join("");
  el.hidden = false;
}
