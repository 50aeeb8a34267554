// A lesson step's text as HTML: a small Markdown subset (paragraphs, lists, tables, **bold**, `code`) and
// formulas between $…$ set as math (Greek letters, ∂, ∇, Σ, super- and subscripts, fractions). Everything is
// escaped first (escapeHtml): a lesson file is data, and only the tags made here reach the page.
import { escapeHtml } from "./format.js";

const SYMBOLS = {
  "\\nabla": "∇", "\\partial": "∂", "\\eta": "η", "\\alpha": "α", "\\lambda": "λ", "\\theta": "θ", "\\delta": "δ",
  "\\sum": "Σ", "\\approx": "≈", "\\ldots": "…", "\\cdot": "·", "\\leftarrow": "←", "\\le": "≤", "\\ge": "≥",
  "\\infty": "∞", "\\in": "∈", "\\max": "max", "\\min": "min", "\\sigma": "σ", "\\,": " ", "\\;": " ", "\\quad": "  ",
};

// One formula (already escaped) as math HTML.
export function mathHtml(tex) {
  let s = tex.replace(/-/g, "−"); // a minus sign, not a hyphen (no tag made below holds a "-")
  for (let i = 0; i < 3; i += 1) s = s.replace(/\\frac\{([^{}]*)\}\{([^{}]*)\}/g, (_, a, b) => `${wrap(a)}/${wrap(b)}`);
  s = s.replace(/\\sqrt\{([^{}]*)\}/g, "√($1)").replace(/\\hat ?\{?y\}?/g, "ŷ").replace(/\\(?:mathrm|text)\{([^{}]*)\}/g, "$1");
  s = s.replace(/\\[A-Za-z]+|\\[,;]/g, (name) => SYMBOLS[name] ?? name.slice(1)).replace(/([∂∇]) /g, "$1");
  s = s.replace(/\^\{([^{}]*)\}|\^(\S)/g, (_, group, one) => `<sup>${group ?? one}</sup>`);
  s = s.replace(/_\{([^{}]*)\}|_([A-Za-z0-9]+)/g, (_, group, one) => `<sub>${group ?? one}</sub>`);
  return `<span class="math">${s.replace(/[{}]/g, "")}</span>`;
}
const wrap = (part) => (/^[\w.]+$/.test(part.trim()) ? part.trim() : `(${part.trim()})`);

function inline(text) {
  return escapeHtml(text)
    .replace(/\$([^$]+)\$/g, (_, tex) => mathHtml(tex))
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
}

function table(lines) {
  const rows = lines.filter((l) => !/^\|[\s:|-]+\|$/.test(l.trim()))
    .map((l) => l.trim().replace(/^\||\|$/g, "").split("|").map((cell) => `<td>${inline(cell.trim())}</td>`).join(""));
  return `<div class="scroll"><table class="lesson-table">${rows.map((r) => `<tr>${r}</tr>`).join("")}</table></div>`;
}

// Markdown subset → HTML, block by block (blank lines separate blocks).
export function lessonHtml(markdown) {
  const out = [];
  for (const block of markdown.split(/\n\s*\n/)) {
    const lines = block.split("\n").filter((l) => l.trim());
    if (!lines.length) continue;
    if (lines[0].startsWith("```")) out.push(`<pre>${escapeHtml(lines.slice(1, -1).join("\n"))}</pre>`);
    else if (lines.every((l) => l.trim().startsWith("|"))) out.push(table(lines));
    else if (lines.every((l) => /^\s*- |^\s{2,}\S/.test(l))) {
      const items = [];
      for (const l of lines) if (/^\s*- /.test(l)) items.push(l.replace(/^\s*- /, "")); else items[items.length - 1] += ` ${l.trim()}`;
      out.push(`<ul>${items.map((i) => `<li>${inline(i)}</li>`).join("")}</ul>`);
    } else out.push(`<p>${inline(lines.join(" "))}</p>`);
  }
  return out.join("\n");
}
