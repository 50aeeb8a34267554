// The numbers: the live numbers at the step shown, the step table of one run, and every step as CSV.
import { $ } from "./dom.js";
import { escapeHtml, fmt, runLabel, shownName, vec } from "./format.js";
import { live } from "./state.js";
import { colorOf } from "./plot-style.js";

export function renderNumbers() {
  const table = $("numbers");
  const race = live.race;
  if (!race) { table.innerHTML = ""; return; }
  const n = race.names.map((name) => escapeHtml(shownName(name)));
  const head = `<tr><th></th><th>optimizer</th><th class="col-step">step</th><th>θ = (${n.join(", ")})</th><th>L(θ)</th><th>∇L(θ)</th><th>|∇L|</th><th>diagnosis</th></tr>`;
  const rows = race.runs.map((run, i) => {
    const k = Math.min(live.step, run.params.length - 1);
    const d = run.diagnosis;
    const ended = k >= run.params.length - 1;
    const words = ended ? d.reason : "running…";
    const status = escapeHtml(ended ? d.status : "running");
    // data-label: the column's name, shown inside the cell where a phone stacks each row as a card
    return `<tr class="status-${status}"><td class="col-swatch"><span class="swatch" style="background:${colorOf(i)}"></span></td>
      <td class="col-name">${escapeHtml(runLabel(run))}</td><td class="col-step">${k}</td><td class="mono col-theta" data-label="θ" data-testid="theta-${i}">${vec(run.params[k])}</td>
      <td class="mono col-loss" data-label="L" data-testid="loss-${i}">${fmt(run.losses[k])}</td><td class="mono col-grad" data-label="∇L">${vec(run.gradients[k])}</td>
      <td class="mono col-norm" data-label="|∇L|">${fmt(run.gradient_norms[k])}</td><td class="diagnosis col-diag" data-testid="diagnosis-${i}">${escapeHtml(words)}</td></tr>`;
  });
  table.innerHTML = head + rows.join("");
}

// The step table's choice of run, then its rows.
export function renderTable() {
  const select = $("table-runner");
  const race = live.race;
  select.innerHTML = race ? race.runs.map((run, i) => `<option value="${i}">${escapeHtml(runLabel(run))}</option>`).join("") : "";
  fillTable();
}

function csvRows(run, names) {
  const header = ["step", ...names, "L", ...names.map((n) => `dL/d${n}`), "grad_norm", "lr"];
  const rows = run.params.map((p, k) => [k, ...p, run.losses[k], ...run.gradients[k], run.gradient_norms[k], k < run.lrs.length ? run.lrs[k] : ""]);
  return [header, ...rows];
}

export function fillTable() {
  const race = live.race;
  const table = $("step-table");
  if (!race) { table.innerHTML = ""; return; }
  const run = race.runs[Number($("table-runner").value) || 0];
  const [header, ...rows] = csvRows(run, race.names.map(shownName)); // the CSV keeps the names the API speaks
  const shown = rows.slice(0, 1001);
  table.innerHTML = `<tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>`
    + shown.map((r, k) => `<tr data-step="${k}">${r.map((v, j) => `<td>${j === 0 || v === "" ? v : fmt(v)}</td>`).join("")}</tr>`).join("")
    + (rows.length > shown.length ? `<tr><td colspan="${header.length}">… ${rows.length - shown.length} more rows in the CSV</td></tr>` : "");
  highlightTableRow();
}

export function highlightTableRow() {
  for (const row of $("step-table").querySelectorAll("tr.current")) row.classList.remove("current");
  const row = $("step-table").querySelector(`tr[data-step="${live.step}"]`);
  if (row) row.classList.add("current");
}

export function downloadCsv() {
  const race = live.race;
  if (!race) return;
  const lines = [];
  race.runs.forEach((run, i) => {
    const rows = csvRows(run, race.names);
    rows.forEach((r, j) => lines.push([j === 0 ? "optimizer" : runLabel(run).replaceAll(",", ";"), ...r].join(",")));
    if (i < race.runs.length - 1) lines.push("");
  });
  const blob = new Blob([lines.join("\n") + "\n"], { type: "text/csv" });
  const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: "losslab-steps.csv" });
  a.click();
  URL.revokeObjectURL(a.href);
}
