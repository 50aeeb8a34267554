// Formatting: numbers as the page prints them, run labels, and the one HTML escape for text put into innerHTML.

export const num = (v) => (typeof v === "string" ? Number(v) : v); // "Infinity", "-Infinity", "NaN" → numbers

export function fmt(v) {
  v = num(v);
  if (v === null || v === undefined) return "—";
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a < 1e-4 || a >= 1e6) return v.toExponential(3);
  return String(Number(v.toPrecision(6)));
}

// A parameter's name as a student typed it: the formula parser reads θ₀ as theta0 and λ as lam (the names the
// API speaks); labels say θ₀ and λ again. Other names are shown as they are.
const GREEK = { alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", zeta: "ζ", eta: "η", theta: "θ", iota: "ι",
  kappa: "κ", lam: "λ", mu: "μ", nu: "ν", xi: "ξ", rho: "ρ", sigma: "σ", tau: "τ", upsilon: "υ", phi: "φ", chi: "χ",
  psi: "ψ", omega: "ω" };
const SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉";
export function shownName(name) {
  const m = /^([A-Za-z]+)(\d*)$/.exec(name);
  if (!m || !Object.hasOwn(GREEK, m[1])) return name;
  return GREEK[m[1]] + [...m[2]].map((d) => SUBSCRIPTS[Number(d)]).join("");
}

export const vec = (xs) => `(${xs.map(fmt).join(", ")})`;
export const plottable = (v) => { v = num(v); return Number.isFinite(v) ? v : null; };
export const round = (v) => Number(Number(v).toPrecision(4));

// Every user- or server-provided text (labels, names, reasons, messages, titles) goes through this before
// it is put into innerHTML, in an element or in a double-quoted attribute.
const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (text) => String(text ?? "").replace(/[&<>"']/g, (c) => ENTITIES[c]);

// A run's label, e.g. "momentum (lr 0.01, β 0.9)", comes from the server (losslab.descent.trajectory.run_label):
// the one wording every legend uses, in pictures and exported GIFs too (plain text: escape it for HTML).
export const runLabel = (run) => run.label;
