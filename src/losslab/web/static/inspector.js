// The inspector: the Hessian and curvature at the point under the mouse, and the Taylor model drawn there.
import { cancel, dropLater, isStale, latest, later } from "./api.js";
import { $ } from "./dom.js";
import { escapeHtml, fmt, shownName, vec } from "./format.js";
import { live } from "./state.js";
import { redrawOverlay } from "./plots.js";

// One request at a time; the newest point under the mouse waits for it (the points in between are skipped).
let inspectBusy = false;
let waiting = null;
let asked = ""; // the loss and point asked last: Plotly reports the same hover again after each overlay redraw
export function inspect(point) {
  const key = JSON.stringify([live.version, point]);
  if (key === asked) return;
  later("hover", () => { asked = key; ask(point); }, 120);
}

async function ask(point) {
  if (!live.spec) return;
  if (inspectBusy) { waiting = point; return; }
  inspectBusy = true;
  const version = live.version;
  try {
    const t = await latest("hessian", "/api/hessian", { objective: live.spec, point, points: 31 });
    if (version !== live.version) return; // asked about the previous loss
    live.taylor = t;
    renderInspector(t);
    if ($("taylor-toggle").checked) redrawOverlay();
  } catch (error) {
    if (!isStale(error) && version === live.version) $("inspector-body").textContent = error.message;
  } finally {
    inspectBusy = false;
    const next = waiting;
    waiting = null;
    if (next && version === live.version) ask(next);
  }
}

// A new loss (or none): the panel forgets the previous loss's point, and says what to hover over.
export function resetInspector() {
  dropLater("hover");
  asked = "";
  waiting = null;
  cancel("hessian");
  live.taylor = null;
  const dim = live.info ? live.info.dim : 0;
  $("inspector-body").textContent = dim === 1 ? "Hover over the curve to see the second derivative there."
    : dim === 2 ? "Hover over the map to see the Hessian there."
      : dim > 2 ? "Hover over the slice's map to see the full Hessian at that point of the loss." : "";
  $("inspector-body").dataset.dim = "";
}

function renderInspector(t) {
  const names = t.names;
  $("inspector-body").dataset.dim = String(names.length);
  const rows = t.hessian.map((row) => `<tr>${row.map((v) => `<td>${fmt(v)}</td>`).join("")}</tr>`).join("");
  $("inspector-body").innerHTML = `
    <p>at ${names.map((n, i) => `${escapeHtml(shownName(n))} = ${fmt(t.point[i])}`).join(", ")}: L = ${fmt(t.value)}, |∇L| = ${fmt(t.gradient_norm)}</p>
    <div class="hess"><span>H =</span><table class="matrix">${rows}</table></div>
    <p>eigenvalues λ = ${vec(t.eigenvalues)} → <strong class="kind-${escapeHtml(t.kind)}">${escapeHtml(curvatureWords(t.kind))}</strong></p>
    <p class="hint">Dashed orange: L(θ) + ∇Lᵀδ + ½δᵀHδ, the second-order Taylor model around this point.</p>`;
}

function curvatureWords(kind) {
  return { minimum: "curves up every way (bowl)", maximum: "curves down every way (cap)", saddle: "up one way, down another (saddle)",
    degenerate: "flat in some direction (degenerate)", undefined: "undefined here" }[kind] || kind;
}
