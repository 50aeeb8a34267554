// "Connect two minima" on a 2-parameter loss: the student picks two of the minima the analysis found, the server
// relaxes a nudged elastic band between them (POST /api/path: losslab.minimum_energy_path), and the page draws the
// path on the contour map and the 3-D surface (plots.js) and states its saddle and barrier.
import { isStale, latest } from "./api.js";
import { $, report } from "./dom.js";
import { escapeHtml, fmt, vec } from "./format.js";
import { live } from "./state.js";
import { drawLandscape, markedPoints } from "./plots.js";

// The isolated minima of the loss shown (sets of minima and kinks have no single point to join).
function minima() {
  if (!live.info || live.info.dim !== 2) return [];
  return markedPoints().filter((p) => p.mark === "minimum" && !(p.dimension > 0))
    .map((p) => live.info.names.map((n) => Number(p.point[n])));
}

// The control: shown for a 2-parameter loss with at least two minima; a new loss forgets the path drawn.
export function renderConnect() {
  const found = minima();
  const panel = $("connect-panel");
  panel.hidden = found.length < 2;
  if (panel.hidden) {
    live.energyPath = null;
    $("connect-a").dataset.options = "";
    $("connect-result").textContent = "";
    return;
  }
  const options = found.map((p, i) => `<option value="${i}">${escapeHtml(vec(p))}</option>`).join("");
  const [a, b] = [$("connect-a"), $("connect-b")];
  if (a.dataset.options === options) return; // the same minima: keep the student's choice and the path
  a.dataset.options = options;
  a.innerHTML = options; b.innerHTML = options;
  a.value = "0"; b.value = "1";
  live.energyPath = null;
  $("connect-result").textContent = "";
}

async function connectMinima() {
  const found = minima();
  const [i, j] = [Number($("connect-a").value), Number($("connect-b").value)];
  if (i === j) { $("connect-result").textContent = "Pick two different minima."; return; }
  const version = live.version;
  $("connect-result").textContent = "Relaxing an elastic band between them…";
  let path;
  try {
    path = await latest("path", "/api/path", { objective: live.spec, a: found[i], b: found[j] });
  } catch (error) {
    if (!isStale(error) && version === live.version) { $("connect-result").textContent = ""; report(error); }
    return;
  }
  if (version !== live.version) return;
  live.energyPath = path;
  $("connect-result").innerHTML = `From ${escapeHtml(vec(found[i]))} to ${escapeHtml(vec(found[j]))} the lowest path climbs to
    the saddle <strong data-testid="path-saddle">${escapeHtml(vec(path.saddle))}</strong>, where
    L = <strong data-testid="path-saddle-value">${escapeHtml(fmt(path.saddle_value))}</strong>: a barrier of
    <strong data-testid="path-barrier">${escapeHtml(fmt(path.barrier))}</strong> above the higher of the two minima
    (a nudged elastic band of ${path.images.length} points; its top climbed to the saddle).`;
  drawLandscape();
}

export function wireConnect() {
  $("connect-go").addEventListener("click", () => connectMinima());
}
