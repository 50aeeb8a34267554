// The inspector: the Hessian and curvature at the point under the mouse, and the Taylor model drawn there.
import { isStale, latest } from "./api.js";
import { $ } from "./dom.js";
import { escapeHtml, fmt, vec } from "./format.js";
import { live, objectiveSpec } from "./state.js";
import { redrawOverlay } from "./plots.js";

let inspectTimer = null;
let inspectBusy = false;
export function inspect(point) {
  clearTimeout(inspectTimer);
  inspectTimer = setTimeout(async () => {
    if (inspectBusy) return;
    inspectBusy = true;
    try {
      const t = await latest("hessian", "/api/hessian", { objective: objectiveSpec(), point, points: 31 });
      live.taylor = t;
      renderInspector(t);
      if ($("taylor-toggle").checked) redrawOverlay();
    } catch (error) {
      if (!isStale(error)) $("inspector-body").textContent = error.message;
    } finally {
      inspectBusy = false;
    }
  }, 120);
}

function renderInspector(t) {
  const names = t.names;
  const rows = t.hessian.map((row) => `<tr>${row.map((v) => `<td>${fmt(v)}</td>`).join("")}</tr>`).join("");
  $("inspector-body").innerHTML = `
    <p>at ${names.map((n, i) => `${escapeHtml(n)} = ${fmt(t.point[i])}`).join(", ")}: L = ${fmt(t.value)}, |∇L| = ${fmt(t.gradient_norm)}</p>
    <div class="hess"><span>H =</span><table class="matrix">${rows}</table></div>
    <p>eigenvalues λ = ${vec(t.eigenvalues)} → <strong class="kind-${escapeHtml(t.kind)}">${escapeHtml(curvatureWords(t.kind))}</strong></p>
    <p class="hint">Dashed orange: L(θ) + ∇Lᵀδ + ½δᵀHδ, the second-order Taylor model around this point.</p>`;
}

function curvatureWords(kind) {
  return { minimum: "curves up every way (bowl)", maximum: "curves down every way (cap)", saddle: "up one way, down another (saddle)",
    degenerate: "flat in some direction (degenerate)", undefined: "undefined here" }[kind] || kind;
}
