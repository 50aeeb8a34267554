// A loss of 3 or more parameters: a slice (vary two parameters, hold the others at given values) drawn as the
// contour map and 3-D surface of that slice, with the start and the race projected onto it (plots.js, race.js read
// live.slice); and, for exactly 3 parameters, its nested level surfaces with ∇L arrows. The server computes both:
// /api/surface with a slice (losslab.objectives.held_slice) and /api/levels (losslab.plot.levels).
/* global Plotly */
import { isStale, latest } from "./api.js";
import { $, report } from "./dom.js";
import { escapeHtml, fmt, shownName } from "./format.js";
import { live, saveUrl, state } from "./state.js";
import { drawLandscape } from "./plots.js";
import { config } from "./plot-style.js";

const SLICE_POINTS = 81;

// The slice through the start (or the box's middle) along the first two parameters, for a new loss.
export function loadSliceAndLevels() {
  const info = live.info;
  $("slice-panel").hidden = !info || info.dim < 3;
  live.slice = null;
  if (!info || info.dim < 3) { hideLevels(); return Promise.resolve(); }
  const at = state.start && state.start.length === info.dim ? [...state.start] : info.domain.map(([lo, hi]) => (lo + hi) / 2);
  // a lesson draws level surfaces itself, where its step's view asks for them
  const levels = info.dim === 3 && $("view-lessons").hidden;
  const saved = fits(state.slice, info.dim) ? state.slice : { vary: [0, 1], at }; // a link's slice, else the first
  return Promise.all([loadSlice([...saved.vary], [...saved.at]), levels ? loadLevels() : hideLevels()]);
}

// Whether a slice (from a link) is one of a loss of `dim` parameters: two different indices, a finite point.
function fits(slice, dim) {
  if (!slice || !Array.isArray(slice.vary) || !Array.isArray(slice.at) || slice.at.length !== dim) return false;
  const [i, j] = slice.vary;
  const index = (k) => Number.isInteger(k) && k >= 0 && k < dim;
  return slice.vary.length === 2 && index(i) && index(j) && i !== j && slice.at.every((v) => Number.isFinite(v));
}

async function loadSlice(vary, at) {
  const info = live.info;
  const version = live.version;
  const held = info.names.map((n, k) => (vary.includes(k) ? null : `${shownName(n)} = ${fmt(at[k])}`)).filter(Boolean).join(", ");
  const mine = { vary, at, held, surface: null };
  live.slice = mine;
  state.slice = { vary, at }; // a link restores it
  saveUrl();
  renderControls();
  const body = { objective: live.spec, points: SLICE_POINTS, slice: { vary: vary.map((k) => info.names[k]), at } };
  let surface;
  try {
    surface = await latest("slice", "/api/surface", body);
  } catch (error) {
    if (!isStale(error)) report(error);
    return;
  }
  if (version !== live.version || live.slice !== mine) return;
  mine.surface = surface;
  await drawLandscape();
}

function renderControls() {
  const { names } = live.info;
  const s = live.slice;
  const options = (chosen) => names.map((n, k) => `<option value="${k}"${k === chosen ? " selected" : ""}>${escapeHtml(n)}</option>`).join("");
  $("slice-x").innerHTML = options(s.vary[0]);
  $("slice-y").innerHTML = options(s.vary[1]);
  const held = $("slice-held");
  const key = `${live.version}:${s.vary.join(",")}`;
  if (held.dataset.key === key) { // the same boxes: new values only (rebuilding them under a focused box re-fires its change)
    for (const box of held.querySelectorAll("input")) if (box !== document.activeElement) box.value = s.at[Number(box.dataset.k)];
    return;
  }
  held.dataset.key = key;
  held.innerHTML = names.map((n, k) => (s.vary.includes(k) ? "" : `<label class="field">${escapeHtml(n)} =
    <input type="number" step="any" data-k="${k}" value="${s.at[k]}" aria-label="hold ${escapeHtml(n)} at"></label>`)).join("");
}

// Another pair of parameters, or other held values: a new slice through the same point.
function changed(event) {
  const s = live.slice;
  if (!s) return;
  const vary = [Number($("slice-x").value), Number($("slice-y").value)];
  const at = [...s.at];
  if (event && event.target.dataset.k !== undefined) {
    const value = Number(event.target.value);
    if (!Number.isFinite(value) || event.target.value === "") return;
    at[Number(event.target.dataset.k)] = value;
  }
  if (vary[0] === vary[1]) { // the other one moves out of the way
    vary[event && event.target.id === "slice-x" ? 1 : 0] = [0, 1, 2].find((k) => k !== vary[0] && k < live.info.dim);
  }
  loadSlice(vary, at);
}

function throughStart() {
  if (live.slice && state.start) loadSlice(live.slice.vary, [...state.start]);
}

async function loadLevels() {
  const box = $("plot-levels");
  const version = live.version;
  box.hidden = false;
  let figure;
  try {
    figure = await latest("levels", "/api/levels", { objective: live.spec });
  } catch (error) {
    if (!isStale(error) && version === live.version) { box.hidden = true; report(error); }
    return;
  }
  if (version !== live.version) return;
  await Plotly.react(box, figure.data, { ...figure.layout, autosize: true, height: undefined, width: undefined }, config);
}

function hideLevels() {
  $("plot-levels").hidden = true;
  Plotly.purge($("plot-levels"));
}

export function hideSlice() {
  live.slice = null;
  $("slice-panel").hidden = true;
  hideLevels();
}

export function wireSlice() {
  $("slice-x").addEventListener("change", changed);
  $("slice-y").addEventListener("change", changed);
  $("slice-held").addEventListener("change", changed);
  $("slice-start").addEventListener("click", throughStart);
}
