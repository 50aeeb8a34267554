// The analysis panel: the loss's formulas (MathML from the server), stationary points, convexity, condition number.
import { isStale, latest } from "./api.js";
import { $ } from "./dom.js";
import { escapeHtml, fmt, vec } from "./format.js";
import { live } from "./state.js";
import { drawLandscape } from "./plots.js";
import { refreshLrHints } from "./controls.js";
import { renderConnect } from "./connect.js";

export async function loadAnalysis(version) {
  $("analysis").innerHTML = '<p class="hint">Analysing…</p>';
  live.analysis = null;
  renderConnect(); // no minima to connect until the analysis says where they are
  try {
    const analysis = await latest("analysis", "/api/analyze", { objective: live.spec });
    if (version !== live.version) return;
    live.analysis = analysis;
    renderAnalysis(analysis);
    refreshLrHints(); // its 2/λmax beside each learning rate
    renderConnect();
    drawLandscape();
  } catch (error) {
    if (version === live.version && !isStale(error)) $("analysis").textContent = `Analysis unavailable: ${error.message}`;
  }
}

const math = (mathml) => `<math display="block">${mathml}</math>`; // the server's MathML markup, as is

function setName(dimension, parameters) {
  if (dimension === parameters) return parameters === 1 ? "flat stretch" : "flat region"; // L constant on it
  return ["point", "line or curve", "plane or surface"][dimension] ?? `${dimension}-dimensional set`;
}

function renderAnalysis(a) {
  const m = a.mathml;
  const names = a.variables;
  const parts = [];
  if (m) {
    parts.push(`<div class="formula"><span>L =</span>${math(m.loss)}</div>`);
    parts.push(`<div class="partials">${m.partials.map((p) => `<div class="formula"><span>∂L/∂${escapeHtml(p.name)} =</span>${math(p.mathml)}</div>`).join("")}</div>`);
    if (m.hessian) parts.push(`<div class="formula"><span>H =</span>${math(m.hessian)}</div>`);
  } else {
    parts.push('<p class="hint">No formula to print (the loss is evaluated numerically).</p>');
  }
  const where = (p) => (p.dimension > 0
    ? `<span data-testid="stationary-set">${escapeHtml(p.equations.join(", "))}</span> <span class="hint">(a ${setName(p.dimension, names.length)} of points)</span>`
    : vec(names.map((n) => p.point[n])));
  const rows = a.stationary_points.slice(0, 12).map((p) => `<tr><td>${where(p)}</td><td>${fmt(p.value)}</td>
    <td class="kind-${escapeHtml(p.kind)}">${escapeHtml(p.kind)}${p.differentiable === false ? " (kink: no gradient)" : ""}</td>
    <td>${p.hessian_eigenvalues.length ? vec(p.hessian_eigenvalues) : "—"}${p.note ? `<div class="hint">${escapeHtml(p.note)}</div>` : ""}</td></tr>`).join("");
  parts.push(`<h4>Stationary points (∇L = 0) in view</h4>` + (rows
    ? `<div class="scroll"><table><tr><th>θ</th><th>L</th><th>kind</th><th>Hessian eigenvalues</th></tr>${rows}</table></div>`
    : '<p class="hint">None found in the box.</p>'));
  const c = a.convexity;
  parts.push(`<dl>
    <dt>Convexity</dt><dd><strong>${escapeHtml(c.verdict)}</strong> ${c.proved ? "(proved)" : "(evidence)"} — ${escapeHtml(c.reason)}</dd>
    <dt>Condition number</dt><dd>${fmt(a.condition_number)}</dd>
    <dt>Largest stable learning rate 2/λmax</dt><dd data-testid="max-stable-lr">${fmt(a.max_stable_lr)}</dd>
    ${a.notes.map((n) => `<dt>Note</dt><dd>${escapeHtml(n)}</dd>`).join("")}</dl>`);
  $("analysis").innerHTML = parts.join("");
}
